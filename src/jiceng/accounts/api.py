"""API authentication: personal access tokens."""

import datetime

from ninja import Router, Schema, Status
from ninja.security import HttpBearer

from jiceng.accounts import second_factor, services
from jiceng.core import step_up
from jiceng.core.actors import Actor

router = Router(tags=["认证"])


class BearerToken(HttpBearer):
    def authenticate(self, request, token: str):
        api_token = services.api_token_authenticate(token)
        if api_token is None:
            return None
        request.user = api_token.user
        request.api_token = api_token
        return api_token.user


class TokenIn(Schema):
    username: str
    password: str
    code: str = ""  # 动态口令 (or a recovery code), for accounts that sign in with one
    name: str = ""


class TokenOut(Schema):
    token: str
    token_type: str = "Bearer"  # noqa: S105  (the scheme name, not a secret)
    expires_at: datetime.datetime


@router.post("/token", auth=None, response=TokenOut, summary="用账号密码换取访问令牌")
def token_create(request, payload: TokenIn):
    user = services.login_check(
        actor=Actor.of(request),
        request=request,
        username=payload.username[:150],
        password=payload.password[:128],
    )
    passed = step_up.needed(user)
    if passed:  # a token must not be a way around the second factor
        second_factor.second_factor_verify(
            actor=Actor.staff(user), user=user, code=payload.code[:32]
        )
    raw, token = services.api_token_issue(
        actor=Actor.staff(user), name=payload.name, second_factor=passed
    )
    return TokenOut(token=raw, expires_at=token.expires_at)


@router.delete("/token", response={204: None}, summary="吊销当前使用的访问令牌（退出）")
def token_revoke(request):
    services.api_token_revoke(actor=Actor.of(request), token=request.api_token)
    return Status(204, None)
