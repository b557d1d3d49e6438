"""Sign-in on the portal: throttled per account and per IP, sessions bound to the agency they were
made on, password reset within the agency, MFA with TOTP and recovery codes."""

import base64
import hashlib
import hmac
import re
import struct
import time

import pytest
from allauth.mfa.models import Authenticator
from django.core import mail
from django.test import Client

from tenants import services
from tests.conftest import World
from tests.factories import TEST_PASSWORD

from .conftest import SIDE_DOMAIN

pytestmark = pytest.mark.django_db

TOO_MANY = "Too many failed login attempts"


def sign_in(client: Client, email: str, password: str = TEST_PASSWORD) -> str:
    response = client.post("/accounts/login/", {"login": email, "password": password})
    return response["Location"] if response.status_code == 302 else response.content.decode()


def test_five_failures_lock_the_account_even_with_the_right_password(world: World) -> None:
    client = Client(HTTP_HOST=world.a.domain)
    email = world.a.client_admin.email
    for _ in range(5):
        assert "not correct" in sign_in(client, email, "wrong-password")
    assert TOO_MANY in sign_in(client, email)
    # From another address too: the lock is the account's.
    elsewhere = Client(HTTP_HOST=world.a.domain, REMOTE_ADDR="10.9.8.7")
    assert TOO_MANY in sign_in(elsewhere, email)
    # Other accounts, and the same email on agency B (another person), are not locked.
    assert sign_in(
        Client(HTTP_HOST=world.a.domain, REMOTE_ADDR="10.9.8.7"), world.a.owner.email
    ) == ("/app/")
    twin = services.user_create(
        agency=world.b.agency,
        email=email,
        password=TEST_PASSWORD,
        acting_user=None,
        email_verified=True,
    )
    assert sign_in(Client(HTTP_HOST=world.b.domain, REMOTE_ADDR="10.9.8.6"), twin.email) == "/app/"


def test_ten_failures_from_one_address_lock_that_address(world: World) -> None:
    client = Client(HTTP_HOST=world.a.domain, REMOTE_ADDR="10.1.1.1")
    for i in range(10):
        assert "not correct" in sign_in(client, f"nobody{i}@a.test", "wrong-password")
    assert TOO_MANY in sign_in(client, world.a.owner.email)
    assert sign_in(
        Client(HTTP_HOST=world.a.domain, REMOTE_ADDR="10.1.1.2"), world.a.owner.email
    ) == ("/app/")


def test_a_session_made_on_agency_a_is_refused_on_agency_b(world: World) -> None:
    on_a = Client(HTTP_HOST=world.a.domain)
    assert sign_in(on_a, world.a.owner.email) == "/app/"
    assert on_a.get("/app/").status_code == 200
    on_b = Client(HTTP_HOST=world.b.domain)
    on_b.cookies["sessionid"] = on_a.cookies["sessionid"].value
    response = on_b.get("/app/")
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")
    assert on_b.get("/accounts/email/").status_code == 302
    assert on_a.get("/app/").status_code == 302  # logged out, not merely hidden


def test_a_session_is_valid_on_every_domain_of_its_own_agency(branded: World) -> None:
    on_a = Client(HTTP_HOST=branded.a.domain)
    sign_in(on_a, branded.a.owner.email)
    side = Client(HTTP_HOST=SIDE_DOMAIN)
    side.cookies["sessionid"] = on_a.cookies["sessionid"].value
    assert side.get("/app/").status_code == 200


def test_password_reset_reaches_only_this_agencys_account_on_its_primary_domain(
    branded: World,
) -> None:
    world = branded
    twin = services.user_create(
        agency=world.b.agency,
        email=world.a.client_admin.email,
        password=TEST_PASSWORD,
        acting_user=None,
        email_verified=True,
    )
    client = Client(HTTP_HOST=SIDE_DOMAIN)
    response = client.post("/accounts/password/reset/", {"email": twin.email})
    assert response.status_code == 302
    (message,) = mail.outbox
    link = re.search(r"https?://\S+", str(message.body)).group(0)  # type: ignore[union-attr]
    assert link.startswith(f"http://{world.a.domain}/accounts/password/reset/key/")
    assert message.from_email.startswith('"Brand A Team" <')
    uid = link.rsplit("/key/", 1)[1].split("-", 1)[0]
    assert int(uid, 36) == world.a.client_admin.pk  # not B's twin

    on_a = Client(HTTP_HOST=world.a.domain)
    form_url = on_a.get("/" + link.split("/", 3)[3])["Location"]
    new = "a-brand-new-pass-77"
    assert on_a.post(form_url, {"password1": new, "password2": new}).status_code == 302
    assert sign_in(Client(HTTP_HOST=world.a.domain), world.a.client_admin.email, new) == "/app/"
    twin.refresh_from_db()
    assert twin.check_password(TEST_PASSWORD)

    unknown = Client(HTTP_HOST=world.a.domain).post(
        "/accounts/password/reset/", {"email": "ghost@nowhere.test"}
    )
    assert unknown.status_code == 200 and 'value="ghost@nowhere.test"' in unknown.content.decode()
    assert len(mail.outbox) == 1


