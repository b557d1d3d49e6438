"""Demo traffic: leads, messages, appointments and stage moves made over time in installed
locations, each through the store so GHL's signed webhooks go out; replayable under a seed."""

from __future__ import annotations

import base64
import json
import signal
import time
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519

from sandbox.ghl.seed.verticals import EMAIL_DOMAINS
from sandbox.ghl.testing import StandIn, WebhookReceiver
from tests.sandbox.ghl.conftest import CLINIC, DUBAI, PLUMB

KINDS = {
    "ContactCreate",
    "InboundMessage",
    "OutboundMessage",
    "AppointmentCreate",
    "OpportunityStageUpdate",
}


def install(standin: StandIn, *location_ids: str) -> None:
    for location_id in location_ids:
        standin.install(locationId=location_id, emitInstall=False)


def replay(standin: StandIn, rounds: int) -> tuple[list[tuple[Any, ...]], list[str]]:
    standin.reset()
    install(standin, DUBAI, PLUMB)
    made = standin.traffic_rounds(rounds)
    leads = [
        f"{(body := json.loads(d['body']))['firstName']} {body['lastName']} {body['source']}"
        for d in standin.webhooks(type="ContactCreate")
    ]
    return [(m["round"], m["locationId"], m["type"]) for m in made], leads


def test_a_seed_replays_the_same_kinds_of_events_only_for_installed_locations(
    ghl_standin: StandIn,
) -> None:
    first, first_leads = replay(ghl_standin, 12)
    second, second_leads = replay(ghl_standin, 12)

    assert first == second and first_leads == second_leads and first_leads
    assert {kind for _, _, kind in first} >= KINDS
    assert {location for _, location, _ in first} == {DUBAI, PLUMB}
    sent = ghl_standin.webhooks()
    assert {d["resource"] for d in sent} == {DUBAI, PLUMB}  # nothing for CLINIC or GENERIC
    assert {d["type"] for d in sent} >= KINDS | {"OpportunityUpdate"}
    status = ghl_standin.traffic()
    assert status["installedLocations"] == [DUBAI, PLUMB]
    assert status["rounds"] == 12 and sum(status["events"].values()) == len(first)


def test_another_seed_makes_other_traffic(ghl_standin: StandIn) -> None:
    install(ghl_standin, DUBAI)
    ghl_standin.start_traffic(interval=3600, seed=7)  # sets the seed; no round runs yet
    ghl_standin.stop_traffic()
    seven = [(m["round"], m["type"]) for m in ghl_standin.traffic_rounds(8)]
    one, _ = replay(ghl_standin, 8)
    assert seven != [(r, kind) for r, loc, kind in one if loc == DUBAI]


def test_real_estate_leads_carry_the_fields_routing_uses(ghl_standin: StandIn) -> None:
    install(ghl_standin, DUBAI)
    ghl_standin.traffic_rounds(6)
    token = ghl_standin.mint_token(location_id=DUBAI)["access_token"]
    path = f"/locations/{DUBAI}/customFields"
    fields = httpx.get(
        ghl_standin.base_url + path, headers=ghl_standin.api_headers(token, path), timeout=10
    ).json()["customFields"]
    names = {f["id"]: f["name"] for f in fields}
    leads = [json.loads(d["body"]) for d in ghl_standin.webhooks(type="ContactCreate")]
    assert leads
    for lead in leads:
        assert lead["email"].split("@")[1] in EMAIL_DOMAINS
        assert lead["phone"].startswith("+971") and lead["source"] and lead["tags"]
        values = {names[item["id"]]: item["value"] for item in lead["customFields"]}
        assert {"Preferred Area", "Property Type", "Budget (AED)", "Bedrooms"} <= set(values)
        assert values["Property Type"] in ("Apartment", "Villa", "Townhouse", "Penthouse")


