"""The subscription column of the agency's locations overview (``/app/agency/``), registered with
``tenants.portal_agency.register_location_facts`` from ``BillingConfig.ready``: each location's
newest subscription, one query for the whole page."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from tenants.models import Agency

from .models import Subscription

TONES = {
    Subscription.Status.ACTIVE: "ok",
    Subscription.Status.TRIALING: "ok",
    Subscription.Status.PAST_DUE: "warn",
    Subscription.Status.INCOMPLETE: "warn",
    Subscription.Status.PAUSED: "warn",
}


def location_subscriptions(
    agency: Agency, location_ids: Sequence[int]
) -> dict[int, dict[str, Any]]:
    rows = (
        Subscription.objects.filter(location__agency=agency, location_id__in=list(location_ids))
        .order_by("location_id", "-created_at", "-pk")
        .distinct("location_id")
        .values("location_id", "status")
    )
    labels = dict(Subscription.Status.choices)
    return {
        row["location_id"]: {
            "subscription": labels.get(row["status"], row["status"]),
            "subscription_tone": TONES.get(row["status"], "bad"),
        }
        for row in rows
    }
