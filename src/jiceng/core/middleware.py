"""Request-wide concerns: audit context, headers, and a clean 503 when the database is down."""

from django.conf import settings
from django.contrib.auth import get_user
from django.contrib.auth import middleware as auth_middleware
from django.core.exceptions import PermissionDenied
from django.db import InterfaceError, OperationalError
from django.http import Http404, JsonResponse
from django.template.response import SimpleTemplateResponse, TemplateResponse
from django.utils.cache import add_never_cache_headers

from jiceng.core.audit import request_ip
from jiceng.core.errors import DomainError, Forbidden, NotFound

CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "font-src 'self'",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)


class LoginRequiredMiddleware(auth_middleware.LoginRequiredMiddleware):
    """Every page needs a session unless marked @login_not_required. The APIs are exempt
    here because each call authenticates itself (bearer token, Open311 api_key)."""

    exempt_prefixes = ("/api/", "/open311/")

    def process_view(self, request, view_func, view_args, view_kwargs):
        if request.path_info.startswith(self.exempt_prefixes):
            return None
        return super().process_view(request, view_func, view_args, view_kwargs)


def client_ip(request) -> str | None:
    """The caller's address; behind our own proxy, the one it appended last."""
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    if settings.BEHIND_PROXY and forwarded:
        return forwarded.split(",")[-1].strip()
    return request.META.get("REMOTE_ADDR")


class OperatorAdminMiddleware:
    """The admin (platform configuration) exists only for the platform operator: to anyone
    else, signed in or not, /admin/ is a page that is not there."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.path_info.startswith("/admin/"):
            user = getattr(request, "user", None)
            if user is None or not (user.is_authenticated and user.is_active and user.is_superuser):
                raise Http404
        return self.get_response(request)


class AuditContextMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        token = request_ip.set(client_ip(request))
        try:
            return self.get_response(request)
        finally:
            request_ip.reset(token)


class SecurityHeadersMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
        response.headers.setdefault(
            "Permissions-Policy", "geolocation=(self), camera=(self), microphone=()"
        )
        return response


class PrivateResponseMiddleware:
    """Answers that may carry personal data are kept by no browser cache or proxy
    (Cache-Control: no-store): every API answer, and every page for someone signed in, as
    staff or as a resident (a session that holds anything). Static files are answered
    before this runs (WhiteNoise) and keep their caching; a public page keeps its own."""

    PREFIXES = ("/api/", "/open311/")

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        session = getattr(request, "session", None)
        if request.path_info.startswith(self.PREFIXES) or (session is not None and session.keys()):
            add_never_cache_headers(response)
        return response


def _refused(request, status: int, code: str, message: str):
    """A request refused before any view: in the API's error shape, Open311's, or a page."""
    if request.path.startswith("/open311/"):  # GeoReport's own error shape
        return JsonResponse([{"code": status, "description": message}], safe=False, status=status)
    if request.path.startswith("/api/"):
        return JsonResponse({"code": code, "message": message}, status=status)
    return TemplateResponse(request, "400.html", {"message": message}, status=status).render()


class BodyLimitMiddleware:
    """A request body larger than its sender may upload is refused (413) from its
    Content-Length, before anything reads it: an anonymous sender (a resident reporting a
    problem, an Open311 client) at most settings.JICENG_BODY_MAX_ANONYMOUS, signed-in staff
    at most JICENG_BODY_MAX_STAFF. A body sent without a length (chunked) is refused (411):
    Django would take it for an empty one. Placed before every middleware that reads it."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        declared = request.META.get("CONTENT_LENGTH") or ""
        if not declared and "chunked" in request.META.get("HTTP_TRANSFER_ENCODING", "").lower():
            return _refused(request, 411, "length_required", "请求须注明内容长度。")
        if declared and not (declared.isascii() and declared.isdigit()):
            return _refused(request, 400, "bad_length", "请求的内容长度无效。")
        size = int(declared) if declared else 0
        if size > settings.JICENG_BODY_MAX_ANONYMOUS:
            staff = get_user(request).is_authenticated
            limit = settings.JICENG_BODY_MAX_STAFF if staff else settings.JICENG_BODY_MAX_ANONYMOUS
            if size > limit:
                allowed = limit // (1024 * 1024) - 1  # without the margin for the form
                message = f"提交的内容过大（每次最多 {allowed} MB），请压缩照片或分批上传。"
                return _refused(request, 413, "body_too_large", message)
        return self.get_response(request)


class NulByteMiddleware:
    """Text never holds a NUL character, and PostgreSQL refuses to store one: a request
    carrying one in its query string or in a JSON or form body is refused (400) before it
    reaches a view. Uploaded files (multipart) are not text and are left alone."""

    TEXT_BODIES = ("application/json", "application/x-www-form-urlencoded")

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if self._carries_nul(request):
            return _refused(request, 400, "nul_character", "请求中含有非法字符（NUL）。")
        return self.get_response(request)

    def _carries_nul(self, request) -> bool:
        if "%00" in request.META.get("QUERY_STRING", "").lower() or "\x00" in request.path:
            return True
        if request.content_type not in self.TEXT_BODIES:
            return False
        body = request.body.lower()
        return b"\x00" in body or b"%00" in body or b"\\u0000" in body


class DatabaseUnavailableMiddleware:
    """While the database is unreachable, answer 503 instead of a stack trace."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if not isinstance(exception, OperationalError | InterfaceError):
            return None
        if "locked" in str(exception):
            return None  # SQLite contention is a bug to see, not an outage
        response = SimpleTemplateResponse("503.html", status=503)
        response["Retry-After"] = "30"
        return response.render()


class DomainErrorMiddleware:
    """Pages: a NotFound from a selector is a 404, a Forbidden a 403, a reveal past its
    quota a 429 page (or fragment) linking to the ways past it, any other refusal a 400
    page that says why (with our templates)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if isinstance(exception, NotFound):
            raise Http404(exception.message) from exception
        if isinstance(exception, Forbidden):
            raise PermissionDenied(exception.message) from exception
        if getattr(exception, "code", "") == "reveal_quota":
            # An htmx reveal swaps the answer in place of the masked value (htmx swaps
            # only a 2xx): the refusal says so there, with where to ask for more.
            htmx = bool(getattr(request, "htmx", False))
            return TemplateResponse(
                request,
                "core/_reveal_quota.html" if htmx else "core/reveal_quota.html",
                {"message": exception.message, "links": exception.links},
                status=200 if htmx else exception.status,
            ).render()
        if isinstance(exception, DomainError):
            return TemplateResponse(
                request, "400.html", {"message": exception.message}, status=exception.status
            ).render()
        return None
