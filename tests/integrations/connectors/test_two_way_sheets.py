"""The two-way scenario against Google Sheets (its wire fake), including Google's 429 answers in
the middle of a run: the connector backs off and the run still settles every field."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import respx

from integrations.connectors.sheets import SheetsConnector
from sandbox.ghl.testing import StandIn
from tests.integrations.conftest import Installer
from tests.integrations.connectors.scenario import FIELDS, Size, two_way_scenario
from tests.integrations.connectors.sheets_fake import FakeGoogle, Spreadsheet

pytestmark = [pytest.mark.django_db, pytest.mark.concurrency]
HEADER = ["Record ID", "email", *FIELDS]


class Sheet:
    has_times = False  # a sheet keeps no per-row change times

    def __init__(self, fake: FakeGoogle) -> None:
        self.fake = fake
        self.key = fake.service_account()
        self.book: Spreadsheet = fake.add_spreadsheet(
            [HEADER], tab="Leads", shared_with=[self.key], row_count=20_000
        )

    def connection(self) -> dict[str, Any]:
        return {
            "kind": "google_sheets",
            "config": {"spreadsheet_id": self.book.spreadsheet_id, "sheet": "Leads"},
            "credentials": {"service_account": self.key},
        }

    def rows(self) -> dict[str, dict[str, Any]]:
        header, *data = self.book.rows()
        out = {}
        for row in data:
            cells = dict(zip(header, [*row, *[None] * (len(header) - len(row))], strict=True))
            out[str(cells.pop("Record ID"))] = cells
        return out

    def edit(self, key: str, field: str, value: str) -> None:
        tab = self.book.tab("Leads")
        column = HEADER.index(field)
        row = next(i for i, cells in enumerate(tab.grid) if cells and cells[0] == key)
        tab.put(row, column, value)


@pytest.fixture
def sheet(ghl: StandIn, monkeypatch: pytest.MonkeyPatch) -> Iterator[Sheet]:
    monkeypatch.setattr(SheetsConnector, "sleep", staticmethod(lambda _seconds: None))
    fake = FakeGoogle()
    with respx.mock(assert_all_called=False) as router:
        fake.install(router)
        router.route(url__startswith=ghl.base_url).pass_through()
        yield Sheet(fake)


def test_two_thousand_contacts_two_ways_through_a_rate_limited_sheet(
    install: Installer, ghl: StandIn, sheet: Sheet
) -> None:
    def google_says_slow_down() -> None:
        sheet.fake.fail_next(3, status=429)

    two_way_scenario(
        install,
        ghl,
        sheet,
        Size(contacts=2_000, edits=200, colliding=40),
        between_runs=google_says_slow_down,
    )
    refused = [call for call in sheet.fake.calls if call.status == 429]
    assert len(refused) == 3  # answered, backed off, and the run still settled everything
