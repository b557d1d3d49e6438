"""Contacts: get/create/update/delete, upsert with the duplicate rules, list, search, tags."""

from __future__ import annotations

import bisect
import copy
from typing import Any

from sandbox.ghl import errors
from sandbox.ghl.api.common import V7, loc, next_page_url, now_ms, route
from sandbox.ghl.clock import iso_ms
from sandbox.ghl.events import contact_payload
from sandbox.ghl.ids import new_id, trace_id
from sandbox.ghl.pipeline import ApiRoute, Ctx, Reply
from sandbox.ghl.state import SandboxState
from sandbox.ghl.store import contact_search
from sandbox.ghl.store.contacts import (
    Contact,
    apply_fields,
    new_contact,
    normalize_phone,
    normalize_tags,
)
from sandbox.ghl.store.world import Location

DUPLICATE_MESSAGE = "This location does not allow duplicated contacts."


def merge_custom_fields(
    location: Location, current: list[dict[str, Any]], items: list[Any]
) -> list[dict[str, Any]]:
    """Input items ``{id|key, field_value}`` merged into stored ``{id, value}`` items."""
    by_key = {}
    for field in location.data.custom_fields.values():
        by_key[field.field_key] = field.id
        by_key[field.field_key.split(".", 1)[-1]] = field.id
    values = {item["id"]: item["value"] for item in current}
    for item in items:
        if not isinstance(item, dict):
            continue
        field_id = item.get("id") or by_key.get(str(item.get("key", "")))
        if field_id not in location.data.custom_fields:
            continue  # GHL ignores values for fields the location does not have
        value = item.get("field_value", item.get("value"))
        if value in (None, "", []):
            values.pop(field_id, None)
        else:
            values[field_id] = value
    return [{"id": k, "value": v} for k, v in values.items()]


def _emit_changes(state: SandboxState, contact: Contact, changed: set[str]) -> None:
    if not changed:
        return
    payload = contact_payload(contact)
    state.emit_location_event(contact["locationId"], "ContactUpdate", payload)
    if "tags" in changed:
        state.emit_location_event(contact["locationId"], "ContactTagUpdate", payload)
    if changed & {"dnd", "dndSettings"}:
        state.emit_location_event(contact["locationId"], "ContactDndUpdate", payload)


def create_contact(state: SandboxState, location: Location, data: dict[str, Any]) -> Contact:
    """Store a new contact and emit ContactCreate (shared with the control API)."""
    at = now_ms()
    contact = new_contact(new_id(), location.id, data, location.calling_code, at)
    if data.get("customFields"):
        contact["customFields"] = merge_custom_fields(location, [], data["customFields"])
    location.data.contacts.add(contact, at)
    state.world.claim("contact", contact["id"], location.id)
    state.emit_location_event(location.id, "ContactCreate", contact_payload(contact))
    return contact


def update_contact(
    state: SandboxState, location: Location, contact: Contact, data: dict[str, Any]
) -> set[str]:
    before = copy.copy(contact)
    changed = apply_fields(contact, data, location.calling_code)
    if "customFields" in data:
        merged = merge_custom_fields(
            location, contact.get("customFields", []), data["customFields"] or []
        )
        if merged != contact.get("customFields"):
            changed.add("customFields")
        contact["customFields"] = merged
    if changed:
        contact["dateUpdated"] = iso_ms(now_ms())
        location.data.contacts.reindex(contact, before)
    _emit_changes(state, contact, changed)
    return changed


def _duplicate(location: Location, data: dict[str, Any]) -> tuple[Contact, str] | None:
    phone = (
        normalize_phone(str(data["phone"]), location.calling_code) if data.get("phone") else None
    )
    return location.data.contacts.find_duplicate(
        data.get("email"), phone, location.duplicate_priority
    )


async def get_contact(ctx: Ctx) -> Any:
    contact_id = ctx.params["contactId"]
    location = ctx.owned("contact", contact_id, "Contact")
    return {"contact": location.data.contacts.get(contact_id)}


