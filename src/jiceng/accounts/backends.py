"""Password login with lockout after repeated failures (等保 2.0).

The lock lives in the backend so that every way in (login page, API token endpoint, the
admin's own login form) obeys it.
"""

import datetime

from django.conf import settings
from django.contrib.auth.backends import ModelBackend
from django.db.models import F
from django.utils import timezone

from jiceng.accounts.models import User


def is_locked(user: User) -> bool:
    return user.locked_until is not None and user.locked_until > timezone.now()


class LockoutModelBackend(ModelBackend):
    def authenticate(self, request, username=None, password=None, **kwargs):
        if username is None or password is None:
            return None
        user = User.objects.filter(username=username).first()
        if user is None:
            User().set_password(password)  # same work as a real check: no timing oracle
            return None
        if is_locked(user):
            return None
        if user.check_password(password) and self.user_can_authenticate(user):
            if user.failed_login_count or user.locked_until:
                User.objects.filter(pk=user.pk).update(failed_login_count=0, locked_until=None)
            return user
        self._count_failure(user)
        return None

    def _count_failure(self, user: User) -> None:
        # Conditional updates: concurrent failures each count, and the lock is set once.
        User.objects.filter(pk=user.pk).update(failed_login_count=F("failed_login_count") + 1)
        lock_until = timezone.now() + datetime.timedelta(minutes=settings.JICENG_LOGIN_LOCK_MINUTES)
        User.objects.filter(
            pk=user.pk, failed_login_count__gte=settings.JICENG_LOGIN_MAX_FAILURES
        ).update(failed_login_count=0, locked_until=lock_until)
