"""A business's team, run by its own administrators from the workspace: change a member's role,
remove a member, resend or cancel an invitation. Every business keeps at least one client
administrator, so it can always run its own team and billing."""

from __future__ import annotations

from datetime import timedelta
from functools import partial

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from saas_platform.kernel.errors import ApplicationError

from ..models import Invitation, Location, Membership, User
from .common import audit_record
from .onboarding import _invitation_mail_send, invitation_create
from .people import membership_grant, membership_revoke


def location_may_administer(*, user: User, location: Location) -> bool:
    """The location's client admins, and its agency's owners and admins (agency staff look on)."""
    if user.agency_id != location.agency_id:
        return False
    return (
        Membership.objects.for_agency(location.agency)
        .filter(user=user)
        .filter(location__isnull=True, role__in=Membership.AGENCY_ADMIN_ROLES)
        .exists()
        or Membership.objects.for_agency(location.agency)
        .filter(user=user, location=location, role=Membership.Role.CLIENT_ADMIN)
        .exists()
    )


def _require_administrator(*, user: User, location: Location) -> None:
    if not location_may_administer(user=user, location=location):
        raise ApplicationError(_("Only the business's administrators can change its team."))


def _last_admin_guard(membership: Membership, *, leaving: bool) -> None:
    """Refuse to leave the location without a client admin. The admins' rows are locked and read
    afresh (not from `membership.role`, which may be stale), so two admins demoting each other
    at once cannot both succeed."""
    admins = list(
        Membership.objects.for_agency(membership.agency)
        .select_for_update()
        .filter(location_id=membership.location_id, role=Membership.Role.CLIENT_ADMIN)
        .values_list("pk", flat=True)
    )
    if admins == [membership.pk]:
        refusal = (
            _(
                "%(email)s is the business's only administrator and cannot be removed. "
                "Make someone else an administrator first."
            )
            if leaving
            else _(
                "%(email)s is the business's only administrator and cannot be made a member. "
                "Make someone else an administrator first."
            )
        )
        raise ApplicationError(refusal % {"email": membership.user.email})


@transaction.atomic
def location_member_role_set(*, membership: Membership, role: str, acting_user: User) -> Membership:
    location = membership.location
    if location is None:
        raise ApplicationError(_("Agency roles are managed by the agency."))
    _require_administrator(user=acting_user, location=location)
    if role not in Membership.CLIENT_ROLES:
        raise ApplicationError(_("Choose a role: administrator or member."))
    if role != Membership.Role.CLIENT_ADMIN:
        _last_admin_guard(membership, leaving=False)
    return membership_grant(
        user=membership.user, role=role, location=location, acting_user=acting_user
    )


@transaction.atomic
def location_member_remove(*, membership: Membership, acting_user: User) -> None:
    location = membership.location
    if location is None:
        raise ApplicationError(_("Agency roles are managed by the agency."))
    _require_administrator(user=acting_user, location=location)
    _last_admin_guard(membership, leaving=True)
    membership_revoke(membership=membership, acting_user=acting_user)


@transaction.atomic
def location_invite(*, location: Location, email: str, role: str, acting_user: User) -> Invitation:
    """Invite someone to the business, unless an open invitation already waits for them (a
    second link would only confuse: resend the first)."""
    email = User.objects.normalize_email(email.strip())
    waiting = (
        Invitation.objects.for_agency(location.agency)
        .filter(location=location, email__iexact=email, accepted_at__isnull=True)
        .exists()
    )
    if waiting:
        raise ApplicationError(
            _("%(email)s is already invited. Use “Resend” to send the link again.")
            % {"email": email}
        )
    return invitation_create(location=location, email=email, role=role, acting_user=acting_user)


def _open(invitation: Invitation) -> Invitation:
    locked: Invitation = (
        Invitation.objects.for_agency(invitation.agency)
        .select_for_update()
        .select_related("location")
        .get(pk=invitation.pk)
    )
    if locked.is_spent:
        raise ApplicationError(
            _("%(email)s has already accepted this invitation.") % {"email": locked.email}
        )
    return locked


@transaction.atomic
def invitation_resend(*, invitation: Invitation, acting_user: User) -> Invitation:
    """Send the invitation again with a fresh expiry (an expired one comes back to life)."""
    _require_administrator(user=acting_user, location=invitation.location)
    locked = _open(invitation)
    old = locked.expires_at
    locked.expires_at = timezone.now() + timedelta(days=settings.INVITATION_MAX_AGE_DAYS)
    locked.save(update_fields=["expires_at", "updated_at"])
    audit_record(
        action="invitation.resent",
        target=locked,
        acting_user=acting_user,
        agency=locked.agency,
        location=locked.location,
        changes={"expires_at": (old, locked.expires_at)},
    )
    transaction.on_commit(partial(_invitation_mail_send, locked.pk))
    return locked


@transaction.atomic
def invitation_cancel(*, invitation: Invitation, acting_user: User) -> None:
    """Withdraw an open invitation: its link stops working ("not valid")."""
    _require_administrator(user=acting_user, location=invitation.location)
    locked = _open(invitation)
    audit_record(
        action="invitation.canceled",
        target=locked,
        acting_user=acting_user,
        agency=locked.agency,
        location=locked.location,
        changes={"email": (locked.email, None), "role": (locked.role, None)},
    )
    locked.delete()
