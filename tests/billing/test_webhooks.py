"""The two Stripe webhook endpoints: fail closed on signatures, one row per event."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection
from django.test import Client

from billing.models import StripeEvent
from tests.billing.stripe_wire import event, signed
from tests.conftest import World

PLATFORM = "/billing/stripe/webhooks"
CONNECT = "/billing/stripe/connect-webhooks"
ACCOUNT_EVENT = event(
    "account.updated", {"id": "acct_Unknown0000001", "object": "account"}, account=None
)


def post(client: Client, path: str, body: bytes, signature: str | None) -> Any:
    headers = {"HTTP_STRIPE_SIGNATURE": signature} if signature is not None else {}
    return client.post(path, body, content_type="application/json", **headers)


@pytest.fixture
def client(platform_client: Callable[..., Client]) -> Client:
    return platform_client()


def test_a_signed_event_is_stored_once(world: World, client: Client) -> None:
    payload = event(
        "customer.subscription.updated",
        {"id": "sub_1", "object": "subscription"},
        account="acct_1",
        event_id="evt_once",
    )
    body, signature = signed(payload, "whsec_test_connect")
    first = post(client, CONNECT, body, signature)
    again = post(client, CONNECT, body, signature)
    assert (first.status_code, first.json()) == (200, {"status": "accepted"})
    assert (again.status_code, again.json()) == (200, {"status": "duplicate"})
    row = StripeEvent.objects.get()
    assert (row.source, row.event_id, row.account, row.object_id) == (
        "connect",
        "evt_once",
        "acct_1",
        "sub_1",
    )
    assert bytes(row.body) == body


@pytest.mark.parametrize(
    ("secret", "age", "header"),
    [
        ("whsec_forged", 0, None),  # signed with a secret that is not ours
        ("whsec_test_connect", 301, None),  # ours, but older than the tolerance
        ("whsec_test_connect", -301, None),  # ours, from the future
        ("whsec_test_platform", 0, None),  # the other endpoint's secret
        ("whsec_test_connect", 0, ""),  # no signature at all
        ("whsec_test_connect", 0, "t=1,v1=deadbeef"),  # garbage
    ],
)
def test_forged_or_stale_signatures_are_refused_and_nothing_is_stored(
    world: World, client: Client, secret: str, age: int, header: str | None
) -> None:
    payload = event("customer.subscription.updated", {"id": "sub_1"}, account="acct_1")
    body, signature = signed(payload, secret, at=int(time.time()) - age)
    response = post(client, CONNECT, body, signature if header is None else header)
    assert response.status_code == 400
    assert not StripeEvent.objects.exists()


def test_a_tampered_body_is_refused(world: World, client: Client) -> None:
    payload = event("invoice.paid", {"id": "in_1"}, account="acct_1")
    body, signature = signed(payload, "whsec_test_connect")
    response = post(client, CONNECT, body.replace(b"in_1", b"in_2"), signature)
    assert response.status_code == 400
    assert not StripeEvent.objects.exists()


def test_each_endpoint_takes_only_its_kind_of_event(world: World, client: Client) -> None:
    body, signature = signed(ACCOUNT_EVENT, "whsec_test_connect")  # no `account`
    assert post(client, CONNECT, body, signature).status_code == 400
    connect_event = event("invoice.paid", {"id": "in_1"}, account="acct_1")
    body, signature = signed(connect_event, "whsec_test_platform")
    assert post(client, PLATFORM, body, signature).status_code == 400
    assert not StripeEvent.objects.exists()


def test_a_platform_event_is_stored(world: World, client: Client) -> None:
    payload = event("invoice.paid", {"id": "in_platform"}, account=None)
    body, signature = signed(payload, "whsec_test_platform")
    assert post(client, PLATFORM, body, signature).status_code == 200
    assert StripeEvent.objects.get().source == "platform"


def test_a_signed_body_that_is_not_an_event_is_refused(world: World, client: Client) -> None:
    body, signature = signed({"hello": "world"}, "whsec_test_connect")
    assert post(client, CONNECT, body, signature).status_code == 400
    assert not StripeEvent.objects.exists()


@pytest.mark.concurrency
@pytest.mark.django_db(transaction=True)
def test_concurrent_deliveries_of_one_event_make_one_row(world: World) -> None:
    payload = event("account.updated", {"id": "acct_X"}, account="acct_X", event_id="evt_race")
    body, signature = signed(payload, "whsec_test_connect")
    answers: list[str] = []
    start = threading.Barrier(8)

    def deliver() -> None:
        try:
            start.wait()
            response = post(Client(HTTP_HOST="localhost"), CONNECT, body, signature)
            answers.append(response.json().get("status", response.status_code))
        finally:
            connection.close()

    threads = [threading.Thread(target=deliver) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(answers) == ["accepted"] + ["duplicate"] * 7
    assert StripeEvent.objects.filter(event_id="evt_race").count() == 1


def test_an_oversized_body_is_refused_unread(world: World, client: Client, settings: Any) -> None:
    settings.STRIPE_WEBHOOK_MAX_BYTES = 100
    payload = event("invoice.paid", {"id": "in_1", "pad": "x" * 200}, account="acct_1")
    body, signature = signed(payload, "whsec_test_connect")
    assert post(client, CONNECT, body, signature).status_code == 413
    assert not StripeEvent.objects.exists()
