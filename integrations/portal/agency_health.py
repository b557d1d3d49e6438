"""The connection-health columns of the agency's locations overview (``/app/agency/``): the GHL
installation state, the last sync, open sync conflicts, failing external connections and the
leads of the last seven days. Registered with ``tenants.portal_agency.register_location_facts``
from ``IntegrationsConfig.ready``.

One query for a whole page of locations: every figure is a correlated subquery on the location
row, so the page costs the same for 10 locations or 200.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from django.db.models import Count, F, IntegerField, OuterRef, Q, Subquery, Sum
from django.db.models.functions import Coalesce, Greatest
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from integrations.connectors.models import ExternalConnection, SyncConflict
from integrations.ghl.models import GhlInstallation
from integrations.reporting.models import LeadDay
from tenants.models import Agency, Location

LEAD_DAYS = 7
# What the overview calls each installation state, and whether it needs the agency's attention.
HEALTH = {
    GhlInstallation.Status.HEALTHY: (_("Connected"), "ok"),
    GhlInstallation.Status.PENDING: (_("Connecting"), "warn"),
    GhlInstallation.Status.PAUSED: (_("Paused"), "warn"),
    GhlInstallation.Status.NEEDS_REAUTH: (_("Needs reconnect"), "bad"),
    GhlInstallation.Status.UNINSTALLED: (_("Uninstalled"), "bad"),
}
NOT_CONNECTED = (_("Not connected"), "bad")


def _count(queryset: Any) -> Any:
    counted = queryset.order_by().values("location").annotate(n=Count("pk")).values("n")
    return Coalesce(Subquery(counted, output_field=IntegerField()), 0)


def location_health(agency: Agency, location_ids: Sequence[int]) -> dict[int, dict[str, Any]]:
    since = timezone.localdate() - timedelta(days=LEAD_DAYS - 1)
    installation = GhlInstallation.objects.filter(agency=agency, location=OuterRef("pk")).order_by(
        "-updated_at", "-pk"
    )
    leads = (
        LeadDay.objects.filter(location=OuterRef("pk"), day__gte=since)
        .order_by()
        .values("location")
        .annotate(n=Sum("leads"))
        .values("n")
    )
    rows = (
        Location.objects.for_agency(agency)
        .filter(pk__in=list(location_ids))
        .annotate(
            install_status=Subquery(installation.values("status")[:1]),
            # GREATEST skips NULLs in PostgreSQL: the newer of the two, or the one there is.
            last_sync_at=Greatest(
                F("ghl_sync__last_incremental_at"), F("ghl_sync__last_backfill_at")
            ),
            open_conflicts=_count(
                SyncConflict.objects.filter(
                    location=OuterRef("pk"), status=SyncConflict.Status.OPEN
                )
            ),
            failing_connections=_count(
                ExternalConnection.objects.filter(location=OuterRef("pk")).filter(
                    Q(status=ExternalConnection.Status.PAUSED) | Q(consecutive_failures__gt=0)
                )
            ),
            leads_week=Coalesce(Subquery(leads, output_field=IntegerField()), 0),
        )
        .values(
            "pk",
            "install_status",
            "last_sync_at",
            "open_conflicts",
            "failing_connections",
            "leads_week",
        )
    )
    found: dict[int, dict[str, Any]] = {}
    for row in rows:
        label, tone = HEALTH.get(row["install_status"], NOT_CONNECTED)
        found[row["pk"]] = {
            "connection": label,
            "connection_tone": tone,
            "needs_reconnect": row["install_status"] == GhlInstallation.Status.NEEDS_REAUTH,
            "last_sync_at": row["last_sync_at"],
            "open_conflicts": row["open_conflicts"],
            "failing_connections": row["failing_connections"],
            "leads_week": row["leads_week"],
        }
    return found
