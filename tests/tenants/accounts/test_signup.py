"""Sign-up by invitation and by self-sign-up, verification mail in the agency's brand with links
on its primary domain, and forms that refuse bad input without saving anything."""

import re

import pytest
from allauth.account.models import EmailAddress
from django.core import mail
from django.test import Client

from tenants import services
from tenants.models import Invitation, LocationRequest, Membership, User
from tests.conftest import World

from .conftest import SIDE_DOMAIN

pytestmark = pytest.mark.django_db

PASSWORD = "a-long-and-unusual-pass-42"


def link_in(message: mail.EmailMessage) -> str:
    found = re.search(r"https?://\S+", str(message.body))
    assert found, message.body
    return found.group(0)


def path_of(url: str) -> str:
    return "/" + url.split("/", 3)[3]


def invite(world: World, email: str = "newbie@elsewhere.test") -> Invitation:
    return services.invitation_create(
        location=world.a.locations[0],
        email=email,
        role=Membership.Role.CLIENT_MEMBER,
        acting_user=world.a.owner,
    )


def test_invitation_sign_up_verifies_on_the_primary_domain_then_signs_in(
    branded: World, django_capture_on_commit_callbacks
) -> None:
    world = branded
    with django_capture_on_commit_callbacks(execute=True):
        invitation = invite(world)
    (invite_mail,) = mail.outbox
    assert invite_mail.to == ["newbie@elsewhere.test"]
    assert invite_mail.from_email.startswith('"Brand A Team" <')
    invite_link = link_in(invite_mail)
    assert invite_link.startswith(f"http://{world.a.domain}/accounts/invitation/")

    # Opened through the agency's other domain: still this agency, links still on the primary.
    visitor = Client(HTTP_HOST=SIDE_DOMAIN)
    response = visitor.get(path_of(invite_link))
    assert response.status_code == 302 and response["Location"] == "/accounts/signup/"
    assert b"newbie@elsewhere.test" in visitor.get("/accounts/signup/").content
    response = visitor.post(
        "/accounts/signup/",
        {
            "full_name": "New Bie",
            "email": "newbie@elsewhere.test",
            "password1": PASSWORD,
            "password2": PASSWORD,
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    user = User.objects.get(email="newbie@elsewhere.test")
    assert user.agency == world.a.agency and user.full_name == "New Bie"
    assert (
        Membership.objects.for_agency(world.a.agency).get(user=user).location
        == (world.a.locations[0])
    )
    invitation.refresh_from_db()
    assert invitation.accepted_by == user

    confirm_mail = mail.outbox[-1]
    assert confirm_mail.to == ["newbie@elsewhere.test"]
    assert confirm_mail.from_email.startswith('"Brand A Team" <')
    assert confirm_mail.reply_to == ["help@brand-a.test"]
    html = str(confirm_mail.alternatives[0][0])  # type: ignore[attr-defined]
    assert "https://cdn.brand-a.test/logo.png" in html and "#123456" in html
    assert SIDE_DOMAIN not in confirm_mail.body and SIDE_DOMAIN not in html
    confirm_link = link_in(confirm_mail)
    assert confirm_link.startswith(f"http://{world.a.domain}/accounts/confirm-email/")

    # Unverified: signing in sends the visitor to the "check your email" page, not the portal.
    on_a = Client(HTTP_HOST=world.a.domain)
    on_a.post("/accounts/login/", {"login": user.email, "password": PASSWORD})
    assert on_a.get("/app/").status_code == 302

    assert on_a.post(path_of(confirm_link)).status_code == 302
    assert EmailAddress.objects.get(user=user).verified
    response = on_a.post("/accounts/login/", {"login": user.email, "password": PASSWORD})
    assert response.status_code == 302
    home = on_a.get("/app/")
    assert home.status_code == 200 and "A Location 1" in home.content.decode()

    # The link is spent.
    again = Client(HTTP_HOST=world.a.domain).get(path_of(invite_link))
    assert again.status_code == 404 and b"already been used" in again.content


def test_an_invitation_fixes_the_address(world: World) -> None:
    invitation = invite(world)
    client = Client(HTTP_HOST=world.a.domain)
    client.get(f"/accounts/invitation/{services.invitation_url(invitation).split('/')[-2]}/")
    response = client.post(
        "/accounts/signup/",
        {"full_name": "X", "email": "other@x.test", "password1": PASSWORD, "password2": PASSWORD},
    )
    assert response.status_code == 200
    assert "This invitation was sent to newbie@elsewhere.test" in response.content.decode()
    assert not User.objects.filter(email="other@x.test").exists()


def test_an_existing_member_accepts_by_signing_in(world: World) -> None:
    invitation = invite(world, email=world.a.client_member.email)
    client = Client(HTTP_HOST=world.a.domain)
    response = client.get(
        f"/accounts/invitation/{services.invitation_url(invitation).split('/')[-2]}/"
    )
    assert response["Location"] == "/accounts/login/"
    client.post(
        "/accounts/login/",
        {"login": world.a.client_member.email, "password": "correct-horse-battery"},
    )
    assert world.a.client_member.memberships.filter(location=world.a.locations[0]).exists()


def test_self_sign_up_is_refused_where_the_agency_does_not_allow_it(world: World) -> None:
    assert not world.a.agency.allow_self_signup
    client = Client(HTTP_HOST=world.a.domain)
    page = client.get("/accounts/signup/")
    assert page.status_code == 200 and b"Sign Up Closed" in page.content
    client.post(
        "/accounts/signup/",
        {
            "full_name": "Walk In",
            "email": "walkin@x.test",
            "business_name": "Walk-in Ltd",
            "password1": PASSWORD,
            "password2": PASSWORD,
        },
    )
    assert not User.objects.filter(email="walkin@x.test").exists()
    assert not LocationRequest.objects.unscoped().exists()


def test_self_sign_up_records_a_location_request_the_agency_approves(
    world: World, django_capture_on_commit_callbacks
) -> None:
    services.agency_update(
        agency=world.b.agency, acting_user=None, data={"allow_self_signup": True}
    )
    client = Client(HTTP_HOST=world.b.domain)
    response = client.post(
        "/accounts/signup/",
        {
            "full_name": "Walk In",
            "email": "walkin@x.test",
            "business_name": "Walk-in Plumbing",
            "password1": PASSWORD,
            "password2": PASSWORD,
        },
    )
    assert response.status_code == 302
    user = User.objects.get(email="walkin@x.test")
    assert user.agency == world.b.agency
    request = LocationRequest.objects.for_agency(world.b.agency).get()
    assert (request.business_name, request.status, request.requested_by) == (
        "Walk-in Plumbing",
        "pending",
        user,
    )
    assert not LocationRequest.objects.for_agency(world.a.agency).exists()
    assert mail.outbox[-1].body.count(f"http://{world.b.domain}/accounts/confirm-email/") == 1

    location = services.location_request_approve(request=request, acting_user=world.b.owner)
    assert location.agency == world.b.agency and location.name == "Walk-in Plumbing"
    membership = Membership.objects.for_agency(world.b.agency).get(user=user)
    assert (membership.location, membership.role) == (location, "client_admin")


def test_bad_input_keeps_what_was_typed_shows_messages_and_saves_nothing(world: World) -> None:
    services.agency_update(
        agency=world.a.agency, acting_user=None, data={"allow_self_signup": True}
    )
    users_before = User.objects.count()
    client = Client(HTTP_HOST=world.a.domain)
    response = client.post(
        "/accounts/signup/",
        {
            "full_name": "Typed Name",
            "email": "not-an-email",
            "business_name": "",
            "password1": "short",
            "password2": "different",
        },
    )
    text = response.content.decode()
    assert response.status_code == 200
    assert 'value="Typed Name"' in text and 'value="not-an-email"' in text
    assert "Enter a valid email address." in text
    assert "This field is required." in text  # the business name
    assert User.objects.count() == users_before
    assert not LocationRequest.objects.unscoped().exists()

    # An address already used on this agency's portal is refused with a message...
    response = client.post(
        "/accounts/signup/",
        {
            "full_name": "Twin",
            "email": world.a.owner.email.upper(),
            "business_name": "Twin Ltd",
            "password1": PASSWORD,
            "password2": PASSWORD,
        },
    )
    assert "An account with this email already exists here" in response.content.decode()
    assert 'value="Twin Ltd"' in response.content.decode()
    assert User.objects.count() == users_before


def test_the_same_address_signs_up_on_another_agency(world: World) -> None:
    services.agency_update(
        agency=world.b.agency, acting_user=None, data={"allow_self_signup": True}
    )
    response = Client(HTTP_HOST=world.b.domain).post(
        "/accounts/signup/",
        {
            "full_name": "A's owner, on B",
            "email": world.a.owner.email,
            "business_name": "Side Business",
            "password1": PASSWORD,
            "password2": PASSWORD,
        },
    )
    assert response.status_code == 302
    assert User.objects.filter(email__iexact=world.a.owner.email).count() == 2
