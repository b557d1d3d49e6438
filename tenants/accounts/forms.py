"""allauth's forms, checked within the request's agency: an email is unique per agency, an
invitation fixes the address, self-sign-up names the business, and a password reset reaches only
this agency's account."""

from __future__ import annotations

from typing import Any

from allauth.account.adapter import get_adapter
from allauth.account.forms import AddEmailForm, ResetPasswordForm, SignupForm, UserTokenForm
from allauth.core import context
from django import forms
from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from .. import services
from ..models import Agency, Invitation, User
from ..services.common import audit_record
from .realm import SESSION_INVITATION_KEY, pending_invitation, request_agency

TAKEN = _("An account with this email already exists here. Sign in, or reset your password.")


def _agency() -> Agency | None:
    return request_agency(context.request)


def _taken(email: str, *, except_user: User | None = None) -> bool:
    users = User.objects.filter(agency=_agency(), email__iexact=email)
    if except_user is not None:
        users = users.exclude(pk=except_user.pk)
    return users.exists()


class PortalSignupForm(SignupForm):  # type: ignore[misc]  # allauth ships no types
    full_name = forms.CharField(label=_("Your name"), max_length=200)
    business_name = forms.CharField(
        label=_("Business name"),
        max_length=200,
        required=False,
        help_text=_("The business you want to manage here; the agency sets it up for you."),
    )
    field_order = ["full_name", "email", "business_name", "password1", "password2"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        request = context.request
        self.invitation: Invitation | None = (
            pending_invitation(request) if request is not None else None
        )
        if self.invitation is not None:
            # Invited people join an existing business: no business name to ask for.
            del self.fields["business_name"]
            self.fields["email"].initial = self.invitation.email
        else:
            self.fields["business_name"].required = True

    def validate_unique_email(self, value: str) -> str:
        if _taken(value):
            raise ValidationError(TAKEN)
        return value

    def clean_email(self) -> str:
        value: str = super().clean_email()
        if self.invitation is not None and value.lower() != self.invitation.email.lower():
            raise ValidationError(
                _("This invitation was sent to %(email)s; sign up with that address.")
                % {"email": self.invitation.email}
            )
        return value

    @transaction.atomic
    def save(self, request: HttpRequest) -> User:
        user: User = super().save(request)
        audit_record(
            action="user.signed_up",
            target=user,
            acting_user=user,
            agency=user.agency,
            changes={"email": (None, user.email)},
        )
        if self.invitation is not None:
            services.invitation_accept(invitation=self.invitation, user=user)
            request.session.pop(SESSION_INVITATION_KEY, None)
        else:
            services.location_request_create(
                user=user, business_name=self.cleaned_data["business_name"]
            )
        return user


class PortalAddEmailForm(AddEmailForm):  # type: ignore[misc]
    def clean_email(self) -> str:
        value: str = super().clean_email()
        if _taken(value, except_user=self.user):
            raise ValidationError(TAKEN)
        return value


class PortalResetPasswordForm(ResetPasswordForm):  # type: ignore[misc]
    users: list[User]

    def clean_email(self) -> str:
        value: str = super().clean_email()
        agency = _agency()
        # allauth looks the address up across every realm; only this agency's account may get a
        # reset link here.
        self.users = [
            user for user in self.users if agency is not None and user.agency_id == agency.pk
        ]
        if not self.users:
            raise get_adapter().validation_error("unknown_email")
        return value


class PortalUserTokenForm(UserTokenForm):  # type: ignore[misc]
    def _get_user(self, uidb36: str) -> User | None:
        # A reset link names a user by id: only this agency's users can be named on its domain.
        user: User | None = super()._get_user(uidb36)
        agency = _agency()
        if user is None or agency is None or user.agency_id != agency.pk:
            return None
        return user
