"""Domain errors: a stable code for the API, a Chinese message for people."""


class DomainError(Exception):
    """A request the domain refuses. `code` is stable; `message` is shown to users."""

    code = "invalid"
    status = 400

    def __init__(self, message: str, *, code: str | None = None, field: str | None = None):
        super().__init__(message)
        self.message = message
        if code:
            self.code = code
        self.field = field


class NotFound(DomainError):
    """Missing, or outside the user's scope: the two look the same from outside."""

    code = "not_found"
    status = 404

    def __init__(self, message: str = "未找到该记录，或您无权查看。", **kwargs):
        super().__init__(message, **kwargs)


class Forbidden(DomainError):
    code = "forbidden"
    status = 403

    def __init__(self, message: str = "您没有执行此操作的权限。", **kwargs):
        super().__init__(message, **kwargs)
