"""The per-process caches of the lookups every API request repeats (kernel.localcache): the
Host's agency, the key, and the locations it reached. At most ``TENANT_CACHE_SECONDS`` (one
second): a change made anywhere (a suspended agency, a revoked key, an unverified domain) is
seen by every process within that time, and by the one making it at once (the receivers below,
wired in apps.ready). Portal pages look the Host up on every request (tenants.middleware).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.conf import settings
from django.db.models.signals import post_delete, post_save

from saas_platform.kernel.localcache import LocalCache

from .api.models import ApiKey
from .models import Agency, AgencyDomain, Branding, Location


def max_age() -> float:
    return float(getattr(settings, "TENANT_CACHE_SECONDS", 1.0))


# normalized Host → its verified domain's agency, with its branding
AGENCY_BY_HOST: LocalCache[Agency] = LocalCache("tenants.agency_by_host", seconds=max_age)
# (agency id, key prefix) → the key row, with its agency and location
API_KEYS: LocalCache[ApiKey] = LocalCache("tenants.api_keys", seconds=max_age)
# key id → the last_used_at this process just wrote: a cached row shows the old one for as long
API_KEY_STAMPS: LocalCache[datetime] = LocalCache("tenants.api_key_stamps", seconds=max_age)
# (agency id, key's location id or None, location id) → a location that key may act on
API_LOCATIONS: LocalCache[Location] = LocalCache("tenants.api_locations", seconds=max_age)

_DEPENDENTS: dict[type[Any], tuple[LocalCache[Any], ...]] = {
    Agency: (AGENCY_BY_HOST, API_KEYS, API_LOCATIONS),
    AgencyDomain: (AGENCY_BY_HOST,),
    Branding: (AGENCY_BY_HOST,),
    Location: (API_KEYS, API_LOCATIONS),
    ApiKey: (API_KEYS, API_KEY_STAMPS, API_LOCATIONS),
}


def _changed(sender: type[Any], **_: Any) -> None:
    for cache in _DEPENDENTS[sender]:
        cache.clear()


def connect_receivers() -> None:
    for model in _DEPENDENTS:
        for signal in (post_save, post_delete):
            signal.connect(_changed, sender=model, dispatch_uid=f"tenants.caches.{model.__name__}")
