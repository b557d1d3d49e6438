"""The agency admin: on the agency's own domain, under its brand, scoped to its rows."""

import re

import pytest

from tenants.models import AgencyDomain, AuditLogEntry, Branding, Location, User
from tests.conftest import AgencyClient, World

pytestmark = pytest.mark.django_db


def test_lists_only_the_agencys_own_locations(world: World, agency_client: AgencyClient) -> None:
    page = agency_client(world.a, world.a.owner).get("/admin/tenants/location/")
    assert page.status_code == 200
    text = page.content.decode()
    assert "A Location 1" in text and "A Location 2" in text
    assert "B Location" not in text


def test_is_served_under_the_agency_brand(world: World, agency_client: AgencyClient) -> None:
    page = agency_client(world.a, world.a.admin).get("/admin/")
    text = page.content.decode()
    assert "Brand A" in text and "--header-bg: #123456" in text
    assert "Django administration" not in text


@pytest.mark.parametrize(
    "path",
    [
        "/admin/tenants/location/{loc}/change/",
        "/admin/tenants/location/{loc}/history/",
        "/admin/tenants/agencydomain/{dom}/change/",
        "/admin/tenants/agencydomain/{dom}/delete/",
        "/admin/tenants/branding/{brand}/change/",
        "/admin/tenants/user/{user}/change/",
        "/admin/tenants/auditlogentry/{audit}/change/",
    ],
)
def test_another_agencys_objects_are_404(
    world: World, agency_client: AgencyClient, path: str
) -> None:
    b = world.b.agency
    ids = {
        "loc": world.b.locations[0].pk,
        "dom": AgencyDomain.objects.for_agency(b).get().pk,
        "brand": Branding.objects.for_agency(b).get().pk,
        "user": world.b.owner.pk,
        "audit": AuditLogEntry.objects.for_agency(b).first().pk,  # type: ignore[union-attr]
    }
    client = agency_client(world.a, world.a.owner)
    assert client.get(path.format(**ids)).status_code == 404
    assert client.post(path.format(**ids), {"name": "hijacked"}).status_code == 404
    assert Location.objects.for_agency(b).filter(name="hijacked").count() == 0


def test_foreign_key_choices_offer_only_the_agencys_rows(
    world: World, agency_client: AgencyClient
) -> None:
    text = agency_client(world.a, world.a.owner).get("/admin/tenants/user/add/").content.decode()
    options = re.findall(r'<option value="(\d+)"', text)
    assert {int(o) for o in options} == {loc.pk for loc in world.a.locations}


def test_adding_a_user_creates_the_membership_and_audits_it(
    world: World, agency_client: AgencyClient
) -> None:
    response = agency_client(world.a, world.a.admin).post(
        "/admin/tenants/user/add/",
        {
            "email": "new.agent@a.test",
            "full_name": "New Agent",
            "password": "a-long-Passphrase-42",
            "role": "client_member",
            "location": world.a.locations[1].pk,
        },
    )
    assert response.status_code == 302, response.content
    user = User.objects.get(agency=world.a.agency, email="new.agent@a.test")
    assert [(m.role, m.location) for m in user.memberships.all()] == [
        ("client_member", world.a.locations[1])
    ]
    actions = AuditLogEntry.objects.for_agency(world.a.agency).values_list("action", flat=True)
    assert {"user.created", "membership.granted"} <= set(actions)


def test_a_location_of_another_agency_cannot_be_chosen(
    world: World, agency_client: AgencyClient
) -> None:
    response = agency_client(world.a, world.a.admin).post(
        "/admin/tenants/user/add/",
        {
            "email": "sneaky@a.test",
            "password": "a-long-Passphrase-42",
            "role": "client_member",
            "location": world.b.locations[0].pk,
        },
    )
    assert response.status_code == 200
    assert "Select a valid choice" in response.content.decode()
    assert not User.objects.filter(email="sneaky@a.test").exists()


