"""The two-way scenario against Airtable (its wire fake, which answers 429 past 5 requests a
second per base): the limiter keeps every run under the limit, and two forced 429s are waited
out. Smaller than the SQL run: at 5 requests a second, 10,000 records take minutes to write."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import respx

from sandbox.ghl.testing import StandIn
from tests.integrations.conftest import Installer
from tests.integrations.connectors.airtable_fake import AirtableFake
from tests.integrations.connectors.scenario import FIELDS, Size, two_way_scenario

pytestmark = [pytest.mark.django_db, pytest.mark.concurrency]
TABLE = "Contacts"


class AirtableTable:
    has_times = True  # the table's "Last modified time" field

    def __init__(self, fake: AirtableFake) -> None:
        self.fake = fake
        self.token = fake.add_token()
        self.base = fake.add_base()
        fake.add_table(self.base, TABLE, ["email", *FIELDS])

    def connection(self) -> dict[str, Any]:
        return {
            "kind": "airtable",
            "config": {"base_id": self.base, "table": TABLE, "modified_field": "Last modified"},
            "credentials": {"token": self.token},
        }

    def rows(self) -> dict[str, dict[str, Any]]:
        return {
            r["id"]: {f: r["fields"].get(f) for f in ["email", *FIELDS]}
            for r in self.fake.records(self.base, TABLE)
        }

    def edit(self, key: str, field: str, value: str) -> None:
        self.fake.edit(self.base, TABLE, key, **{field: value})


@pytest.fixture
def airtable(ghl: StandIn, settings: Any) -> Iterator[AirtableTable]:
    settings.CONNECTOR_RATE_KEY_PREFIX = f"test:airtable:{uuid.uuid4().hex}"
    fake = AirtableFake()
    with respx.mock(assert_all_called=False) as router:
        fake.install(router)
        router.route(url__startswith=ghl.base_url).pass_through()
        yield AirtableTable(fake)


def test_contacts_two_ways_through_airtable_within_its_rate_limit(
    install: Installer, ghl: StandIn, airtable: AirtableTable
) -> None:
    def airtable_says_slow_down() -> None:
        airtable.fake.force_429(2, retry_after="1")

    two_way_scenario(
        install,
        ghl,
        airtable,
        Size(contacts=400, edits=40, colliding=8),
        between_runs=airtable_says_slow_down,
    )
    assert airtable.fake.max_in_window(airtable.base) <= 5
    assert len(airtable.fake.requests(status=429)) == 2
