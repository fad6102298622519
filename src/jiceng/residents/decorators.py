"""`resident_required`: a page of the signed-in resident, for any app's resident pages."""

from functools import wraps
from urllib.parse import quote

from django.contrib.auth.decorators import login_not_required
from django.shortcuts import redirect
from django.urls import reverse

from jiceng.core.links import safe_next
from jiceng.residents import services


def resident_required(view):
    """The page is the signed-in resident's: others are sent to sign in first."""

    @login_not_required
    @wraps(view)
    def wrapped(request, *args, **kwargs):
        resident = services.current_resident(request)
        if resident is None:  # after signing in, back to this page (or where a form says)
            back = request.get_full_path() if request.method == "GET" else _after_post(request)
            return redirect(f"{reverse('me:login')}?next={quote(back)}")
        request.resident = resident
        return view(request, *args, **kwargs)

    return wrapped


def _after_post(request) -> str:
    """A form posted while signed out names where to come back to (the page it was on,
    with the intent: an activity's sign-up); else the page it was posted from."""
    home = reverse("me:home")
    return safe_next(
        request,
        request.POST.get("next"),
        safe_next(request, request.headers.get("referer"), home),
    )