def test_email_change_refuses_an_address_taken_in_the_agency(world: World) -> None:
    client = Client(HTTP_HOST=world.a.domain)
    sign_in(client, world.a.client_admin.email)
    response = client.post("/accounts/email/", {"action_add": "", "email": world.a.owner.email})
    assert response.status_code == 200
    assert "An account with this email already exists here" in response.content.decode()
    response = client.post("/accounts/email/", {"action_add": "", "email": "fresh@a-mail.test"})
    assert response.status_code == 302
    assert mail.outbox[-1].to == ["fresh@a-mail.test"]
    assert f"http://{world.a.domain}/accounts/confirm-email/" in mail.outbox[-1].body


# --- MFA -----------------------------------------------------------------------------------------


def totp(secret: str, at: float, step: int = 30) -> str:
    """RFC 6238, written out here so the test does not lean on the code under test."""
    key = base64.b32decode(secret, casefold=True)
    digest = hmac.new(key, struct.pack(">Q", int(at) // step), hashlib.sha1).digest()
    offset = digest[-1] & 0x0F
    value = struct.unpack(">I", digest[offset : offset + 4])[0] & 0x7FFFFFFF
    return f"{value % 1_000_000:06d}"


def test_totp_enrolment_then_sign_in_with_a_code_and_with_a_recovery_code(world: World) -> None:
    user = world.a.client_admin
    client = Client(HTTP_HOST=world.a.domain)
    sign_in(client, user.email)
    # Enrolling asks for the password again first (allauth's reauthentication).
    assert client.get("/accounts/2fa/totp/activate/")["Location"].startswith(
        "/accounts/reauthenticate/"
    )
    assert client.post("/accounts/reauthenticate/", {"password": TEST_PASSWORD}).status_code == 302
    page = client.get("/accounts/2fa/totp/activate/")
    assert page.status_code == 200
    # Authenticator apps list the code under the agency's brand.
    assert "issuer=Brand%20A" in page.context["totp_url"]
    secret = page.context["form"].secret
    bad = client.post("/accounts/2fa/totp/activate/", {"code": "000000"})
    assert bad.status_code == 200 and "Incorrect code" in bad.content.decode()
    assert not Authenticator.objects.filter(user=user).exists()
    now = time.time()
    response = client.post("/accounts/2fa/totp/activate/", {"code": totp(secret, now)})
    assert response.status_code == 302
    assert Authenticator.objects.filter(user=user, type="totp").exists()
    codes = client.get("/accounts/2fa/recovery-codes/").context["unused_codes"]
    assert len(codes) > 1

    # Password alone is no longer enough: the second step asks for a code.
    fresh = Client(HTTP_HOST=world.a.domain)
    assert sign_in(fresh, user.email) == "/accounts/2fa/authenticate/"
    assert fresh.get("/app/").status_code == 302
    wrong = fresh.post("/accounts/2fa/authenticate/", {"code": "123456"})
    assert wrong.status_code == 200
    assert (
        fresh.post("/accounts/2fa/authenticate/", {"code": totp(secret, now + 30)})["Location"]
        == "/app/"
    )
    assert fresh.get("/app/").status_code == 200

    with_recovery = Client(HTTP_HOST=world.a.domain)
    sign_in(with_recovery, user.email)
    response = with_recovery.post("/accounts/2fa/authenticate/", {"code": codes[0]})
    assert response["Location"] == "/app/"
    # A recovery code works once.
    again = Client(HTTP_HOST=world.a.domain)
    sign_in(again, user.email)
    assert again.post("/accounts/2fa/authenticate/", {"code": codes[0]}).status_code == 200
    assert again.get("/app/").status_code == 302


def test_the_session_list_shows_the_users_own_sessions(world: World) -> None:
    first, second = Client(HTTP_HOST=world.a.domain), Client(HTTP_HOST=world.a.domain)
    sign_in(first, world.a.owner.email)
    sign_in(second, world.a.owner.email)
    sign_in(Client(HTTP_HOST=world.a.domain), world.a.admin.email)
    page = first.get("/accounts/sessions/")
    assert page.status_code == 200
    sessions = list(page.context["sessions"])
    assert len(sessions) == 2 and {s.user_id for s in sessions} == {world.a.owner.pk}


def test_a_failed_sign_in_keeps_the_email_and_says_why(world: World) -> None:
    client = Client(HTTP_HOST=world.a.domain)
    page = sign_in(client, world.a.owner.email, "wrong-password")
    assert f'value="{world.a.owner.email}"' in page
    assert "The email address and/or password you specified are not correct." in page
    assert "Create an account" not in page  # agency A takes accounts by invitation only
    services.agency_update(
        agency=world.b.agency, acting_user=None, data={"allow_self_signup": True}
    )
    assert b"Create an account" in Client(HTTP_HOST=world.b.domain).get("/accounts/login/").content
