"""CSV in and out of the workspace's sync section: the location's contacts as a CSV file (every
field, or the fields of one connection's mapping), and a CSV upload — upload, match the columns,
import in the background — with each import's progress and its row-level error report. The
services are `integrations.bulk.csv_io`'s; between the upload and the confirmation the file
waits in the cache (bound to the location and the person), never in the database."""

from __future__ import annotations

import secrets
from typing import Any, cast

from django.contrib import messages
from django.core.cache import cache
from django.core.paginator import Paginator
from django.http import (
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseRedirect,
    StreamingHttpResponse,
)
from django.shortcuts import render
from django.urls import reverse
from django.utils.text import slugify
from django.utils.translation import gettext as _

from integrations.admin_imports import MappingForm, UploadForm
from integrations.bulk import csv_io
from integrations.bulk.csv_table import BOM
from integrations.bulk.models import ContactImport
from integrations.connectors.base import ConnectorError
from integrations.connectors.fields import parse_mapping
from integrations.connectors.models import ExternalConnection
from saas_platform.kernel.errors import ApplicationError
from tenants.models import Location
from tenants.portal import location_page
from tenants.request import actor

from .forms import unbranded

SECTION = "sync"
PENDING_SECONDS = 3600
IMPORTS_PER_PAGE = 20
ACTIVE = (ContactImport.Status.QUEUED, ContactImport.Status.RUNNING)


def _only(location: Location) -> Any:
    """The upload form's location choices: this page's location alone."""
    return Location.objects.for_agency(location.agency).filter(pk=location.pk)


def _csv_url(location: Location) -> str:
    return reverse("workspace:sync_csv", kwargs={"location_id": location.pk})


@location_page(section=SECTION, access="admin")
def csv_home(request: HttpRequest, location: Location) -> HttpResponse:
    """The downloads, the upload form, and the imports so far."""
    imports = ContactImport.objects.for_location(location).order_by("-created_at", "-id")
    page = Paginator(imports, IMPORTS_PER_PAGE).get_page(request.GET.get("page"))
    form = UploadForm(locations=_only(location))
    return _render_home(request, location, form, page)


def _render_home(
    request: HttpRequest, location: Location, form: UploadForm, page: Any, status: int = 200
) -> HttpResponse:
    del form.fields["location"]  # the location is the page's
    context = {
        "location": location,
        "form": form,
        "page_obj": page,
        "connections": ExternalConnection.objects.for_location(location).order_by("name"),
        "active": any(job.status in ACTIVE for job in page.object_list),
    }
    return render(request, "portal/sync/csv.html", context, status=status)


@location_page(section=SECTION, access="admin")
def csv_export(request: HttpRequest, location: Location) -> HttpResponse:
    fields = None
    if raw := request.GET.get("connection", ""):
        connection = (
            ExternalConnection.objects.for_location(location).filter(pk=raw).first()
            if raw.isdigit()
            else None
        )
        if connection is None:
            raise Http404
        try:
            fields = [line.ghl for line in parse_mapping(connection.mapping)]
        except ConnectorError as exc:
            messages.error(
                request,
                _("The mapping of “%(name)s” cannot be used: %(value)s")
                % {"name": connection.name, "value": unbranded(exc.message)},
            )
            return HttpResponseRedirect(_csv_url(location))
    stream = csv_io.contacts_csv_export(location=location, fields=fields)
    response = StreamingHttpResponse(stream, content_type="text/csv; charset=utf-8")
    name = csv_io.contacts_csv_filename(location=location)
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    # Streamed, so any number of contacts fits; location_page is typed for plain responses.
    return cast(HttpResponse, response)


def _key(location: Location, token: str) -> str:
    return f"portal-contact-upload:{location.pk}:{token}"


