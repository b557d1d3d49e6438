"""Services and selectors of webhook endpoints: create, change, roll the secret, delete, send a
test event, replay a delivery. Each change leaves an audit row; secrets never do."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from integrations.connectors.base import ConnectorError
from integrations.connectors.ssrf import check_url
from saas_platform.kernel.errors import ApplicationError, NotFound
from tenants.events import events_announce
from tenants.models import Agency, Location, TenantEvent, User
from tenants.services.common import audit_record

from . import catalog
from .models import WebhookDelivery, WebhookEndpoint
from .signing import secret_new

# After "roll secret", deliveries carry a signature with the old secret too for this long.
SECRET_OVERLAP = timedelta(hours=24)
MAX_ENDPOINTS_PER_LOCATION = 20


def allowed_schemes() -> tuple[str, ...]:
    """https only, except in development (where receivers run on plain http)."""
    allow_http = getattr(settings, "WEBHOOKS_OUT_ALLOW_HTTP", settings.DEBUG)
    return ("https", "http") if allow_http else ("https",)


def endpoint_url_check(*, url: str) -> None:
    """Refuse a URL deliveries may not use (private, loopback, link-local, metadata addresses,
    odd spellings, a scheme other than https): the SSRF guard, at save time."""
    try:
        check_url(url, schemes=allowed_schemes())
    except ConnectorError as exc:
        raise ApplicationError(exc.message, extra={"field": "url"}) from exc


def _event_types_check(event_types: Sequence[str]) -> list[str]:
    chosen = [t for t in catalog.EVENT_TYPES if t in set(event_types)]
    unknown = set(event_types) - set(chosen)
    if unknown:
        raise ApplicationError(
            f"Unknown event types: {', '.join(sorted(unknown))}.", extra={"field": "event_types"}
        )
    if not chosen:
        raise ApplicationError(
            "Choose at least one event to send to this endpoint.", extra={"field": "event_types"}
        )
    return chosen


def endpoints_of_location(*, location: Location) -> list[WebhookEndpoint]:
    return list(WebhookEndpoint.objects.for_agency(location.agency).filter(location=location))


def endpoint_get(*, location: Location, endpoint_id: int) -> WebhookEndpoint:
    """A location's own endpoint; another location's or agency's is the same NotFound."""
    found: WebhookEndpoint | None = (
        WebhookEndpoint.objects.for_agency(location.agency)
        .filter(location=location, pk=endpoint_id)
        .first()
    )
    if found is None:
        raise NotFound("There is no such endpoint.")
    return found


def endpoint_create(
    *,
    agency: Agency,
    location: Location | None,
    url: str,
    description: str,
    event_types: Sequence[str],
    acting_user: User | None,
) -> WebhookEndpoint:
    """A new endpoint with a fresh secret (read it from the returned object: it is shown once)."""
    if location is not None and location.agency_id != agency.pk:
        raise NotFound("There is no such location.")
    endpoint_url_check(url=url)
    types = _event_types_check(event_types)
    existing = WebhookEndpoint.objects.for_agency(agency).filter(location=location).count()
    if existing >= MAX_ENDPOINTS_PER_LOCATION:
        raise ApplicationError(f"At most {MAX_ENDPOINTS_PER_LOCATION} endpoints are allowed.")
    with transaction.atomic():
        endpoint = WebhookEndpoint.objects.create(
            agency=agency,
            location=location,
            url=url,
            description=description.strip(),
            event_types=types,
            secret=secret_new(),
            created_by=acting_user,
        )
        audit_record(
            action="webhook_endpoint.created",
            target=endpoint,
            acting_user=acting_user,
            agency=agency,
            location=location,
            changes={"url": (None, url), "event_types": (None, types)},
        )
    return endpoint


