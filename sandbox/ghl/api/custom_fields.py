"""Location custom fields (``/locations/{locationId}/customFields``)."""

from __future__ import annotations

from typing import Any

from sandbox.ghl import errors
from sandbox.ghl.api.common import V7, loc, route
from sandbox.ghl.ids import new_id
from sandbox.ghl.pipeline import ApiRoute, Ctx
from sandbox.ghl.store.world import CustomField, field_key

DATA_TYPES = (
    "TEXT",
    "LARGE_TEXT",
    "NUMERICAL",
    "PHONE",
    "MONETORY",
    "CHECKBOX",
    "SINGLE_OPTIONS",
    "MULTIPLE_OPTIONS",
    "DATE",
    "TEXTBOX_LIST",
    "FILE_UPLOAD",
    "RADIO",
    "EMAIL",
)


def _options(body: dict[str, Any]) -> list[str]:
    out = []
    for option in body.get("textBoxListOptions") or []:
        out.append(str(option.get("label", "")) if isinstance(option, dict) else str(option))
    return out


def _field(ctx: Ctx) -> tuple[Any, CustomField]:
    location = ctx.location(ctx.params["locationId"])
    field = location.data.custom_fields.get(ctx.params["id"])
    if field is None:
        raise errors.not_found("Custom field not found")
    return location, field


async def list_fields(ctx: Ctx) -> Any:
    location = ctx.location(ctx.params["locationId"])
    model = ctx.query("model") or "all"
    if model not in ("contact", "opportunity", "all"):
        raise errors.unprocessable(
            "model must be one of the following values: contact, opportunity, all"
        )
    fields = [f for f in location.data.custom_fields.values() if model in ("all", f.model)]
    fields.sort(key=lambda f: (f.position, f.name))
    return {"customFields": [f.to_api() for f in fields]}


async def create_field(ctx: Ctx) -> Any:
    location = ctx.location(ctx.params["locationId"])
    body = ctx.body
    if body["dataType"] not in DATA_TYPES:
        raise errors.unprocessable(
            f"dataType must be one of the following values: {', '.join(DATA_TYPES)}"
        )
    model = body.get("model") or "contact"
    key = field_key(model, body["name"])
    if any(f.field_key == key for f in location.data.custom_fields.values()):
        raise errors.bad_request(f"Custom field with key {key} already exists")
    field = CustomField(
        id=new_id(),
        location_id=location.id,
        name=body["name"],
        field_key=key,
        data_type=body["dataType"],
        model=model,
        placeholder=body.get("placeholder") or "",
        position=int(body.get("position") or len(location.data.custom_fields) * 50),
        picklist_options=_options(body),
    )
    location.data.custom_fields[field.id] = field
    ctx.state.world.claim("customField", field.id, location.id)
    return {"customField": field.to_api()}


async def get_field(ctx: Ctx) -> Any:
    return {"customField": _field(ctx)[1].to_api()}


async def update_field(ctx: Ctx) -> Any:
    _, field = _field(ctx)
    body = ctx.body
    field.name = body["name"]
    if "placeholder" in body:
        field.placeholder = body["placeholder"] or ""
    if "position" in body:
        field.position = int(body["position"])
    if "textBoxListOptions" in body:
        field.picklist_options = _options(body)
    return {"customField": field.to_api()}


async def delete_field(ctx: Ctx) -> Any:
    location, field = _field(ctx)
    del location.data.custom_fields[field.id]
    ctx.state.world.release(field.id)
    return {"succeded": True}


def routes() -> list[ApiRoute]:
    read, write = loc("locations/customFields.readonly"), loc("locations/customFields.write")
    base = "/locations/{locationId}/customFields"
    spec = "locations"
    return [
        route("GET", base, spec, "get-custom-fields", V7, [read], list_fields),
        route(
            "POST",
            base,
            spec,
            "create-custom-field",
            V7,
            [write],
            create_field,
            status=201,
            body="json",
        ),
        route(
            "GET",
            base + "/{id}",
            spec,
            "get-custom-field",
            V7,
            [read],
            get_field,
            scope_fallback=True,
        ),
        route(
            "PUT",
            base + "/{id}",
            spec,
            "update-custom-field",
            V7,
            [write],
            update_field,
            body="json",
            scope_fallback=True,
        ),
        route(
            "DELETE",
            base + "/{id}",
            spec,
            "delete-custom-field",
            V7,
            [write],
            delete_field,
            scope_fallback=True,
        ),
    ]
