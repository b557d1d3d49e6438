"""Which of a tenant's subscriptions governs its entitlements — one rule for a client's
subscriptions to its agency's plans and for an agency's to the platform's.

A tenant may hold several subscriptions over time (one canceled, a newer one active). Its
entitlements follow the one that holds a plan, else the newest; a checkout that never completed
granted nothing and governs nothing. Entitlements are recomputed from what is stored after any
of them changes, so a late or replayed event about an old subscription cannot undo a newer one,
and events in any order end the same."""

from __future__ import annotations

from datetime import datetime
from typing import TypeVar

from django.db.models import Case, IntegerField, QuerySet, Value, When

from saas_platform.kernel.locks import transaction_lock

from ..models import AgencySubscription, Subscription
from .checkout import HOLDING_STATUSES

NEVER_STARTED = ("incomplete", "incomplete_expired")
# Stripe's statuses, the same for clients' and agencies' subscriptions.
GOOD = frozenset({Subscription.Status.ACTIVE, Subscription.Status.TRIALING})
OVERDUE = frozenset({Subscription.Status.PAST_DUE, Subscription.Status.UNPAID})

AnySubscription = TypeVar("AnySubscription", Subscription, AgencySubscription)


def governing_subscription(
    subscriptions: QuerySet[AnySubscription],
) -> AnySubscription | None:
    """The governing one of `subscriptions` (one tenant's, already scoped by the caller)."""
    holding = Case(
        When(status__in=HOLDING_STATUSES, then=Value(0)),
        default=Value(1),
        output_field=IntegerField(),
    )
    return (
        subscriptions.exclude(status__in=NEVER_STARTED)
        .select_related("plan")
        .order_by(holding, "-created_at", "-pk")
        .first()
    )


def entitlement_state(subscription: Subscription | AgencySubscription, now: datetime) -> str:
    """What the governing subscription grants: "active", "grace" or "paused" (the values of
    both entitlement models' State)."""
    if subscription.status in GOOD:
        return "active"
    if subscription.status in OVERDUE and subscription.grace_until is not None:
        return "grace" if subscription.grace_until > now else "paused"
    return "paused"  # canceled, unpaid past its grace, paused by Stripe: features stop, data stays


def entitlements_lock(key: str) -> None:
    """Serialise recomputing one tenant's entitlements until the transaction ends: two workers
    applying two of its subscriptions at once would each see the other's change uncommitted,
    and the later writer could set entitlements from a stale view."""
    transaction_lock(key)
