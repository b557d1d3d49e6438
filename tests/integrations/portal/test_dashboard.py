"""The workspace dashboard: the location's own figures, CSV equal to the page, the plan's
entitlements respected, the first-run state, and a pinned number of queries."""

from __future__ import annotations

import csv
import io
import re
from html import unescape as html_unescape
from typing import Any

import pytest

from integrations.bulk.csv_table import BOM, unescape
from tenants.models import LocationEntitlements
from tests import factories
from tests.conftest import AgencyClient, World
from tests.integrations.reporting.dataset import Dataset, build

pytestmark = pytest.mark.django_db

RANGE = {"range": "custom", "from": "2026-03-01", "to": "2026-03-07"}


@pytest.fixture
def data(world: World) -> Dataset:
    return build(world)


def url(location_id: int, suffix: str = "") -> str:
    return f"/app/l/{location_id}/dashboard/{suffix}"


def page_tables(html: str) -> dict[str, list[list[str]]]:
    found = {}
    for key, body in re.findall(
        r'<table class="data" data-table="(\w+)">(.*?)</table>', html, re.S
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


def test_a_client_admin_sees_the_figures_and_every_csv_equals_the_page(
    world: World, data: Dataset, agency_client: AgencyClient
) -> None:
    client = agency_client(world.a, world.a.client_admin)
    response = client.get(url(data.a1.pk), RANGE)
    assert response.status_code == 200
    html = response.content.decode()
    assert html.count('class="report-chart"') == 5
    assert "Leads<strong>4</strong>" in html  # the KPI row
    tables = page_tables(html)
    assert tables["leads_by_source"][1:] == [
        ["Website", "2", "50.0%"],
        ["(no source)", "1", "25.0%"],
        ["Facebook", "1", "25.0%"],
    ]
    assert ["Avg. time to first reply", "9m 00s"] in tables["speed_to_lead"]
    assert "pnl" not in tables  # the agency's view of what the client pays it
    assert len(tables) == 8
    assert "location=" not in html
    for key, shown in tables.items():
        export = client.get(url(data.a1.pk, "export.csv"), {**RANGE, "table": key})
        assert export.status_code == 200, key
        assert export["Content-Type"].startswith("text/csv")
        assert csv_rows(export) == shown, key
    everything = csv_rows(client.get(url(data.a1.pk, "export.csv"), RANGE))
    assert everything[:2] == [["Leads by source"], ["Source", "Leads", "Share"]]
    assert sum(1 for row in everything if row and row[0] == "Win rate") == 2  # title + figure
    assert client.get(url(data.a1.pk, "export.csv"), {"table": "nonsense"}).status_code == 404


def test_the_filters_apply_and_another_location_cannot_be_asked_for(
    world: World, data: Dataset, agency_client: AgencyClient
) -> None:
    client = agency_client(world.a, world.a.client_admin)
    filtered = page_tables(client.get(url(data.a1.pk), {**RANGE, "agent": "u1"}).content.decode())
    assert ["Won", "1"] in filtered["win_rate"]
    export = client.get(
        url(data.a1.pk, "export.csv"), {**RANGE, "agent": "u1", "table": "win_rate"}
    )
    assert csv_rows(export) == filtered["win_rate"]
    own = page_tables(client.get(url(data.a1.pk), RANGE).content.decode())
    for other in (data.a2, data.b1):
        response = client.get(url(data.a1.pk), {**RANGE, "location": other.pk, "agency": "1"})
        assert page_tables(response.content.decode()) == own
        assert "5,555" not in response.content.decode()
    assert client.get(url(data.a1.pk, "export.csv"), {"table": "pnl"}).status_code == 404


def test_a_bad_range_is_refused_with_a_message(
    world: World, data: Dataset, agency_client: AgencyClient
) -> None:
    client = agency_client(world.a, world.a.client_admin)
    query = {"range": "custom", "from": "2026-03-09", "to": "2026-03-01"}
    response = client.get(url(data.a1.pk), query)
    assert response.status_code == 400
    assert "The start date is after the end date." in html_unescape(response.content.decode())
    assert 'data-table="' not in response.content.decode()
    assert client.get(url(data.a1.pk, "export.csv"), query).status_code == 400


@pytest.mark.parametrize(
    ("granted", "state", "shown"),
    [
        ({"routing": True}, LocationEntitlements.State.ACTIVE, "not part of your plan"),
        ({"reports": False}, LocationEntitlements.State.GRACE, "not part of your plan"),
        ({"reports": True}, LocationEntitlements.State.PAUSED, "Your reports are paused"),
    ],
)
def test_a_plan_without_reports_sees_an_upsell_not_an_error(
    world: World,
    data: Dataset,
    agency_client: AgencyClient,
    granted: dict[str, bool],
    state: str,
    shown: str,
) -> None:
    factories.LocationEntitlementsFactory(location=data.a1, granted=granted, state=state)
    client = agency_client(world.a, world.a.client_admin)
    response = client.get(url(data.a1.pk), RANGE)
    assert response.status_code == 200
    html = response.content.decode()
    assert shown in html and "Brand A" in html
    assert 'data-table="' not in html and "report-chart" not in html
    assert client.get(url(data.a1.pk, "export.csv"), RANGE).status_code == 404


def test_a_plan_with_reports_shows_them(
    world: World, data: Dataset, agency_client: AgencyClient
) -> None:
    factories.LocationEntitlementsFactory(location=data.a1, granted={"reports": True})
    client = agency_client(world.a, world.a.client_admin)
    assert "win_rate" in page_tables(client.get(url(data.a1.pk), RANGE).content.decode())


def test_a_location_without_contacts_gets_the_welcome_state(
    world: World, agency_client: AgencyClient
) -> None:
    client = agency_client(world.a, world.a.client_admin)
    response = client.get(url(world.a.locations[0].pk))
    assert response.status_code == 200
    html = response.content.decode()
    assert "Your first leads will appear here" in html
    assert 'data-table="' not in html and "Download all as CSV" not in html


def test_a_quiet_period_shows_empty_tables_not_the_welcome(
    world: World, data: Dataset, agency_client: AgencyClient
) -> None:
    client = agency_client(world.a, world.a.client_admin)
    quiet = {"range": "custom", "from": "2025-01-01", "to": "2025-01-07"}
    html = client.get(url(data.a1.pk), quiet).content.decode()
    assert "Your first leads will appear here" not in html
    assert "Nothing in this period." in html


def test_members_open_the_dashboard_and_find_it_in_the_navigation(
    world: World, agency_client: AgencyClient
) -> None:
    sibling = world.a.locations[1]
    response = agency_client(world.a, world.a.client_member).get(url(sibling.pk))
    assert response.status_code == 200
    html = response.content.decode()
    assert f'href="/app/l/{sibling.pk}/dashboard/" aria-current="page"' in html
    assert f'href="/app/l/{sibling.pk}/contacts/"' in html
    front = agency_client(world.a, world.a.client_member).get(f"/app/l/{sibling.pk}/")
    assert front.status_code == 302 and front["Location"] == url(sibling.pk)


def test_the_page_runs_a_pinned_number_of_queries(
    world: World,
    data: Dataset,
    agency_client: AgencyClient,
    django_assert_num_queries: Any,
) -> None:
    client = agency_client(world.a, world.a.client_admin)
    client.get(url(data.a1.pk), RANGE)  # warm the session
    # 4 of the workspace (host, session user, agency role, membership with its location and
    # the location's entitlements), the reporting selector's 7 (labels, five rollups, revenue)
    # and the pack's report set.
    with django_assert_num_queries(12):
        assert client.get(url(data.a1.pk), RANGE).status_code == 200
