"""The branded portal shell on an agency's domain."""

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from . import selectors
from .models import Location
from .portal import location_page, navigation, workspace
from .portal_agency import agency_role


def landing(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated:
        return redirect("portal:home")
    return render(request, "portal/landing.html")


@login_required
def home(request: HttpRequest) -> HttpResponse:
    locations = selectors.locations_visible_to(user=request.user, agency=request.agency)  # type: ignore[arg-type, attr-defined]
    # Agency owners, admins and staff also get the way into the agency pages.
    is_agency = agency_role(user=request.user, agency=request.agency) is not None  # type: ignore[attr-defined]
    return render(request, "portal/home.html", {"locations": locations, "is_agency": is_agency})


@location_page(section="overview")
def location_home(request: HttpRequest, location: Location) -> HttpResponse:
    """The workspace's front door: its first page this user may open, else the business facts."""
    nav = navigation(location=location, role=workspace(request).role)
    if nav:
        return redirect(nav[0].url)
    return render(request, "portal/location_detail.html", {"location": location})
