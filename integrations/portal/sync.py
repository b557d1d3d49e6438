"""Sync connections in the client workspace (admins only): the location's connections with
their health, setting one up per kind, "sync now", pause and resume, a connection's run history
with live progress (an htmx fragment polling every 2 s while a run is running), and the queue
of conflicts waiting for a person. Thin over `integrations.connectors.services` / `setup`."""

from __future__ import annotations

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from integrations.connectors import services as connectors
from integrations.connectors.base import ConnectorError
from integrations.connectors.fields import parse_mapping
from integrations.connectors.models import ExternalConnection, ExternalSyncRun, SyncConflict
from integrations.connectors.setup import conflict_settle, connection_pause, connection_update
from saas_platform.kernel.errors import ApplicationError
from tenants.models import Location
from tenants.portal import location_page
from tenants.request import actor

from .forms import ROWS_ADDED, initial_from_post, place_error, unbranded, wants_more_rows
from .sync_forms import (
    DIRECTIONS,
    FORMS,
    MAPPING_ROWS_EXTRA,
    MAX_MAPPING_ROWS,
    POLICIES,
    ConnectionForm,
)

SECTION = "sync"
RUNS_PER_PAGE = 20
CONFLICTS_PER_PAGE = 50
POLL_SECONDS = 2


def _connection(location: Location, connection_id: int) -> ExternalConnection:
    found: ExternalConnection | None = (
        ExternalConnection.objects.for_location(location).filter(pk=connection_id).first()
    )
    if found is None:  # another location's connection and a missing one look the same
        raise Http404
    return found


def _url(name: str, location: Location, **kwargs: int) -> str:
    return reverse(f"workspace:{name}", kwargs={"location_id": location.pk, **kwargs})


@location_page(section=SECTION, access="admin")
def connections(request: HttpRequest, location: Location) -> HttpResponse:
    rows = list(ExternalConnection.objects.for_location(location).order_by("name"))
    open_conflicts = SyncConflict.objects.for_location(location).filter(
        status=SyncConflict.Status.OPEN
    )
    context = {
        "location": location,
        "connections": rows,
        "kinds": [(kind, form.title) for kind, form in FORMS.items()],
        "open_conflicts": open_conflicts.count(),
    }
    return render(request, "portal/sync/connections.html", context)


def _rows(request: HttpRequest, initial_rows: int) -> int:
    sent = request.POST.get("rows", "")
    return min(max(initial_rows, int(sent)), MAX_MAPPING_ROWS) if sent.isdigit() else initial_rows


@location_page(section=SECTION, access="admin")
def connection_new(request: HttpRequest, location: Location, kind: str) -> HttpResponse:
    form_class = FORMS.get(kind)
    if form_class is None:
        raise Http404
    rows = (
        _rows(request, 2 + MAPPING_ROWS_EXTRA)
        if request.method == "POST"
        else 2 + MAPPING_ROWS_EXTRA
    )
    if request.method == "POST" and wants_more_rows(request.POST):
        form = _with_more_rows(request, form_class, location, rows, None)
    elif request.method == "POST":
        form = form_class(request.POST, location=location, rows=rows)
        if form.is_valid():
            try:
                connection = connectors.connection_create(
                    location=location,
                    name=form.cleaned_data["name"],
                    kind=kind,
                    config=form.config(),
                    credentials=form.credentials(),
                    mapping=form.mapping(),
                    direction=form.cleaned_data["direction"],
                    match_on=form.cleaned_data["match_on"],
                    interval_minutes=form.cleaned_data["interval_minutes"],
                    acting_user=actor(request),
                )
            except ApplicationError as error:
                _place(form, error.message)
            else:
                messages.success(
                    request,
                    _("“%(name)s” saved; its first run starts shortly.")
                    % {"name": connection.name},
                )
                return HttpResponseRedirect(
                    _url("sync_connection", location, connection_id=connection.pk)
                )
    else:
        form = form_class(location=location, rows=rows, initial={"name": form_class.title})
    return _render_form(request, location, form, None)


@location_page(section=SECTION, access="admin")
def connection_edit(request: HttpRequest, location: Location, connection_id: int) -> HttpResponse:
    connection = _connection(location, connection_id)
    form_class = FORMS.get(connection.kind)
    if form_class is None:
        raise Http404  # a kind the portal cannot edit (set up by the agency)
    initial, rows = ConnectionForm.initial_for(connection)
    if request.method == "POST" and wants_more_rows(request.POST):
        form = _with_more_rows(request, form_class, location, _rows(request, rows), connection)
    elif request.method == "POST":
        form = form_class(
            request.POST, location=location, rows=_rows(request, rows), connection=connection
        )
        if form.is_valid():
            try:
                connection_update(
                    connection=connection,
                    name=form.cleaned_data["name"],
                    config=form.config(),
                    credentials=form.credentials() if form.secrets() else None,
                    mapping=form.mapping(),
                    direction=form.cleaned_data["direction"],
                    match_on=form.cleaned_data["match_on"],
                    interval_minutes=form.cleaned_data["interval_minutes"],
                    acting_user=actor(request),
                )
            except ApplicationError as error:
                _place(form, error.message)
            else:
                messages.success(request, _("“%(name)s” saved.") % {"name": connection.name})
                return HttpResponseRedirect(
                    _url("sync_connection", location, connection_id=connection.pk)
                )
    else:
        form = form_class(initial=initial, location=location, rows=rows, connection=connection)
    return _render_form(request, location, form, connection)


