"""Before anything else, a signed-in account settles what its sign-in left open: one holding
a first or reset password chooses its own (the administrator who set it must not be able
to go on using it); one that needs a second factor but has not passed one in this session
(it signed in before it was given a role that needs one, or before the setting was turned
on) passes it, enrolling if it has none."""

from django.shortcuts import redirect
from django.urls import reverse

from jiceng.core import step_up

EXEMPT_PREFIXES = ("/api/", "/static/", "/healthz")


class SignInCompleteMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if (
            user is None
            or not user.is_authenticated
            or request.path.startswith(EXEMPT_PREFIXES)
            or request.path == reverse("accounts:logout")
        ):
            return self.get_response(request)
        password, verify = reverse("accounts:password"), reverse(step_up.VERIFY_URL)
        if user.password_must_change and request.path != password:
            return redirect(password)
        if (
            not user.password_must_change
            and step_up.needed(user)
            and not step_up.passed(request)
            and request.path != verify
        ):
            return redirect(step_up.verify_url(request, request.get_full_path()))
        return self.get_response(request)
