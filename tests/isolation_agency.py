"""Isolation cases for the agency pages (/app/agency/…): the agency's owners, admins and staff
get in (staff read-only), its client users get a 404, another agency's object is a 404, and
nobody else gets past the sign-in page."""

from __future__ import annotations

from typing import Any

from billing.models import AgencySubscription, Plan, StripeAccount
from tenants import services
from tenants.models import AgencyDomain
from tests.isolation import Check, Visitors, _redirects_to_login, _shows_nothing_of_b

LOGIN = "/accounts/login/"


def _outsiders_stay_out(v: Visitors, url: str, *, post: bool = False) -> None:
    for user in (v.world.a.client_admin, v.world.a.client_member):
        client = v.on_a(user)
        response = client.post(url) if post else client.get(url)
        assert response.status_code == 404, (url, user.email, response.status_code)
    for client in (v.on_a(), v.b_session_on_a()):
        _redirects_to_login(client.post(url) if post else client.get(url), LOGIN)


def agency_page(suffix: str = "") -> Check:
    """A plain GET agency page (``/app/agency/<suffix>``): owners, admins and staff see it."""

    def check(v: Visitors) -> None:
        url = f"/app/agency/{suffix}"
        for user in (v.world.a.owner, v.world.a.admin, v.world.a.staff):
            response = v.on_a(user).get(url)
            assert response.status_code == 200, (url, user.email, response.status_code)
            _shows_nothing_of_b(response, v.world)
        _outsiders_stay_out(v, url)

    return check


def _domain_action(action: str) -> Check:
    def check(v: Visitors) -> None:
        mine = services.agency_domain_add(
            agency=v.world.a.agency, domain="iso-a.test", acting_user=None
        )
        theirs = services.agency_domain_add(
            agency=v.world.b.agency, domain="iso-b.test", acting_user=None
        )
        url = f"/app/agency/domains/{mine.pk}/{action}/"
        assert v.on_a(v.world.a.staff).post(url).status_code == 403
        _outsiders_stay_out(v, url, post=True)
        owner = v.on_a(v.world.a.owner)
        assert owner.post(f"/app/agency/domains/{theirs.pk}/{action}/").status_code == 404
        assert owner.post(url).status_code == 302
        assert AgencyDomain.objects.for_agency(v.world.b.agency).filter(pk=theirs.pk).exists()

    return check


def _plans(suffix: str) -> Check:
    """A plan's page or its archive button: the agency's own plan only, admins only."""

    def check(v: Visitors) -> None:
        mine = Plan.objects.create(agency=v.world.a.agency, name="A", amount=100, currency="usd")
        theirs = Plan.objects.create(
            agency=v.world.b.agency, name="B secret plan", amount=100, currency="usd"
        )
        post = suffix == "archive/"
        url = f"/app/agency/billing/plans/{mine.pk}/{suffix}"
        staff = v.on_a(v.world.a.staff)
        assert (staff.post(url) if post else staff.get(url)).status_code == 403
        _outsiders_stay_out(v, url, post=post)
        owner = v.on_a(v.world.a.owner)
        foreign = f"/app/agency/billing/plans/{theirs.pk}/{suffix}"
        assert (owner.post(foreign) if post else owner.get(foreign)).status_code == 404
        if not post:
            response = owner.get(url)
            assert response.status_code == 200
            _shows_nothing_of_b(response, v.world)
        theirs.refresh_from_db()
        assert theirs.active

    return check


def _connect(v: Visitors) -> None:
    """Onboarding starts only for the domain's agency, by its owners and admins."""
    url = "/app/agency/billing/connect/"
    assert v.on_a(v.world.a.owner).get(url).status_code == 405
    assert v.on_a(v.world.a.staff).post(url).status_code == 403
    _outsiders_stay_out(v, url, post=True)
    assert not StripeAccount.objects.unscoped().exists()


def foreign_agency_subscription(w: Any) -> AgencySubscription:
    """Agency B's subscription to the platform (for the admin sites' cases)."""
    return AgencySubscription.objects.create(
        agency=w.b.agency,
        stripe_subscription_id="sub_isolationAgencyB",
        stripe_customer_id="cus_isolationAgencyB",
        status="active",
    )


def _admins_only(v: Visitors, url: str, *, post: bool = False) -> None:
    staff = v.on_a(v.world.a.staff)
    assert (staff.post(url) if post else staff.get(url)).status_code == 403, url
    _outsiders_stay_out(v, url, post=post)


def _subscription_page(v: Visitors) -> None:
    """The agency's own platform subscription: owners and admins only; B's never shows."""
    foreign_agency_subscription(v.world)
    url = "/app/agency/billing/"
    for user in (v.world.a.owner, v.world.a.admin):
        response = v.on_a(user).get(url)
        assert response.status_code == 200, (user.email, response.status_code)
        _shows_nothing_of_b(response, v.world)
        assert "sub_isolationAgencyB" not in response.content.decode()
        assert "No plan yet" in response.content.decode()
    _admins_only(v, url)


def _subscribe(v: Visitors) -> None:
    """Only a platform plan can be bought here; an agency's own plan (A's or B's) is a 404."""
    platform = Plan.objects.create(agency=None, name="Platform", amount=100, currency="usd")
    theirs = Plan.objects.create(
        agency=v.world.b.agency, name="B secret plan", amount=100, currency="usd"
    )
    mine = Plan.objects.create(agency=v.world.a.agency, name="A", amount=100, currency="usd")
    url = f"/app/agency/billing/subscribe/{platform.pk}/"
    _admins_only(v, url, post=True)
    owner = v.on_a(v.world.a.owner)
    for plan in (theirs, mine):
        assert owner.post(f"/app/agency/billing/subscribe/{plan.pk}/").status_code == 404
    assert owner.get(url).status_code == 405
    # Not synced to Stripe: refused with a message, before Stripe is called.
    assert owner.post(url).status_code == 302
    assert not AgencySubscription.objects.unscoped().exists()


def _manage(v: Visitors) -> None:
    """The customer portal of the agency's own subscription; B's customer is never used."""
    foreign_agency_subscription(v.world)
    url = "/app/agency/billing/manage/"
    _admins_only(v, url)
    response = v.on_a(v.world.a.owner).get(url)
    assert (response.status_code, response["Location"]) == (302, "/app/agency/billing/")


CASES: dict[str, Check] = {
    "app/agency/": agency_page(),
    "app/agency/branding/": agency_page("branding/"),
    "app/agency/domains/": agency_page("domains/"),
    "app/agency/domains/<int:domain_id>/verify/": _domain_action("verify"),
    "app/agency/domains/<int:domain_id>/primary/": _domain_action("primary"),
    "app/agency/domains/<int:domain_id>/remove/": _domain_action("remove"),
    "app/agency/billing/plans/": agency_page("billing/plans/"),
    "app/agency/billing/plans/<int:plan_id>/": _plans(""),
    "app/agency/billing/plans/<int:plan_id>/archive/": _plans("archive/"),
    "app/agency/billing/connect/": _connect,
    "app/agency/billing/": _subscription_page,
    "app/agency/billing/subscribe/<int:plan_id>/": _subscribe,
    "app/agency/billing/manage/": _manage,
    "app/agency/reports/": agency_page("reports/"),
    "app/agency/reports/export.csv": agency_page("reports/export.csv"),
    "app/agency/reports/export/<slug:table>/": agency_page("reports/export/leads_by_day/"),
}
