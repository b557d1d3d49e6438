"""The platform as the GHL drills need it: the GHL stand-in as its own process, a Redis of the
drill's own, a fresh database on the run's PostgreSQL, gunicorn, and read-outs straight from
the database (the drill's process never loads Django: it only starts, kills and observes)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from typing import Any

import httpx
import psycopg

from drills.harness import Stage
from drills.topology import OwnRedis, gunicorn, own_redis_server
from sandbox.ghl.testing import StandIn

DUBAI = "DemoLocApexDubai0001"  # a demo location of the stand-in
APP_ID = "66d0a1b2c3d4e5f601234567"
WEBHOOK_PATH = "/integrations/ghl/webhooks"
NOWHERE = "http://127.0.0.1:9/ghl-webhooks"


@dataclass
class Platform:
    stage: Stage
    ghl: StandIn
    redis: OwnRedis
    database: str
    env: dict[str, str]
    base: str

    def sql(self, query: str, *params: Any) -> list[tuple[Any, ...]]:
        with psycopg.connect(self.stage.pg.conninfo(self.database)) as conn:
            return list(conn.execute(query, params).fetchall())

    def one(self, query: str, *params: Any) -> Any:
        rows = self.sql(query, *params)
        return rows[0][0] if rows else None

    def install(self, location_id: str) -> None:
        """A Marketplace install finished through our OAuth callback, as an agency's browser
        does; the backfill it queues goes to the broker."""
        code = self.ghl.install(locationId=location_id, emitInstall=False)["code"]
        answer = httpx.get(
            f"{self.base}/integrations/ghl/oauth/callback",
            params={"code": code},
            headers={"Host": "localhost"},
            timeout=30,
        )
        if answer.status_code != 302:
            raise RuntimeError(f"the OAuth callback answered {answer.status_code}")

    def location_pk(self, ghl_location_id: str) -> int:
        return int(
            self.one("SELECT id FROM tenants_location WHERE ghl_location_id = %s", ghl_location_id)
        )

    def mirrored(self, location_pk: int) -> tuple[int, int]:
        """(rows, distinct GHL ids) of the location's mirrored contacts."""
        rows = self.sql(
            "SELECT count(*), count(DISTINCT ghl_id) FROM integrations_mirrorcontact"
            " WHERE location_id = %s",
            location_pk,
        )
        return int(rows[0][0]), int(rows[0][1])

    def mirror_ids(self, location_pk: int) -> set[str]:
        found = self.sql(
            "SELECT ghl_id FROM integrations_mirrorcontact WHERE location_id = %s", location_pk
        )
        return {str(row[0]) for row in found}

    def runs(self, location_pk: int) -> list[dict[str, Any]]:
        found = self.sql(
            "SELECT id, kind, status, pages, rows, requests, error FROM integrations_syncrun"
            " WHERE location_id = %s ORDER BY id",
            location_pk,
        )
        keys = ("id", "kind", "status", "pages", "rows", "requests", "error")
        return [dict(zip(keys, row, strict=True)) for row in found]

    def standin_contact_ids(self, location_id: str) -> set[str]:
        """Every contact of the location, read from the stand-in itself."""
        token = self.ghl.mint_token(location_id=location_id)["access_token"]
        found: set[str] = set()
        after: list[Any] | None = None
        with httpx.Client(base_url=self.ghl.base_url, timeout=60) as http:
            while True:
                body: dict[str, Any] = {"locationId": location_id, "pageLimit": 500}
                if after:
                    body["searchAfter"] = after
                headers = self.ghl.api_headers(token, "/contacts/search")
                page = http.post("/contacts/search", json=body, headers=headers).json()
                found.update(c["id"] for c in page["contacts"])
                if len(page["contacts"]) < 500:
                    return found
                after = page["contacts"][-1]["searchAfter"]


@contextmanager
def platform(
    stage: Stage,
    name: str,
    *,
    time_factor: float | None = None,
    also_trust: str = "",
    **extra_env: str,
) -> Iterator[Platform]:
    """`also_trust`: one more Ed25519 public key for webhooks (a drill's own signer)."""
    with ExitStack() as stack:
        ghl = stack.enter_context(
            StandIn(scenario="demo", webhook_url=NOWHERE, time_factor=time_factor)
        )
        redis_server = stack.enter_context(own_redis_server())
        database = stage.database(name)
        pems = ghl.keys()
        env = stage.env(
            database=database,
            redis_url=redis_server.url,
            DRILL_GHL_BASE=ghl.base_url,
            GHL_WEBHOOK_ED25519_KEYS=",".join(filter(None, (pems["ed25519"], also_trust))),
            GHL_WEBHOOK_RSA_KEYS=pems["rsa"],
            **extra_env,
        )
        base = stack.enter_context(gunicorn(env, stage.log(f"{name}-gunicorn"), workers=1))
        yield Platform(stage, ghl, redis_server, database, env, base)
