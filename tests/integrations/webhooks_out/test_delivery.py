"""Sending: the retry schedule, giving up, 410 Gone, disabling after sustained failure (with
the e-mail), replay, redirects not followed, and the SSRF guard at send time."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any

import httpx
import pytest
import respx
from django.core import mail
from django.utils import timezone

from integrations.webhooks_out import delivery as sending
from integrations.webhooks_out import endpoints
from integrations.webhooks_out.dispatch import events_dispatch
from integrations.webhooks_out.models import WebhookDelivery, WebhookEndpoint
from tenants.events import event_publish
from tenants.models import Location
from tests import factories
from tests.conftest import World
from tests.integrations.webhooks_out.conftest import RECEIVER, subscribe

pytestmark = pytest.mark.django_db


def _publish(location: Location, n: int = 1) -> None:
    for i in range(n):
        event_publish(location=location, event_type="contact.created", data={"n": i})
    events_dispatch()


def _due_now(endpoint: WebhookEndpoint) -> None:
    """Drive time forward: every pending delivery is due."""
    WebhookDelivery.objects.for_endpoint(endpoint).filter(status="pending").update(
        next_attempt_at=timezone.now()
    )


def test_each_failure_waits_longer_then_the_delivery_gives_up(
    receiver: respx.MockRouter, location: Location
) -> None:
    endpoint = subscribe(location)
    receiver.post(RECEIVER).mock(return_value=httpx.Response(500, text="boom"))
    _publish(location)
    waits = []
    for attempt in range(1, sending.MAX_ATTEMPTS + 1):
        before = timezone.now()
        assert sending.deliveries_send_due() == 1
        delivery = WebhookDelivery.objects.for_endpoint(endpoint).get()
        assert delivery.attempts == attempt
        assert (delivery.response_status, delivery.response_excerpt) == (500, "boom")
        if attempt < sending.MAX_ATTEMPTS:
            assert delivery.status == "pending"
            waits.append(delivery.next_attempt_at - before)
            assert sending.deliveries_send_due() == 0  # not due yet
            _due_now(endpoint)
    assert delivery.status == "dead"
    for wait, base in zip(waits, sending.RETRY_DELAYS, strict=True):
        assert base * 0.89 <= wait <= base * 1.11 + timedelta(seconds=1)
    assert sum(sending.RETRY_DELAYS, timedelta()) <= timedelta(hours=25)
    assert len(receiver.calls) == sending.MAX_ATTEMPTS


def test_a_retry_that_succeeds_resets_the_endpoint(
    receiver: respx.MockRouter, location: Location
) -> None:
    endpoint = subscribe(location)
    receiver.post(RECEIVER).mock(side_effect=[httpx.Response(503), httpx.Response(200)])
    _publish(location)
    sending.deliveries_send_due()
    endpoint.refresh_from_db()
    assert endpoint.consecutive_failures == 1 and endpoint.failing_since is not None
    _due_now(endpoint)
    sending.deliveries_send_due()
    endpoint.refresh_from_db()
    assert (endpoint.consecutive_failures, endpoint.failing_since) == (0, None)
    assert endpoint.last_success_at is not None
    delivery = WebhookDelivery.objects.for_endpoint(endpoint).get()
    assert (delivery.status, delivery.attempts) == ("succeeded", 2)


def test_410_gone_disables_the_endpoint_at_once(
    receiver: respx.MockRouter, location: Location, world: World
) -> None:
    endpoint = subscribe(location)
    receiver.post(RECEIVER).mock(return_value=httpx.Response(410))
    _publish(location, n=2)
    sending.deliveries_send_due(limit=1)
    endpoint.refresh_from_db()
    assert not endpoint.enabled and "410" in endpoint.disabled_reason
    statuses = set(WebhookDelivery.objects.for_endpoint(endpoint).values_list("status", flat=True))
    assert statuses == {"failed"}  # the other one is not sent to a gone endpoint
    assert len(receiver.calls) == 1


def test_sustained_failure_disables_the_endpoint_and_mails_its_admins(
    receiver: respx.MockRouter,
    location: Location,
    world: World,
    django_capture_on_commit_callbacks: Any,
) -> None:
    endpoint = subscribe(location)
    receiver.post(RECEIVER).mock(side_effect=httpx.ConnectError("refused"))
    _publish(location)
    # Failing for a day already, with failures in a row: the next failure turns it off.
    WebhookEndpoint.objects.for_agency(location.agency).filter(pk=endpoint.pk).update(
        failing_since=timezone.now() - timedelta(hours=25),
        consecutive_failures=sending.DISABLE_MIN_FAILURES,
    )
    with django_capture_on_commit_callbacks(execute=True):
        sending.deliveries_send_due()
    endpoint.refresh_from_db()
    assert not endpoint.enabled and "24 hours" in endpoint.disabled_reason
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert set(message.to) == {world.a.owner.email, world.a.admin.email, world.a.client_admin.email}
    assert "Brand A" in message.subject and endpoint.url in message.body
    assert f"/app/l/{location.pk}/webhooks/" in message.body
    assert "whsec_" not in message.body


def test_failures_short_of_a_day_do_not_disable(
    receiver: respx.MockRouter, location: Location
) -> None:
    endpoint = subscribe(location)
    receiver.post(RECEIVER).mock(return_value=httpx.Response(500))
    _publish(location, n=10)
    sending.deliveries_send_due()
    endpoint.refresh_from_db()
    assert endpoint.enabled and endpoint.consecutive_failures == 10
    assert not mail.outbox


def test_replay_sends_a_delivered_event_again_with_the_same_id(
    receiver: respx.MockRouter, location: Location
) -> None:
    endpoint = subscribe(location)
    route = receiver.post(RECEIVER).mock(return_value=httpx.Response(200))
    _publish(location)
    sending.deliveries_send_due()
    delivery = WebhookDelivery.objects.for_endpoint(endpoint).get()
    endpoints.delivery_replay(delivery=delivery, acting_user=None)
    assert sending.deliveries_send_due() == 1
    first, second = (call.request for call in route.calls)
    assert first.headers["webhook-id"] == second.headers["webhook-id"]
    assert first.content == second.content
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == ("succeeded", 1)


def test_replay_of_a_disabled_endpoint_is_refused(location: Location) -> None:
    delivery = factories.WebhookDeliveryFactory(
        endpoint=factories.WebhookEndpointFactory(location=location, enabled=False)
    )
    with pytest.raises(Exception, match="Turn the endpoint on"):
        endpoints.delivery_replay(delivery=delivery, acting_user=None)


def test_a_redirect_is_a_failure_and_is_not_followed(
    receiver: respx.MockRouter, location: Location
) -> None:
    endpoint = subscribe(location)
    receiver.post(RECEIVER).mock(
        return_value=httpx.Response(307, headers={"location": "http://169.254.169.254/"})
    )
    _publish(location)
    sending.deliveries_send_due()
    delivery = WebhookDelivery.objects.for_endpoint(endpoint).get()
    assert delivery.status == "pending" and "redirects are not followed" in delivery.error
    assert len(receiver.calls) == 1  # the metadata address was never asked


def test_disabled_endpoints_and_other_subscriptions_get_nothing(
    receiver: respx.MockRouter, location: Location, world: World
) -> None:
    mine = subscribe(location, ["contact.created"])
    subscribe(location, ["lead.routed"], url=RECEIVER + "/other")
    sibling = subscribe(world.a.locations[1], ["contact.created"], url=RECEIVER + "/sibling")
    agency_wide = endpoints.endpoint_create(
        agency=location.agency,
        location=None,
        url=RECEIVER + "/agency",
        description="",
        event_types=["contact.created"],
        acting_user=None,
    )
    off = subscribe(location, ["contact.created"], url=RECEIVER + "/off")
    endpoints.endpoint_update(
        endpoint=off,
        url=off.url,
        description="",
        event_types=["contact.created"],
        enabled=False,
        acting_user=None,
    )
    _publish(location)
    fanned = set(WebhookDelivery.objects.unscoped().values_list("endpoint_id", flat=True))
    assert fanned == {mine.pk, agency_wide.pk}
    assert sibling.pk not in fanned
    # Fanning out again creates nothing new: one delivery per event and endpoint.
    assert events_dispatch() == (0, 0)


# --- the SSRF guard at send time: a real loopback listener that must never be reached ----------


class _Canary(BaseHTTPRequestHandler):
    hits = 0

    def do_POST(self) -> None:
        type(self).hits += 1
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def canary() -> Iterator[int]:
    _Canary.hits = 0
    server = HTTPServer(("127.0.0.1", 0), _Canary)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1]
    server.shutdown()


def test_an_endpoint_that_now_points_inward_is_refused_at_send_time(
    canary: int, location: Location, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Saved while its name resolved to a public address; DNS now answers 127.0.0.1."""
    real = socket.getaddrinfo
    monkeypatch.setattr(socket, "getaddrinfo", lambda h, *a, **k: real("93.184.215.14", *a, **k))
    endpoint = subscribe(location, url=f"https://hooks.customer.test:{canary}/in")
    monkeypatch.setattr(socket, "getaddrinfo", lambda h, *a, **k: real("127.0.0.1", *a, **k))
    _publish(location)
    sending.deliveries_send_due()
    delivery = WebhookDelivery.objects.for_endpoint(endpoint).get()
    assert delivery.status == "pending" and delivery.error.startswith("Refused:")
    assert "private or reserved" in delivery.error
    assert _Canary.hits == 0


def test_events_older_than_the_retention_go_with_their_deliveries(location: Location) -> None:
    from integrations.webhooks_out.dispatch import RETENTION_DAYS, events_prune
    from tenants.models import TenantEvent

    old = factories.WebhookDeliveryFactory(endpoint=factories.WebhookEndpointFactory())
    TenantEvent.objects.unscoped().filter(pk=old.event_id).update(
        created_at=timezone.now() - timedelta(days=RETENTION_DAYS + 1)
    )
    fresh = factories.WebhookDeliveryFactory()
    assert events_prune() >= 1
    assert list(WebhookDelivery.objects.unscoped().values_list("pk", flat=True)) == [fresh.pk]
