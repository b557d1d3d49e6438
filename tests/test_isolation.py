"""Every URL of the project, visited as the wrong tenant (and as nobody)."""

import pytest

from tests import isolation
from tests.conftest import World

ALL_ROUTES = isolation.routes()


def test_every_url_pattern_has_a_cross_tenant_case() -> None:
    missing = isolation.uncovered(ALL_ROUTES)
    assert not missing, (
        "URL patterns without an isolation case (add one in tests/isolation.py): "
        + ", ".join(map(str, missing))
    )


def test_the_gate_catches_a_url_added_without_a_case() -> None:
    probe = isolation.routes({"agency": "tests.isolation_probe_urls"})
    assert [str(r) for r in isolation.uncovered(probe)] == ["agency:app/reports/export/"]


def test_the_gate_catches_an_admin_model_without_a_foreign_object(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delitem(isolation.FOREIGN_OBJECTS, "tenants.location")
    missing = {str(r) for r in isolation.uncovered(ALL_ROUTES)}
    assert "agency:admin/tenants/location/<path:object_id>/change/" in missing


def test_the_matrix_covers_both_surfaces() -> None:
    surfaces = {route.surface for route in ALL_ROUTES}
    assert surfaces == {"agency", "platform"}
    assert len(ALL_ROUTES) > 40


@pytest.mark.django_db
@pytest.mark.parametrize("route", ALL_ROUTES, ids=str)
def test_cross_tenant_visit(world: World, route: isolation.Route) -> None:
    check = isolation.case_for(route)
    assert check is not None
    check(isolation.Visitors(world))
