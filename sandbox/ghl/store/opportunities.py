"""Opportunities and pipelines of one location."""

from __future__ import annotations

import bisect
from collections.abc import Iterator
from datetime import datetime
from typing import Any

from sandbox.ghl.clock import iso_ms
from sandbox.ghl.errors import unprocessable

Opportunity = dict[str, Any]
STATUSES = ("open", "won", "lost", "abandoned")
# Which webhook each changed field raises, besides the generic OpportunityUpdate.
FIELD_EVENTS = {
    "pipelineStageId": "OpportunityStageUpdate",
    "status": "OpportunityStatusUpdate",
    "monetaryValue": "OpportunityMonetaryValueUpdate",
    "assignedTo": "OpportunityAssignedToUpdate",
}


class OpportunityStore:
    def __init__(self) -> None:
        self.by_id: dict[str, Opportunity] = {}
        self.created_ms: dict[str, int] = {}
        self.order: list[tuple[int, str]] = []

    def __len__(self) -> int:
        return len(self.by_id)

    def get(self, opp_id: str) -> Opportunity | None:
        return self.by_id.get(opp_id)

    def add(self, opp: Opportunity, created_ms: int) -> None:
        self.by_id[opp["id"]] = opp
        self.created_ms[opp["id"]] = created_ms
        key = (created_ms, opp["id"])
        if not self.order or self.order[-1] < key:
            self.order.append(key)
        else:
            bisect.insort(self.order, key)

    def remove(self, opp_id: str) -> Opportunity | None:
        opp = self.by_id.pop(opp_id, None)
        if opp is not None:
            key = (self.created_ms.pop(opp_id), opp_id)
            index = bisect.bisect_left(self.order, key)
            if index < len(self.order) and self.order[index] == key:
                del self.order[index]
        return opp

    def iter_ordered(self, reverse: bool) -> Iterator[Opportunity]:
        keys = reversed(self.order) if reverse else iter(self.order)
        for _, oid in keys:
            yield self.by_id[oid]

    def for_contact(self, contact_id: str) -> list[Opportunity]:
        return [o for o in self.by_id.values() if o["contactId"] == contact_id]


def new_opportunity(
    opp_id: str, location_id: str, data: dict[str, Any], now_ms: int
) -> Opportunity:
    stamp = iso_ms(now_ms)
    opp: Opportunity = {
        "id": opp_id,
        "name": data.get("name") or "",
        "monetaryValue": data.get("monetaryValue") or 0,
        "pipelineId": data["pipelineId"],
        "pipelineStageId": data["pipelineStageId"],
        "status": data.get("status") or "open",
        "source": data.get("source") or "api",
        "contactId": data["contactId"],
        "locationId": location_id,
        "lastStatusChangeAt": stamp,
        "lastStageChangeAt": stamp,
        "lastActionDate": stamp,
        "createdAt": stamp,
        "updatedAt": stamp,
        "customFields": [],
        "followers": [],
    }
    if data.get("assignedTo"):
        opp["assignedTo"] = data["assignedTo"]
    return opp


def apply_update(opp: Opportunity, data: dict[str, Any], now_ms: int) -> set[str]:
    stamp = iso_ms(now_ms)
    changed: set[str] = set()
    for key in (
        "name",
        "pipelineId",
        "pipelineStageId",
        "status",
        "monetaryValue",
        "assignedTo",
        "lostReasonId",
        "source",
    ):
        if key in data and data[key] is not None and opp.get(key) != data[key]:
            opp[key] = data[key]
            changed.add(key)
    if "status" in changed:
        opp["lastStatusChangeAt"] = stamp
    if "pipelineStageId" in changed:
        opp["lastStageChangeAt"] = stamp
    if changed:
        opp["updatedAt"] = opp["lastActionDate"] = stamp
    return changed


def events_for(changed: set[str]) -> list[str]:
    if not changed:
        return []
    return ["OpportunityUpdate", *(FIELD_EVENTS[f] for f in sorted(changed) if f in FIELD_EVENTS)]


def parse_mdy(value: str, name: str) -> int:
    """GHL's opportunity search dates are mm-dd-yyyy."""
    try:
        return int(datetime.strptime(value, "%m-%d-%Y").timestamp() * 1000)  # noqa: DTZ007
    except ValueError as exc:
        raise unprocessable(f"{name} must be in mm-dd-yyyy format") from exc


def search(
    store: OpportunityStore, params: dict[str, Any], contact_name: dict[str, str] | None = None
) -> tuple[list[Opportunity], int]:
    """Filter and order; the caller applies page/cursor slicing."""
    order = params.get("order") or "added_desc"
    rows = list(store.iter_ordered(reverse=order != "added_asc"))
    for key, field in (
        ("pipeline_id", "pipelineId"),
        ("pipeline_stage_id", "pipelineStageId"),
        ("contact_id", "contactId"),
        ("assigned_to", "assignedTo"),
        ("id", "id"),
    ):
        if params.get(key):
            rows = [o for o in rows if o.get(field) == params[key]]
    status = params.get("status")
    if status and status != "all":
        rows = [o for o in rows if o["status"] == status]
    if params.get("date"):
        start = parse_mdy(params["date"], "date")
        rows = [o for o in rows if store.created_ms[o["id"]] >= start]
    if params.get("endDate"):
        end = parse_mdy(params["endDate"], "endDate") + 86_400_000
        rows = [o for o in rows if store.created_ms[o["id"]] < end]
    query = (params.get("q") or "").strip().lower()
    if query:
        names = contact_name or {}
        rows = [
            o for o in rows if query in o["name"].lower() or query in names.get(o["contactId"], "")
        ]
    return rows, len(rows)
