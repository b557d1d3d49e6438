"""The two-way sync scenario every connector must pass, whatever stands on the external side.

N contacts in the GHL stand-in become N external rows; then E edits in GHL (contacts 0..E-1) and
E edits externally (contacts E-C..2E-C-1), C of them colliding, one field per conflict policy;
a run settles them (checked value by value on both sides, and in the overwrite log); a person
settles the "ask" conflicts; a run applies that; a last run with nothing new changes nothing."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

import httpx

from integrations.connectors.engine import connection_run
from integrations.connectors.models import (
    ExternalConnection,
    ExternalLink,
    ExternalSyncRun,
    FieldOverwrite,
    SyncConflict,
)
from integrations.connectors.services import conflict_resolve, connection_create
from integrations.sync.engine import sync_run_execute, sync_run_start
from sandbox.ghl.testing import StandIn
from tenants.models import Location
from tests.integrations.conftest import DUBAI, Installer

# One field per policy: who wins a collision on it.
POLICIES = {"first_name": "ghl", "last_name": "external", "phone": "newest", "city": "ask"}
API_KEYS = {"first_name": "firstName", "last_name": "lastName", "phone": "phone", "city": "city"}
FIELDS = list(POLICIES)
MAPPING = [{"ghl": "email", "external": "email", "policy": "newest"}] + [
    {"ghl": f, "external": f, "policy": p} for f, p in POLICIES.items()
]


class ExternalSide(Protocol):
    """The external system of a scenario, seen from the test (not through our connector)."""

    # Whether the system keeps per-row change times ("newest wins" can then pick it).
    has_times: bool

    def connection(self) -> dict[str, Any]:
        """kind, config and credentials of the connection to it."""
        ...

    def rows(self) -> dict[str, dict[str, Any]]:
        """Every row by key: {field: value} for email and FIELDS."""
        ...

    def edit(self, key: str, field: str, value: str) -> None: ...


@dataclass(frozen=True)
class Size:
    contacts: int
    edits: int
    colliding: int  # a multiple of 4: one quarter per policy


def ghl_contacts(ghl: StandIn) -> dict[str, dict[str, Any]]:
    """Every contact of the location, read from the stand-in itself."""
    token = ghl.mint_token(location_id=DUBAI)["access_token"]
    out: dict[str, dict[str, Any]] = {}
    after: list[Any] | None = None
    with httpx.Client(base_url=ghl.base_url, timeout=60) as http:
        while True:
            body: dict[str, Any] = {"locationId": DUBAI, "pageLimit": 500}
            if after:
                body["searchAfter"] = after
            headers = ghl.api_headers(token, "/contacts/search")
            page = http.post("/contacts/search", json=body, headers=headers).json()["contacts"]
            out.update({c["id"]: c for c in page})
            if len(page) < 500:
                return out
            after = page[-1]["searchAfter"]


def ghl_edit(ghl: StandIn, contact_id: str, field: str, value: str) -> None:
    token = ghl.mint_token(location_id=DUBAI)["access_token"]
    path = f"/contacts/{contact_id}"
    headers = ghl.api_headers(token, path)
    answer = httpx.put(ghl.base_url + path, json={API_KEYS[field]: value}, headers=headers)
    answer.raise_for_status()


def value(side: str, i: int, field: str) -> str:
    """The value side "G" (GHL) or "E" (external) writes into contact i's field."""
    if field == "phone":
        return f"+1{'555' if side == 'G' else '666'}{i:07d}"
    return f"{side}{i}"


def mirror_catch_up(location: Location, kind: str = "incremental") -> None:
    """What webhooks and the scheduled GHL sync do: bring GHL's edits into the mirror."""
    run = sync_run_start(location=location, kind=kind)
    sync_run_execute(run_pk=run.pk)


def text(v: Any) -> str:
    return "" if v is None else str(v)


def run_ok(connection: ExternalConnection) -> ExternalSyncRun:
    run = connection_run(connection_pk=connection.pk)
    assert run is not None and run.status == "succeeded", run and run.error
    return run


