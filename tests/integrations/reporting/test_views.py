"""The dashboards in the admin sites: figures on the page, CSV equal to the page, bad input
refused, other tenants out of reach."""

from __future__ import annotations

import csv
import io
import re
from html import unescape as html_unescape
from typing import Any

import pytest

from integrations.bulk.csv_table import BOM, unescape
from tests import factories
from tests.conftest import AgencyClient, World

from .dataset import Dataset, build

pytestmark = pytest.mark.django_db

URL = "/admin/integrations/reportschedule/dashboard/"
EXPORT = "/admin/integrations/reportschedule/dashboard/export/"
RANGE = {"range": "custom", "from": "2026-03-01", "to": "2026-03-07"}


@pytest.fixture
def data(world: World) -> Dataset:
    return build(world)


def page_tables(html: str) -> dict[str, list[list[str]]]:
    """Every report table on the page: key → rows of cell texts, header first."""
    found = {}
    for key, body in re.findall(
        r'<table class="report-table" data-table="([\w]+)">(.*?)</table>', html, re.S
    ):
        rows = re.findall(r"<tr>(.*?)</tr>", body, re.S)
        found[key] = [
            [html_unescape(c).strip() for c in re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", row, re.S)]
            for row in rows
        ]
    return found  # fmt: skip


def csv_rows(response: Any) -> list[list[str]]:
    text = response.content.decode()
    assert text.startswith(BOM)
    return [[unescape(c) for c in row] for row in csv.reader(io.StringIO(text[len(BOM) :]))]


def test_the_location_dashboard_shows_the_figures_and_csv_equals_the_page(
    world: World, data: Dataset, agency_client: AgencyClient
) -> None:
    client = agency_client(world.a, world.a.owner)
    response = client.get(URL, {**RANGE, "location": data.a1.pk})
    assert response.status_code == 200
    html = response.content.decode()
    assert html.count('class="report-chart"') == 5  # server-drawn SVG, no script of ours
    assert f'<option value="{data.a1.pk}" selected>A Location 1</option>' in html
    tables = page_tables(html)
    assert tables["leads_by_source"][1:] == [
        ["Website", "2", "50.0%"],
        ["(no source)", "1", "25.0%"],
        ["Facebook", "1", "25.0%"],
    ]
    assert ["Win rate", "50.0%"] in tables["win_rate"]
    assert ["Avg. time to first reply", "9m 00s"] in tables["speed_to_lead"]
    assert tables["pnl"][1] == [
        "A Location 1", "revenue appears once billing is connected", "4,000.00", "3,500.50"
    ]  # fmt: skip
    for key, shown in tables.items():
        export = client.get(f"{EXPORT}{key}/", {**RANGE, "location": data.a1.pk})
        assert export.status_code == 200, key
        assert export["Content-Type"].startswith("text/csv")
        assert csv_rows(export) == shown, key
    assert len(tables) == 9


def test_a_location_shows_the_report_set_of_its_industry_pack(
    world: World, data: Dataset, agency_client: AgencyClient
) -> None:
    factories.PackActivationFactory(location=data.a1, pack_key="health_clinic")
    client = agency_client(world.a, world.a.owner)
    tables = page_tables(client.get(URL, {**RANGE, "location": data.a1.pk}).content.decode())
    shown = {key.split("_table")[0] for key in tables}
    assert not {"win_rate", "pnl", "agent_leaderboard"} & shown
    assert {"leads_by_source", "appointments", "speed_to_lead"} <= shown
    assert client.get(f"{EXPORT}pnl/", {**RANGE, "location": data.a1.pk}).status_code == 404
    # The agency's cross-location view keeps every section.
    assert "pnl" in page_tables(client.get(URL, RANGE).content.decode())


def test_the_agency_dashboard_and_its_filters(
    world: World, data: Dataset, agency_client: AgencyClient
) -> None:
    client = agency_client(world.a, world.a.admin)
    tables = page_tables(client.get(URL, RANGE).content.decode())
    assert [row[0] for row in tables["pnl"][1:]] == ["A Location 1", "A Location 2"]
    assert ["Won", "2"] in tables["win_rate"]
    filtered = page_tables(client.get(URL, {**RANGE, "agent": "u1"}).content.decode())
    assert ["Won", "1"] in filtered["win_rate"]
    export = client.get(f"{EXPORT}win_rate/", {**RANGE, "agent": "u1"})
    assert csv_rows(export) == filtered["win_rate"]


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ({"range": "custom", "from": "2026-03-09", "to": "2026-03-01"}, "start date is after"),
        ({"range": "custom", "from": "2026-13-01", "to": "2026-03-01"}, "is not a date"),
        ({"range": "custom", "from": "2024-01-01", "to": "2026-03-01"}, "at most 366 days"),
        ({"range": "custom", "from": "2026-03-01"}, "needs both"),
        ({"range": "forever"}, "Unknown date range"),
        ({"range": "custom", "from": "2099-01-01", "to": "2099-01-02"}, "starts in the future"),
    ],
)
def test_a_bad_range_is_refused_with_a_message(
    world: World, agency_client: AgencyClient, query: dict[str, str], message: str
) -> None:
    client = agency_client(world.a, world.a.owner)
    response = client.get(URL, query)
    assert response.status_code == 400
    assert message in html_unescape(response.content.decode())
    assert 'class="report-table"' not in response.content.decode()
    assert client.get(f"{EXPORT}win_rate/", query).status_code == 400


def test_another_agencys_location_is_refused(
    world: World, data: Dataset, agency_client: AgencyClient
) -> None:
    client = agency_client(world.a, world.a.owner)
    response = client.get(URL, {**RANGE, "location": data.b1.pk})
    assert response.status_code == 400
    text = response.content.decode()
    assert "No such location." in text and "B Location" not in text and "5,555" not in text
    assert client.get(f"{EXPORT}pnl/", {"location": data.b1.pk}).status_code == 400
    assert client.get(f"{EXPORT}nonsense/").status_code == 404


def test_client_users_and_anonymous_visitors_are_sent_to_sign_in(
    world: World, agency_client: AgencyClient
) -> None:
    for user in (None, world.a.client_admin):
        response = agency_client(world.a, user).get(URL)
        assert response.status_code == 302 and "/admin/login/" in response["Location"]


def test_an_operator_sees_any_agency_on_the_staff_admin(
    world: World, data: Dataset, platform_client: Any
) -> None:
    client = platform_client(world.operator)
    response = client.get(URL, {**RANGE, "agency": world.b.agency.pk})
    assert response.status_code == 200
    tables = page_tables(response.content.decode())
    assert [row[0] for row in tables["pnl"][1:]] == ["B Location 1", "B Location 2"]
    assert ["Won value", "5,555.00"] in tables["win_rate"]
    assert client.get(URL, {"agency": "999999"}).status_code == 404


def test_the_page_runs_a_pinned_number_of_queries(
    world: World, data: Dataset, agency_client: AgencyClient, django_assert_num_queries: Any
) -> None:
    client = agency_client(world.a, world.a.owner)
    client.get(URL, RANGE)  # warm the session
    with django_assert_num_queries(12):  # 11 + the revenue billing records
        assert client.get(URL, {**RANGE, "location": data.a1.pk}).status_code == 200
