"""Deliveries verify with the `standardwebhooks` library, with one secret and during a roll."""

from __future__ import annotations

import json

import httpx
import pytest
import respx
from standardwebhooks import Webhook, WebhookVerificationError

from integrations.webhooks_out import delivery as sending
from integrations.webhooks_out import endpoints
from integrations.webhooks_out.dispatch import events_dispatch
from integrations.webhooks_out.models import WebhookDelivery
from integrations.webhooks_out.signing import secret_new, signature
from tenants.events import event_publish
from tenants.models import Location
from tests.integrations.webhooks_out.conftest import RECEIVER, subscribe

pytestmark = pytest.mark.django_db


def test_a_secret_is_whsec_and_24_to_64_random_bytes() -> None:
    import base64

    secret = secret_new()
    assert secret.startswith("whsec_")
    assert 24 <= len(base64.b64decode(secret.removeprefix("whsec_"))) <= 64
    assert secret_new() != secret


def test_our_signature_is_what_the_library_expects() -> None:
    secret = secret_new()
    body = b'{"type":"contact.created"}'
    header = signature(secret=secret, msg_id="evt_1", timestamp=1_700_000_000, body=body)
    assert header == Webhook(secret).sign("evt_1", _at(1_700_000_000), body.decode())


def _at(stamp: int):  # type: ignore[no-untyped-def]
    from datetime import UTC, datetime

    return datetime.fromtimestamp(stamp, tz=UTC)


def test_a_delivery_verifies_with_standardwebhooks(
    receiver: respx.MockRouter, location: Location
) -> None:
    endpoint = subscribe(location)
    route = receiver.post(RECEIVER).mock(return_value=httpx.Response(204))
    event = event_publish(
        location=location, event_type="contact.created", data={"contact": {"id": "c1"}}
    )
    assert event is not None
    events_dispatch()
    assert sending.deliveries_send_due() == 1
    request = route.calls.last.request
    payload = Webhook(endpoint.secret).verify(request.content, dict(request.headers))
    assert payload["type"] == "contact.created"
    assert payload["data"] == {"contact": {"id": "c1"}}
    assert request.headers["webhook-id"] == f"evt_{event.id.hex}"
    assert request.headers["content-type"] == "application/json"
    with pytest.raises(WebhookVerificationError):
        Webhook(secret_new()).verify(request.content, dict(request.headers))
    delivery = WebhookDelivery.objects.for_endpoint(endpoint).get()
    assert (delivery.status, delivery.attempts, delivery.response_status) == ("succeeded", 1, 204)


def test_after_a_roll_both_secrets_verify_until_the_overlap_ends(
    receiver: respx.MockRouter, location: Location
) -> None:
    endpoint = subscribe(location)
    old = endpoint.secret
    new = endpoints.endpoint_secret_roll(endpoint=endpoint, acting_user=None)
    route = receiver.post(RECEIVER).mock(return_value=httpx.Response(200))
    endpoints.endpoint_test_send(endpoint=endpoint, location=location, acting_user=None)
    sending.deliveries_send_due()
    request = route.calls.last.request
    assert len(request.headers["webhook-signature"].split(" ")) == 2
    for secret in (old, new):
        Webhook(secret).verify(request.content, dict(request.headers))
    assert json.loads(request.content)["type"] == "endpoint.test"
    endpoint.refresh_from_db()
    assert endpoint.secret == new and endpoint.signing_secrets(
        now=endpoint.previous_secret_expires_at
    ) == [new]