def test_generated_events_are_delivered_signed(
    ghl_standin: StandIn, receiver: WebhookReceiver
) -> None:
    install(ghl_standin, DUBAI)
    made = ghl_standin.traffic_rounds(6)
    # A change may be delivered as more than one event: wait for every kind made, not a count.
    wait_until(lambda: {e["type"] for e in receiver.events()} >= {m["type"] for m in made})
    hits = receiver.wait_for(len(made))
    key = serialization.load_pem_public_key(ghl_standin.keys()["ed25519"].encode())
    assert isinstance(key, ed25519.Ed25519PublicKey)
    for hit in hits:
        key.verify(base64.b64decode(hit["headers"]["x-ghl-signature"]), hit["body"])
        assert hit["headers"]["x-wh-signature"]
    assert {e["locationId"] for e in receiver.events()} == {DUBAI}
    assert {e["type"] for e in receiver.events()} >= {m["type"] for m in made}


def test_without_an_installed_location_nothing_happens(ghl_standin: StandIn) -> None:
    assert ghl_standin.traffic_rounds(5) == []
    assert ghl_standin.traffic()["installedLocations"] == []
    assert ghl_standin.webhooks() == []


def wait_until(check: Any, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.05)


def test_the_control_endpoint_starts_and_stops_it(ghl_standin: StandIn) -> None:
    install(ghl_standin, CLINIC)
    assert ghl_standin.traffic()["running"] is False
    ghl_standin.start_traffic(interval=0.5)
    assert ghl_standin.traffic()["running"] is True
    wait_until(lambda: ghl_standin.traffic()["rounds"] >= 2)
    ghl_standin.stop_traffic()
    stopped = ghl_standin.traffic()
    time.sleep(1.2)
    assert ghl_standin.traffic()["rounds"] == stopped["rounds"] and not stopped["running"]
    assert stopped["events"] and set(stopped["locations"]) == {CLINIC}


def test_a_reset_stops_it_and_clears_its_counters(ghl_standin: StandIn) -> None:
    install(ghl_standin, CLINIC)
    ghl_standin.start_traffic(interval=0.5)
    ghl_standin.traffic_rounds(2)
    ghl_standin.reset()
    status = ghl_standin.traffic()
    assert (status["running"], status["rounds"], status["events"]) == (False, 0, {})


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/traffic/start", {"interval": 0.01}),
        ("/traffic/start", {"interval": "soon"}),
        ("/traffic/round", {"rounds": 0}),
        ("/traffic/round", {"rounds": 500}),
        ("/traffic/round", [1]),
    ],
)
def test_bad_input_is_refused(ghl_standin: StandIn, path: str, body: Any) -> None:
    answer = ghl_standin.http.post(f"/_sandbox{path}", json=body)
    assert answer.status_code == 400 and answer.json()["error"]
    assert ghl_standin.traffic()["running"] is False and ghl_standin.traffic()["rounds"] == 0


def test_a_backed_up_receiver_pauses_it(ghl_standin: StandIn) -> None:
    """Deliveries waiting for a retry count as backlog: rounds are skipped, not piled on."""
    with WebhookReceiver(statuses=[429]) as slow:
        ghl_standin.set_webhook_url(slow.url)
        install(ghl_standin, DUBAI, PLUMB, CLINIC)
        ghl_standin.traffic_rounds(50)
        ghl_standin.traffic_rounds(50)
        wait_until(lambda: len(slow.received) > 200)
        before = ghl_standin.traffic()["rounds"]
        ghl_standin.start_traffic(interval=0.5)
        wait_until(lambda: ghl_standin.traffic()["skipped"] >= 2)
        ghl_standin.stop_traffic()
        assert ghl_standin.traffic()["rounds"] == before


def test_the_command_line_flag_runs_it_and_sigterm_stops_cleanly() -> None:
    with StandIn(scenario="demo", extra_args=["--demo-traffic=0.5"]) as standin:
        install(standin, DUBAI)
        wait_until(lambda: standin.traffic()["rounds"] >= 2)
        status = standin.traffic()
        assert status["running"] and status["interval"] == 0.5 and status["events"]
        standin.reset()  # started from the command line: keeps running after a reset
        assert standin.traffic()["running"] is True
        process = standin.process
        assert process is not None
        process.send_signal(signal.SIGTERM)
        # uvicorn shuts down gracefully, then re-raises the signal it caught.
        assert process.wait(timeout=10) in (0, -signal.SIGTERM)
        log = standin.log_tail(200)
        assert "demo traffic stopped after" in log and "Traceback" not in log
