"""The branded portal shell on an agency's domain."""

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from saas_platform.kernel.errors import NotFound

from . import selectors


def landing(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated:
        return redirect("portal:home")
    return render(request, "portal/landing.html")


@login_required
def home(request: HttpRequest) -> HttpResponse:
    locations = selectors.locations_visible_to(user=request.user, agency=request.agency)  # type: ignore[arg-type, attr-defined]
    return render(request, "portal/home.html", {"locations": locations})


@login_required
def location_detail(request: HttpRequest, location_id: int) -> HttpResponse:
    try:
        location = selectors.location_get_for_user(
            user=request.user,  # type: ignore[arg-type]
            agency=request.agency,  # type: ignore[attr-defined]
            location_id=location_id,
        )
    except NotFound as exc:
        raise Http404 from exc
    return render(request, "portal/location_detail.html", {"location": location})
