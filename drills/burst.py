"""A webhook burst through an outage, as GHL sends it: a few senders deliver signed events at a
steady pace while an engine is stopped and started; GHL retries only the 429s (REFERENCE §4.1).
Shared by the drills and the inbox reliability tests (R5)."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import psycopg

from drills.topology import KeepAliveClient, OwnPostgres, keep_alive_client
from tests.integrations.ghl.signing import Signer, compact, event

URL = "/integrations/ghl/webhooks"
# A type no handler is registered for: processing marks it succeeded and touches nothing else,
# so processing is counted through the inbox row alone, whatever handlers exist.
KIND = "IntegrationTestEvent"
SENDERS = 8
# Seconds between one sender's deliveries (at most ~160/s): a 429 costs next to nothing, and an
# outage takes a second or two, which at full speed would be thousands of events.
PACE = 0.05
PHASE = 100  # deliveries before the outage, during it, and after it

Delivery = tuple[str, bytes, dict[str, str]]  # webhook id, body, headers
FINAL = ("succeeded", "dead", "superseded")  # an inbox row's states that no worker will change


@dataclass
class Answer:
    event: int
    status: int | None  # None: no HTTP answer at all
    outcome: str  # the JSON "status", the error, or the transport failure
    retry_after: str | None
    started: float
    finished: float


def signed_event(signer: Signer, seq: int) -> Delivery:
    payload = event(KIND, seq=seq, locationId=f"Loc{seq % 10}")
    body = compact(payload)
    headers = {"Content-Type": "application/json", "X-GHL-Signature": signer.ed_sign(body)}
    return payload["webhookId"], body, headers


class EventSource:
    """Signed events, numbered; remembers every one it made (for the retries)."""

    def __init__(self, signer: Signer) -> None:
        self.signer = signer
        self.sent: dict[int, Delivery] = {}

    def __iter__(self) -> Iterator[tuple[int, bytes, dict[str, str]]]:
        seq = 0
        while True:
            self.sent[seq] = signed_event(self.signer, seq)
            yield seq, self.sent[seq][1], self.sent[seq][2]
            seq += 1

    def webhook_ids(self) -> dict[int, str]:
        return {seq: delivery[0] for seq, delivery in self.sent.items()}


async def deliver(client: KeepAliveClient, seq: int, body: bytes, h: dict[str, str]) -> Answer:
    started = time.perf_counter()
    try:
        reply = await client.post(URL, body, h)
    except (OSError, asyncio.IncompleteReadError, ValueError) as exc:
        return Answer(seq, None, repr(exc), None, started, time.perf_counter())
    try:
        decoded = json.loads(reply.body)
        outcome = str(decoded.get("status") or decoded.get("error"))
    except (ValueError, AttributeError):
        outcome = reply.body[:200].decode(errors="replace")
    retry_after = reply.headers.get("retry-after")
    return Answer(seq, reply.status, outcome, retry_after, started, time.perf_counter())


async def until(check: Callable[[], bool], what: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise TimeoutError(f"waited {timeout} s for {what}")
        await asyncio.sleep(0.01)


async def burst_through_outage(
    bases: list[str],
    source: Iterator[tuple[int, bytes, dict[str, str]]],
    stop: Callable[[], None],
    start: Callable[[], None],
) -> tuple[list[Answer], dict[str, int]]:
    """PHASE answers of 200 first; `stop`; PHASE answers during the outage; `start`; PHASE more
    answers of 200. The senders are spread over `bases` (web processes) in turn. `marks` holds
    the number of answers at each step, to tell the phases apart."""
    answers: list[Answer] = []
    marks: dict[str, int] = {}
    done = asyncio.Event()

    def ok() -> int:
        return sum(1 for a in answers if a.status == 200)

    async def sender(client: KeepAliveClient) -> None:
        while not done.is_set():
            seq, body, headers = next(source)
            answers.append(await deliver(client, seq, body, headers))
            await asyncio.sleep(PACE)

    async def operator() -> None:
        try:
            await until(lambda: ok() >= PHASE, "answers before the outage")
            marks["stop"] = len(answers)
            await asyncio.to_thread(stop)
            marks["down"] = len(answers)
            await until(lambda: len(answers) - marks["down"] >= PHASE, "answers while down")
            marks["start"] = len(answers)
            await asyncio.to_thread(start)
            marks["up"], ok_at_start = len(answers), ok()
            await until(lambda: ok() - ok_at_start >= PHASE, "answers after the restart")
        finally:
            done.set()

    clients = [keep_alive_client(base, SENDERS) for base in bases]
    opened = [await c.__aenter__() for c in clients]
    try:
        senders = [sender(opened[i % len(opened)]) for i in range(SENDERS)]
        await asyncio.gather(operator(), *senders)
    finally:
        for c in clients:
            await c.__aexit__(None, None, None)
    return answers, marks


async def redeliver(base: str, sent: dict[int, Delivery], seqs: list[int]) -> list[Answer]:
    async with keep_alive_client(base, SENDERS) as client:
        return list(await asyncio.gather(*(deliver(client, seq, *sent[seq][1:]) for seq in seqs)))


def inbox_rows(pg: OwnPostgres, dbname: str) -> dict[str, tuple[str, int, str, bytes]]:
    """webhook id → (status, attempts, last error, body) of every stored event."""
    with psycopg.connect(pg.conninfo(dbname)) as conn:
        found = conn.execute(
            "SELECT event_id, status, attempts, last_error, body FROM integrations_inboundevent"
        ).fetchall()
    return {
        event_id: (status, attempts, error, bytes(body))
        for event_id, status, attempts, error, body in found
    }
