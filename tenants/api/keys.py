"""API key services: create (the secret is returned once and never stored), revoke, rotate with
an overlap, and the lookup the authentication class does on every request.

A key reads ``<prefix>.<secret>``: the prefix (``ak_`` + 12 characters) is stored in clear to find
the row and to show in lists; only the SHA-256 of the whole key is stored.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from saas_platform.kernel.errors import ApplicationError, NotFound

from ..caches import API_KEY_STAMPS, API_KEYS
from ..models import Agency, Location, User
from ..services.common import audit_record
from .models import API_SCOPES, ApiKey

PREFIX_MARK = "ak_"
# last_used_at is written at most this often per key: one UPDATE a minute, not one a request.
LAST_USED_RESOLUTION = timedelta(minutes=1)
DEFAULT_ROTATION_OVERLAP = timedelta(hours=24)
MAX_ROTATION_OVERLAP = timedelta(days=30)


@dataclass(frozen=True)
class IssuedKey:
    """A key as created: ``secret`` is the only copy of the full key there will ever be."""

    key: ApiKey
    secret: str


def _digest(raw_key: str) -> str:
    return hashlib.sha256(raw_key.encode()).hexdigest()


def _new_key() -> tuple[str, str]:
    prefix = PREFIX_MARK + secrets.token_hex(6)
    return prefix, f"{prefix}.{secrets.token_urlsafe(32)}"


def _clean_scopes(scopes: Iterable[str]) -> list[str]:
    wanted = sorted(set(scopes))
    unknown = [scope for scope in wanted if scope not in API_SCOPES]
    if unknown:
        raise ApplicationError(f"Unknown permissions: {', '.join(unknown)}.")
    if not wanted:
        raise ApplicationError("Choose at least one permission for the key.")
    return wanted


def api_key_create(
    *,
    agency: Agency,
    name: str,
    scopes: Iterable[str],
    location: Location | None = None,
    expires_at: datetime | None = None,
    rate_limit_per_minute: int | None = None,
    acting_user: User | None,
) -> IssuedKey:
    name = name.strip()
    if not name:
        raise ApplicationError("Give the key a name, e.g. the system that will use it.")
    if location is not None and location.agency_id != agency.pk:
        raise NotFound("No such location.")
    if expires_at is not None and expires_at <= timezone.now():
        raise ApplicationError("The expiry must be in the future.")
    if rate_limit_per_minute is not None and not 1 <= rate_limit_per_minute <= 100_000:
        raise ApplicationError("The rate limit must be between 1 and 100000 requests a minute.")
    prefix, raw = _new_key()
    key = ApiKey(
        agency=agency,
        location=location,
        name=name[:100],
        prefix=prefix,
        secret_hash=_digest(raw),
        scopes=_clean_scopes(scopes),
        expires_at=expires_at,
        created_by=acting_user if acting_user and acting_user.pk else None,
    )
    if rate_limit_per_minute is not None:
        key.rate_limit_per_minute = rate_limit_per_minute
    with transaction.atomic():
        key.save()
        audit_record(
            action="api_key.created",
            target=key,
            acting_user=acting_user,
            agency=agency,
            location=location,
            changes={"scopes": (None, key.scopes), "expires_at": (None, expires_at)},
        )
    return IssuedKey(key=key, secret=raw)


def api_key_revoke(*, key: ApiKey, acting_user: User | None) -> ApiKey:
    """Effective within a second everywhere, at once in this process (tenants.caches)."""
    with transaction.atomic():
        locked: ApiKey = (
            ApiKey.objects.select_for_update().filter(agency_id=key.agency_id).get(pk=key.pk)
        )
        if locked.revoked_at is not None:
            return locked
        locked.revoked_at = timezone.now()
        locked.save(update_fields=["revoked_at", "updated_at"])
        audit_record(
            action="api_key.revoked",
            target=locked,
            acting_user=acting_user,
            agency=locked.agency,
            location=locked.location,
            changes={"revoked_at": (None, locked.revoked_at)},
        )
    return locked


def api_key_rotate(
    *,
    key: ApiKey,
    acting_user: User | None,
    overlap: timedelta = DEFAULT_ROTATION_OVERLAP,
) -> IssuedKey:
    """A replacement with the same scope and permissions; the old key keeps working until the
    overlap ends (or its own earlier expiry), so callers can switch without downtime."""
    if not timedelta(0) <= overlap <= MAX_ROTATION_OVERLAP:
        raise ApplicationError("The overlap must be between 0 and 30 days.")
    with transaction.atomic():
        old: ApiKey = (
            ApiKey.objects.select_for_update().filter(agency_id=key.agency_id).get(pk=key.pk)
        )
        if not old.is_active:
            raise ApplicationError("Only an active key can be rotated.")
        if old.replaced_by_id is not None:
            raise ApplicationError("This key was already rotated; rotate its replacement.")
        issued = api_key_create(
            agency=old.agency,
            location=old.location,
            name=old.name,
            scopes=old.scopes,
            expires_at=None,
            rate_limit_per_minute=old.rate_limit_per_minute,
            acting_user=acting_user,
        )
        overlap_end = timezone.now() + overlap
        previous_expiry = old.expires_at
        if previous_expiry is None or previous_expiry > overlap_end:
            old.expires_at = overlap_end
        old.replaced_by = issued.key
        old.save(update_fields=["expires_at", "replaced_by", "updated_at"])
        audit_record(
            action="api_key.rotated",
            target=old,
            acting_user=acting_user,
            agency=old.agency,
            location=old.location,
            changes={
                "expires_at": (previous_expiry, old.expires_at),
                "replaced_by": (None, issued.key.prefix),
            },
        )
    return issued


def api_key_authenticate(*, raw_key: str, agency: Agency) -> ApiKey | None:
    """The active key of this agency that `raw_key` is, or None. The row (one indexed query) is
    kept at most a second in the process (tenants.caches), so a revocation made anywhere lands
    within a second, and at once in the process that made it; expiry is checked against the
    clock on every request. The digest is compared in constant time. A key presented on another
    agency's domain is no key."""
    prefix, dot, _secret = raw_key.partition(".")
    if not dot or not prefix.startswith(PREFIX_MARK) or len(raw_key) > 200:
        return None
    key = API_KEYS.get_or_load((agency.pk, prefix), lambda: _key_row(agency, prefix))
    if key is None or not hmac.compare_digest(key.secret_hash, _digest(raw_key)):
        return None
    if not key.is_active or (
        key.location is not None and key.location.status == Location.Status.ARCHIVED
    ):
        return None
    _touch(key)
    return key


def _key_row(agency: Agency, prefix: str) -> ApiKey | None:
    return (
        ApiKey.objects.for_agency(agency)
        .select_related("agency", "location")
        .filter(prefix=prefix)
        .first()
    )


def _touch(key: ApiKey) -> None:
    now = timezone.now()
    if key.last_used_at is not None and now - key.last_used_at < LAST_USED_RESOLUTION:
        return
    # A cached row keeps its old stamp for up to a second: this process's own write is kept
    # as long, so the row's next requests do not write again.
    API_KEY_STAMPS.get_or_load(key.pk, lambda: _stamp(key, now))


def _stamp(key: ApiKey, now: datetime) -> datetime:
    # The condition makes concurrent requests of one key write once per minute between them.
    stale = now - LAST_USED_RESOLUTION
    ApiKey.objects.filter(agency_id=key.agency_id, pk=key.pk).filter(
        Q(last_used_at__isnull=True) | Q(last_used_at__lt=stale)
    ).update(last_used_at=now)
    key.last_used_at = now
    return now
