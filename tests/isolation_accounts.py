"""Isolation cases for the portal's account pages (allauth's, the invitation link): what a visitor
of agency A's domain gets with nothing, with agency B's session, or with B's keys and tokens."""

from __future__ import annotations

from allauth.account.forms import default_token_generator
from allauth.account.models import EmailAddress, EmailConfirmationHMAC
from allauth.account.utils import user_pk_to_url_str

from tenants import services
from tenants.models import Invitation
from tests.isolation import (
    Check,
    Visitors,
    _public_without_tenant_data,
    _redirects_to_login,
    _shows_nothing_of_b,
)

LOGIN = "/accounts/login/"


def _public(url: str, statuses: tuple[int, ...] = (200,)) -> Check:
    """A page anyone may open: it shows nothing of agency B, even to B's session replayed on A."""

    def check(v: Visitors) -> None:
        for client in (v.on_a(), v.b_session_on_a()):
            response = client.get(url)
            assert response.status_code in statuses, (url, response.status_code)
            _shows_nothing_of_b(response, v.world)

    return check


def _signed_in(url: str, statuses: tuple[int, ...] = (200,)) -> Check:
    """A page of one's own account: nobody and B's session go to A's sign-in; A's user gets it,
    with nothing of B on it."""

    def check(v: Visitors) -> None:
        _redirects_to_login(v.on_a().get(url), LOGIN)
        _redirects_to_login(v.b_session_on_a().get(url), LOGIN)
        response = v.on_a(v.world.a.client_admin).get(url)
        assert response.status_code in statuses, (url, response.status_code)
        _shows_nothing_of_b(response, v.world)

    return check


def _confirm_email_key(v: Visitors) -> None:
    """B's confirmation key on A's domain is an invalid link, and confirms nothing."""
    address = EmailAddress.objects.get(user=v.world.b.client_member)
    address.verified = False
    address.save(update_fields=["verified"])
    key = EmailConfirmationHMAC(address).key
    url = f"/accounts/confirm-email/{key}/"
    for client in (v.on_a(), v.b_session_on_a(), v.on_a(v.world.a.owner)):
        response = client.get(url)
        assert response.status_code == 200
        _shows_nothing_of_b(response, v.world)
        assert b"expired or is invalid" in response.content
        client.post(url)
    address.refresh_from_db()
    assert not address.verified


def _password_reset_key(v: Visitors) -> None:
    """B's valid reset link, replayed on A's domain, is refused and changes nothing."""
    user = v.world.b.client_member
    url = f"/accounts/password/reset/key/{user_pk_to_url_str(user)}-"
    url += default_token_generator.make_token(user) + "/"
    before = user.password
    for client in (v.on_a(), v.b_session_on_a()):
        response = client.get(url, follow=True)
        assert response.status_code == 200
        assert b"password reset link was invalid" in response.content
        _shows_nothing_of_b(response, v.world)
    user.refresh_from_db()
    assert user.password == before


def _invitation(v: Visitors) -> None:
    """B's invitation link on A's domain is invalid; it joins nobody to anything."""
    invitation = services.invitation_create(
        location=v.world.b.locations[0],
        email="newcomer@b.test",
        role="client_member",
        acting_user=v.world.b.owner,
    )
    token = services.invitation_url(invitation).rsplit("/invitation/", 1)[1].strip("/")
    url = f"/accounts/invitation/{token}/"
    for client in (v.on_a(), v.b_session_on_a(), v.on_a(v.world.a.client_admin)):
        response = client.get(url)
        assert response.status_code == 404
        _shows_nothing_of_b(response, v.world)
    assert Invitation.objects.for_agency(v.world.b.agency).get().accepted_at is None


ACCOUNT_CASES: dict[str, Check] = {
    "accounts/signup/": _public("/accounts/signup/"),
    "accounts/inactive/": _public("/accounts/inactive/"),
    "accounts/confirm-email/": _public("/accounts/confirm-email/"),
    "accounts/password/reset/": _public_without_tenant_data("/accounts/password/reset/"),
    "accounts/password/reset/done/": _public("/accounts/password/reset/done/"),
    "accounts/password/reset/key/done/": _public("/accounts/password/reset/key/done/"),
    "accounts/login/code/confirm/": _public("/accounts/login/code/confirm/", (302, 404)),
    "accounts/2fa/authenticate/": _public("/accounts/2fa/authenticate/", (302,)),
    "accounts/confirm-email/<str:key>/": _confirm_email_key,
    "accounts/^confirm-email/(?P<key>[-:\\w]+)/$": _confirm_email_key,
    "accounts/^password/reset/key/(?P<uidb36>[0-9A-Za-z]+)-(?P<key>.+)/$": _password_reset_key,
    "accounts/invitation/<str:token>/": _invitation,
    "accounts/email/": _signed_in("/accounts/email/"),
    "accounts/password/change/": _signed_in("/accounts/password/change/"),
    "accounts/password/set/": _signed_in("/accounts/password/set/", (302,)),
    "accounts/reauthenticate/": _signed_in("/accounts/reauthenticate/"),
    "accounts/reauthenticate/code/": _signed_in("/accounts/reauthenticate/code/", (200, 302, 404)),
    "accounts/reauthenticate/code/confirm/": _signed_in(
        "/accounts/reauthenticate/code/confirm/", (302, 404)
    ),
    "accounts/2fa/": _signed_in("/accounts/2fa/"),
    "accounts/2fa/reauthenticate/": _signed_in("/accounts/2fa/reauthenticate/", (302, 404)),
    "accounts/2fa/totp/activate/": _signed_in("/accounts/2fa/totp/activate/", (200, 302)),
    "accounts/2fa/totp/deactivate/": _signed_in("/accounts/2fa/totp/deactivate/", (302, 404)),
    "accounts/2fa/recovery-codes/": _signed_in("/accounts/2fa/recovery-codes/", (302, 404)),
    "accounts/2fa/recovery-codes/generate/": _signed_in(
        "/accounts/2fa/recovery-codes/generate/", (302, 404)
    ),
    "accounts/2fa/recovery-codes/download/": _signed_in(
        "/accounts/2fa/recovery-codes/download/", (302, 404)
    ),
    "accounts/sessions/": _signed_in("/accounts/sessions/"),
}
