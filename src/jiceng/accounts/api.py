"""API authentication: personal access tokens."""

import datetime

from ninja import Router, Schema
from ninja.security import HttpBearer

from jiceng.accounts import services

router = Router(tags=["认证"])


class BearerToken(HttpBearer):
    def authenticate(self, request, token: str):
        user = services.api_token_authenticate(token)
        if user is not None:
            request.user = user
        return user


class TokenIn(Schema):
    username: str
    password: str
    name: str = ""


class TokenOut(Schema):
    token: str
    token_type: str = "Bearer"  # noqa: S105  (the scheme name, not a secret)
    expires_at: datetime.datetime


@router.post("/token", auth=None, response=TokenOut, summary="用账号密码换取访问令牌")
def token_create(request, payload: TokenIn):
    user = services.login_check(
        request=request, username=payload.username[:150], password=payload.password[:128]
    )
    raw, token = services.api_token_issue(user=user, name=payload.name)
    return TokenOut(token=raw, expires_at=token.expires_at)
