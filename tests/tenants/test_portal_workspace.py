"""The location workspace: role resolution, the side navigation and the page gate."""

import pytest
from django.http import HttpResponse
from django.test import RequestFactory
from django.urls import path

from saas_platform import urls as root_urls
from tenants import portal
from tenants.portal import Section, location_page, navigation, register_section, role_in_location
from tests.conftest import World

pytestmark = pytest.mark.django_db


def test_roles_follow_memberships(world: World) -> None:
    a = world.a
    own, sibling = a.locations
    assert role_in_location(user=a.owner, agency=a.agency, location=own) == "agency"
    assert role_in_location(user=a.staff, agency=a.agency, location=sibling) == "agency"
    assert role_in_location(user=a.client_admin, agency=a.agency, location=own) == "admin"
    assert role_in_location(user=a.client_member, agency=a.agency, location=sibling) == "member"
    assert role_in_location(user=a.client_member, agency=a.agency, location=own) is None
    assert role_in_location(user=world.b.owner, agency=a.agency, location=own) is None


@pytest.fixture
def sections(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(portal, "_SECTIONS", {})
    register_section(Section("open", "Open page", "portal:location", order=2))
    register_section(Section("admin", "Admin page", "portal:location", access="admin", order=1))
    register_section(Section("unmounted", "Elsewhere", "no-such:route"))


@pytest.mark.usefixtures("sections")
def test_navigation_hides_admin_pages_from_members_and_skips_unmounted_ones(world: World) -> None:
    location = world.a.locations[1]
    assert [i.key for i in navigation(location=location, role="member")] == ["open"]
    assert [i.key for i in navigation(location=location, role="admin")] == ["admin", "open"]
    assert navigation(location=location, role="agency")[0].url == f"/app/l/{location.pk}/"


@pytest.mark.usefixtures("sections")
def test_registering_twice_keeps_one_entry() -> None:
    register_section(Section("open", "Open page", "portal:location", order=2))
    assert [s.key for s in portal.sections()].count("open") == 1


@location_page(section="admin", access="admin")
def _admin_view(request: object, location: object) -> HttpResponse:
    return HttpResponse(f"ok {location.pk}")  # type: ignore[attr-defined]


urlpatterns = [path("x/<int:location_id>/", _admin_view), *root_urls.urlpatterns]


@pytest.mark.urls(__name__)
def test_admin_pages_refuse_members_with_403_and_strangers_with_404(world: World) -> None:
    from django.test import Client

    own, sibling = world.a.locations

    def get(user: object, location_id: int) -> int:
        client = Client(HTTP_HOST=world.a.domain)
        client.force_login(user)  # type: ignore[arg-type]
        return client.get(f"/x/{location_id}/").status_code

    assert get(world.a.client_admin, own.pk) == 200
    assert get(world.a.owner, sibling.pk) == 200
    assert get(world.a.client_member, sibling.pk) == 403
    assert get(world.a.client_member, own.pk) == 404
    assert get(world.b.owner, own.pk) == 302  # another agency's session is not valid here
    assert Client(HTTP_HOST=world.a.domain).get(f"/x/{own.pk}/").status_code == 302


def test_the_page_hands_the_view_a_workspace(world: World) -> None:
    request = RequestFactory().get("/", HTTP_HOST=world.a.domain)
    request.agency = world.a.agency  # type: ignore[attr-defined]
    request.user = world.a.client_admin
    response = _admin_view(request, location_id=world.a.locations[0].pk)
    assert response.content == f"ok {world.a.locations[0].pk}".encode()
    assert request.workspace.role == "admin"  # type: ignore[attr-defined]
    assert request.workspace.is_admin  # type: ignore[attr-defined]
