"""The GHL API client, bound to one installation, with a sync and an async face over the same
transport (`transport.execute`): tokens from the vault, turns from the rate governor, every call
recorded in the call log.

    with GhlClient(installation) as ghl:
        location = ghl.run(ops.location_get(location_id=installation.ghl_location_id))

    async with AsyncGhlClient(installation, priority=Priority.BULK) as ghl:
        pages = await asyncio.gather(*(ghl.run(op) for op in operations))
"""

from __future__ import annotations

import asyncio
import os
import threading
from types import TracebackType
from typing import Any, Self, TypeVar

import httpx

from . import vault
from .calllog import CallRecorder
from .config import ghl_app
from .errors import GhlNotConnected
from .governor import Priority, get_governor
from .models import GhlInstallation
from .operations import Operation
from .transport import AsyncDriver, RetryPolicy, SyncDriver, Wiring, execute

T = TypeVar("T")
ASYNC_FLUSH_EVERY = 50
# A process looks for an installation's revocation (a Redis GET) at most this often rather than
# before every call: a batch's calls, and a drain's batches, share one look. An uninstalled
# app's token is refused by GHL anyway, and the 401's refresh finds the installation gone in
# the database; an uninstall in this process drops the token at once (`vault.revoke`).
REVOCATION_RECHECK_S = 5.0


def _check_connected(installation: GhlInstallation) -> None:
    if installation.status == GhlInstallation.Status.UNINSTALLED:
        raise GhlNotConnected(f"{installation} is uninstalled.")


class _Base:
    def __init__(
        self,
        installation: GhlInstallation,
        *,
        priority: Priority = Priority.INTERACTIVE,
        policy: RetryPolicy | None = None,
        flush_every: int = 1,
    ) -> None:
        _check_connected(installation)
        self.installation = installation
        self.priority = priority
        self.policy = policy or RetryPolicy()
        self.app = ghl_app()
        self.recorder = CallRecorder.for_installation(
            installation, priority=priority.name.lower(), flush_every=flush_every
        )
        installation_id = installation.pk

        def token(*, force: bool, stale: str | None) -> str:
            return vault.access_token(
                installation_id, force=force, stale=stale, revocation_max_age=REVOCATION_RECHECK_S
            )

        self.wiring = Wiring(
            resource=installation.resource_id,
            token=token,
            governor=get_governor(),
            record=self.recorder,
            cached_token=lambda: vault.cached_access_token(
                installation_id, revocation_max_age=REVOCATION_RECHECK_S
            ),
        )

    def _steps(self, op: Operation[Any]) -> Any:
        return execute(
            op.call, base_url=self.app.api_base, priority=self.priority, policy=self.policy
        )


_pooled: dict[tuple[int, float], httpx.Client] = {}
_pooled_lock = threading.Lock()


def pooled_http(timeout: float) -> httpx.Client:
    """The process's connection pool to GHL. A client per call would pay for a TLS context
    (tens of ms of CPU) and a handshake every time; httpx clients are thread-safe, and a forked
    worker (its pid differs) builds its own instead of sharing its parent's sockets."""
    key = (os.getpid(), timeout)
    http = _pooled.get(key)
    if http is None:
        with _pooled_lock:
            http = _pooled.get(key)
            if http is None:
                http = _pooled[key] = httpx.Client(timeout=timeout, trust_env=False)
    return http


class GhlClient(_Base):
    """``defer_observations=True`` (one thread's sequence of calls, e.g. a batch): each answer
    reaches the governor with the next call's turn, one Redis round trip per call instead of
    two; ``close`` (the ``with`` block's end) reports the last."""

    def __init__(
        self,
        installation: GhlInstallation,
        *,
        http: httpx.Client | None = None,
        defer_observations: bool = False,
        **kw: Any,
    ) -> None:
        super().__init__(installation, **kw)
        self.http = http or pooled_http(self.app.timeout)
        self.driver = SyncDriver(self.http, self.wiring, defer_observations=defer_observations)

    def run(self, op: Operation[T]) -> T:
        return op.parse(self.driver.run(self._steps(op)))

    def close(self) -> None:
        try:
            self.driver.flush()
        finally:
            self.recorder.flush()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


class AsyncGhlClient(_Base):
    """Many calls in flight at once: GHL's latency, not a thread per call, bounds throughput.
    Call records are written in batches off the event loop."""

    def __init__(
        self,
        installation: GhlInstallation,
        *,
        http: httpx.AsyncClient | None = None,
        max_connections: int = 100,
        **kw: Any,
    ) -> None:
        super().__init__(installation, flush_every=CallRecorder.MANUAL_FLUSH, **kw)
        self._own_http = http is None
        limits = httpx.Limits(max_connections=max_connections, max_keepalive_connections=20)
        self.http = http or httpx.AsyncClient(
            timeout=self.app.timeout, limits=limits, trust_env=False
        )
        self.driver = AsyncDriver(self.http, self.wiring)

    async def run(self, op: Operation[T]) -> T:
        try:
            body = await self.driver.run(self._steps(op))
        finally:
            if len(self.recorder.pending) >= ASYNC_FLUSH_EVERY:
                await asyncio.to_thread(self.recorder.flush)
        return op.parse(body)

    async def aclose(self) -> None:
        await asyncio.to_thread(self.recorder.flush)
        if self._own_http:
            await self.http.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()
