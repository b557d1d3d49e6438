"""Revenue per location: written by billing for each paid invoice, read by reports."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from ..models import Location, LocationRevenue


def location_revenue_record(
    *, location: Location, reference: str, paid_on: date, amount: Decimal, currency: str
) -> bool:
    """Record one payment; False when `reference` was recorded already (a replayed event)."""
    # Scoped to the location: a reference already recorded for another location is an error
    # (DoesNotExist after the unique constraint fires), never silently re-attributed.
    _, created = LocationRevenue.objects.for_location(location).get_or_create(
        reference=reference,
        defaults={
            "location": location,
            "paid_on": paid_on,
            "amount": amount,
            "currency": currency.lower(),
        },
    )
    return bool(created)
