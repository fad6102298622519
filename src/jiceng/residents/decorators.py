"""`resident_required`: a page of the signed-in resident, for any app's resident pages."""

from functools import wraps
from urllib.parse import quote

from django.contrib.auth.decorators import login_not_required
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme

from jiceng.residents import services


def resident_required(view):
    """The page is the signed-in resident's: others are sent to sign in first."""

    @login_not_required
    @wraps(view)
    def wrapped(request, *args, **kwargs):
        resident = services.current_resident(request)
        if resident is None:  # after signing in, back to this page (or the one posted from)
            back = request.get_full_path() if request.method == "GET" else _referer(request)
            return redirect(f"{reverse('me:login')}?next={quote(back)}")
        request.resident = resident
        return view(request, *args, **kwargs)

    return wrapped


def _referer(request) -> str:
    referer = request.headers.get("referer", "")
    if url_has_allowed_host_and_scheme(referer, {request.get_host()}, request.is_secure()):
        return referer
    return reverse("me:home")