def _with_more_rows(
    request: HttpRequest,
    form_class: type[ConnectionForm],
    location: Location,
    rows: int,
    connection: ExternalConnection | None,
) -> ConnectionForm:
    """The form again with what was typed (credentials excepted: they are never rendered back)
    and more empty mapping rows."""
    typed = initial_from_post(request.POST, lists=(), drop=form_class.secret_fields)
    more = min(rows + ROWS_ADDED, MAX_MAPPING_ROWS)
    return form_class(initial=typed, location=location, rows=more, connection=connection)


def _place(form: ConnectionForm, message: str) -> None:
    """A refusal next to its field: a mapping line's on that line, else by its words."""
    if message.startswith("Line ") and ":" in message:
        number = message[5:].split(":", 1)[0]
        if number.isdigit():
            form.add_error(f"m{form.mapping_row(int(number))}_external", message)
            return
    routes = (*form.error_routes, ("named", "name"), ("name", "name"))
    place_error(form, message, routes)


def _render_form(
    request: HttpRequest,
    location: Location,
    form: ConnectionForm,
    connection: ExternalConnection | None,
) -> HttpResponse:
    context = {"location": location, "form": form, "connection": connection}
    status = 400 if form.is_bound and form.errors else 200
    return render(request, "portal/sync/connection_form.html", context, status=status)


@location_page(section=SECTION, access="admin")
def connection_detail(request: HttpRequest, location: Location, connection_id: int) -> HttpResponse:
    connection = _connection(location, connection_id)
    runs = ExternalSyncRun.objects.for_location(location).filter(connection=connection)
    page = Paginator(runs.order_by("-started_at", "-id"), RUNS_PER_PAGE).get_page(
        request.GET.get("page")
    )
    try:
        mapping = parse_mapping(connection.mapping)
    except ConnectorError:
        mapping = []
    context = {
        "location": location,
        "connection": connection,
        "page_obj": page,
        "mapping": [(line, dict(POLICIES).get(line.policy, line.policy)) for line in mapping],
        "direction": dict(DIRECTIONS).get(connection.direction, connection.direction),
        "open_conflicts": SyncConflict.objects.for_location(location)
        .filter(connection=connection, status=SyncConflict.Status.OPEN)
        .count(),
        "poll_seconds": POLL_SECONDS,
    }
    return render(request, "portal/sync/connection_detail.html", context)


@location_page(section=SECTION, access="admin")
def run_progress(request: HttpRequest, location: Location, run_id: int) -> HttpResponse:
    """The progress fragment of one run: it asks to be fetched again every 2 s only while the
    run is running, so the polling stops by itself when the run ends."""
    run = ExternalSyncRun.objects.for_location(location).filter(pk=run_id).first()
    if run is None:
        raise Http404
    context = {"location": location, "run": run, "poll_seconds": POLL_SECONDS}
    return render(request, "portal/sync/_run_progress.html", context)


def _act(request: HttpRequest, location: Location, connection_id: int, action: str) -> HttpResponse:
    connection = _connection(location, connection_id)
    try:
        if action == "sync_now":
            connectors.connection_sync_now(connection=connection)
            done = _("Sync queued; it starts in a moment.")
        elif action == "pause":
            connection_pause(connection=connection, acting_user=actor(request))
            done = _("Paused: no run starts until you resume it.")
        elif action == "resume":
            connectors.connection_resume(connection=connection, acting_user=actor(request))
            done = _("Resumed: a run starts shortly.")
        else:
            connectors.connection_check(connection=connection)
            done = _("The connection works: credentials, target and every mapped field were found.")
    except ApplicationError as error:
        messages.error(request, unbranded(error.message))
    else:
        messages.success(request, done)
    return HttpResponseRedirect(_url("sync_connection", location, connection_id=connection.pk))


@require_POST
@location_page(section=SECTION, access="admin")
def connection_sync_now(
    request: HttpRequest, location: Location, connection_id: int
) -> HttpResponse:
    return _act(request, location, connection_id, "sync_now")


@require_POST
@location_page(section=SECTION, access="admin")
def connection_pause_view(
    request: HttpRequest, location: Location, connection_id: int
) -> HttpResponse:
    return _act(request, location, connection_id, "pause")


@require_POST
@location_page(section=SECTION, access="admin")
def connection_resume_view(
    request: HttpRequest, location: Location, connection_id: int
) -> HttpResponse:
    return _act(request, location, connection_id, "resume")


@require_POST
@location_page(section=SECTION, access="admin")
def connection_check_view(
    request: HttpRequest, location: Location, connection_id: int
) -> HttpResponse:
    return _act(request, location, connection_id, "check")


@location_page(section=SECTION, access="admin")
def conflicts(request: HttpRequest, location: Location) -> HttpResponse:
    queryset = (
        SyncConflict.objects.for_location(location)
        .filter(status=SyncConflict.Status.OPEN)
        .select_related("connection", "link")
        .order_by("created_at", "id")
    )
    page = Paginator(queryset, CONFLICTS_PER_PAGE).get_page(request.GET.get("page"))
    return render(request, "portal/sync/conflicts.html", {"location": location, "page_obj": page})


@require_POST
@location_page(section=SECTION, access="admin")
def conflict_resolve(request: HttpRequest, location: Location, conflict_id: int) -> HttpResponse:
    conflict = SyncConflict.objects.for_location(location).filter(pk=conflict_id).first()
    if conflict is None:
        raise Http404
    try:
        conflict_settle(
            conflict=conflict, choose=request.POST.get("choose", ""), acting_user=actor(request)
        )
    except ApplicationError as error:
        messages.error(request, unbranded(error.message))
    else:
        messages.success(
            request,
            _("Settled %(field)s; the next run writes it to both sides.")
            % {"field": conflict.field},
        )
    return HttpResponseRedirect(_url("sync_conflicts", location))
