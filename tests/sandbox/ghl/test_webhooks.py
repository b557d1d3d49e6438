"""Webhooks as GHL sends them: flat compact JSON, both signatures over the exact bytes,
asynchronous delivery, retries only after a 429, and every other outcome final."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, padding, rsa

from sandbox.ghl.testing import DEMO_CLIENT_ID, StandIn, WebhookReceiver, free_port
from tests.sandbox.ghl.conftest import DUBAI, Api

APP_ID = DEMO_CLIENT_ID.split("-")[0]


def install(standin: StandIn, location_id: str = DUBAI) -> None:
    standin.install(locationId=location_id, emitInstall=False)


def test_signatures_verify_over_the_exact_bytes(
    ghl_standin: StandIn, receiver: WebhookReceiver
) -> None:
    install(ghl_standin)
    ghl_standin.trigger_event(
        "ContactCreate",
        DUBAI,
        {"firstName": "Amira", "email": "amira@example.com", "tags": ["Buyer"]},
    )
    (hit,) = receiver.wait_for(1)
    body = hit["body"]
    keys = ghl_standin.keys()
    ed_key = serialization.load_pem_public_key(keys["ed25519"].encode())
    rsa_key = serialization.load_pem_public_key(keys["rsa"].encode())
    assert isinstance(ed_key, ed25519.Ed25519PublicKey) and isinstance(rsa_key, rsa.RSAPublicKey)
    assert rsa_key.key_size >= 2048
    ed_key.verify(base64.b64decode(hit["headers"]["x-ghl-signature"]), body)
    rsa_key.verify(
        base64.b64decode(hit["headers"]["x-wh-signature"]),
        body,
        padding.PKCS1v15(),
        hashes.SHA256(),
    )
    # Compact JSON: re-serialising compactly gives the same bytes a naive verifier would use.
    payload = json.loads(body)
    assert json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode() == body
    assert payload["type"] == "ContactCreate" and payload["appId"] == APP_ID
    assert payload["locationId"] == DUBAI and payload["tags"] == ["buyer"]
    assert payload["webhookId"] and payload["timestamp"].endswith("Z")
    tampered = body.replace(b"Amira", b"Amirb")
    try:
        ed_key.verify(base64.b64decode(hit["headers"]["x-ghl-signature"]), tampered)
    except Exception as exc:
        assert type(exc).__name__ == "InvalidSignature"
    else:
        raise AssertionError("a tampered body must not verify")


def test_published_key_files_match_the_served_keys(ghl_standin: StandIn) -> None:
    keys = ghl_standin.keys()
    assert (Path(ghl_standin.keys_dir) / "ed25519_public.pem").read_text() == keys["ed25519"]
    assert (Path(ghl_standin.keys_dir) / "rsa_public.pem").read_text() == keys["rsa"]
    pem = ghl_standin.http.get("/_sandbox/keys/ed25519.pem")
    assert pem.text == keys["ed25519"]


def test_only_ed25519_when_configured(ghl_standin: StandIn, receiver: WebhookReceiver) -> None:
    ghl_standin.set_config(webhooks={"signatures": "ed25519"})
    install(ghl_standin)
    ghl_standin.trigger_event("ContactCreate", DUBAI, {"firstName": "Noura"})
    (hit,) = receiver.wait_for(1)
    assert "x-ghl-signature" in hit["headers"] and "x-wh-signature" not in hit["headers"]


def test_api_changes_emit_events_with_unique_ids(
    ghl_standin: StandIn, dubai: Api, receiver: WebhookReceiver
) -> None:
    install(ghl_standin)
    created = dubai.post(
        "/contacts/", json={"locationId": DUBAI, "firstName": "Karim", "phone": "+971502223344"}
    ).json()["contact"]
    dubai.post(f"/contacts/{created['id']}/tags", json={"tags": ["hot lead"]})
    sent = dubai.post(
        "/conversations/messages",
        json={"type": "SMS", "contactId": created["id"], "message": "Viewing at 5pm?"},
    )
    assert sent.status_code == 200
    dubai.delete(f"/contacts/{created['id']}")
    receiver.wait_for(5)
    # Emission order is the log's order; arrival order may differ (parallel delivery workers).
    emitted = [d["type"] for d in ghl_standin.webhooks()]
    assert emitted == [
        "ContactCreate",
        "ContactUpdate",
        "ContactTagUpdate",
        "OutboundMessage",
        "ContactDelete",
    ]
    events = {e["type"]: e for e in receiver.events()}
    assert sorted(events) == sorted(emitted)
    assert len({e["webhookId"] for e in events.values()}) == 5
    outbound = events["OutboundMessage"]
    assert outbound["messageType"] == "SMS" and outbound["direction"] == "outbound"
    assert outbound["conversationId"] == sent.json()["conversationId"]
    assert outbound["messageId"] == sent.json()["messageId"]


def test_events_need_an_installation_with_the_scope(
    ghl_standin: StandIn, receiver: WebhookReceiver
) -> None:
    ghl_standin.trigger_event("ContactCreate", DUBAI, {"firstName": "Nobody"})
    ghl_standin.install(locationId=DUBAI, emitInstall=False, scopes=["locations.readonly"])
    ghl_standin.trigger_event("ContactCreate", DUBAI, {"firstName": "Still nobody"})
    assert ghl_standin.webhooks() == []


def test_retried_only_after_429(ghl_standin: StandIn) -> None:
    with WebhookReceiver(statuses=[429, 429, 200]) as hook:
        ghl_standin.set_webhook_url(hook.url)
        ghl_standin.set_config(webhooks={"retry_delay_s": 0.05})
        install(ghl_standin)
        ghl_standin.trigger_event("ContactCreate", DUBAI, {"firstName": "Retry"})
        (delivery,) = ghl_standin.wait_for_webhooks(1)
        assert delivery["status"] == "delivered" and delivery["attempts"] == 3
        assert delivery["responses"] == [429, 429, 200]
        bodies = [r["body"] for r in hook.received]
        assert len(set(bodies)) == 1  # the same signed bytes each time
    counters = ghl_standin.counters(DUBAI)
    assert (counters["webhook_retries"], counters["webhooks_delivered"]) == (2, 1)


def test_429_forever_is_lost_after_six_retries(ghl_standin: StandIn) -> None:
    with WebhookReceiver(statuses=[429]) as hook:
        ghl_standin.set_webhook_url(hook.url)
        ghl_standin.set_config(time_factor=1000.0)  # the 600 s default delay becomes 0.6 s
        ghl_standin.set_config(webhooks={"retry_delay_s": 10.0})
        install(ghl_standin)
        ghl_standin.trigger_event("ContactCreate", DUBAI, {"firstName": "Busy"})
        (delivery,) = ghl_standin.wait_for_webhooks(1, timeout=10)
        assert delivery["status"] == "lost" and delivery["attempts"] == 7
        assert len(hook.received) == 7


def _outcome(standin: StandIn, url: str) -> dict[str, Any]:
    standin.set_webhook_url(url)
    install(standin)
    standin.trigger_event("ContactCreate", DUBAI, {"firstName": "Once"})
    (delivery,) = standin.wait_for_webhooks(1)
    return delivery


def test_other_answers_are_final(ghl_standin: StandIn) -> None:
    for status in (500, 404, 202):
        with WebhookReceiver(statuses=[status]) as hook:
            ghl_standin.reset()
            delivery = _outcome(ghl_standin, hook.url)
            assert delivery["attempts"] == 1 and len(hook.received) == 1
            expected = "delivered" if status == 202 else "lost"
            assert delivery["status"] == expected, delivery
    ghl_standin.reset()
    refused = _outcome(ghl_standin, f"http://127.0.0.1:{free_port()}/hook")
    assert refused["status"] == "lost" and refused["reason"].startswith("connection error")
    assert ghl_standin.counters(DUBAI)["webhooks_lost"] == 1


def test_timeout_is_lost(ghl_standin: StandIn) -> None:
    import socket

    with socket.socket() as silent:  # accepts connections, never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        ghl_standin.set_config(webhooks={"timeout_s": 0.3})
        delivery = _outcome(ghl_standin, f"http://127.0.0.1:{silent.getsockname()[1]}/h")
    assert (delivery["status"], delivery["reason"]) == ("lost", "timeout")


def test_uninstall_webhook_and_event_trigger_by_hand(
    ghl_standin: StandIn, receiver: WebhookReceiver
) -> None:
    install(ghl_standin)
    result = ghl_standin.trigger_event(
        "InboundMessage",
        DUBAI,
        {
            "contactId": ghl_standin.trigger_event(
                "ContactCreate", DUBAI, {"firstName": "Lead", "phone": "+971509998877"}
            )["result"]["id"],
            "body": "Is the villa still available?",
        },
    )
    assert result["deliveries"][0]["type"] == "InboundMessage"
    raw = ghl_standin.trigger_event("OpportunityStageUpdate", DUBAI, {"id": "x1"}, raw=True)
    assert raw["deliveries"][0]["type"] == "OpportunityStageUpdate"
    types = sorted(e["type"] for e in _wait_events(receiver, 3))
    assert types == ["ContactCreate", "InboundMessage", "OpportunityStageUpdate"]


def _wait_events(receiver: WebhookReceiver, count: int) -> list[dict[str, Any]]:
    receiver.wait_for(count)
    return list(receiver.events())
