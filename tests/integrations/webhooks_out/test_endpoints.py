"""Saving endpoints: the SSRF guard refuses inward URLs, https only outside development, event
types are checked, and each change leaves an audit row without the secret."""

from __future__ import annotations

import pytest
from django.test import override_settings

from integrations.webhooks_out import endpoints
from saas_platform.kernel.errors import ApplicationError, NotFound
from tenants.models import AuditLogEntry, Location
from tests.conftest import World
from tests.integrations.webhooks_out.conftest import RECEIVER, subscribe

pytestmark = pytest.mark.django_db

REFUSED = [
    "https://127.0.0.1/hooks",  # loopback
    "https://localhost/hooks",
    "https://[::1]/hooks",
    "https://0x7f000001/hooks",  # loopback, spelled as resolvers read it
    "https://10.1.2.3/hooks",  # private
    "https://192.168.0.10/hooks",
    "https://172.16.5.4/hooks",
    "https://169.254.10.10/hooks",  # link-local
    "https://169.254.169.254/latest/meta-data/",  # cloud metadata
    "https://[fd00:ec2::254]/",  # AWS metadata over IPv6
    "https://[::ffff:10.0.0.1]/",  # IPv4-mapped private
    "https://user@127.0.0.1/hooks",
    "ftp://93.184.215.14/hooks",
    "file:///etc/passwd",
]


@pytest.mark.parametrize("url", REFUSED)
def test_inward_and_odd_urls_are_refused_at_save_time(location: Location, url: str) -> None:
    with pytest.raises(ApplicationError) as refused:
        subscribe(location, url=url)
    assert refused.value.extra == {"field": "url"}


def test_plain_http_only_in_development(location: Location) -> None:
    with pytest.raises(ApplicationError, match="https://"):
        subscribe(location, url="http://93.184.215.14/hooks")
    with override_settings(WEBHOOKS_OUT_ALLOW_HTTP=True):
        assert subscribe(location, url="http://93.184.215.14/hooks").pk


def test_event_types_are_checked(location: Location) -> None:
    with pytest.raises(ApplicationError, match="at least one"):
        endpoints.endpoint_create(
            agency=location.agency,
            location=location,
            url=RECEIVER,
            description="",
            event_types=[],
            acting_user=None,
        )
    with pytest.raises(ApplicationError, match=r"Unknown event types: user\.deleted"):
        subscribe(location, types=["contact.created", "user.deleted"])


def test_an_endpoint_is_created_with_a_secret_and_audited_without_it(location: Location) -> None:
    endpoint = subscribe(location, description="CRM sync")
    assert endpoint.secret.startswith("whsec_") and endpoint.enabled
    entry = AuditLogEntry.objects.for_agency(location.agency).get(action="webhook_endpoint.created")
    assert entry.location == location and RECEIVER in str(entry.changes)
    assert endpoint.secret not in str(entry.changes)


def test_another_agencys_location_is_not_found(world: World) -> None:
    with pytest.raises(NotFound):
        endpoints.endpoint_create(
            agency=world.a.agency,
            location=world.b.locations[0],
            url=RECEIVER,
            description="",
            event_types=["contact.created"],
            acting_user=None,
        )


def test_turning_an_endpoint_back_on_clears_its_failure_state(location: Location) -> None:
    endpoint = subscribe(location)
    endpoint.enabled, endpoint.consecutive_failures = False, 9
    endpoint.disabled_reason = "Every delivery for more than 24 hours has failed."
    endpoint.save()
    endpoints.endpoint_update(
        endpoint=endpoint,
        url=endpoint.url,
        description="",
        event_types=["contact.created"],
        enabled=True,
        acting_user=None,
    )
    endpoint.refresh_from_db()
    assert endpoint.enabled and endpoint.consecutive_failures == 0
    assert endpoint.disabled_reason == "" and endpoint.event_types == ["contact.created"]
