"""Demo traffic: every few seconds, each installed location gets new leads, messages,
appointments and stage moves, so a demo shows data arriving without anyone typing.

Only locations with an installed app take part (GHL sends no webhooks for the others), and the
rate is bounded: one round per ``interval`` (at least ``MIN_INTERVAL`` seconds), a handful of
changes per location per round, and no round at all while the webhook queue is backed up. Round
*n* of location *L* draws from ``Random(f"{seed}:{n}:{L}")``, so a seed replays the same traffic.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections import Counter, deque
from collections.abc import Callable
from typing import Any

from sandbox.ghl.errors import ApiError
from sandbox.ghl.seed import live
from sandbox.ghl.state import SandboxState
from sandbox.ghl.store.contacts import Contact
from sandbox.ghl.store.world import Location

log = logging.getLogger("sandbox.ghl.traffic")

DEFAULT_INTERVAL = 5.0
MIN_INTERVAL, MAX_INTERVAL = 0.5, 3600.0
# Webhook deliveries waiting to go out above which a round is skipped (the receiver is slow).
MAX_BACKLOG = 200
RECENT = 200


def check_interval(value: Any) -> float:
    interval = float(value)
    if not MIN_INTERVAL <= interval <= MAX_INTERVAL:
        raise ValueError(f"interval must be between {MIN_INTERVAL} and {MAX_INTERVAL} seconds")
    return interval


class DemoTraffic:
    def __init__(
        self,
        state: SandboxState,
        *,
        interval: float = DEFAULT_INTERVAL,
        seed: int = 1,
        autostart: bool = False,
    ) -> None:
        self.state = state
        self.interval = check_interval(interval)
        self.seed = seed
        # Started from the command line: a reset of the world keeps it running.
        self.autostart = autostart
        self._startup = (self.interval, seed)
        self._task: asyncio.Task[None] | None = None
        self._clear()
        state.reset_hooks.append(self._on_reset)

    def _clear(self) -> None:
        self.rounds = 0
        self.skipped = 0
        self.errors = 0
        self.events: Counter[str] = Counter()
        self.by_location: Counter[str] = Counter()
        self.recent: deque[dict[str, Any]] = deque(maxlen=RECENT)
        self._leads: dict[str, deque[str]] = {}

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    def installed_locations(self) -> list[Location]:
        """Active locations with at least one installed app, in id order."""
        apps = self.state.config.apps
        return [
            location
            for location in sorted(self.state.world.locations.values(), key=lambda x: x.id)
            if location.active
            and any(
                inst.client_id in apps
                for inst in self.state.tokens.installs_for_location(
                    location.id, location.company_id
                )
            )
        ]

    def run_round(self) -> list[dict[str, Any]]:
        """One round over every installed location; returns what was made."""
        self.rounds += 1
        made: list[dict[str, Any]] = []
        for location in self.installed_locations():
            rng = random.Random(f"{self.seed}:{self.rounds}:{location.id}")
            for done in self._location_round(location, rng):
                item = {"round": self.rounds, "locationId": location.id, **done}
                self.events[done["type"]] += 1
                self.by_location[location.id] += 1
                self.recent.append(item)
                made.append(item)
        return made

    def _location_round(self, location: Location, rng: random.Random) -> list[live.Made]:
        leads = self._leads.setdefault(location.id, deque(maxlen=20))
        state = self.state
        steps: list[tuple[str, Callable[[], list[live.Made]]]] = [
            ("contact", lambda: live.new_lead(state, location, rng, self.rounds)),
            ("message", lambda: live.conversation_turn(state, location, rng)),
            ("appointment", lambda: live.book_slot(state, location, rng, self._pick(location))),
            ("stage", lambda: live.move_stage(state, location, rng)),
        ]  # fmt: skip
        out: list[live.Made] = []
        for kind, step in steps:
            # Draw for every kind, taken or not, so one kind's outcome never shifts the others.
            if rng.random() >= live.CHANCES[kind]:
                continue
            try:
                done = step()
            except ApiError as exc:  # e.g. a slot taken meanwhile: GHL would refuse it too
                self.errors += 1
                log.info("demo traffic: %s in %s refused: %s", kind, location.id, exc.message)
                continue
            if kind == "contact":
                leads.append(done[0]["id"])
            out += done
        return out

    def _pick(self, location: Location) -> Contact | None:
        """Who books: the newest demo lead without an appointment yet, if any."""
        contacts = location.data.contacts
        booked = {a["contactId"] for a in location.data.calendars.appointments.values()}
        waiting = [
            contact
            for cid in self._leads.get(location.id, ())
            if (contact := contacts.get(cid)) is not None and cid not in booked
        ]
        return waiting[-1] if waiting else None

    # -- running ---------------------------------------------------------------------------
    def start(self, interval: float | None = None, seed: int | None = None) -> None:
        """Start (or retune) the loop; must be called on the server's event loop."""
        if interval is not None:
            self.interval = check_interval(interval)
        if seed is not None:
            self.seed = int(seed)
        if not self.running:
            self._task = asyncio.get_running_loop().create_task(self._loop())

    def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            self._task = None

    async def aclose(self) -> None:
        """Stop at shutdown: a round in progress finishes first (rounds never await)."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            log.warning("demo traffic stopped after %s rounds", self.rounds)

    async def _loop(self) -> None:
        while True:
            await asyncio.sleep(self.interval)
            if self.state.webhooks.backlog() > MAX_BACKLOG:
                self.skipped += 1
                continue
            try:
                self.run_round()
            except Exception:  # a bug in one round must not end the demo
                self.errors += 1
                log.exception("demo traffic: round %s failed", self.rounds)

    def _on_reset(self) -> None:
        self._clear()
        self.interval, self.seed = self._startup
        self.stop()
        if self.autostart:
            self.start()

    def status(self) -> dict[str, Any]:
        return {
            "running": self.running,
            "interval": self.interval,
            "seed": self.seed,
            "rounds": self.rounds,
            "skipped": self.skipped,
            "errors": self.errors,
            "events": dict(sorted(self.events.items())),
            "locations": dict(sorted(self.by_location.items())),
            "installedLocations": [loc.id for loc in self.installed_locations()],
            "recent": list(self.recent)[-50:],
        }