def endpoint_update(
    *,
    endpoint: WebhookEndpoint,
    url: str,
    description: str,
    event_types: Sequence[str],
    enabled: bool,
    acting_user: User | None,
) -> WebhookEndpoint:
    if url != endpoint.url:
        endpoint_url_check(url=url)
    types = _event_types_check(event_types)
    before = {
        "url": endpoint.url,
        "description": endpoint.description,
        "event_types": endpoint.event_types,
        "enabled": endpoint.enabled,
    }
    endpoint.url, endpoint.description, endpoint.event_types = url, description.strip(), types
    if enabled and not endpoint.enabled:  # turned back on: a fresh start
        endpoint.consecutive_failures, endpoint.failing_since = 0, None
        endpoint.disabled_reason, endpoint.disabled_at = "", None
    elif not enabled and endpoint.enabled:
        endpoint.disabled_reason, endpoint.disabled_at = "Turned off by a user.", timezone.now()
    endpoint.enabled = enabled
    after = {
        "url": endpoint.url,
        "description": endpoint.description,
        "event_types": endpoint.event_types,
        "enabled": endpoint.enabled,
    }
    with transaction.atomic():
        endpoint.save()
        audit_record(
            action="webhook_endpoint.updated",
            target=endpoint,
            acting_user=acting_user,
            agency=endpoint.agency,
            location=endpoint.location,
            changes={k: (before[k], after[k]) for k in before if before[k] != after[k]},
        )
    return endpoint


def endpoint_secret_roll(*, endpoint: WebhookEndpoint, acting_user: User | None) -> str:
    """A new signing secret, returned once; the old one keeps signing for SECRET_OVERLAP."""
    new = secret_new()
    with transaction.atomic():
        endpoint.previous_secret = endpoint.secret
        endpoint.previous_secret_expires_at = timezone.now() + SECRET_OVERLAP
        endpoint.secret = new
        endpoint.save(
            update_fields=["secret", "previous_secret", "previous_secret_expires_at", "updated_at"]
        )
        audit_record(
            action="webhook_endpoint.secret_rolled",
            target=endpoint,
            acting_user=acting_user,
            agency=endpoint.agency,
            location=endpoint.location,
        )
    return new


def endpoint_delete(*, endpoint: WebhookEndpoint, acting_user: User | None) -> None:
    with transaction.atomic():
        audit_record(
            action="webhook_endpoint.deleted",
            target=endpoint,
            acting_user=acting_user,
            agency=endpoint.agency,
            location=endpoint.location,
            changes={"url": (endpoint.url, None)},
        )
        endpoint.delete()


def endpoint_test_send(
    *, endpoint: WebhookEndpoint, location: Location, acting_user: User | None
) -> WebhookDelivery:
    """A test event for this endpoint alone (not fanned out to others), delivered at once."""
    with transaction.atomic():
        event = TenantEvent.objects.create(
            location=location,
            type=catalog.ENDPOINT_TEST,
            data={"message": "This is a test event.", "endpoint_id": endpoint.pk},
            dispatched_at=timezone.now(),
        )
        delivery = WebhookDelivery.objects.create(endpoint=endpoint, event=event)
        _send_soon()
    return delivery


def delivery_get(*, location: Location, delivery_id: int) -> WebhookDelivery:
    found = (
        WebhookDelivery.objects.for_agency(location.agency)
        .filter(endpoint__location=location, pk=delivery_id)
        .select_related("event", "endpoint")
        .first()
    )
    if found is None:
        raise NotFound("There is no such delivery.")
    return found


def delivery_replay(*, delivery: WebhookDelivery, acting_user: User | None) -> WebhookDelivery:
    """Send the event again, now, with a fresh retry schedule (same webhook-id, so a receiver
    that already processed it can tell)."""
    if not delivery.endpoint.enabled:
        raise ApplicationError("Turn the endpoint on before replaying its deliveries.")
    with transaction.atomic():
        WebhookDelivery.objects.for_endpoint(delivery.endpoint).filter(pk=delivery.pk).update(
            status=WebhookDelivery.Status.PENDING, attempts=0, next_attempt_at=timezone.now()
        )
        audit_record(
            action="webhook_delivery.replayed",
            target=delivery,
            acting_user=acting_user,
            agency=delivery.endpoint.agency,
            location=delivery.endpoint.location,
        )
        _send_soon()
    delivery.refresh_from_db()
    return delivery


def _send_soon() -> None:
    events_announce()  # wakes the consumer, which sends what is due
