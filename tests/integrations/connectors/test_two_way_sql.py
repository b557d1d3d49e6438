"""The two-way scenario at full size: 10,000 contacts between the GHL stand-in and a real
PostgreSQL table, 500 edits on each side of which 100 collide (25 per conflict policy)."""

from __future__ import annotations

from typing import Any

import psycopg
import pytest
from psycopg import sql

from sandbox.ghl.testing import StandIn
from tests.integrations.conftest import Installer
from tests.integrations.connectors.scenario import FIELDS, Size, two_way_scenario

pytestmark = [pytest.mark.django_db, pytest.mark.concurrency]


class PostgresTable:
    has_times = True

    def __init__(self, url: str) -> None:
        self.url = url

    def connection(self) -> dict[str, Any]:
        config = {"table": "leads", "key_column": "id", "modified_column": "updated_at"}
        return {
            "kind": "sql",
            "config": {**config, "create_table": True},
            "credentials": {"url": self.url},
        }

    def rows(self) -> dict[str, dict[str, Any]]:
        names = ["email", *FIELDS]
        with psycopg.connect(self.url) as conn:
            query = sql.SQL("SELECT id, {} FROM leads").format(
                sql.SQL(", ").join(map(sql.Identifier, names))
            )
            return {str(r[0]): dict(zip(names, r[1:], strict=True)) for r in conn.execute(query)}

    def edit(self, key: str, field: str, value: str) -> None:
        with psycopg.connect(self.url) as conn:
            conn.execute(
                sql.SQL("UPDATE leads SET {} = %s, updated_at = now() WHERE id = %s").format(
                    sql.Identifier(field)
                ),
                [value, key],
            )


@pytest.fixture
def table(client_db: str) -> PostgresTable:
    return PostgresTable(client_db)


def test_ten_thousand_contacts_two_ways_with_every_policy(
    install: Installer, ghl: StandIn, table: PostgresTable
) -> None:
    two_way_scenario(install, ghl, table, Size(contacts=10_000, edits=500, colliding=100))
