"""The token vault: hands out a valid access token per installation, refreshing single-flight.

GHL refresh tokens are single use, so two refreshes of one installation race to an
`invalid_grant` and a dead installation. Refreshes are therefore serialized twice:

* within a process, one thread per installation goes to the database; the others wait on an
  in-process lock and then find the fresh token in memory (so a burst of 100 callers costs one
  database connection, not 100);
* across processes and machines, the refresh runs under ``SELECT … FOR UPDATE`` on the token row,
  and the row is **re-read after the lock** — whoever waited finds the pair already rotated and
  uses it. The rotated pair is committed before anyone uses it.

An `invalid_grant` is checked against the stored row before the installation is given up: a
location under a connected agency is re-minted from the agency token (`/oauth/locationToken`),
anything else becomes `needs_reauth` and the agency gets a reconnect link. "Location is not
active" marks the installation paused and leaves the refresh token alone (GHL accepts it again
once the location is back).
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.utils import timezone

from saas_platform.kernel.logging import get_logger

from . import oauth
from .calllog import CallRecorder
from .errors import GhlError, GhlInvalidGrant, GhlLocationInactive, GhlNotConnected
from .models import GhlInstallation, GhlToken
from .oauth import TokenGrant

log = get_logger(__name__)

REFRESHING_FLAG_SECONDS = 60
RETRY_AFTER_FAILURE = timedelta(seconds=30)


@dataclass(frozen=True)
class HeldToken:
    access_token: str
    expires_at: datetime
    generation: int


# In-process: the newest token seen per installation, when this process last found it not
# revoked (time.monotonic()), and one lock per installation.
_held: dict[int, HeldToken] = {}
_not_revoked_at: dict[int, float] = {}
_locks: dict[int, threading.Lock] = {}
_locks_guard = threading.Lock()


def _lock_for(installation_id: int) -> threading.Lock:
    with _locks_guard:
        return _locks.setdefault(installation_id, threading.Lock())


def forget(installation_id: int) -> None:
    """Drop what this process holds for an installation (after uninstall or rotation tests)."""
    _held.pop(installation_id, None)
    _not_revoked_at.pop(installation_id, None)


def _min_validity() -> timedelta:
    """A token handed to a caller must outlive the call by at least this much."""
    return timedelta(seconds=settings.GHL_TOKEN_MIN_VALIDITY_SECONDS)


def _fresh(held: HeldToken, *, stale: str | None, validity: timedelta | None = None) -> bool:
    return held.access_token != stale and held.expires_at > timezone.now() + (
        validity if validity is not None else _min_validity()
    )


def refreshing_flag_key(installation_id: int) -> str:
    return f"ghl:refreshing:{installation_id}"


def revoked_key(installation_id: int) -> str:
    return f"ghl:revoked:{installation_id}"


def revoke(installation_id: int) -> None:
    """Make every process drop its in-memory token at its next use (on uninstall); callers
    passing `revocation_max_age` notice within that many seconds."""
    cache.set(revoked_key(installation_id), 1, timeout=86400)
    forget(installation_id)


def unrevoke(installation_id: int) -> None:
    cache.delete(revoked_key(installation_id))


def _held_token(installation_id: int, *, revocation_max_age: float = 0.0) -> HeldToken | None:
    held = _held.get(installation_id)
    if held is None:
        return None
    checked_at = _not_revoked_at.get(installation_id)
    now = time.monotonic()
    if checked_at is not None and now - checked_at < revocation_max_age:
        return held
    if cache.get(revoked_key(installation_id)):
        forget(installation_id)
        raise GhlNotConnected("This GHL connection was uninstalled.")
    _not_revoked_at[installation_id] = now
    return held


def is_refreshing(installation_id: int) -> bool:
    return cache.get(refreshing_flag_key(installation_id)) is not None


def cached_access_token(installation_id: int, *, revocation_max_age: float = 0.0) -> str | None:
    """The in-memory token when it is comfortably valid (one Redis look-up for revocation,
    unless this process made it less than `revocation_max_age` seconds ago)."""
    held = _held_token(installation_id, revocation_max_age=revocation_max_age)
    return held.access_token if held is not None and _fresh(held, stale=None) else None


def access_token(
    installation_id: int,
    *,
    force: bool = False,
    stale: str | None = None,
    validity: timedelta | None = None,
    revocation_max_age: float = 0.0,
) -> str:
    """A token valid for at least `validity` (default GHL_TOKEN_MIN_VALIDITY_SECONDS). `force`
    (after a 401): refresh unless the stored token already differs from `stale`, the one GHL
    refused. The periodic refresh passes a long `validity` to rotate ahead of expiry.
    `revocation_max_age`: a revocation this process looked for less than that many seconds
    ago is not looked for again (a Redis GET per call is a fair part of a call's CPU)."""
    held = _held_token(installation_id, revocation_max_age=revocation_max_age)
    if not force and held is not None and _fresh(held, stale=None, validity=validity):
        return held.access_token
    with _lock_for(installation_id):
        held = _held.get(installation_id)
        if held is not None and _fresh(held, stale=stale if force else None, validity=validity):
            return held.access_token
        token = _locked_refresh(installation_id, force=force, stale=stale, validity=validity)
        _held[installation_id] = token
        return token.access_token


def _locked_refresh(
    installation_id: int, *, force: bool, stale: str | None, validity: timedelta | None
) -> HeldToken:
    with transaction.atomic():
        row = (
            GhlToken.objects.select_for_update(of=("self",))
            .select_related("installation", "installation__location")
            .filter(installation_id=installation_id)
            .first()
        )
        if row is None or row.installation.status == GhlInstallation.Status.UNINSTALLED:
            raise GhlNotConnected("This GHL connection has no token (uninstalled?).")
        current = HeldToken(row.access_token, row.expires_at, row.generation)
        # Re-read after the lock: another process may have rotated the pair while we waited.
        if _fresh(current, stale=stale if force else None, validity=validity):
            return current
        if row.installation.status == GhlInstallation.Status.NEEDS_REAUTH:
            raise GhlNotConnected("This GHL connection needs reconnecting.")
        if not force and _recently_failed(row) and row.expires_at > timezone.now():
            return current  # GHL failed us moments ago; the old token still works meanwhile
        outcome = _rotate(row)
    # Failures are raised only after the commit, so the state they recorded is kept.
    if isinstance(outcome, GhlError):
        raise outcome
    return outcome


def _recently_failed(row: GhlToken) -> bool:
    failed_at = row.installation.last_error_at
    return failed_at is not None and timezone.now() - failed_at < RETRY_AFTER_FAILURE


def _rotate(row: GhlToken) -> HeldToken | GhlError:
    """Refresh with the stored refresh token; runs inside the row lock."""
    installation = row.installation
    if not row.refresh_token:  # a location token minted without one: mint again instead
        return _recover(row, GhlInvalidGrant("no refresh token stored"))
    recorder = CallRecorder.for_installation(installation, priority="refresh")
    transaction.on_commit(recorder.flush)
    cache.set(refreshing_flag_key(installation.pk), 1, REFRESHING_FLAG_SECONDS)
    try:
        grant = oauth.refresh(
            refresh_token=row.refresh_token, user_type=installation.user_type, record=recorder
        )
    except GhlLocationInactive as exc:
        _mark(installation, GhlInstallation.Status.PAUSED, str(exc))
        log.warning("ghl.token.location_paused", installation_id=installation.pk)
        return exc
    except GhlInvalidGrant as exc:
        return _recover(row, exc)
    except GhlError as exc:  # GHL down or slow: keep the pair, try again later
        _mark(installation, installation.status, str(exc))
        log.warning("ghl.token.refresh_failed", installation_id=installation.pk, error=str(exc))
        if row.expires_at > timezone.now():
            return HeldToken(row.access_token, row.expires_at, row.generation)
        return exc
    finally:
        cache.delete(refreshing_flag_key(installation.pk))
    store_grant(row=row, grant=grant)
    log.info("ghl.token.refreshed", installation_id=installation.pk, generation=row.generation)
    return HeldToken(row.access_token, row.expires_at, row.generation)


def store_grant(*, row: GhlToken, grant: TokenGrant) -> None:
    """Persist a rotated pair (the caller commits before anyone uses it)."""
    row.access_token = grant.access_token
    # A location token minted from an agency token may come without a refresh token.
    row.refresh_token = grant.refresh_token or row.refresh_token
    row.expires_at = grant.expires_at
    row.generation += 1
    row.save()
    now = timezone.now()
    GhlInstallation.objects.unscoped().filter(pk=row.installation_id).update(
        status=GhlInstallation.Status.HEALTHY,
        access_expires_at=grant.expires_at,
        refreshed_at=now,
        last_error="",
        updated_at=now,
    )


def _recover(row: GhlToken, exc: GhlInvalidGrant) -> HeldToken | GhlError:
    """GHL refused our refresh token. Before giving the installation up: a location under a
    connected agency gets a new token minted from the agency's."""
    from .install import location_token_remint
    from .reconnect import reconnect_link_send

    installation = row.installation
    log.warning("ghl.token.invalid_grant", installation_id=installation.pk)
    if installation.ghl_location_id:
        try:
            grant = location_token_remint(installation=installation)
        except GhlError as remint_error:
            log.warning(
                "ghl.token.remint_failed", installation_id=installation.pk, error=str(remint_error)
            )
        else:
            if grant is not None:
                store_grant(row=row, grant=grant)
                log.warning("ghl.token.reminted", installation_id=installation.pk)
                return HeldToken(row.access_token, row.expires_at, row.generation)
    _mark(installation, GhlInstallation.Status.NEEDS_REAUTH, str(exc))
    log.error("ghl.token.needs_reauth", installation_id=installation.pk)
    transaction.on_commit(lambda: reconnect_link_send(installation_id=installation.pk))
    return GhlNotConnected("GHL refused the refresh token; the agency must reconnect.")


def _mark(installation: GhlInstallation, status: str, error: str) -> None:
    now = timezone.now()
    GhlInstallation.objects.unscoped().filter(pk=installation.pk).update(
        status=status, last_error=error[:2000], last_error_at=now, updated_at=now
    )