async def post_contact(ctx: Ctx) -> Any:
    location = ctx.location(ctx.body.get("locationId"))
    if not location.allow_duplicate_contact:
        found = _duplicate(location, ctx.body)
        if found:
            raise errors.bad_request(
                DUPLICATE_MESSAGE,
                meta={
                    "contactName": found[0].get("name", ""),
                    "contactId": found[0]["id"],
                    "matchingField": found[1],
                },
            )
    return {"contact": create_contact(ctx.state, location, ctx.body)}


async def upsert_contact(ctx: Ctx) -> Any:
    location = ctx.location(ctx.body.get("locationId"))
    data = {
        k: v for k, v in ctx.body.items() if k not in ("locationId", "createNewIfDuplicateAllowed")
    }
    force_new = (
        bool(ctx.body.get("createNewIfDuplicateAllowed")) and location.allow_duplicate_contact
    )
    found = None if force_new else _duplicate(location, data)
    if found is None:
        contact = create_contact(ctx.state, location, data)
        return {"new": True, "contact": contact, "traceId": trace_id()}
    contact, matched_on = found
    # If the other field belongs to a different contact, GHL updates the contact matched by the
    # higher-priority field and ignores the other field rather than merging two contacts.
    other = "phone" if matched_on == "email" else "email"
    if _conflicts(location, contact, data, other):
        data.pop(other, None)
    update_contact(ctx.state, location, contact, data)
    return {"new": False, "contact": contact, "traceId": trace_id()}


def _conflicts(location: Location, contact: Contact, data: dict[str, Any], field: str) -> bool:
    value = data.get(field)
    if not value:
        return False
    if field == "phone":
        value = normalize_phone(str(value), location.calling_code)
    found = location.data.contacts.find_duplicate(
        value if field == "email" else None, value if field == "phone" else None, (field,)
    )
    return found is not None and found[0]["id"] != contact["id"]


async def put_contact(ctx: Ctx) -> Any:
    contact_id = ctx.params["contactId"]
    location = ctx.owned("contact", contact_id, "Contact")
    contact = location.data.contacts.by_id[contact_id]
    update_contact(ctx.state, location, contact, ctx.body)
    return {"succeded": True, "contact": contact}


def delete_contact_op(state: SandboxState, location: Location, contact_id: str) -> Contact | None:
    contact = location.data.contacts.remove(contact_id)
    if contact is None:
        return None
    state.world.release(contact_id)
    for released in location.data.conversations.remove_contact(contact_id):
        state.world.release(released)
    state.emit_location_event(location.id, "ContactDelete", contact_payload(contact))
    return contact


async def delete_contact(ctx: Ctx) -> Any:
    contact_id = ctx.params["contactId"]
    location = ctx.owned("contact", contact_id, "Contact")
    delete_contact_op(ctx.state, location, contact_id)
    return {"succeded": True}


async def add_tags(ctx: Ctx) -> Any:
    contact_id = ctx.params["contactId"]
    location = ctx.owned("contact", contact_id, "Contact")
    contact = location.data.contacts.by_id[contact_id]
    tags = normalize_tags([*contact.get("tags", []), *ctx.body["tags"]])
    if tags != contact.get("tags"):
        update_contact(ctx.state, location, contact, {"tags": tags})
    return {"tags": contact["tags"]}


async def remove_tags(ctx: Ctx) -> Any:
    contact_id = ctx.params["contactId"]
    location = ctx.owned("contact", contact_id, "Contact")
    contact = location.data.contacts.by_id[contact_id]
    dropping = set(normalize_tags(ctx.body["tags"]))
    tags = [t for t in contact.get("tags", []) if t not in dropping]
    if tags != contact.get("tags"):
        update_contact(ctx.state, location, contact, {"tags": tags})
    return {"tags": contact["tags"]}


