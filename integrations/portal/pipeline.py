"""Workspace pages: the pipeline board and moving a card (thin views over `board`)."""

from __future__ import annotations

from decimal import Decimal
from urllib.parse import urlencode

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from saas_platform.kernel.errors import ApplicationError, NotFound
from tenants.models import Location, User
from tenants.portal import location_page

from . import board


def _shown(request: HttpRequest) -> dict[str, int]:
    """`?more=<stage id>&n=<cards>`: the column whose "Show more" was followed."""
    stage = request.GET.get("more", "")
    try:
        count = int(request.GET.get("n", ""))
    except ValueError:
        return {}
    return {stage: count} if stage else {}


def _board_context(
    location: Location, pipeline_id: str, shown: dict[str, int]
) -> dict[str, object]:
    pipelines = board.pipelines_for_board(location=location)
    chosen = next((p for p in pipelines if p.ghl_id == pipeline_id), None)
    if chosen is None and pipeline_id:
        raise Http404
    chosen = chosen or board.pipeline_default(location=location, pipelines=pipelines)
    columns = (
        board.pipeline_board(location=location, pipeline=chosen, shown=shown) if chosen else []
    )
    return {
        "pipelines": pipelines,
        "pipeline": chosen,
        "columns": columns,
        "total_count": sum(c.count for c in columns),
        "total_value": sum((c.total for c in columns), start=Decimal("0")),
        "step": board.CARDS_PER_COLUMN,
        "board_url": reverse("workspace:pipeline", kwargs={"location_id": location.pk}),
    }


@require_GET
@location_page(section="pipeline", access="member")
def pipeline_page(request: HttpRequest, location: Location) -> HttpResponse:
    context = _board_context(location, request.GET.get("pipeline", ""), _shown(request))
    return render(request, "portal/pipeline/board.html", context)


@require_POST
@location_page(section="pipeline", access="member")
def opportunity_move_view(
    request: HttpRequest, location: Location, opportunity_id: str
) -> HttpResponse:
    user = request.user if isinstance(request.user, User) else None
    notice, failed = "", False
    try:
        moved = board.opportunity_move(
            location=location,
            opportunity_ghl_id=opportunity_id,
            stage_id=request.POST.get("stage", ""),
            acting_user=user,
        )
    except NotFound as exc:
        raise Http404 from exc
    except ApplicationError as exc:
        notice, failed = exc.message, True
        pipeline_id = request.POST.get("pipeline", "")
    else:
        notice = f"Moved “{moved.name or 'Untitled opportunity'}”."
        pipeline_id = moved.pipeline_ghl_id
    if getattr(request, "htmx", False):
        # htmx swaps the board in place: render it with the outcome instead of redirecting.
        context = _board_context(location, pipeline_id, {})
        context |= {"notice": notice, "notice_failed": failed}
        return render(request, "portal/pipeline/board.html", context)
    (messages.error if failed else messages.success)(request, notice)
    url = reverse("workspace:pipeline", kwargs={"location_id": location.pk})
    return redirect(f"{url}?{urlencode({'pipeline': pipeline_id})}" if pipeline_id else url)
