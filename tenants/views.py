"""The branded portal shell on an agency's domain."""

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from . import selectors
from .models import Location
from .portal import location_page, navigation, workspace


def landing(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated:
        return redirect("portal:home")
    return render(request, "portal/landing.html")


@login_required
def home(request: HttpRequest) -> HttpResponse:
    locations = selectors.locations_visible_to(user=request.user, agency=request.agency)  # type: ignore[arg-type, attr-defined]
    return render(request, "portal/home.html", {"locations": locations})


@location_page(section="overview")
def location_home(request: HttpRequest, location: Location) -> HttpResponse:
    """The workspace's front door: its first page this user may open, else the business facts."""
    nav = navigation(location=location, role=workspace(request).role)
    if nav:
        return redirect(nav[0].url)
    return render(request, "portal/location_detail.html", {"location": location})