@location_page(section=SECTION, access="admin")
def csv_upload(request: HttpRequest, location: Location) -> HttpResponse:
    """POST the file (step 1) → the column matching form; POST the matching (step 2) → queued."""
    if request.method != "POST":
        return HttpResponseRedirect(_csv_url(location))
    if "token" in request.POST:
        return _confirm(request, location)
    own = _only(location)
    data = {**request.POST.dict(), "location": str(location.pk)}
    form = UploadForm(data, request.FILES or None, locations=own)
    if not form.is_valid():
        imports = ContactImport.objects.for_location(location).order_by("-created_at", "-id")
        page = Paginator(imports, IMPORTS_PER_PAGE).get_page(1)
        return _render_home(request, location, form, page, status=400)
    token = secrets.token_urlsafe(24)
    pending = {
        "user": request.user.pk,
        "file_name": form.file_name,
        "content": form.cleaned_data["file"],
    }
    cache.set(_key(location, token), pending, PENDING_SECONDS)
    return _render_mapping(request, location, token, pending, None)


def _mapping_form(location: Location, token: str, pending: dict[str, Any], data: Any) -> Any:
    preview = csv_io.contact_import_inspect(content=pending["content"])
    targets = [
        (value, unbranded(label)) for value, label in csv_io.mapping_targets(location=location)
    ]
    known = {value for value, _ in targets}
    targets += [(t, t) for t in preview.suggested.values() if t and t not in known]
    headers = preview.table.headers
    initial = {"token": token} | {f"col_{i}": preview.suggested[h] for i, h in enumerate(headers)}
    return MappingForm(data, initial=initial, headers=headers, targets=targets), preview.table


def _render_mapping(
    request: HttpRequest,
    location: Location,
    token: str,
    pending: dict[str, Any],
    data: Any,
    form: Any = None,
    status: int = 200,
) -> HttpResponse:
    built, table = _mapping_form(location, token, pending, data)
    form = form or built
    samples = [
        [row[i] if i < len(row) else "" for row in table.rows[:3]]
        for i in range(len(table.headers))
    ]
    context = {
        "location": location,
        "form": form,
        "columns": list(zip([form[f"col_{i}"] for i in range(len(samples))], samples, strict=True)),
        "file_name": pending["file_name"],
        "rows": len(table.rows),
    }
    return render(request, "portal/sync/csv_mapping.html", context, status=status)


def _confirm(request: HttpRequest, location: Location) -> HttpResponse:
    token = request.POST.get("token", "")
    pending = cache.get(_key(location, token))
    if pending is None or pending["user"] != request.user.pk:
        messages.error(request, _("The upload expired; upload the file again."))
        return HttpResponseRedirect(_csv_url(location))
    form, _preview = _mapping_form(location, token, pending, request.POST)
    if form.is_valid():
        try:
            job = csv_io.contact_import_start(
                location=location,
                file_name=pending["file_name"],
                content=pending["content"],
                mapping=form.mapping(),
                acting_user=actor(request),
            )
        except ApplicationError as error:
            form.add_error(None, unbranded(error.message))
        else:
            cache.delete(_key(location, token))
            messages.success(
                request,
                _("%(file_name)s: %(total_rows)s rows queued for import.")
                % {"file_name": job.file_name, "total_rows": format(job.total_rows, ",")},
            )
            return HttpResponseRedirect(_csv_url(location))
    return _render_mapping(request, location, token, pending, None, form=form, status=400)


@location_page(section=SECTION, access="admin")
def csv_report(request: HttpRequest, location: Location, import_id: int) -> HttpResponse:
    job = ContactImport.objects.for_location(location).filter(pk=import_id).first()
    if job is None or not job.error_report:
        raise Http404
    response = HttpResponse(
        (BOM + job.error_report).encode(), content_type="text/csv; charset=utf-8"
    )
    stem = slugify(job.file_name.rsplit(".", 1)[0]) or "import"
    response["Content-Disposition"] = f'attachment; filename="{stem}-errors.csv"'
    return response
