"""Opportunities, their status, upsert, searches, and pipelines."""

from __future__ import annotations

from typing import Any

from sandbox.ghl import errors
from sandbox.ghl.api.common import V7, loc, next_page_url, now_ms, route
from sandbox.ghl.events import opportunity_payload
from sandbox.ghl.ids import new_id
from sandbox.ghl.pipeline import ApiRoute, Ctx
from sandbox.ghl.state import SandboxState
from sandbox.ghl.store import opportunities as opps
from sandbox.ghl.store.opportunities import Opportunity
from sandbox.ghl.store.world import Location

DUPLICATE_MESSAGE = "Can not create duplicate opportunity for the contact."


def render(location: Location, opp: Opportunity) -> dict[str, Any]:
    """The stored opportunity plus the embedded contact summary GHL includes."""
    out = dict(opp)
    contact = location.data.contacts.get(opp["contactId"])
    if contact is not None:
        out["contact"] = {
            k: contact[k]
            for k in ("id", "name", "companyName", "email", "phone", "tags")
            if k in contact
        }
    out["notes"], out["tasks"], out["calendarEvents"] = [], [], []
    return out


def _pipeline(location: Location, pipeline_id: str) -> dict[str, Any]:
    for pipeline in location.data.pipelines:
        if pipeline["id"] == pipeline_id:
            return pipeline
    raise errors.bad_request("Pipeline not found")


def _check_stage(pipeline: dict[str, Any], stage_id: str | None) -> str:
    stages = pipeline["stages"]
    if stage_id is None:
        return str(stages[0]["id"])
    if not any(s["id"] == stage_id for s in stages):
        raise errors.bad_request("Pipeline stage not found")
    return stage_id


def create_opportunity(
    state: SandboxState, location: Location, data: dict[str, Any]
) -> Opportunity:
    pipeline = _pipeline(location, data["pipelineId"])
    values = dict(data)
    values["pipelineStageId"] = _check_stage(pipeline, data.get("pipelineStageId"))
    if data.get("status") == "all":
        raise errors.unprocessable(
            "status must be one of the following values: " + ", ".join(opps.STATUSES)
        )
    if location.data.contacts.get(data["contactId"]) is None:
        raise errors.bad_request("Contact not found")
    if not location.allow_duplicate_opportunity and any(
        o["pipelineId"] == data["pipelineId"]
        for o in location.data.opportunities.for_contact(data["contactId"])
    ):
        raise errors.bad_request(DUPLICATE_MESSAGE)
    at = now_ms()
    opp = opps.new_opportunity(new_id(), location.id, values, at)
    location.data.opportunities.add(opp, at)
    state.world.claim("opportunity", opp["id"], location.id)
    state.emit_location_event(location.id, "OpportunityCreate", opportunity_payload(opp))
    return opp


def update_opportunity(
    state: SandboxState, location: Location, opp: Opportunity, data: dict[str, Any]
) -> set[str]:
    values = dict(data)
    if "pipelineId" in values or "pipelineStageId" in values:
        pipeline = _pipeline(location, values.get("pipelineId") or opp["pipelineId"])
        values["pipelineStageId"] = _check_stage(
            pipeline,
            values.get("pipelineStageId")
            or (
                None
                if values.get("pipelineId") not in (None, opp["pipelineId"])
                else opp["pipelineStageId"]
            ),
        )
    if values.get("status") == "all":
        raise errors.unprocessable(
            "status must be one of the following values: " + ", ".join(opps.STATUSES)
        )
    changed = opps.apply_update(opp, values, now_ms())
    payload = opportunity_payload(opp)
    for event in opps.events_for(changed):
        state.emit_location_event(location.id, event, payload)
    return changed


def _owned(ctx: Ctx) -> tuple[Location, Opportunity]:
    opp_id = ctx.params["id"]
    location = ctx.owned("opportunity", opp_id, "Opportunity")
    return location, location.data.opportunities.by_id[opp_id]


async def get_opportunity(ctx: Ctx) -> Any:
    location, opp = _owned(ctx)
    return {"opportunity": render(location, opp)}


async def post_opportunity(ctx: Ctx) -> Any:
    location = ctx.location(ctx.body.get("locationId"))
    return {"opportunity": render(location, create_opportunity(ctx.state, location, ctx.body))}


async def put_opportunity(ctx: Ctx) -> Any:
    location, opp = _owned(ctx)
    update_opportunity(ctx.state, location, opp, ctx.body)
    return {"opportunity": render(location, opp)}


async def put_status(ctx: Ctx) -> Any:
    location, opp = _owned(ctx)
    update_opportunity(ctx.state, location, opp, ctx.body)
    return {"succeded": True}


async def delete_opportunity(ctx: Ctx) -> Any:
    location, opp = _owned(ctx)
    location.data.opportunities.remove(opp["id"])
    ctx.state.world.release(opp["id"])
    ctx.state.emit_location_event(location.id, "OpportunityDelete", opportunity_payload(opp))
    return {"succeded": True}


