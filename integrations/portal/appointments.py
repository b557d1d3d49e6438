"""Workspace pages: the appointments calendar (week, month or list) and booking from free slots
(thin views over `calendar_grid` and `booking`)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from saas_platform.kernel.errors import ApplicationError, NotFound
from tenants.models import Location, User
from tenants.portal import location_page

from . import booking, calendar_grid


def _day(value: str | None, default: date) -> date:
    try:
        return date.fromisoformat(value) if value else default
    except ValueError:
        return default


def _calendar_url(location: Location, view: str, day: date) -> str:
    url = reverse("workspace:appointments", kwargs={"location_id": location.pk})
    return f"{url}?{urlencode({'view': view, 'date': day.isoformat()})}"


@require_GET
@location_page(section="appointments", access="member")
def appointments_page(request: HttpRequest, location: Location) -> HttpResponse:
    zone = calendar_grid.location_zone(location)
    today = timezone.now().astimezone(zone).date()
    view = request.GET.get("view", "week")
    if view not in calendar_grid.VIEWS:
        view = "week"
    anchor = _day(request.GET.get("date"), today)
    # The list shows the same span as the week view, so switching between them keeps the dates.
    period = calendar_grid.period_for(view="month" if view == "month" else "week", anchor=anchor)
    days = calendar_grid.calendar_days(location=location, period=period, today=today)
    context = {
        "view": view,
        "period": period,
        "days": days,
        "weeks": calendar_grid.weeks(days),
        "weekday_names": ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"],
        "appointment_count": sum(len(d.entries) for d in days if d.in_period),
        "zone_name": location.timezone,
        "links": {
            "previous": _calendar_url(location, view, period.previous),
            "next": _calendar_url(location, view, period.next),
            "today": _calendar_url(location, view, today),
            "week": _calendar_url(location, "week", anchor),
            "month": _calendar_url(location, "month", anchor),
            "list": _calendar_url(location, "list", anchor),
        },
    }
    return render(request, "portal/appointments/calendar.html", context)


def _booking_context(location: Location, source: Any, today: date) -> dict[str, Any]:
    """What the booking form shows for the choices made so far (`source`: GET or POST)."""
    context: dict[str, Any] = {
        "calendar_id": source.get("calendar", ""),
        "day": _day(source.get("date"), today),
        "today": today,
        "query": source.get("q", "").strip(),
        "contact_id": source.get("contact", ""),
        "slot": source.get("slot", ""),
        "calendars": [],
        "slots": None,
        "contacts": [],
        "problem": "",
    }
    try:
        context["calendars"] = booking.calendars_list(location=location)
        if context["calendar_id"]:
            context["slots"] = booking.free_slots_on(
                location=location, calendar_id=context["calendar_id"], day=context["day"]
            )
    except NotFound as exc:
        raise Http404 from exc
    except ApplicationError as exc:
        context["problem"] = exc.message
    context["contacts"] = booking.contacts_matching(location=location, query=context["query"])
    if context["contact_id"]:
        context["chosen_contact"] = booking.contact_get(
            location=location, ghl_id=context["contact_id"]
        )
    return context


@require_http_methods(["GET", "POST"])
@location_page(section="appointments", access="member")
def appointment_book_page(request: HttpRequest, location: Location) -> HttpResponse:
    today = timezone.now().astimezone(calendar_grid.location_zone(location)).date()
    source = request.POST if request.method == "POST" else request.GET
    error = ""
    if request.method == "POST":
        user = request.user if isinstance(request.user, User) else None
        try:
            start = datetime.fromisoformat(request.POST.get("slot", ""))
        except ValueError:
            error = _("Pick one of the free times offered.")
        else:
            try:
                booked = booking.appointment_book(
                    location=location,
                    calendar_id=request.POST.get("calendar", ""),
                    contact_ghl_id=request.POST.get("contact", ""),
                    start=start,
                    acting_user=user,
                )
            except NotFound as exc:
                raise Http404 from exc
            except ApplicationError as exc:
                error = exc.message
            else:
                local = booked.start_time or start
                when = local.astimezone(calendar_grid.location_zone(location))
                messages.success(
                    request, _("Booked for %(when)s.") % {"when": format(when, "%A %d %B, %H:%M")}
                )
                return redirect(_calendar_url(location, "week", when.date()))
    try:
        context = _booking_context(location, source, today)
    except NotFound as exc:
        raise Http404 from exc
    context["error"] = error
    context["zone_name"] = location.timezone
    return render(request, "portal/appointments/book.html", context)
