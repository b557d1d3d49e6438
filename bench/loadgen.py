"""A small HTTP/1.1 keep-alive load generator on asyncio (uvloop when installed).

`connections` clients each send a request, read the whole response, and repeat until `duration`
seconds have passed; latency is measured per request. One process drives several thousand
requests per second on loopback, well above what the servers benchmarked here answer, so the
figures measure the server (compare with `wrk` where it is installed).

By default every request is the same; `payloads` — a list of (body, headers) — makes the clients
take the next one from the list instead (round robin, shared by all clients), for endpoints that
must see distinct requests (signed webhooks, each with its own id). The requests are encoded
before the clock starts; `LoadResult.sent` says how many were taken, so a caller can tell whether
the list wrapped around.

`rate` paces the requests instead (requests/s, shared by all clients): request *i* is written no
earlier than `i / rate` seconds after the start, and `LoadResult.sent_at` holds the wall-clock
time each was written, in the order taken — for end-to-end latencies measured elsewhere.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from urllib.parse import urlsplit


@dataclass
class LoadResult:
    requests: int
    rps: float
    p50_ms: float
    p99_ms: float
    errors: int
    statuses: dict[int, int] = field(default_factory=dict)
    latencies_ms: list[float] = field(default_factory=list, repr=False)
    sent: int = 0  # requests written (answered or not)
    sent_at: list[float] = field(default_factory=list, repr=False)  # epoch seconds, when paced


def percentile(sorted_values: list[float], fraction: float) -> float:
    if not sorted_values:
        return float("nan")
    index = min(len(sorted_values) - 1, max(0, round(fraction * len(sorted_values)) - 1))
    return sorted_values[index]


def _request_bytes(
    method: str, host: str, path: str, headers: dict[str, str], body: bytes | None
) -> bytes:
    lines = [f"{method} {path} HTTP/1.1", f"Host: {host}", "Connection: keep-alive"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    if body is not None:
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + (body or b"")


async def _read_response(reader: asyncio.StreamReader) -> tuple[int, bool]:
    """Read one response; returns (status, keep_alive)."""
    head = await reader.readuntil(b"\r\n\r\n")
    status_line, _, header_block = head.partition(b"\r\n")
    status = int(status_line.split(b" ", 2)[1])
    length, chunked, keep_alive = 0, False, True
    for raw in header_block.split(b"\r\n"):
        name, _, value = raw.partition(b":")
        name = name.strip().lower()
        if name == b"content-length":
            length = int(value)
        elif name == b"transfer-encoding" and b"chunked" in value.lower():
            chunked = True
        elif name == b"connection" and b"close" in value.lower():
            keep_alive = False
    if chunked:
        while True:
            size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
            await reader.readexactly(size + 2)
            if size == 0:
                break
    elif length:
        await reader.readexactly(length)
    return status, keep_alive


@dataclass
class _Pacer:
    """Hands out requests in order; with a rate, each no earlier than its slot."""

    requests: Sequence[bytes]
    started: float
    rate: float | None = None
    taken: int = 0
    sent_at: dict[int, float] = field(default_factory=dict)

    async def next(self) -> bytes:
        index = self.taken
        self.taken += 1
        if self.rate:
            delay = self.started + index / self.rate - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            self.sent_at[index] = time.time()
        return self.requests[index % len(self.requests)]


async def _client(
    host: str,
    port: int,
    pacer: _Pacer,
    deadline: float,
    latencies: list[float],
    statuses: Counter[int],
    errors: list[int],
) -> None:
    reader = writer = None
    while time.perf_counter() < deadline:
        try:
            if writer is None:
                reader, writer = await asyncio.open_connection(host, port)
            assert reader is not None
            payload = await pacer.next()
            started = time.perf_counter()
            writer.write(payload)
            status, keep_alive = await _read_response(reader)
            latencies.append((time.perf_counter() - started) * 1000)
            statuses[status] += 1
            if not keep_alive:
                writer.close()
                writer = None
        except (OSError, asyncio.IncompleteReadError, ValueError, IndexError):
            errors.append(1)
            if writer is not None:
                writer.close()
            writer = None
            await asyncio.sleep(0.01)
    if writer is not None:
        writer.close()


async def run_load(
    url: str,
    *,
    connections: int,
    duration: float,
    headers: dict[str, str] | None = None,
    method: str = "GET",
    body: bytes | None = None,
    payloads: Sequence[tuple[bytes, dict[str, str]]] | None = None,
    rate: float | None = None,
) -> LoadResult:
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    header_map = {"Host": parts.netloc, **(headers or {})}
    host_header = header_map.pop("Host")
    if payloads is None:
        requests = [_request_bytes(method, host_header, path, header_map, body)]
    else:
        if not payloads:
            raise ValueError("payloads is empty")
        requests = [
            _request_bytes(method, host_header, path, {**header_map, **extra}, each)
            for each, extra in payloads
        ]
    latencies: list[float] = []
    statuses: Counter[int] = Counter()
    errors: list[int] = []
    started = time.perf_counter()
    deadline = started + duration
    pacer = _Pacer(requests, started, rate)
    await asyncio.gather(
        *(
            _client(host, port, pacer, deadline, latencies, statuses, errors)
            for _ in range(connections)
        )
    )
    elapsed = time.perf_counter() - started
    ordered = sorted(latencies)
    return LoadResult(
        requests=len(latencies),
        rps=len(latencies) / elapsed,
        p50_ms=percentile(ordered, 0.50),
        p99_ms=percentile(ordered, 0.99),
        errors=len(errors),
        statuses=dict(statuses),
        latencies_ms=latencies,
        sent=pacer.taken,
        sent_at=[pacer.sent_at[i] for i in sorted(pacer.sent_at)],
    )


def load(url: str, **kwargs: object) -> LoadResult:
    """Synchronous wrapper, on uvloop when it is installed."""
    try:
        import uvloop

        return uvloop.run(run_load(url, **kwargs))  # type: ignore[arg-type]
    except ImportError:
        return asyncio.run(run_load(url, **kwargs))  # type: ignore[arg-type]
