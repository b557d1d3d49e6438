"""The GHL operations the product uses, each defined once as data: the call to make and how to
read the answer. Both client faces run them (`client.run(op)` / `await aclient.run(op)`)."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypedDict, TypeVar

from .oauth import TokenGrant
from .transport import Call

T = TypeVar("T")

V_2021_07 = "2021-07-28"  # most services
V_2021_04 = "2021-04-15"  # calendars, conversations


@dataclass(frozen=True)
class Operation(Generic[T]):
    call: Call
    parse: Callable[[Any], T]


def _key(name: str) -> Callable[[Any], Any]:
    def parse(body: Any) -> Any:
        if not isinstance(body, Mapping) or name not in body:
            raise ValueError(f"GHL's answer has no {name!r}")
        return body[name]

    return parse


def _whole(body: Any) -> Any:
    return body


# --- shapes (the fields we read; GHL sends more) -------------------------------------------------


class GhlLocation(TypedDict, total=False):
    id: str
    companyId: str
    name: str
    timezone: str
    email: str
    phone: str


class InstalledLocation(TypedDict, total=False):
    _id: str
    name: str
    isInstalled: bool


class InstalledLocationsPage(TypedDict, total=False):
    locations: list[InstalledLocation]
    count: int
    installToFutureLocations: bool


class InstallerDetails(TypedDict, total=False):
    companyId: str
    companyName: str
    isWhitelabelCompany: bool
    whitelabelDetails: dict[str, str]
    locationId: str


class GhlUser(TypedDict, total=False):
    id: str
    name: str
    firstName: str
    lastName: str
    email: str
    roles: dict[str, Any]


class GhlContact(TypedDict, total=False):
    id: str
    locationId: str
    firstName: str
    lastName: str
    name: str
    email: str
    phone: str
    source: str
    tags: list[str]
    assignedTo: str
    customFields: list[dict[str, Any]]
    dateAdded: str
    dateUpdated: str


# --- agency (company token) ----------------------------------------------------------------------


def installed_locations(
    *, company_id: str, app_id: str, skip: int = 0, limit: int = 100
) -> Operation[InstalledLocationsPage]:
    params = {
        "companyId": company_id,
        "appId": app_id,
        "isInstalled": "true",
        "skip": str(skip),
        "limit": str(limit),
    }
    call = Call("GET", "/oauth/installedLocations", V_2021_07, params=params)
    return Operation(call, _whole)


def location_token(*, company_id: str, location_id: str) -> Operation[TokenGrant]:
    call = Call(
        "POST",
        "/oauth/locationToken",
        V_2021_07,
        form={"companyId": company_id, "locationId": location_id},
        idempotent=True,  # minting twice only yields two valid tokens
    )
    return Operation(call, lambda body: TokenGrant.from_response(body, user_type="Location"))


def installer_details(*, app_id: str) -> Operation[InstallerDetails]:
    call = Call("GET", f"/marketplace/app/{app_id}/installations", V_2021_07)
    return Operation(call, _key("installationDetails"))


# --- locations and users -------------------------------------------------------------------------


def location_get(*, location_id: str) -> Operation[GhlLocation]:
    return Operation(Call("GET", f"/locations/{location_id}", V_2021_07), _key("location"))


def users_search(
    *, company_id: str, location_id: str, skip: int = 0, limit: int = 100
) -> Operation[dict[str, Any]]:
    params = {
        "companyId": company_id,
        "locationId": location_id,
        "skip": str(skip),
        "limit": str(limit),
    }
    return Operation(Call("GET", "/users/search", V_2021_07, params=params), _whole)


# --- contacts ------------------------------------------------------------------------------------


def contact_get(*, contact_id: str) -> Operation[GhlContact]:
    return Operation(Call("GET", f"/contacts/{contact_id}", V_2021_07), _key("contact"))


def contact_create(*, location_id: str, fields: Mapping[str, Any]) -> Operation[GhlContact]:
    body = {**fields, "locationId": location_id}
    return Operation(Call("POST", "/contacts/", V_2021_07, json=body), _key("contact"))


def contact_upsert(*, location_id: str, fields: Mapping[str, Any]) -> Operation[dict[str, Any]]:
    body = {**fields, "locationId": location_id}
    call = Call("POST", "/contacts/upsert", V_2021_07, json=body, idempotent=True)
    return Operation(call, _whole)


def contact_update(*, contact_id: str, fields: Mapping[str, Any]) -> Operation[GhlContact]:
    call = Call("PUT", f"/contacts/{contact_id}", V_2021_07, json=dict(fields))
    return Operation(call, _key("contact"))


def contact_delete(*, contact_id: str) -> Operation[dict[str, Any]]:
    return Operation(Call("DELETE", f"/contacts/{contact_id}", V_2021_07), _whole)


def contacts_search(
    *,
    location_id: str,
    page_limit: int = 100,
    search_after: list[Any] | None = None,
    filters: list[dict[str, Any]] | None = None,
    sort: list[dict[str, str]] | None = None,
) -> Operation[dict[str, Any]]:
    body: dict[str, Any] = {"locationId": location_id, "pageLimit": page_limit}
    if search_after:
        body["searchAfter"] = search_after
    if filters:
        body["filters"] = filters
    if sort:
        body["sort"] = sort
    call = Call("POST", "/contacts/search", V_2021_07, json=body, idempotent=True)
    return Operation(call, _whole)


def contacts_list(
    *,
    location_id: str,
    limit: int = 100,
    start_after: int | None = None,
    start_after_id: str | None = None,
) -> Operation[dict[str, Any]]:
    """The legacy list (`startAfter` epoch ms + `startAfterId` cursor, answer with `meta`)."""
    params: dict[str, Any] = {"locationId": location_id, "limit": limit}
    if start_after is not None and start_after_id:
        params |= {"startAfter": start_after, "startAfterId": start_after_id}
    return Operation(Call("GET", "/contacts/", V_2021_07, params=params), _whole)


# --- conversations -------------------------------------------------------------------------------


def conversations_search(
    *, location_id: str, limit: int = 100, start_after_date: int | None = None
) -> Operation[dict[str, Any]]:
    params: dict[str, Any] = {"locationId": location_id, "limit": limit}
    if start_after_date is not None:
        params["startAfterDate"] = start_after_date
    return Operation(Call("GET", "/conversations/search", V_2021_04, params=params), _whole)


def conversation_messages(
    *, conversation_id: str, limit: int = 100, last_message_id: str | None = None
) -> Operation[dict[str, Any]]:
    params: dict[str, Any] = {"limit": limit, "lastMessageId": last_message_id}
    call = Call("GET", f"/conversations/{conversation_id}/messages", V_2021_04, params=params)
    return Operation(call, _whole)


# --- custom fields -------------------------------------------------------------------------------


class GhlCustomField(TypedDict, total=False):
    id: str
    name: str
    fieldKey: str  # "contact.<snake_case name>"
    dataType: str
    model: str
    picklistOptions: list[str]


def custom_fields(*, location_id: str, model: str = "contact") -> Operation[list[GhlCustomField]]:
    call = Call("GET", f"/locations/{location_id}/customFields", V_2021_07, params={"model": model})
    return Operation(call, _key("customFields"))


def custom_field_create(
    *,
    location_id: str,
    name: str,
    data_type: str,
    options: Sequence[str] = (),
    placeholder: str = "",
    model: str = "contact",
) -> Operation[GhlCustomField]:
    """Not idempotent (GHL refuses a second field of the same key): a create whose answer was lost
    is found by name when the caller reads the list again."""
    body: dict[str, Any] = {"name": name, "dataType": data_type, "model": model}
    if placeholder:
        body["placeholder"] = placeholder
    if options:
        body["textBoxListOptions"] = [{"label": o, "prefillValue": ""} for o in options]
    call = Call("POST", f"/locations/{location_id}/customFields", V_2021_07, json=body)
    return Operation(call, _key("customField"))


# --- what the mirror syncs -----------------------------------------------------------------------


def users_of_location(*, location_id: str) -> Operation[dict[str, Any]]:
    return Operation(Call("GET", "/users/", V_2021_07, params={"locationId": location_id}), _whole)


def pipelines(*, location_id: str) -> Operation[dict[str, Any]]:
    params = {"locationId": location_id}
    return Operation(Call("GET", "/opportunities/pipelines", V_2021_07, params=params), _whole)


def opportunity_create(
    *,
    location_id: str,
    pipeline_id: str,
    stage_id: str,
    contact_id: str,
    name: str,
    assigned_to: str = "",
) -> Operation[dict[str, Any]]:
    body: dict[str, Any] = {
        "locationId": location_id,
        "pipelineId": pipeline_id,
        "pipelineStageId": stage_id,
        "contactId": contact_id,
        "name": name,
        "status": "open",
    }
    if assigned_to:
        body["assignedTo"] = assigned_to
    return Operation(Call("POST", "/opportunities/", V_2021_07, json=body), _key("opportunity"))


def opportunities_search(
    *, location_id: str, limit: int = 100, search_after: list[Any] | None = None
) -> Operation[dict[str, Any]]:
    body: dict[str, Any] = {"locationId": location_id, "limit": limit}
    if search_after:
        body["searchAfter"] = search_after
    call = Call("POST", "/opportunities/search", V_2021_07, json=body, idempotent=True)
    return Operation(call, _whole)


def calendars(*, location_id: str) -> Operation[dict[str, Any]]:
    return Operation(
        Call("GET", "/calendars/", V_2021_04, params={"locationId": location_id}), _whole
    )


def calendar_events(
    *, location_id: str, calendar_id: str, start_ms: int, end_ms: int
) -> Operation[dict[str, Any]]:
    params = {
        "locationId": location_id,
        "calendarId": calendar_id,
        "startTime": start_ms,
        "endTime": end_ms,
    }
    return Operation(Call("GET", "/calendars/events", V_2021_04, params=params), _whole)


# --- portal writes: the pipeline board and booking -----------------------------------------------


def opportunity_update(
    *, opportunity_id: str, fields: Mapping[str, Any]
) -> Operation[dict[str, Any]]:
    """`PUT /opportunities/{id}`: GHL answers with the whole opportunity, `updatedAt` included."""
    call = Call("PUT", f"/opportunities/{opportunity_id}", V_2021_07, json=dict(fields))
    return Operation(call, _key("opportunity"))


def contact_note_create(*, contact_id: str, body: str) -> Operation[dict[str, Any]]:
    """`POST /contacts/{id}/notes`: not idempotent (a retry adds a second note), so callers
    record the note's id once GHL answers."""
    call = Call("POST", f"/contacts/{contact_id}/notes", V_2021_07, json={"body": body})
    return Operation(call, _key("note"))


def calendar_free_slots(
    *, calendar_id: str, start_ms: int, end_ms: int, timezone: str = ""
) -> Operation[dict[str, Any]]:
    """A map keyed by date (`{"2024-10-28": {"slots": [ISO with offset, …]}}`); GHL may add
    other keys (`traceId`). The range is at most 31 days."""
    params: dict[str, Any] = {"startDate": start_ms, "endDate": end_ms}
    if timezone:
        params["timezone"] = timezone
    call = Call("GET", f"/calendars/{calendar_id}/free-slots", V_2021_04, params=params)
    return Operation(call, _whole)


def appointment_create(
    *, location_id: str, calendar_id: str, contact_id: str, start_time: str, title: str = ""
) -> Operation[dict[str, Any]]:
    """Not idempotent: a retried create could book the contact twice. GHL answers with the
    appointment itself (no wrapping key) or 400 when the slot is no longer free."""
    body: dict[str, Any] = {
        "locationId": location_id,
        "calendarId": calendar_id,
        "contactId": contact_id,
        "startTime": start_time,
    }
    if title:
        body["title"] = title
    call = Call("POST", "/calendars/events/appointments", V_2021_04, json=body)
    return Operation(call, _whole)
