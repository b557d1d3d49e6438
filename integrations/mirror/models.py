"""The local mirror of each location's GHL data, read by routing, reports, the portal and the API.

Every table is owned by a location (fail-closed scoping), unique on (location, GHL id), and carries
GHL's own change time (`ghl_updated_at`) so an older event or page never overwrites newer data.
Rows are written set-based by `integrations.mirror.writer`, never one ORM save at a time.
Deletions leave a **tombstone**, so a late update cannot bring a deleted record back.
"""

from __future__ import annotations

from typing import ClassVar

from django.contrib.postgres.fields import ArrayField
from django.contrib.postgres.indexes import GinIndex, OpClass
from django.db import models
from django.db.models.functions import Concat, Lower, NullIf, Trim
from django.utils import timezone

from saas_platform.kernel.scoping import ScopedManager, TenantOwnedModel
from tenants.models import Location, LocationOwnedQuerySet

LocationOwnedManager = ScopedManager.from_queryset(LocationOwnedQuerySet)


class MirrorRecord(TenantOwnedModel):
    TENANT_FIELD: ClassVar[str] = "location"

    location = models.ForeignKey(Location, on_delete=models.CASCADE, related_name="+")
    ghl_id = models.CharField("GHL id", max_length=64)
    ghl_updated_at = models.DateTimeField(null=True, blank=True)
    synced_at = models.DateTimeField(default=timezone.now)

    objects = LocationOwnedManager()

    class Meta:
        abstract = True

    def __str__(self) -> str:
        return self.ghl_id


def _unique(name: str) -> models.UniqueConstraint:
    return models.UniqueConstraint(
        fields=["location", "ghl_id"], name=f"{name}_unique_per_location"
    )


def contact_search_text() -> Lower:
    """Name, e-mail and phone as one lower-case text: the expression the contact search matches
    with ``LIKE '%term%'`` and the trigram index below is built on, so the two must stay the same
    (PostgreSQL only uses an expression index for the identical expression)."""
    parts: list[object] = []
    for name in ("first_name", "last_name", "email", "phone"):
        parts += [models.F(name), models.Value(" ")]
    return Lower(Concat(*parts[:-1], output_field=models.TextField()))


def contact_sort_name() -> NullIf:
    """The contact list's "by name" key (lower-case "first last"; NULL without a name, so the
    nameless sort last), also an index expression below: keep the two the same."""
    name = Lower(Trim(Concat(models.F("first_name"), models.Value(" "), models.F("last_name"))))
    return NullIf(name, models.Value(""))


