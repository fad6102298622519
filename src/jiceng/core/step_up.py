"""The second factor as the kernel sees it: who must pass one, and asking for it again
(step-up) before a sensitive step — approving a grant, signing a handover.

A session records when its second factor was last checked (`mark`, called by the sign-in
and re-verify pages of accounts). A view wrapped in `@step_up` is reached only while that
check is younger than JICENG_STEP_UP_MINUTES; otherwise the user is sent to the re-verify
page (by URL name, so that the kernel imports no app) and back afterwards. A POST cannot
be replayed through a redirect: it goes back to the page its form was on, to be sent
again."""

import functools
from typing import Protocol
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import timezone

from jiceng.core.links import safe_next

SESSION_KEY = "second_factor_at"
VERIFY_URL = "accounts:step_up"


class RoleHolder(Protocol):
    is_authenticated: bool
    is_superuser: bool

    def role_codes(self) -> set[str]: ...


def needed(user: RoleHolder) -> bool:
    """Whether this account signs in with a second factor: the platform operator, and
    whoever holds one of JICENG_SECOND_FACTOR_ROLES (none while JICENG_SECOND_FACTOR=0)."""
    if not settings.JICENG_SECOND_FACTOR or not user.is_authenticated:
        return False
    return user.is_superuser or bool(user.role_codes() & set(settings.JICENG_SECOND_FACTOR_ROLES))


def mark(request) -> None:
    """The second factor has just been checked in this session."""
    request.session[SESSION_KEY] = timezone.now().timestamp()


def passed(request) -> bool:
    """Whether this session has passed the second factor at all (accounts' middleware sends
    a session that has not, though it now needs one, to pass it)."""
    return isinstance(request.session.get(SESSION_KEY), int | float)


def is_fresh(request) -> bool:
    at = request.session.get(SESSION_KEY)
    if not isinstance(at, int | float):
        return False
    return timezone.now().timestamp() - at < settings.JICENG_STEP_UP_MINUTES * 60


def verify_url(request, back: str) -> str:
    """The re-verify page, returning to `back` (a path on this site) afterwards."""
    return f"{reverse(VERIFY_URL)}?{urlencode({'next': back})}"


def step_up(view):
    """Reach `view` only with a recent second factor (when the user needs one)."""
    return _guarded(view, reading=False)


def step_up_writes(view):
    """Like `step_up` for what `view` changes (a POST); the page it shows (GET) is read
    without asking again (the list of accounts, with its form to create one)."""
    return _guarded(view, reading=True)


def _guarded(view, *, reading: bool):
    @functools.wraps(view)
    def wrapper(request, *args, **kwargs):
        if (
            (reading and request.method in ("GET", "HEAD"))
            or not needed(request.user)
            or is_fresh(request)
        ):
            return view(request, *args, **kwargs)
        if request.method == "GET":
            back = request.get_full_path()
        else:
            back = safe_next(request, request.META.get("HTTP_REFERER"), "/")
            messages.info(request, "此操作须再次验证动态口令；验证后请重新提交。")
        return redirect(verify_url(request, back))

    return wrapper
