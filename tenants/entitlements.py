"""What a location's plan lets it use right now — the one place the rule lives:

* no entitlements record at all (its agency sells no plan through us): everything is allowed,
  without limits, as before billing existed;
* a paused record: nothing is allowed (features stop; data is kept and stays readable);
* otherwise a feature is allowed when the plan grants it, and a limit is what the plan says
  (a limit the plan does not name is 0).

Features ask `location_may` / `location_limit`, or `feature_require` to be refused with a
`NotEntitled` (a 403 in the API, a message with a link to billing on pages)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy

from saas_platform.kernel.errors import NotEntitled

from .models import Location, LocationEntitlements

State = LocationEntitlements.State
NOT_IN_PLAN, PAUSED, LIMIT_REACHED = "not_in_plan", "paused", "limit_reached"
# How each feature is named to people.
LABELS = {
    "routing": _lazy("lead routing"),
    "reports": _lazy("reports"),
    "connectors": _lazy("sync connections"),
    "seats": _lazy("team seats"),
    "contact_limit": _lazy("contacts"),
}


@dataclass(frozen=True)
class FeatureAccess:
    feature: str
    allowed: bool
    reason: str = ""  # "" | "not_in_plan" | "paused" | "limit_reached"
    limit: int | None = None  # None: no limit

    @property
    def message(self) -> str:
        label = LABELS.get(self.feature, self.feature)
        if self.reason == PAUSED:
            return _(
                "Billing is paused, so %(feature)s cannot be used until the subscription is "
                "paid up. Nothing has been deleted."
            ) % {"feature": label}
        if self.reason == NOT_IN_PLAN:
            return _("Your plan does not include %(feature)s.") % {"feature": label}
        if self.reason == LIMIT_REACHED:
            return _("Your plan allows %(limit)s %(feature)s; upgrade it to add more.") % {
                "limit": self.limit,
                "feature": label,
            }
        return ""


@dataclass(frozen=True)
class PlanNotice:
    """What the workspace banner says: billing overdue (grace) or paused."""

    state: str
    grace_until: datetime | None


def _record(location: Location) -> LocationEntitlements | None:
    # The workspace loads the record with the location (select_related): no query then.
    cached = Location.entitlements.related
    if cached.is_cached(location):
        record = cached.get_cached_value(location)
        return record if isinstance(record, LocationEntitlements) else None
    return LocationEntitlements.objects.for_location(location).first()


def location_limit(*, location: Location, key: str) -> int | None:
    """The plan's limit for `key` (None: no limit; 0 while paused or not in the plan)."""
    record = _record(location)
    if record is None:
        return None
    value = record.effective.get(key, 0)
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def location_access(*, location: Location, feature: str, used: int | None = None) -> FeatureAccess:
    """Whether `location` may use `feature` now; for a limit, whether one more fits beside the
    `used` ones (without `used`: whether the limit is above 0)."""
    record = _record(location)
    if record is None:
        return FeatureAccess(feature, allowed=True)
    if record.state == State.PAUSED:
        return FeatureAccess(feature, allowed=False, reason=PAUSED, limit=0)
    value = record.granted.get(feature)
    if isinstance(value, bool) or value is None:
        return FeatureAccess(feature, allowed=bool(value), reason="" if value else NOT_IN_PLAN)
    limit = int(value)
    if limit <= 0:
        return FeatureAccess(feature, allowed=False, reason=NOT_IN_PLAN, limit=0)
    if used is not None and used >= limit:
        return FeatureAccess(feature, allowed=False, reason=LIMIT_REACHED, limit=limit)
    return FeatureAccess(feature, allowed=True, limit=limit)


def location_may(*, location: Location, feature: str) -> bool:
    return location_access(location=location, feature=feature).allowed


def feature_require(*, location: Location, feature: str, used: int | None = None) -> None:
    """Raise `NotEntitled` (naming the reason) unless `location` may use `feature` now."""
    access = location_access(location=location, feature=feature, used=used)
    if not access.allowed:
        raise NotEntitled(access.message, feature=feature, reason=access.reason, limit=access.limit)


def location_plan_notice(*, location: Location) -> PlanNotice | None:
    """A payment overdue (grace) or billing paused; None when all is well or no plan."""
    record = _record(location)
    if record is None or record.state == State.ACTIVE:
        return None
    return PlanNotice(state=record.state, grace_until=record.grace_until)