def two_way_scenario(
    install: Installer,
    ghl: StandIn,
    side: ExternalSide,
    size: Size,
    *,
    between_runs: Callable[[], None] = lambda: None,
) -> None:
    ghl.set_config(rate_limits={"unlimited": True})
    installation = install(location_id=DUBAI)
    location = installation.location
    assert location is not None
    present = len(ghl_contacts(ghl))
    if size.contacts > present:
        ghl.seed(DUBAI, seed=11, contacts=size.contacts - present)
    mirror_catch_up(location, "reconcile")  # seeded contacts carry old change times
    connection = connection_create(
        location=location, name="Client data", mapping=MAPPING, **side.connection()
    )

    # Run 1: every contact becomes a row.
    first = run_ok(connection)
    contacts = len(ghl_contacts(ghl))
    assert first.created_external == contacts and len(side.rows()) == contacts
    links = dict(ExternalLink.objects.for_location(location).values_list("external_key", "ghl_id"))
    gh, rows = ghl_contacts(ghl), side.rows()
    assert all(text(rows[k]["email"]) == (gh[g].get("email") or "") for k, g in links.items())

    # Edits on both sides; the external ones are the newer.
    ordered = sorted(links.items(), key=lambda kv: kv[1])
    edits, colliding = size.edits, size.colliding
    plan = {i: FIELDS[i % 4] for i in range(2 * edits - colliding)}
    for i in range(edits):
        ghl_edit(ghl, ordered[i][1], plan[i], value("G", i, plan[i]))
    time.sleep(1.1)
    for i in range(edits - colliding, 2 * edits - colliding):
        side.edit(ordered[i][0], plan[i], value("E", i, plan[i]))
    mirror_catch_up(location)

    between_runs()
    second = run_ok(connection)
    asks = [i for i in range(edits - colliding, edits) if POLICIES[plan[i]] == "ask"]
    assert second.conflicts == len(asks) == colliding // 4

    def expected(i: int) -> tuple[str, str]:
        """(GHL's value, the external value) of contact i's edited field."""
        g, e = value("G", i, plan[i]), value("E", i, plan[i])
        if i < edits - colliding:
            return g, g
        if i >= edits:
            return e, e
        newest = e if side.has_times else g  # no row times: GHL's is the known newest
        winner = {"ghl": g, "external": e, "newest": newest}.get(POLICIES[plan[i]])
        return (winner, winner) if winner else (g, e)

    gh, rows = ghl_contacts(ghl), side.rows()
    for i, field in plan.items():
        key, ghl_id = ordered[i]
        assert (gh[ghl_id].get(API_KEYS[field]), text(rows[key][field])) == expected(i), (i, field)
    for key, ghl_id in ordered[2 * edits - colliding :]:
        for field in FIELDS:
            assert (gh[ghl_id].get(API_KEYS[field]) or "") == text(rows[key][field])

    # The overwrite log names every value written, on the side it was written.
    log = list(FieldOverwrite.objects.for_location(location).filter(run=second))
    sides = Counter((o.side, o.reason.split(":")[0]) for o in log)
    quarter = colliding // 4
    to_ghl_in_conflicts = quarter * (2 if side.has_times else 1)
    assert sides[("external", "changed in GHL")] == edits - colliding
    assert sides[("ghl", "changed externally")] == edits - colliding
    assert sides[("external", "conflict")] == 3 * quarter - to_ghl_in_conflicts
    assert sides[("ghl", "conflict")] == to_ghl_in_conflicts
    assert len(log) == 2 * (edits - colliding) + 3 * quarter

    # A person settles the "ask" conflicts, alternately each way; the next run applies them.
    conflicts = SyncConflict.objects.for_location(location).filter(status="open").order_by("pk")
    for n, conflict in enumerate(conflicts):
        conflict_resolve(conflict=conflict, choose="ghl" if n % 2 else "external", acting_user=None)
    mirror_catch_up(location)
    run_ok(connection)
    gh, rows = ghl_contacts(ghl), side.rows()
    for key, ghl_id in ordered:
        for field in FIELDS:
            assert (gh[ghl_id].get(API_KEYS[field]) or "") == text(rows[key][field]), field
    assert not SyncConflict.objects.for_location(location).filter(status="open").exists()

    # No echo: with nothing new on either side, a run changes nothing anywhere.
    mirror_catch_up(location)
    written = FieldOverwrite.objects.for_location(location).count()
    last = run_ok(connection)
    assert (last.to_ghl, last.to_external, last.conflicts) == (0, 0, 0)
    assert (last.created_in_ghl, last.created_external) == (0, 0)
    assert FieldOverwrite.objects.for_location(location).count() == written
