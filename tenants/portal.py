"""The location workspace of the branded portal: who may open which page, and its navigation.

Every client page lives under ``/app/l/<location_id>/`` and is wrapped by :func:`location_page`,
which resolves the location *for the signed-in user on this agency's domain* (another tenant's
location and a missing one are the same 404) and the user's portal role in it. Apps add their
pages to the side navigation with :func:`register_section` from their ``AppConfig.ready``, so the
workspace never imports them.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal, TypeVar, cast

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext as _
from django_stubs_ext import StrOrPromise

from . import selectors
from .entitlements import PlanNotice, location_plan_notice
from .models import Agency, Location, Membership, User

# "agency": a member of the agency looking after this client; "admin": the client's admin;
# "member": any other user of the client.
PortalRole = Literal["agency", "admin", "member"]
Access = Literal["member", "admin"]

View = TypeVar("View", bound=Callable[..., HttpResponse])


@dataclass(frozen=True)
class Section:
    key: str
    label: StrOrPromise
    url_name: str  # reversed with location_id only
    access: Access = "member"
    order: int = 100


_SECTIONS: dict[str, Section] = {}


def register_section(section: Section) -> None:
    """Idempotent, so a re-run ``ready()`` (tests, autoreload) does not duplicate an entry."""
    _SECTIONS[section.key] = section


def sections() -> list[Section]:
    return sorted(_SECTIONS.values(), key=lambda s: (s.order, s.label))


CLIENT_ROLE_NAMES: dict[str, PortalRole] = {
    Membership.Role.CLIENT_ADMIN: "admin",
    Membership.Role.CLIENT_MEMBER: "member",
}


def workspace_resolve(
    *, user: User, agency: Agency, location_id: int
) -> tuple[Location, PortalRole] | None:
    """The location and the user's role in it, in two queries; None when it is not theirs (or
    does not exist: the caller answers both with the same 404)."""
    if selectors.membership_role_in_agency(user=user, agency=agency):
        # The plan's record rides along: the banner and feature checks then need no query.
        location = (
            Location.objects.for_agency(agency)
            .select_related("entitlements")
            .filter(pk=location_id)
            .first()
        )
        return (location, "agency") if location is not None else None
    membership = (
        Membership.objects.for_agency(agency)
        .filter(user=user, location_id=location_id, role__in=Membership.CLIENT_ROLES)
        .select_related("location__entitlements")
        .first()
    )
    if membership is None or membership.location is None:
        return None
    return membership.location, CLIENT_ROLE_NAMES[membership.role]


def role_in_location(*, user: User, agency: Agency, location: Location) -> PortalRole | None:
    found = workspace_resolve(user=user, agency=agency, location_id=location.pk)
    return found[1] if found is not None else None


def may_open(role: PortalRole, access: Access) -> bool:
    return access == "member" or role in ("agency", "admin")


@dataclass(frozen=True)
class NavItem:
    key: str
    label: StrOrPromise
    url: str


def navigation(*, location: Location, role: PortalRole) -> list[NavItem]:
    items = []
    for section in sections():
        if not may_open(role, section.access):
            continue
        try:
            url = reverse(section.url_name, kwargs={"location_id": location.pk})
        except NoReverseMatch:  # a section whose URLs are not mounted on this surface
            continue
        items.append(NavItem(section.key, section.label, url))
    return items


@dataclass(frozen=True)
class Workspace:
    """What :func:`location_page` puts on ``request.workspace`` for the view and its template."""

    location: Location
    role: PortalRole
    nav: list[NavItem]
    section: str

    @property
    def is_admin(self) -> bool:
        return self.role in ("agency", "admin")

    @property
    def plan_notice(self) -> PlanNotice | None:
        """Payment overdue or billing paused: shown as a banner on every page."""
        return location_plan_notice(location=self.location)


def location_page(*, section: str, access: Access = "member") -> Callable[[View], View]:
    """Wrap a portal view taking ``location_id``: sign-in required, the location resolved for
    this user on this agency's domain (else 404), and ``access="admin"`` pages refused (403) to
    plain members. The view receives the :class:`Location` instead of the id."""

    def decorate(view: View) -> View:
        @functools.wraps(view)
        def wrapped(request: HttpRequest, location_id: int, *args: Any, **kwargs: Any) -> Any:
            agency = getattr(request, "agency", None)
            user = request.user
            if agency is None or not isinstance(user, User):
                raise Http404
            found = workspace_resolve(user=user, agency=agency, location_id=location_id)
            if found is None:
                raise Http404
            location, role = found
            if not may_open(role, access):
                raise PermissionDenied(_("Only the business's administrators can open this page."))
            request.workspace = Workspace(  # type: ignore[attr-defined]
                location=location,
                role=role,
                nav=navigation(location=location, role=role),
                section=section,
            )
            return view(request, location, *args, **kwargs)

        return cast(View, login_required(wrapped))

    return decorate


def workspace(request: HttpRequest) -> Workspace:
    return cast(Workspace, request.workspace)  # type: ignore[attr-defined]


def first_page_url(*, location: Location, role: PortalRole) -> str | None:
    nav = navigation(location=location, role=role)
    return nav[0].url if nav else None


# --- a location's GHL pipelines, for pages of apps that may not read integrations' mirror ------


@dataclass(frozen=True)
class PipelineChoice:
    id: str
    name: str
    stages: tuple[tuple[str, str], ...]  # (stage id, stage name) in board order


PipelinesProvider = Callable[[Location], list[PipelineChoice]]
_PIPELINES: list[PipelinesProvider] = []


def register_pipelines_provider(provider: PipelinesProvider) -> None:
    """Integrations names the pipelines it mirrors; billing's payment rules offer them."""
    if provider not in _PIPELINES:
        _PIPELINES.append(provider)


def location_pipelines(*, location: Location) -> list[PipelineChoice]:
    return [choice for provider in _PIPELINES for choice in provider(location)]
