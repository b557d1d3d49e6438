"""Contact notes: create and list (`/contacts/{contactId}/notes`, contacts spec)."""

from __future__ import annotations

from typing import Any

from sandbox.ghl import errors
from sandbox.ghl.api.common import V7, loc, route
from sandbox.ghl.clock import now_iso
from sandbox.ghl.ids import new_id
from sandbox.ghl.pipeline import ApiRoute, Ctx, Reply


async def create_note(ctx: Ctx) -> Any:
    contact_id = ctx.params["contactId"]
    location = ctx.owned("contact", contact_id, "Contact")
    body = ctx.body.get("body")
    if not isinstance(body, str) or not body.strip():
        raise errors.unprocessable("body should not be empty", "body must be a string")
    note = {
        "id": new_id(),
        "body": body,
        "userId": str(ctx.body.get("userId") or ""),
        "contactId": contact_id,
        "dateAdded": now_iso(),
    }
    location.data.notes.setdefault(contact_id, []).append(note)
    return Reply(201, {"note": dict(note)})


async def list_notes(ctx: Ctx) -> Any:
    contact_id = ctx.params["contactId"]
    location = ctx.owned("contact", contact_id, "Contact")
    return {"notes": [dict(n) for n in reversed(location.data.notes.get(contact_id, []))]}


def routes() -> list[ApiRoute]:
    read, write = loc("contacts.readonly"), loc("contacts.write")
    return [
        route(
            "POST",
            "/contacts/{contactId}/notes",
            "contacts",
            "create-note",
            V7,
            [write],
            create_note,
            status=201,
            body="json",
        ),
        route(
            "GET",
            "/contacts/{contactId}/notes",
            "contacts",
            "get-all-notes",
            V7,
            [read],
            list_notes,
        ),
    ]
