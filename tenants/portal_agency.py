"""The agency pages of the branded portal (``/app/agency/``): who may open them, their side
navigation, and the per-location facts other apps add to the locations overview.

Only the agency's own owners, admins and staff get in: client users and everyone else get the same
404 as a page that does not exist. Staff are read-only: every page they may open answers their
GETs, and any write (POST) from them is refused. ``billing`` and ``integrations`` add their pages
and their overview columns from their ``AppConfig.ready`` (:func:`register_agency_section`,
:func:`register_location_facts`), so ``tenants`` never imports them.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal, TypeVar, cast

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext as _
from django_stubs_ext import StrOrPromise

from . import selectors
from .models import Agency, Membership, User

AgencyAccess = Literal["staff", "admin"]
View = TypeVar("View", bound=Callable[..., HttpResponse])
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


@dataclass(frozen=True)
class AgencySection:
    key: str
    label: StrOrPromise
    url_name: str  # reversed without arguments
    access: AgencyAccess = "staff"
    order: int = 100


_SECTIONS: dict[str, AgencySection] = {}


def register_agency_section(section: AgencySection) -> None:
    """Idempotent, so a re-run ``ready()`` does not duplicate an entry."""
    _SECTIONS[section.key] = section


# --- the overview's per-location facts -----------------------------------------------------------

# A provider answers for a whole page of locations at once (a fixed number of queries, however many
# rows): {location id: {fact name: value}}. Names are the overview template's columns.
FactsProvider = Callable[[Agency, Sequence[int]], dict[int, dict[str, Any]]]
_FACTS: dict[str, FactsProvider] = {}


def register_location_facts(key: str, provider: FactsProvider) -> None:
    _FACTS[key] = provider


def location_facts(*, agency: Agency, location_ids: Sequence[int]) -> dict[int, dict[str, Any]]:
    merged: dict[int, dict[str, Any]] = {pk: {} for pk in location_ids}
    if not location_ids:
        return merged
    for key in sorted(_FACTS):
        for pk, facts in _FACTS[key](agency, location_ids).items():
            if pk in merged:
                merged[pk].update(facts)
    return merged


# --- who may open what ---------------------------------------------------------------------------


def agency_role(*, user: Any, agency: Agency | None) -> str | None:
    """The user's agency-wide role on this domain's agency, or None (clients, strangers)."""
    if agency is None or not isinstance(user, User):
        return None
    role = selectors.membership_role_in_agency(user=user, agency=agency)
    return role if role in Membership.AGENCY_ROLES else None


def may_open(role: str, access: AgencyAccess) -> bool:
    return access == "staff" or role in Membership.AGENCY_ADMIN_ROLES


@dataclass(frozen=True)
class AgencyNavItem:
    key: str
    label: StrOrPromise
    url: str


def agency_navigation(*, role: str) -> list[AgencyNavItem]:
    items = []
    for section in sorted(_SECTIONS.values(), key=lambda s: (s.order, s.label)):
        if not may_open(role, section.access):
            continue
        try:
            url = reverse(section.url_name)
        except NoReverseMatch:  # not mounted on this surface
            continue
        items.append(AgencyNavItem(section.key, section.label, url))
    return items


@dataclass(frozen=True)
class AgencyWorkspace:
    """What :func:`agency_page` puts on ``request.agency_workspace``."""

    agency: Agency
    role: str
    nav: list[AgencyNavItem]
    section: str

    @property
    def is_admin(self) -> bool:
        return self.role in Membership.AGENCY_ADMIN_ROLES


def agency_page(*, section: str, access: AgencyAccess = "staff") -> Callable[[View], View]:
    """Wrap an agency page view: sign-in required; the agency's owners, admins and staff only
    (anyone else: 404); ``access="admin"`` pages refuse staff (403), and so does any write."""

    def decorate(view: View) -> View:
        @functools.wraps(view)
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
            agency = getattr(request, "agency", None)
            role = agency_role(user=request.user, agency=agency)
            if agency is None or role is None:
                raise Http404
            is_admin = role in Membership.AGENCY_ADMIN_ROLES
            if not may_open(role, access):
                raise PermissionDenied(_("Only the agency's owners and admins can open this page."))
            if request.method not in SAFE_METHODS and not is_admin:
                raise PermissionDenied(_("Only the agency's owners and admins can change this."))
            request.agency_workspace = AgencyWorkspace(  # type: ignore[attr-defined]
                agency=agency, role=role, nav=agency_navigation(role=role), section=section
            )
            return view(request, agency, *args, **kwargs)

        return cast(View, login_required(wrapped))

    return decorate


def agency_workspace(request: HttpRequest) -> AgencyWorkspace:
    return cast(AgencyWorkspace, request.agency_workspace)  # type: ignore[attr-defined]