async def upsert_opportunity(ctx: Ctx) -> Any:
    body = ctx.body
    location = ctx.location(body.get("locationId"))
    data = {
        k: v
        for k, v in body.items()
        if k not in ("locationId", "followers", "isRemoveAllFollowers", "followersActionType")
    }
    existing = None
    if body.get("id"):
        existing = location.data.opportunities.get(body["id"])
        if existing is None:
            raise errors.bad_request("Opportunity not found")
    elif body.get("contactId"):
        existing = next(
            (
                o
                for o in location.data.opportunities.for_contact(body["contactId"])
                if o["pipelineId"] == body["pipelineId"]
            ),
            None,
        )
    if existing is not None:
        data.pop("id", None)
        update_opportunity(ctx.state, location, existing, data)
        return {"opportunity": render(location, existing), "new": False}
    missing = [f"{k} should not be empty" for k in ("contactId", "name") if not body.get(k)]
    if missing:
        raise errors.unprocessable(*missing)
    opp = create_opportunity(ctx.state, location, data | {"status": data.get("status") or "open"})
    return {"opportunity": render(location, opp), "new": True}


def _page(
    rows: list[Opportunity], limit: int, page: int, start_after_id: str | None
) -> tuple[list[Opportunity], int]:
    start = (page - 1) * limit
    if start_after_id:
        ids = [o["id"] for o in rows]
        if start_after_id in ids:
            start = ids.index(start_after_id) + 1
    return rows[start : start + limit], start


async def search_get(ctx: Ctx) -> Any:
    location = ctx.location(ctx.require_query("location_id"), "location_id")
    limit = ctx.int_query("limit", 20, 1, 100)
    page = ctx.int_query("page", 1, 1)
    params = dict(ctx.request.query_params)
    status = params.get("status")
    if status and status not in (*opps.STATUSES, "all"):
        raise errors.unprocessable(
            "status must be one of the following values: open, won, lost, abandoned, all"
        )
    names = (
        {c["id"]: c.get("fullNameLowerCase", "") for c in location.data.contacts.by_id.values()}
        if params.get("q")
        else None
    )
    rows, total = opps.search(location.data.opportunities, params, names)
    window, start = _page(rows, limit, page, params.get("startAfterId"))
    current = start // limit + 1
    meta: dict[str, Any] = {
        "total": total,
        "currentPage": current,
        "prevPage": current - 1 if current > 1 else None,
        "nextPage": None,
        "nextPageUrl": None,
        "startAfterId": None,
        "startAfter": None,
    }
    if start + limit < total and window:
        last = window[-1]
        last_ms = location.data.opportunities.created_ms[last["id"]]
        meta |= {
            "nextPage": current + 1,
            "startAfterId": last["id"],
            "startAfter": last_ms,
            "nextPageUrl": next_page_url(
                ctx, startAfter=last_ms, startAfterId=last["id"], page=current + 1
            ),
        }
    return {
        "opportunities": [render(location, o) for o in window],
        "meta": meta,
        "aggregations": {},
    }


async def search_post(ctx: Ctx) -> Any:
    body = ctx.body
    location = ctx.location(body.get("locationId"))
    limit = int(body.get("limit") or 20)
    page = int(body.get("page") or 1)
    if not 1 <= limit <= 500:
        raise errors.unprocessable("limit must not be greater than 500")
    rows, total = opps.search(location.data.opportunities, {"q": body.get("query")})
    after = body.get("searchAfter") or []
    if after:
        created = location.data.opportunities.created_ms
        cursor = (after[0], str(after[1])) if len(after) >= 2 else (after[0], "")
        rows = [o for o in rows if (created[o["id"]], o["id"]) < (int(cursor[0]), cursor[1])]
        window = rows[:limit]
    else:
        window = rows[(page - 1) * limit : page * limit]
    created = location.data.opportunities.created_ms
    items = [render(location, o) | {"sort": [created[o["id"]], o["id"]]} for o in window]
    return {"opportunities": items, "total": total, "aggregations": {}}


async def pipelines(ctx: Ctx) -> Any:
    location = ctx.location(ctx.require_query("locationId"))
    return {"pipelines": location.data.pipelines}


def routes() -> list[ApiRoute]:
    read, write = loc("opportunities.readonly"), loc("opportunities.write")
    spec = "opportunities"
    return [
        route("GET", "/opportunities/search", spec, "search-opportunity", V7, [read], search_get),
        route(
            "POST",
            "/opportunities/search",
            spec,
            "search-opportunities-advanced",
            V7,
            [read],
            search_post,
            body="json",
        ),
        route("GET", "/opportunities/pipelines", spec, "get-pipelines", V7, [read], pipelines),
        route(
            "POST",
            "/opportunities/upsert",
            spec,
            "Upsert-opportunity",
            V7,
            [write],
            upsert_opportunity,
            body="json",
        ),
        route(
            "POST",
            "/opportunities/",
            spec,
            "create-opportunity",
            V7,
            [write],
            post_opportunity,
            status=201,
            body="json",
        ),
        route("GET", "/opportunities/{id}", spec, "get-opportunity", V7, [read], get_opportunity),
        route(
            "PUT",
            "/opportunities/{id}",
            spec,
            "update-opportunity",
            V7,
            [write],
            put_opportunity,
            body="json",
        ),
        route(
            "DELETE",
            "/opportunities/{id}",
            spec,
            "delete-opportunity",
            V7,
            [write],
            delete_opportunity,
        ),
        route(
            "PUT",
            "/opportunities/{id}/status",
            spec,
            "update-opportunity-status",
            V7,
            [write],
            put_status,
            body="json",
        ),
    ]
