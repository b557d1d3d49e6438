"""Authentication within a realm: the agency that serves the request, or the platform."""

from typing import Any

from django.contrib.auth.backends import ModelBackend
from django.http import HttpRequest

from .models import User


class RealmBackend(ModelBackend):
    """Email + password, looked up only among the accounts of the request's realm, so the same
    email on two agencies' portals is two separate people."""

    def authenticate(
        self,
        request: HttpRequest | None,
        username: str | None = None,
        password: str | None = None,
        email: str | None = None,
        **kwargs: Any,
    ) -> User | None:
        login = email or username
        if request is None or not login or password is None:
            return None
        agency = getattr(request, "agency", None)
        user = User.objects.filter(agency=agency, email__iexact=login.strip()).first()
        if user is None:
            # Same work as a real check, so timing does not tell which emails exist.
            User().set_password(password)
            return None
        if user.check_password(password) and self.user_can_authenticate(user):
            return user
        return None
