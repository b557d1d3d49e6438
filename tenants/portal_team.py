"""The business's team in the workspace (/app/l/<id>/team/): its members and their roles, its
open invitations, and the agency's people looking after it (read-only). Administrators invite,
change roles, remove, resend and cancel; every change goes through ``tenants.services``."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_http_methods, require_POST

from saas_platform.kernel.errors import ApplicationError

from .models import Invitation, Location, Membership, User
from .portal import location_page
from .services.team import (
    invitation_cancel,
    invitation_resend,
    location_invite,
    location_may_administer,
    location_member_remove,
    location_member_role_set,
)

MEMBERS_PER_PAGE = 25
# What clients call the two client roles.
ROLE_LABELS = {
    Membership.Role.CLIENT_ADMIN: _("Administrator"),
    Membership.Role.CLIENT_MEMBER: _("Member"),
}
ROLE_CHOICES = list(ROLE_LABELS.items())
AGENCY_ROLE_ORDER = [
    Membership.Role.AGENCY_OWNER,
    Membership.Role.AGENCY_ADMIN,
    Membership.Role.AGENCY_STAFF,
]


class InviteForm(forms.Form):
    email = forms.EmailField(label=_("E-mail address"), max_length=254)
    role = forms.ChoiceField(
        label=_("Role"),
        choices=ROLE_CHOICES,
        initial=Membership.Role.CLIENT_MEMBER,
        help_text=_("Administrators also manage the team, billing and settings."),
    )


class RoleForm(forms.Form):
    role = forms.ChoiceField(choices=ROLE_CHOICES)


def _acting_admin(request: HttpRequest, location: Location) -> User:
    user = request.user
    if not isinstance(user, User) or not location_may_administer(user=user, location=location):
        raise PermissionDenied(_("Only the business's administrators can change its team."))
    return user


def _back(location: Location) -> HttpResponse:
    return redirect("portal:team", location_id=location.pk)


@require_http_methods(["GET", "POST"])
@location_page(section="team", access="admin")
def team_page(request: HttpRequest, location: Location) -> HttpResponse:
    """The team, and (POST) the invitation form, re-shown with its errors when refused."""
    form = InviteForm()
    if request.method == "POST":
        acting = _acting_admin(request, location)
        form = InviteForm(request.POST)
        if form.is_valid():
            email, role = form.cleaned_data["email"], form.cleaned_data["role"]
            try:
                location_invite(location=location, email=email, role=role, acting_user=acting)
            except ApplicationError as exc:
                # Refusals about this address belong next to its field.
                form.add_error(
                    "email" if email.lower() in exc.message.lower() else None, exc.message
                )
            else:
                messages.success(request, _("Invitation sent to %(email)s.") % {"email": email})
                return _back(location)
    return render(request, "portal/team/page.html", _context(request, location, form))


def _context(request: HttpRequest, location: Location, form: InviteForm) -> dict[str, object]:
    agency = location.agency
    members = (
        Membership.objects.for_agency(agency)
        .filter(location=location)
        .select_related("user")
        .order_by("user__email")
    )
    page = Paginator(members, MEMBERS_PER_PAGE).get_page(request.GET.get("page"))
    invitations = (
        Invitation.objects.for_agency(agency)
        .filter(location=location, accepted_at__isnull=True)
        .select_related("invited_by")
        .order_by("-created_at")
    )
    agency_people = sorted(
        Membership.objects.for_agency(agency)
        .filter(location__isnull=True, user__is_active=True)
        .select_related("user"),
        key=lambda m: (AGENCY_ROLE_ORDER.index(m.role), m.user.email),
    )
    user = request.user
    return {
        "location": location,
        "form": form,
        "page_obj": page,
        "members": [(m, ROLE_LABELS.get(m.role, m.get_role_display())) for m in page],
        "invitations": [(i, ROLE_LABELS.get(i.role, i.role)) for i in invitations],
        "agency_people": agency_people,
        "role_choices": ROLE_CHOICES,
        "may_manage": isinstance(user, User)
        and location_may_administer(user=user, location=location),
    }


def _membership(location: Location, membership_id: int) -> Membership:
    found: Membership | None = (
        Membership.objects.for_agency(location.agency)
        .filter(location=location, pk=membership_id)
        .select_related("user", "location", "agency")
        .first()
    )
    if found is None:
        raise Http404
    return found


def _invitation(location: Location, invitation_id: int) -> Invitation:
    found: Invitation | None = (
        Invitation.objects.for_agency(location.agency)
        .filter(location=location, pk=invitation_id)
        .select_related("location", "agency")
        .first()
    )
    if found is None:
        raise Http404
    return found


@require_POST
@location_page(section="team", access="admin")
def member_role(request: HttpRequest, location: Location, membership_id: int) -> HttpResponse:
    membership = _membership(location, membership_id)
    acting = _acting_admin(request, location)
    form = RoleForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Choose a role: administrator or member."))
        return _back(location)
    role = form.cleaned_data["role"]
    try:
        location_member_role_set(membership=membership, role=role, acting_user=acting)
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(
            request,
            _("%(email)s is now %(value)s.")
            % {"email": membership.user.email, "value": ROLE_LABELS[role].lower()},
        )
    return _back(location)


@require_POST
@location_page(section="team", access="admin")
def member_remove(request: HttpRequest, location: Location, membership_id: int) -> HttpResponse:
    membership = _membership(location, membership_id)
    acting = _acting_admin(request, location)
    email = membership.user.email
    try:
        location_member_remove(membership=membership, acting_user=acting)
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(
            request,
            _("%(email)s no longer has access to %(name)s.")
            % {"email": email, "name": location.name},
        )
        if membership.user_id == acting.pk:  # removed themselves: this workspace is gone
            return redirect("portal:home")
    return _back(location)


@require_POST
@location_page(section="team", access="admin")
def invitation_send_again(
    request: HttpRequest, location: Location, invitation_id: int
) -> HttpResponse:
    invitation = _invitation(location, invitation_id)
    acting = _acting_admin(request, location)
    try:
        invitation_resend(invitation=invitation, acting_user=acting)
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(
            request, _("Invitation sent again to %(email)s.") % {"email": invitation.email}
        )
    return _back(location)


@require_POST
@location_page(section="team", access="admin")
def invitation_withdraw(
    request: HttpRequest, location: Location, invitation_id: int
) -> HttpResponse:
    invitation = _invitation(location, invitation_id)
    acting = _acting_admin(request, location)
    try:
        invitation_cancel(invitation=invitation, acting_user=acting)
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(
            request, _("The invitation to %(email)s was canceled.") % {"email": invitation.email}
        )
    return _back(location)
