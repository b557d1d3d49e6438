"""Joining a portal: invitations (signed, expiring, single-use links that end in a Membership) and
the location requests that self-sign-up leaves for the agency to approve."""

from __future__ import annotations

import secrets
from datetime import timedelta
from functools import partial

from django.conf import settings
from django.core import signing
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from saas_platform.kernel.errors import ApplicationError
from saas_platform.kernel.logging import get_logger

from .. import selectors
from ..entitlements import feature_require
from ..mail import branded_mail_build
from ..models import Agency, Invitation, Location, LocationRequest, Membership, User
from .common import audit_record, validated
from .locations import location_create
from .people import membership_grant

log = get_logger(__name__)

INVITATION_SALT = "tenants.invitation"


def _may_invite(*, user: User, location: Location) -> bool:
    """Agency owners and admins invite to any of their locations, client admins to their own."""
    if user.agency_id != location.agency_id:
        return False
    roles = set(
        Membership.objects.for_agency(location.agency)
        .filter(user=user)
        .filter(location__isnull=True)
        .values_list("role", flat=True)
    )
    if roles & Membership.AGENCY_ADMIN_ROLES:
        return True
    return (
        Membership.objects.for_agency(location.agency)
        .filter(user=user, location=location, role=Membership.Role.CLIENT_ADMIN)
        .exists()
    )


def invitation_token(invitation: Invitation) -> str:
    return signing.dumps({"i": invitation.pk, "n": invitation.nonce}, salt=INVITATION_SALT)


def invitation_url(invitation: Invitation) -> str:
    path = reverse(
        "portal:invitation-accept",
        kwargs={"token": invitation_token(invitation)},
        urlconf=settings.ROOT_URLCONF,
    )
    return selectors.agency_portal_url(invitation.agency, path)


def _invitation_mail_send(invitation_id: int) -> None:
    invitation = (
        Invitation.objects.unscoped().select_related("agency", "location").get(pk=invitation_id)
    )
    inviter = invitation.invited_by.get_full_name() if invitation.invited_by else ""
    branded_mail_build(
        agency=invitation.agency,
        template_prefix="emails/invitation",
        to=[invitation.email],
        context={
            "invitation": invitation,
            "inviter": inviter,
            "action_url": invitation_url(invitation),
            "action_label": "Accept the invitation",
        },
    ).send()
    log.info("tenants.invitation.sent", invitation_id=invitation.pk, agency_id=invitation.agency_id)


def _seat_free(location: Location) -> None:
    """Refuse an invitation beyond the plan's seats: the client's users and its invitations
    still open each take one. The location row is locked so two invitations at once cannot
    both take the last seat."""
    Location.objects.for_agency(location.agency).select_for_update().filter(pk=location.pk).first()
    users = Membership.objects.for_agency(location.agency).filter(
        location=location, role__in=Membership.CLIENT_ROLES
    )
    invited = Invitation.objects.for_agency(location.agency).filter(
        location=location, accepted_at__isnull=True, expires_at__gt=timezone.now()
    )
    feature_require(location=location, feature="seats", used=users.count() + invited.count())


@transaction.atomic
def invitation_create(
    *, location: Location, email: str, role: str, acting_user: User
) -> Invitation:
    """Invite `email` to `location` with a client role; the email leaves after the commit."""
    agency = location.agency
    if not _may_invite(user=acting_user, location=location):
        raise ApplicationError("You may not invite people to this location.")
    if role not in Membership.CLIENT_ROLES:
        raise ApplicationError("Choose a client role: client admin or client member.")
    email = User.objects.normalize_email(email.strip())
    existing = selectors.user_find(agency=agency, email=email)
    if existing is not None and existing.memberships.filter(location=location).exists():
        raise ApplicationError(f"{email} is already a member of {location.name}.")
    _seat_free(location)
    invitation = Invitation(
        agency=agency,
        location=location,
        email=email,
        role=role,
        nonce=secrets.token_hex(16),
        invited_by=acting_user,
        expires_at=timezone.now() + timedelta(days=settings.INVITATION_MAX_AGE_DAYS),
    )
    validated(invitation)
    invitation.save()
    audit_record(
        action="invitation.created",
        target=invitation,
        acting_user=acting_user,
        agency=agency,
        location=location,
        changes={"email": (None, email), "role": (None, role)},
    )
    transaction.on_commit(partial(_invitation_mail_send, invitation.pk))
    return invitation


