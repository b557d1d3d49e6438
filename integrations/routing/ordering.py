"""Turning routing rules on and off and moving them in the order they are tried (the portal's
rules list). Positions are renumbered 1…n on every move, so gaps and ties left by copies or
older edits never make "up" or "down" skip a rule."""

from __future__ import annotations

from typing import Literal

from django.db import transaction

from tenants.entitlements import feature_require
from tenants.models import User
from tenants.services import audit_record

from .models import RoutingRule


def rule_set_enabled(
    *, rule: RoutingRule, enabled: bool, acting_user: User | None = None
) -> RoutingRule:
    location = rule.location
    feature_require(location=location, feature="routing")
    with transaction.atomic():
        before = rule.enabled
        RoutingRule.objects.for_location(location).filter(pk=rule.pk).update(enabled=enabled)
        rule.enabled = enabled
        audit_record(
            action="routing_rule.enabled" if enabled else "routing_rule.disabled",
            target=rule,
            acting_user=acting_user,
            agency=location.agency,
            location=location,
            changes={"enabled": (before, enabled)},
        )
    return rule


def rule_move(
    *, rule: RoutingRule, direction: Literal["up", "down"], acting_user: User | None = None
) -> None:
    """Swap the rule with its neighbour above or below; at either end nothing changes."""
    location = rule.location
    feature_require(location=location, feature="routing")
    with transaction.atomic():
        rules = list(
            RoutingRule.objects.for_location(location)
            .select_for_update()
            .order_by("position", "id")
        )
        index = next(i for i, r in enumerate(rules) if r.pk == rule.pk)
        other = index - 1 if direction == "up" else index + 1
        if not 0 <= other < len(rules):
            return
        before = rules[index].position
        rules[index], rules[other] = rules[other], rules[index]
        for position, each in enumerate(rules, start=1):
            each.position = position
        RoutingRule.objects.for_location(location).bulk_update(rules, ["position"])
        audit_record(
            action="routing_rule.moved",
            target=rule,
            acting_user=acting_user,
            agency=location.agency,
            location=location,
            changes={"position": (before, other + 1)},
        )
