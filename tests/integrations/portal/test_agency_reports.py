"""Cross-location reports on the agency pages (/app/agency/reports/): the agency dashboard over
the agency's own locations, its CSV exports equal to the page, and the agency-only access."""

from __future__ import annotations

import pytest

from tests.conftest import AgencyClient, World
from tests.integrations.reporting.dataset import Dataset, build
from tests.integrations.reporting.test_views import RANGE, csv_rows, page_tables

pytestmark = pytest.mark.django_db
URL = "/app/agency/reports/"


@pytest.fixture
def data(world: World) -> Dataset:
    return build(world)


def test_staff_see_every_location_and_each_csv_equals_the_page(
    world: World, data: Dataset, agency_client: AgencyClient
) -> None:
    client = agency_client(world.a, world.a.staff)
    response = client.get(URL, RANGE)
    assert response.status_code == 200
    html = response.content.decode()
    assert 'aria-current="page">Reports' in html
    tables = page_tables(html)
    assert [row[0] for row in tables["pnl"][1:]] == ["A Location 1", "A Location 2"]
    assert ["Won", "2"] in tables["win_rate"]
    assert "B Location" not in html and "5,555" not in html
    for key, shown in tables.items():
        export = client.get(f"{URL}export/{key}/", RANGE)
        assert export.status_code == 200, key
        assert export["Content-Type"].startswith("text/csv")
        assert csv_rows(export) == shown, key
    everything = csv_rows(client.get(f"{URL}export.csv", RANGE))
    assert sum(1 for row in everything if row and row[0] == "Win rate") == 2  # title + figure
    assert ["A Location 1"] not in everything  # rows carry figures, titles stand alone
    assert client.get(f"{URL}export/nonsense/", RANGE).status_code == 404


def test_one_location_and_the_filters_apply(
    world: World, data: Dataset, agency_client: AgencyClient
) -> None:
    client = agency_client(world.a, world.a.admin)
    filtered = page_tables(client.get(URL, {**RANGE, "agent": "u1"}).content.decode())
    assert ["Won", "1"] in filtered["win_rate"]
    one = client.get(URL, {**RANGE, "location": data.a1.pk})
    assert one.status_code == 200 and "A Location 1 ·" in one.content.decode()


def test_another_agencys_location_or_a_bad_range_is_refused(
    world: World, data: Dataset, agency_client: AgencyClient
) -> None:
    client = agency_client(world.a, world.a.owner)
    response = client.get(URL, {**RANGE, "location": data.b1.pk})
    assert response.status_code == 400
    assert "No such location." in response.content.decode()
    assert "5,555" not in response.content.decode()
    assert client.get(f"{URL}export.csv", {"location": data.b1.pk}).status_code == 400
    assert client.get(URL, {"range": "forever"}).status_code == 400


def test_client_users_get_a_404(world: World, agency_client: AgencyClient) -> None:
    for user in (world.a.client_admin, world.a.client_member):
        assert agency_client(world.a, user).get(URL).status_code == 404
        assert agency_client(world.a, user).get(f"{URL}export.csv").status_code == 404
