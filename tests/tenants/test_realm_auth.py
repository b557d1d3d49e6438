"""Accounts live in one realm: an agency's portal or the platform. Credentials and sessions from
one realm are worthless in another."""

import pytest
from django.test import Client

from tenants import services
from tests.conftest import AgencyClient, World
from tests.factories import TEST_PASSWORD

pytestmark = pytest.mark.django_db


def login(client: Client, email: str, password: str = TEST_PASSWORD) -> int:
    response = client.post("/accounts/login/", {"login": email, "password": password})
    return response.status_code


def test_a_user_signs_in_on_their_agency_domain(world: World) -> None:
    client = Client(HTTP_HOST=world.a.domain)
    assert login(client, world.a.client_admin.email) == 302
    assert client.get("/app/").status_code == 200


def test_credentials_of_agency_b_do_not_work_on_agency_a(world: World) -> None:
    client = Client(HTTP_HOST=world.a.domain)
    response = client.post(
        "/accounts/login/", {"login": world.b.owner.email, "password": TEST_PASSWORD}
    )
    assert response.status_code == 200
    assert b"email address and/or password you specified are not correct" in response.content
    assert client.get("/app/").status_code == 302


def test_the_same_email_on_two_agencies_is_two_accounts(world: World) -> None:
    twin = services.user_create(
        agency=world.b.agency,
        email=world.a.owner.email,
        password="another-pass-99",
        acting_user=None,
        email_verified=True,
    )
    assert login(Client(HTTP_HOST=world.b.domain), twin.email, "another-pass-99") == 302
    assert login(Client(HTTP_HOST=world.a.domain), twin.email, "another-pass-99") == 200
    assert login(Client(HTTP_HOST=world.b.domain), twin.email, TEST_PASSWORD) == 200


def test_a_session_cookie_from_agency_a_is_refused_on_agency_b(
    world: World, agency_client: AgencyClient
) -> None:
    on_a = agency_client(world.a, world.a.owner)
    assert on_a.get("/app/").status_code == 200
    stolen = on_a.cookies["sessionid"].value
    on_b = Client(HTTP_HOST=world.b.domain)
    on_b.cookies["sessionid"] = stolen
    response = on_b.get("/app/")
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]
    # ...and the session is gone for good, not merely hidden on B.
    assert on_a.get("/app/").status_code == 302


def test_operators_sign_in_only_on_the_platform(world: World) -> None:
    client = Client(HTTP_HOST=world.a.domain)
    assert login(client, world.operator.email) == 200
    platform = Client(HTTP_HOST="localhost")
    response = platform.post(
        "/admin/login/?next=/admin/",
        {"username": world.operator.email, "password": TEST_PASSWORD, "next": "/admin/"},
    )
    assert response.status_code == 302
    assert platform.get("/admin/").status_code == 200


def test_agency_owners_cannot_sign_in_to_the_staff_admin(world: World) -> None:
    platform = Client(HTTP_HOST="localhost")
    response = platform.post(
        "/admin/login/", {"username": world.a.owner.email, "password": TEST_PASSWORD}
    )
    assert response.status_code == 200
    assert platform.get("/admin/").status_code == 302


def test_inactive_users_cannot_sign_in(world: World) -> None:
    services.user_update(user=world.a.staff, acting_user=world.a.owner, data={"is_active": False})
    assert login(Client(HTTP_HOST=world.a.domain), world.a.staff.email) == 200


def test_sign_out(world: World, agency_client: AgencyClient) -> None:
    client = agency_client(world.a, world.a.owner)
    assert client.post("/accounts/logout/").status_code == 302
    assert client.get("/app/").status_code == 302