def invitation_from_token(*, agency: Agency, token: str) -> Invitation:
    """The open invitation a link names, on the agency whose domain it was opened on."""
    max_age = timedelta(days=settings.INVITATION_MAX_AGE_DAYS)
    try:
        payload = signing.loads(token, salt=INVITATION_SALT, max_age=max_age)
    except signing.SignatureExpired as exc:
        raise ApplicationError("This invitation has expired. Ask for a new one.") from exc
    except signing.BadSignature as exc:
        raise ApplicationError("This invitation link is not valid.") from exc
    invitation: Invitation | None = (
        Invitation.objects.for_agency(agency)
        .select_related("agency", "location")
        .filter(pk=payload.get("i"), nonce=payload.get("n"))
        .first()
    )
    if invitation is None:
        raise ApplicationError("This invitation link is not valid.")
    if invitation.is_spent:
        raise ApplicationError("This invitation has already been used.")
    if invitation.is_expired:
        raise ApplicationError("This invitation has expired. Ask for a new one.")
    return invitation


@transaction.atomic
def invitation_accept(*, invitation: Invitation, user: User) -> Membership:
    """Spend the invitation on `user` (whose email it was sent to): they join the location."""
    locked: Invitation = (
        Invitation.objects.for_agency(invitation.agency)
        .select_for_update()
        .select_related("location")
        .get(pk=invitation.pk)
    )
    if locked.is_spent:
        raise ApplicationError("This invitation has already been used.")
    if locked.is_expired:
        raise ApplicationError("This invitation has expired. Ask for a new one.")
    if user.agency_id != locked.agency_id or user.email.lower() != locked.email.lower():
        raise ApplicationError("This invitation was sent to another address.")
    membership = membership_grant(
        user=user, role=locked.role, location=locked.location, acting_user=user
    )
    locked.accepted_at = timezone.now()
    locked.accepted_by = user
    locked.save(update_fields=["accepted_at", "accepted_by", "updated_at"])
    audit_record(
        action="invitation.accepted",
        target=locked,
        acting_user=user,
        agency=locked.agency,
        location=locked.location,
        changes={"accepted_at": (None, locked.accepted_at)},
    )
    return membership


# --- location requests (self-sign-up) ------------------------------------------------------------


@transaction.atomic
def location_request_create(*, user: User, business_name: str) -> LocationRequest:
    if user.agency is None or not user.agency.allow_self_signup:
        raise ApplicationError("This portal does not accept sign-ups without an invitation.")
    request = LocationRequest(
        agency=user.agency, requested_by=user, business_name=business_name.strip()
    )
    validated(request)
    request.save()
    audit_record(
        action="location_request.created",
        target=request,
        acting_user=user,
        agency=user.agency,
        changes={"business_name": (None, request.business_name)},
    )
    return request


def _decidable(request: LocationRequest) -> LocationRequest:
    locked: LocationRequest = (
        LocationRequest.objects.for_agency(request.agency)
        .select_for_update()
        .select_related("requested_by")
        .get(pk=request.pk)
    )
    if locked.status != LocationRequest.Status.PENDING:
        raise ApplicationError(f"“{locked.business_name}” was already {locked.status}.")
    return locked


@transaction.atomic
def location_request_approve(*, request: LocationRequest, acting_user: User) -> Location:
    """Create the business as a location and make the requester its client admin."""
    locked = _decidable(request)
    location = location_create(
        agency=locked.agency, name=locked.business_name, acting_user=acting_user
    )
    membership_grant(
        user=locked.requested_by,
        role=Membership.Role.CLIENT_ADMIN,
        location=location,
        acting_user=acting_user,
    )
    _decide(locked, LocationRequest.Status.APPROVED, acting_user, location=location)
    return location


@transaction.atomic
def location_request_decline(*, request: LocationRequest, acting_user: User) -> None:
    _decide(_decidable(request), LocationRequest.Status.DECLINED, acting_user)


def _decide(
    request: LocationRequest, status: str, acting_user: User, location: Location | None = None
) -> None:
    old = request.status
    request.status = status
    request.location = location
    request.decided_by = acting_user
    request.decided_at = timezone.now()
    request.save(update_fields=["status", "location", "decided_by", "decided_at", "updated_at"])
    audit_record(
        action=f"location_request.{status}",
        target=request,
        acting_user=acting_user,
        agency=request.agency,
        location=location,
        changes={"status": (old, status)},
    )