def test_editing_a_location_writes_an_audit_row(world: World, agency_client: AgencyClient) -> None:
    location = world.a.locations[0]
    response = agency_client(world.a, world.a.owner).post(
        f"/admin/tenants/location/{location.pk}/change/",
        {
            "name": "Renamed",
            "industry": "real_estate",
            "timezone": "Asia/Dubai",
            "status": "active",
        },
    )
    assert response.status_code == 302
    entry = AuditLogEntry.objects.for_agency(world.a.agency).get(action="location.updated")
    assert entry.actor == world.a.owner
    assert entry.changes == {
        "name": ["A Location 1", "Renamed"],
        "industry": ["generic", "real_estate"],
        "timezone": ["UTC", "Asia/Dubai"],
    }


def test_an_invalid_timezone_is_refused_next_to_the_field(
    world: World, agency_client: AgencyClient
) -> None:
    location = world.a.locations[0]
    response = agency_client(world.a, world.a.owner).post(
        f"/admin/tenants/location/{location.pk}/change/",
        {"name": "X", "industry": "generic", "timezone": "Nowhere/City", "status": "active"},
    )
    assert response.status_code == 200
    assert "is not a known IANA time zone" in response.content.decode()
    assert Location.objects.for_agency(world.a.agency).get(pk=location.pk).name == "A Location 1"


def test_a_domain_already_claimed_elsewhere_is_refused(
    world: World, agency_client: AgencyClient
) -> None:
    client_b = agency_client(world.b, world.b.owner)
    assert (
        client_b.post("/admin/tenants/agencydomain/add/", {"domain": "leads.example"}).status_code
        == 302
    )
    before = AgencyDomain.objects.unscoped().count()
    response = agency_client(world.a, world.a.owner).post(
        "/admin/tenants/agencydomain/add/", {"domain": "LEADS.example."}
    )
    assert response.status_code == 200
    assert "already exists" in response.content.decode()
    assert AgencyDomain.objects.unscoped().count() == before


def test_branding_list_goes_straight_to_the_agencys_branding(
    world: World, agency_client: AgencyClient
) -> None:
    response = agency_client(world.a, world.a.owner).get("/admin/tenants/branding/")
    own = Branding.objects.for_agency(world.a.agency).get()
    assert response.status_code == 302
    assert response["Location"] == f"/admin/tenants/branding/{own.pk}/change/"


def test_agency_staff_may_look_but_not_change(world: World, agency_client: AgencyClient) -> None:
    client = agency_client(world.a, world.a.staff)
    assert client.get("/admin/tenants/location/").status_code == 200
    assert client.get("/admin/tenants/location/add/").status_code == 403
    location = world.a.locations[0]
    response = client.post(
        f"/admin/tenants/location/{location.pk}/change/",
        {"name": "Nope", "industry": "generic", "timezone": "UTC", "status": "active"},
    )
    assert response.status_code == 403
    assert Location.objects.for_agency(world.a.agency).get(pk=location.pk).name == "A Location 1"


@pytest.mark.parametrize("who", ["client_admin", "client_member"])
def test_client_users_are_kept_out(world: World, agency_client: AgencyClient, who: str) -> None:
    response = agency_client(world.a, getattr(world.a, who)).get("/admin/")
    assert response.status_code == 302 and "/admin/login/" in response["Location"]


def test_anonymous_visitors_are_sent_to_the_admin_login(
    world: World, agency_client: AgencyClient
) -> None:
    response = agency_client(world.a).get("/admin/tenants/location/")
    assert response.status_code == 302 and response["Location"].startswith("/admin/login/")


@pytest.mark.parametrize("who", ["owner", "admin", "staff"])
def test_agency_members_sign_in_through_the_admin_form(world: World, who: str) -> None:
    from django.test import Client

    from tests.factories import TEST_PASSWORD

    client = Client(HTTP_HOST=world.a.domain)
    email = getattr(world.a, who).email
    response = client.post("/admin/login/", {"username": email, "password": TEST_PASSWORD})
    assert response.status_code == 302
    assert client.get("/admin/").status_code == 200


def test_client_users_are_told_to_use_the_portal(world: World) -> None:
    from django.test import Client

    from tests.factories import TEST_PASSWORD

    client = Client(HTTP_HOST=world.a.domain)
    response = client.post(
        "/admin/login/", {"username": world.a.client_admin.email, "password": TEST_PASSWORD}
    )
    assert response.status_code == 200
    assert "Client users sign in on the portal" in response.content.decode()
    assert client.get("/admin/").status_code == 302
