"""Payment automations: a client's rules "when an opportunity is won in GHL, bill its contact",
validated here and audited on every change. What a rule does when it fires is in
`payment_requests`."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.db import transaction

from saas_platform.kernel.errors import ApplicationError, NotFound
from tenants.models import Location, User
from tenants.services import audit_record

from ..currencies import SUPPORTED
from ..models import PaymentAutomation, Subscription

RULE_FIELDS = (
    "name",
    "pipeline_ghl_id",
    "action",
    "currency",
    "days_until_due",
    "paid_stage_ghl_id",
    "enabled",
)
MAX_DAYS_UNTIL_DUE = 365


def automation_default_currency(*, location: Location) -> str:
    """The currency the client already pays its plan in, else usd."""
    found = (
        Subscription.objects.for_location(location)
        .filter(plan__isnull=False)
        .order_by("-created_at")
        .values_list("plan__currency", flat=True)
        .first()
    )
    return str(found or "usd")


def _validate(data: Mapping[str, Any]) -> dict[str, Any]:
    unknown = sorted(set(data) - set(RULE_FIELDS))
    if unknown:
        raise ApplicationError(f"These fields cannot be set on a rule: {', '.join(unknown)}.")
    clean = dict(data)
    for key in ("name", "pipeline_ghl_id", "paid_stage_ghl_id", "currency"):
        if key in clean:
            clean[key] = str(clean[key] or "").strip()
    if "name" in clean and not 0 < len(clean["name"]) <= 120:
        raise ApplicationError("A rule needs a name of at most 120 characters.")
    if "action" in clean and clean["action"] not in PaymentAutomation.Action.values:
        raise ApplicationError("The action must be sending a Stripe invoice.")
    if "currency" in clean:
        clean["currency"] = clean["currency"].lower()
        if clean["currency"] not in SUPPORTED:
            raise ApplicationError(
                f"Stripe does not support the currency {clean['currency']!r}; use an ISO code "
                "such as usd, eur or aed."
            )
    if "days_until_due" in clean:
        days = clean["days_until_due"]
        if isinstance(days, bool) or not isinstance(days, int):
            raise ApplicationError("The days until due must be a whole number.")
        if not 1 <= days <= MAX_DAYS_UNTIL_DUE:
            raise ApplicationError(
                f"The days until due must be between 1 and {MAX_DAYS_UNTIL_DUE}."
            )
    for key in ("pipeline_ghl_id", "paid_stage_ghl_id"):
        if key in clean and len(clean[key]) > 64:
            raise ApplicationError("That pipeline or stage is not one of this business's.")
    if "enabled" in clean:
        clean["enabled"] = bool(clean["enabled"])
    return clean


def automation_get(*, location: Location, automation_id: int) -> PaymentAutomation:
    found: PaymentAutomation | None = (
        PaymentAutomation.objects.for_location(location).filter(pk=automation_id).first()
    )
    if found is None:
        raise NotFound("No such payment rule.")
    return found


@transaction.atomic
def automation_save(
    *,
    location: Location,
    data: Mapping[str, Any],
    acting_user: User | None,
    automation: PaymentAutomation | None = None,
) -> PaymentAutomation:
    """Create a rule (no `automation`) or change one of the location's; an audit row names what
    changed. Bad input raises `ApplicationError` and stores nothing."""
    clean = _validate(data)
    if automation is None:
        missing = [k for k in ("name", "currency") if not clean.get(k)]
        if missing:
            raise ApplicationError(f"A rule needs: {', '.join(missing)}.")
        automation = PaymentAutomation(location=location)
        before: dict[str, Any] = {}
        action = "payment_automation.created"
    else:
        if automation.location_id != location.pk:
            raise NotFound("No such payment rule.")
        before = {key: getattr(automation, key) for key in clean}
        action = "payment_automation.updated"
    for key, value in clean.items():
        setattr(automation, key, value)
    automation.save()
    changes = {
        key: (before.get(key), value) for key, value in clean.items() if before.get(key) != value
    }
    if changes or action.endswith("created"):
        audit_record(
            action=action,
            target=automation,
            acting_user=acting_user,
            agency=location.agency,
            location=location,
            changes=changes,
        )
    return automation


def automation_set_enabled(
    *, location: Location, automation: PaymentAutomation, enabled: bool, acting_user: User | None
) -> PaymentAutomation:
    return automation_save(
        location=location,
        automation=automation,
        data={"enabled": enabled},
        acting_user=acting_user,
    )


def automations_want(location_id: int, event_type: str) -> bool:
    """For the outbox: whether an enabled rule of the location acts on a won opportunity."""
    from .payment_requests import OPPORTUNITY_WON

    return (
        event_type == OPPORTUNITY_WON
        and PaymentAutomation.objects.unscoped()
        .filter(location_id=location_id, enabled=True)
        .exists()
    )
