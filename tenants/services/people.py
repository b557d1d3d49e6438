"""People: users in a realm and their memberships."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from allauth.account.models import EmailAddress
from django.db import transaction
from django.utils.translation import gettext as _

from saas_platform.kernel.errors import ApplicationError

from .. import selectors
from ..models import Agency, Location, Membership, User
from .common import audit_record, update_fields, validated

USER_EDITABLE = ("full_name", "is_active")


@transaction.atomic
def user_create(
    *,
    agency: Agency | None,
    email: str,
    acting_user: User | None,
    full_name: str = "",
    password: str | None = None,
    is_staff: bool = False,
    email_verified: bool = False,
) -> User:
    """A person in a realm (an agency, or the platform when `agency` is None). An address nobody
    has confirmed (`email_verified` False) gets a confirmation email at the first portal sign-in;
    the demo data and trusted imports pass True."""
    email = User.objects.normalize_email(email.strip())
    if selectors.user_find(agency=agency, email=email) is not None:
        raise ApplicationError(_("%(email)s already has an account here.") % {"email": email})
    user = User(agency=agency, email=email, full_name=full_name, is_staff=is_staff)
    user.set_password(password)
    validated(user, exclude=["password"])
    user.save()
    EmailAddress.objects.create(user=user, email=email, primary=True, verified=email_verified)
    audit_record(
        action="user.created",
        target=user,
        acting_user=acting_user,
        agency=agency,
        changes={"email": (None, email)},
    )
    return user


@transaction.atomic
def user_update(*, user: User, acting_user: User | None, data: Mapping[str, Any]) -> User:
    if acting_user is not None and acting_user.pk == user.pk and data.get("is_active") is False:
        raise ApplicationError(_("You cannot deactivate your own account."))
    changes = update_fields(user, data, allowed=USER_EDITABLE)
    if changes:
        audit_record(
            action="user.updated",
            target=user,
            acting_user=acting_user,
            agency=user.agency,
            changes=changes,
        )
    return user


@transaction.atomic
def membership_grant(
    *,
    user: User,
    role: str,
    acting_user: User | None,
    location: Location | None = None,
) -> Membership:
    """Give `user` a role in their agency or one of its locations (idempotent; changes the role
    if a membership already exists there)."""
    if user.agency is None:
        raise ApplicationError(_("Platform operators have no agency or client roles."))
    existing: Membership | None = (
        Membership.objects.for_agency(user.agency).filter(user=user, location=location).first()
    )
    if existing:
        changes = update_fields(existing, {"role": role}, allowed=("role",))
        if changes:
            audit_record(
                action="membership.updated",
                target=existing,
                acting_user=acting_user,
                agency=user.agency,
                location=location,
                changes=changes,
            )
        return existing
    membership = Membership(user=user, agency=user.agency, location=location, role=role)
    validated(membership)
    membership.save()
    audit_record(
        action="membership.granted",
        target=membership,
        acting_user=acting_user,
        agency=user.agency,
        location=location,
        changes={"role": (None, role), "user": (None, user.email)},
    )
    return membership


@transaction.atomic
def membership_revoke(*, membership: Membership, acting_user: User | None) -> None:
    audit_record(
        action="membership.revoked",
        target=membership,
        acting_user=acting_user,
        agency=membership.agency,
        location=membership.location,
        changes={"role": (membership.role, None), "user": (membership.user.email, None)},
    )
    membership.delete()