class MirrorContact(MirrorRecord):
    first_name = models.CharField(max_length=200, blank=True, default="")
    last_name = models.CharField(max_length=200, blank=True, default="")
    email = models.CharField(max_length=320, blank=True, default="")
    phone = models.CharField(max_length=50, blank=True, default="")
    company_name = models.CharField(max_length=200, blank=True, default="")
    source = models.CharField(max_length=200, blank=True, default="")
    contact_type = models.CharField(max_length=50, blank=True, default="")
    assigned_to = models.CharField("assigned GHL user", max_length=64, blank=True, default="")
    address1 = models.CharField(max_length=300, blank=True, default="")
    city = models.CharField(max_length=120, blank=True, default="")
    state = models.CharField(max_length=120, blank=True, default="")
    postal_code = models.CharField(max_length=30, blank=True, default="")
    country = models.CharField(max_length=2, blank=True, default="")
    timezone = models.CharField(max_length=64, blank=True, default="")
    dnd = models.BooleanField(default=False)
    tags = ArrayField(models.CharField(max_length=200), default=list, blank=True)
    # {custom field id: value}
    custom_fields = models.JSONField(default=dict, blank=True)
    date_added = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [_unique("contact")]
        indexes = [
            models.Index(fields=["location", "date_added"]),
            models.Index(fields=["location", "email"]),
            models.Index(fields=["location", "ghl_updated_at"]),
            GinIndex(fields=["tags"], name="mirror_contact_tags"),
            # The workspace's contact search (substring of name, e-mail or phone) on locations
            # with 100k contacts: a trigram index answers LIKE '%term%' without a scan, and
            # leading with the location (btree_gin) keeps other tenants' matches out of it.
            GinIndex(
                models.F("location"),
                OpClass(contact_search_text(), name="gin_trgm_ops"),
                name="mirror_contact_search",
            ),
            models.Index(
                models.F("location"),
                contact_sort_name(),
                models.F("id"),
                name="mirror_contact_name",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.first_name} {self.last_name}".strip() or self.email or self.ghl_id


class MirrorUser(MirrorRecord):
    """A GHL user of the location: the agents leads are routed to."""

    first_name = models.CharField(max_length=200, blank=True, default="")
    last_name = models.CharField(max_length=200, blank=True, default="")
    email = models.CharField(max_length=320, blank=True, default="")
    phone = models.CharField(max_length=50, blank=True, default="")
    role = models.CharField(max_length=50, blank=True, default="")

    class Meta:
        constraints = [_unique("user")]

    def __str__(self) -> str:
        return f"{self.first_name} {self.last_name}".strip() or self.email or self.ghl_id


class MirrorPipeline(MirrorRecord):
    name = models.CharField(max_length=200)
    # [{"id": stage uuid, "name": ..., "position": n}] in board order
    stages = models.JSONField(default=list, blank=True)

    class Meta:
        constraints = [_unique("pipeline")]

    def __str__(self) -> str:
        return self.name


class MirrorOpportunity(MirrorRecord):
    name = models.CharField(max_length=300, blank=True, default="")
    contact_ghl_id = models.CharField(max_length=64, blank=True, default="")
    pipeline_ghl_id = models.CharField(max_length=64, blank=True, default="")
    stage_ghl_id = models.CharField(max_length=64, blank=True, default="")
    status = models.CharField(max_length=20, blank=True, default="")  # open|won|lost|abandoned
    monetary_value = models.DecimalField(max_digits=14, decimal_places=2, default=0)
    assigned_to = models.CharField(max_length=64, blank=True, default="")
    source = models.CharField(max_length=200, blank=True, default="")
    ghl_created_at = models.DateTimeField(null=True, blank=True)
    last_status_change_at = models.DateTimeField(null=True, blank=True)
    last_stage_change_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [_unique("opportunity")]
        indexes = [
            models.Index(fields=["location", "pipeline_ghl_id", "stage_ghl_id"]),
            models.Index(fields=["location", "contact_ghl_id"]),
            models.Index(fields=["location", "status", "ghl_created_at"]),
        ]


class MirrorAppointment(MirrorRecord):
    calendar_ghl_id = models.CharField(max_length=64, blank=True, default="")
    contact_ghl_id = models.CharField(max_length=64, blank=True, default="")
    assigned_user_ghl_id = models.CharField(max_length=64, blank=True, default="")
    title = models.CharField(max_length=300, blank=True, default="")
    status = models.CharField(max_length=20, blank=True, default="")
    start_time = models.DateTimeField(null=True, blank=True)
    end_time = models.DateTimeField(null=True, blank=True)
    ghl_created_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [_unique("appointment")]
        indexes = [
            models.Index(fields=["location", "start_time"]),
            models.Index(fields=["location", "contact_ghl_id"]),
        ]


class MirrorConversation(MirrorRecord):
    contact_ghl_id = models.CharField(max_length=64, blank=True, default="")
    last_message_type = models.CharField(max_length=40, blank=True, default="")
    last_message_at = models.DateTimeField(null=True, blank=True)
    unread_count = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [_unique("conversation")]
        indexes = [models.Index(fields=["location", "contact_ghl_id"])]


class MirrorMessage(MirrorRecord):
    """Message metadata only: who, when, which channel and way — never the text."""

    conversation_ghl_id = models.CharField(max_length=64, blank=True, default="")
    contact_ghl_id = models.CharField(max_length=64, blank=True, default="")
    message_type = models.CharField(max_length=40, blank=True, default="")
    direction = models.CharField(max_length=10, blank=True, default="")  # inbound|outbound
    status = models.CharField(max_length=30, blank=True, default="")
    user_ghl_id = models.CharField(max_length=64, blank=True, default="")
    date_added = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [_unique("message")]
        indexes = [models.Index(fields=["location", "contact_ghl_id", "date_added"])]


class MirrorTombstone(MirrorRecord):
    """A record GHL deleted: writes older than `ghl_updated_at` (the deletion time) are ignored."""

    kind = models.CharField(max_length=20)  # the mirror table's short name: contact, opportunity…

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["location", "kind", "ghl_id"], name="tombstone_unique_per_location"
            )
        ]
