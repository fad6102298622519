"""The REST API at /api/v1/: one NinjaAPI, routers from the apps, stable error bodies."""

import functools

from django.http import JsonResponse
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError, ValidationError
from ninja.renderers import JSONRenderer

from jiceng.accounts.api import BearerToken
from jiceng.accounts.api import router as auth_router
from jiceng.accounts.services import api_token_authenticate
from jiceng.activities.api import router as activities_router
from jiceng.cases.api import router as cases_router
from jiceng.core.errors import DomainError
from jiceng.gatherings.api import router as gatherings_router
from jiceng.party.api import router as party_router
from jiceng.places.api import router as places_router
from jiceng.points.api import router as points_router


class Utf8JSONRenderer(JSONRenderer):
    """Chinese text as UTF-8, not \\u escapes: smaller, and readable in logs."""

    json_dumps_params = {"ensure_ascii": False}


ERROR_SCHEMA = {
    "type": "object",
    "required": ["code", "message"],
    "properties": {
        "code": {"type": "string", "description": "stable error code, e.g. not_found, bad_period"},
        "message": {"type": "string", "description": "说明（中文）"},
        "field": {"type": "string"},
        "links": {"type": "object", "additionalProperties": {"type": "string"}},
        "detail": {"type": "array", "items": {"type": "object"}},
    },
}


class JicengAPI(NinjaAPI):
    def get_openapi_schema(self, *args, **kwargs):
        """Every operation may also answer with an error body (4XX): say so, with its
        shape, so clients (and the fuzzing tests) know what to expect."""
        schema = super().get_openapi_schema(*args, **kwargs)
        schema.setdefault("components", {}).setdefault("schemas", {})["Error"] = ERROR_SCHEMA
        error = {
            "description": "请求被拒绝：code 为稳定的错误代码，message 为中文说明",
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
        }
        for operations in schema["paths"].values():
            for operation in operations.values():
                operation["responses"].setdefault("4XX", error)
        return schema


def signed_in(view):
    """The API's description and docs are for its users: a signed-in session or a token."""

    @functools.wraps(view)
    def wrapped(request, *args, **kwargs):
        header = request.headers.get("Authorization", "")
        if request.user.is_authenticated or (
            header.startswith("Bearer ") and api_token_authenticate(header[7:].strip())
        ):
            return view(request, *args, **kwargs)
        return JsonResponse(
            {"code": "unauthorized", "message": "请先登录：缺少或无效的访问令牌。"}, status=401
        )

    return wrapped


api = JicengAPI(
    title="基层治理 API",
    version="1",
    description="Jiceng REST API. 认证：先 POST /api/v1/auth/token 取得令牌，"
    "之后每个请求带 Authorization: Bearer <令牌>。个人信息默认脱敏。",
    auth=BearerToken(),
    urls_namespace="api",
    renderer=Utf8JSONRenderer(),
    docs_decorator=signed_in,
)
api.add_router("/auth", auth_router)
api.add_router("/", places_router)
api.add_router("/", cases_router)
api.add_router("/", activities_router)
api.add_router("/", gatherings_router)
api.add_router("/", points_router)
api.add_router("/", party_router)


def _error(request, status: int, code: str, message: str, **extra):
    return api.create_response(request, {"code": code, "message": message, **extra}, status=status)


@api.exception_handler(DomainError)
def domain_error(request, exc: DomainError):
    extra = {"field": exc.field} if exc.field else {}
    if getattr(exc, "links", None):  # where to go past the refusal (a reveal quota's forms)
        extra["links"] = exc.links
    return _error(request, exc.status, exc.code, exc.message, **extra)


@api.exception_handler(AuthenticationError)
def authentication_error(request, exc):
    return _error(request, 401, "unauthorized", "请先登录：缺少或无效的访问令牌。")


# What each kind of validation error says, in Chinese (pydantic's error types); the shape
# of `detail` stays pydantic's, only `msg` is ours.
VALIDATION_MESSAGES = {
    "missing": "必填",
    "string_type": "须为文字",
    "string_too_short": "至少 {min_length} 个字符",
    "string_too_long": "不能超过 {max_length} 个字符",
    "string_pattern_mismatch": "格式不正确",
    "int_type": "须为整数",
    "int_parsing": "须为整数",
    "int_from_float": "须为整数",
    "float_type": "须为数字",
    "float_parsing": "须为数字",
    "decimal_parsing": "须为数字",
    "decimal_type": "须为数字",
    "bool_type": "须为 true 或 false",
    "bool_parsing": "须为 true 或 false",
    "date_type": "须为日期，如 2026-01-31",
    "date_parsing": "须为日期，如 2026-01-31",
    "date_from_datetime_parsing": "须为日期，如 2026-01-31",
    "datetime_type": "须为日期时间，如 2026-01-31T09:00:00+08:00",
    "datetime_parsing": "须为日期时间，如 2026-01-31T09:00:00+08:00",
    "datetime_from_date_parsing": "须为日期时间，如 2026-01-31T09:00:00+08:00",
    "greater_than": "须大于 {gt}",
    "greater_than_equal": "不能小于 {ge}",
    "less_than": "须小于 {lt}",
    "less_than_equal": "不能大于 {le}",
    "literal_error": "须为以下之一：{expected}",
    "enum": "须为以下之一：{expected}",
    "list_type": "须为列表",
    "dict_type": "须为对象",
    "model_type": "须为对象",
    "model_attributes_type": "须为对象",
    "json_invalid": "不是有效的 JSON",
    "json_type": "不是有效的 JSON",
    "too_short": "至少 {min_length} 项",
    "too_long": "最多 {max_length} 项",
    "uuid_parsing": "格式不正确",
    "url_parsing": "须为网址",
}
NOT_FIELDS = {"body", "query", "path", "header", "cookie", "form", "payload", "file", "files"}


def _field_name(loc) -> str:
    """The field an error is about, as the client named it (the last named part)."""
    names = [str(part) for part in loc if str(part) not in NOT_FIELDS]
    return ".".join(names) or "请求"


def _chinese(error: dict) -> dict:
    template = VALIDATION_MESSAGES.get(error.get("type", ""), "格式不正确")
    try:
        text = template.format(**(error.get("ctx") or {}))
    except (KeyError, IndexError, ValueError):
        text = template.split("{")[0].rstrip("：: ") or "格式不正确"
    return {**error, "msg": f"{_field_name(error.get('loc', ()))}：{text}"}


@api.exception_handler(ValidationError)
def validation_error(request, exc: ValidationError):
    """422 with pydantic's `detail` (the schema fuzzers check), each `msg` in Chinese and
    naming its field; `message` sums them up."""
    detail = [_chinese(e) for e in exc.errors]
    shown = "；".join(e["msg"] for e in detail[:5])
    more = f"等 {len(detail)} 处" if len(detail) > 5 else ""
    message = f"请求参数不正确：{shown}{more}。" if detail else "请求参数不正确。"
    return _error(request, 422, "validation_error", message, detail=detail)


@api.exception_handler(HttpError)
def http_error(request, exc: HttpError):
    return _error(request, exc.status_code, f"http_{exc.status_code}", str(exc))
