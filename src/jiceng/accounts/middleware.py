"""An account holding a first or reset password chooses its own before doing anything else
(the administrator who set it must not be able to go on using it)."""

from django.shortcuts import redirect
from django.urls import reverse


class PasswordChangeRequiredMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if (
            user is not None
            and user.is_authenticated
            and user.password_must_change
            and not request.path.startswith(("/api/", "/static/", "/healthz"))
            and request.path not in (reverse("accounts:password"), reverse("accounts:logout"))
        ):
            return redirect("accounts:password")
        return self.get_response(request)
