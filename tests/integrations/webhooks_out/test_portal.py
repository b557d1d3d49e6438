"""The Webhooks workspace page as a client admin uses it: add an endpoint (secret shown once),
validation messages, roll the secret, send a test event, read the log and replay."""

from __future__ import annotations

import httpx
import pytest
import respx
from django.test import Client

from integrations.webhooks_out import delivery as sending
from integrations.webhooks_out.models import WebhookDelivery, WebhookEndpoint
from tests.conftest import AgencyClient, World
from tests.integrations.webhooks_out.conftest import RECEIVER, subscribe

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin(world: World, agency_client: AgencyClient) -> Client:
    return agency_client(world.a, world.a.client_admin)


def _base(world: World) -> str:
    return f"/app/l/{world.a.locations[0].pk}/webhooks/"


def test_the_empty_page_explains_and_offers_to_add(admin: Client, world: World) -> None:
    response = admin.get(_base(world))
    text = response.content.decode()
    assert response.status_code == 200
    assert "No endpoints yet" in text and "Add endpoint" in text
    assert 'aria-current="page">Webhooks' in text
    assert "GoHighLevel" not in text and "GHL" not in text


def test_adding_an_endpoint_shows_its_secret_once(admin: Client, world: World) -> None:
    response = admin.post(
        _base(world) + "new/",
        {"url": RECEIVER, "description": "CRM", "event_types": ["contact.created", "lead.routed"]},
    )
    assert response.status_code == 200 and response["Cache-Control"] == "no-store"
    endpoint = WebhookEndpoint.objects.for_agency(world.a.agency).get()
    assert endpoint.secret in response.content.decode()
    assert endpoint.event_types == ["contact.created", "lead.routed"]
    # Never again: not on the list, not on its page.
    for url in (_base(world), f"{_base(world)}{endpoint.pk}/"):
        page = admin.get(url)
        assert page.status_code == 200 and endpoint.secret not in page.content.decode()


def test_a_private_address_gets_a_clear_message_on_the_field(admin: Client, world: World) -> None:
    response = admin.post(
        _base(world) + "new/", {"url": "https://10.0.0.5/hooks", "event_types": ["lead.routed"]}
    )
    text = response.content.decode()
    assert response.status_code == 200
    assert "private or reserved address" in text and 'role="alert"' in text
    response = admin.post(_base(world) + "new/", {"url": RECEIVER})
    assert "Choose at least one event." in response.content.decode()
    assert not WebhookEndpoint.objects.for_agency(world.a.agency).exists()


def test_roll_secret_shows_the_new_one(admin: Client, world: World) -> None:
    endpoint = subscribe(world.a.locations[0])
    old = endpoint.secret
    response = admin.post(f"{_base(world)}{endpoint.pk}/roll-secret/")
    endpoint.refresh_from_db()
    assert endpoint.secret != old and endpoint.secret in response.content.decode()
    assert old not in response.content.decode()
    assert admin.get(f"{_base(world)}{endpoint.pk}/roll-secret/").status_code == 405


def test_test_event_log_and_replay(admin: Client, world: World) -> None:
    endpoint = subscribe(world.a.locations[0])
    with respx.mock(assert_all_mocked=True) as mock:
        mock.post(RECEIVER).mock(return_value=httpx.Response(502, text="bad gateway"))
        response = admin.post(f"{_base(world)}{endpoint.pk}/test/", follow=True)
        assert "Test event queued" in response.content.decode()
        sending.deliveries_send_due()
        delivery = WebhookDelivery.objects.for_endpoint(endpoint).get()
        page = admin.get(f"{_base(world)}{endpoint.pk}/").content.decode()
        assert "endpoint.test" in page and "Retrying" in page and "502" in page
        detail = admin.get(f"{_base(world)}deliveries/{delivery.pk}/").content.decode()
        assert "bad gateway" in detail and delivery.event.public_id in detail
        assert endpoint.secret not in detail
        mock.post(RECEIVER).mock(return_value=httpx.Response(200))
        admin.post(f"{_base(world)}deliveries/{delivery.pk}/replay/")
        sending.deliveries_send_due()
    delivery.refresh_from_db()
    assert delivery.status == "succeeded"
    filtered = admin.get(f"{_base(world)}{endpoint.pk}/?status=dead").content.decode()
    assert "No deliveries with this status" in filtered


def test_editing_and_deleting(admin: Client, world: World) -> None:
    endpoint = subscribe(world.a.locations[0])
    response = admin.post(
        f"{_base(world)}{endpoint.pk}/",
        {"url": RECEIVER + "/v2", "description": "New", "event_types": ["sync.failed"]},
    )
    assert response.status_code == 302
    endpoint.refresh_from_db()
    assert (endpoint.url, endpoint.enabled, endpoint.event_types) == (
        RECEIVER + "/v2",
        False,  # the box was not ticked
        ["sync.failed"],
    )
    assert admin.get(f"{_base(world)}{endpoint.pk}/delete/").status_code == 200
    assert admin.post(f"{_base(world)}{endpoint.pk}/delete/").status_code == 302
    assert not WebhookEndpoint.objects.for_agency(world.a.agency).exists()