async def list_contacts(ctx: Ctx) -> Any:
    location = ctx.location(ctx.require_query("locationId"))
    limit = ctx.int_query("limit", 20, 1, 100)
    start_after = ctx.int_query("startAfter", -1) if ctx.query("startAfter") else None
    start_after_id = ctx.query("startAfterId")
    store = location.data.contacts
    query = (ctx.query("query") or "").strip()
    if start_after is None and start_after_id:
        if start_after_id not in store.by_id:
            raise errors.bad_request("startAfterId is invalid")
        start_after = store.added_ms[start_after_id]
    if query:
        matches, total = contact_search.search(
            store,
            {
                "query": query,
                "pageLimit": 500,
                "sort": [{"field": "dateAdded", "direction": "asc"}],
            },
        )
        after = [
            c
            for c in matches
            if start_after is None or store.cursor_of(c["id"]) > (start_after, start_after_id or "")
        ]
        page = [{k: v for k, v in c.items() if k != "searchAfter"} for c in after[:limit]]
    else:
        page, total = store.page_after(start_after, start_after_id, limit), len(store)
    skipped = 0
    if start_after is not None and not query:
        skipped = bisect.bisect_right(store.order, (start_after, start_after_id or "\uffff"))
    current = skipped // limit + 1
    meta: dict[str, Any] = {
        "total": total,
        "currentPage": current,
        "nextPage": None,
        "prevPage": current - 1 if current > 1 else None,
        "startAfterId": None,
        "startAfter": None,
        "nextPageUrl": None,
    }
    if page and len(page) == limit and skipped + limit < total:
        last_ms, last_id = store.cursor_of(page[-1]["id"])
        meta |= {
            "startAfterId": last_id,
            "startAfter": last_ms,
            "nextPage": current + 1,
            "nextPageUrl": next_page_url(ctx, startAfter=last_ms, startAfterId=last_id),
        }
    return {"contacts": page, "count": total, "meta": meta}


async def search_contacts(ctx: Ctx) -> Any:
    body = ctx.body
    if not isinstance(body, dict):
        raise errors.unprocessable("body must be an object")
    location = ctx.location(body.get("locationId"))
    if "pageLimit" not in body:
        raise errors.unprocessable("pageLimit should not be empty")
    contacts, total = contact_search.search(location.data.contacts, body)
    return Reply(200, {"contacts": contacts, "total": total, "traceId": trace_id()})


def routes() -> list[ApiRoute]:
    read, write = loc("contacts.readonly"), loc("contacts.write")
    spec = "contacts"
    return [
        route(
            "POST",
            "/contacts/search",
            spec,
            "search-contacts-advanced",
            V7,
            [read],
            search_contacts,
            body="json",
        ),
        route(
            "POST",
            "/contacts/upsert",
            spec,
            "upsert-contact",
            V7,
            [write],
            upsert_contact,
            body="json",
        ),
        route(
            "POST",
            "/contacts/",
            spec,
            "create-contact",
            V7,
            [write],
            post_contact,
            status=201,
            body="json",
        ),
        route("GET", "/contacts/", spec, "get-contacts", V7, [read], list_contacts),
        route("GET", "/contacts/{contactId}", spec, "get-contact", V7, [read], get_contact),
        route(
            "PUT",
            "/contacts/{contactId}",
            spec,
            "update-contact",
            V7,
            [write],
            put_contact,
            body="json",
        ),
        route(
            "DELETE", "/contacts/{contactId}", spec, "delete-contact", V7, [write], delete_contact
        ),
        route(
            "POST",
            "/contacts/{contactId}/tags",
            spec,
            "add-tags",
            V7,
            [write],
            add_tags,
            status=201,
            body="json",
        ),
        route(
            "DELETE",
            "/contacts/{contactId}/tags",
            spec,
            "remove-tags",
            V7,
            [write],
            remove_tags,
            body="json",
        ),
    ]
