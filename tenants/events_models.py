"""The tenant event outbox: one **TenantEvent** row per thing that happened to a location, written
in the same transaction as the change itself (``tenants.events``). Whatever delivers events
(integrations' outbound webhooks) reads them from here after commit, so an event is neither lost
when a process dies right after the commit nor sent for a change that rolled back. Imported into
``tenants.models``."""

from __future__ import annotations

import uuid
from typing import ClassVar

from django.db import models
from django.db.models.functions import Now

from saas_platform.kernel.scoping import ScopedManager, TenantOwnedModel

from .models import LocationOwnedQuerySet

LocationOwnedManager = ScopedManager.from_queryset(LocationOwnedQuerySet)


class TenantEvent(TenantOwnedModel):
    TENANT_FIELD: ClassVar[str] = "location"

    # Random, not a sequence: the id is shown to customers (webhook-id) and must not reveal
    # how many events other tenants have.
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    location = models.ForeignKey("tenants.Location", on_delete=models.CASCADE, related_name="+")
    type = models.CharField(max_length=64)
    data = models.JSONField(default=dict)
    # db_default: set-based writers (the mirror) insert rows in SQL.
    created_at = models.DateTimeField(db_default=Now())
    # When the consumer took the event (fanned it out to endpoints); NULL = not yet.
    dispatched_at = models.DateTimeField(null=True, blank=True)

    objects = LocationOwnedManager()

    class Meta:
        indexes = [
            models.Index(
                fields=["created_at"],
                condition=models.Q(dispatched_at__isnull=True),
                name="tenant_event_undispatched",
            ),
            models.Index(fields=["location", "-created_at"]),
            # Consumers that take one event type with a claim of their own (billing's payment
            # automations) find the recent ones without reading every other event.
            models.Index(fields=["type", "created_at"], name="tenant_event_type_created"),
        ]

    def __str__(self) -> str:
        return f"{self.type} {self.id}"

    @property
    def public_id(self) -> str:
        return f"evt_{self.id.hex}"
