"""The isolation matrix: for every URL pattern of the project, what a visitor from the wrong tenant
(or nobody) gets.

``routes()`` enumerates every pattern of both URLconfs; ``case_for(route)`` returns its check or
None. tests/test_isolation.py fails when any route has no case, so a new URL cannot land without
saying how it keeps tenants apart. Admin patterns get their cases from the model they serve; a
model without an entry in ``FOREIGN_OBJECTS`` / ``STAFF_OBJECTS`` has no case.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import models
from django.test import Client, override_settings
from django.urls import URLResolver, get_resolver
from django_celery_beat.models import CrontabSchedule, IntervalSchedule, PeriodicTask

from billing.models import Plan, StripeAccount, StripeEvent, Subscription
from integrations.ghl.models import GhlInstallation, GhlOAuthState
from integrations.inbox.models import InboundEvent
from tenants import services
from tenants.models import AgencyDomain, AuditLogEntry, Branding, LocationRequest, Membership
from tests import factories
from tests.conftest import World

URLCONFS = {"agency": settings.ROOT_URLCONF, "platform": settings.PLATFORM_URLCONF}


@dataclass(frozen=True)
class Route:
    surface: str  # "agency" (agency domains) or "platform" (platform hosts)
    pattern: str

    def __str__(self) -> str:
        return f"{self.surface}:{self.pattern or '<root>'}"


def routes(urlconfs: dict[str, str] = URLCONFS) -> list[Route]:
    def walk(resolver: URLResolver, prefix: str) -> list[str]:
        found: list[str] = []
        for entry in resolver.url_patterns:
            if isinstance(entry, URLResolver):
                found += walk(entry, prefix + str(entry.pattern))
            else:
                found.append(prefix + str(entry.pattern))
        return found

    return [
        Route(surface, pattern)
        for surface, urlconf in urlconfs.items()
        for pattern in walk(get_resolver(urlconf), "")
    ]


# --- the visitors --------------------------------------------------------------------------------


class Visitors:
    """Clients on agency A's domain (the one under test) and on the platform host."""

    def __init__(self, world: World) -> None:
        self.world = world

    def on_a(self, user: Any = None) -> Client:
        client = Client(HTTP_HOST=self.world.a.domain)
        if user is not None:
            client.force_login(user)
        return client

    def b_session_on_a(self) -> Client:
        """Agency B's owner, signed in on B, replaying the session cookie on A's domain."""
        on_b = Client(HTTP_HOST=self.world.b.domain)
        on_b.force_login(self.world.b.owner)
        on_a = Client(HTTP_HOST=self.world.a.domain)
        on_a.cookies["sessionid"] = on_b.cookies["sessionid"].value
        return on_a

    def on_platform(self, user: Any = None) -> Client:
        client = Client(HTTP_HOST="localhost")
        if user is not None:
            client.force_login(user)
        return client


Check = Callable[[Visitors], None]


def _redirects_to_login(response: Any, login_path: str) -> None:
    assert response.status_code == 302, response.status_code
    assert response["Location"].startswith(login_path), response["Location"]


def _shows_nothing_of_b(response: Any, world: World) -> None:
    text = response.content.decode(errors="replace")
    for marker in ("Brand B", "B Location", world.b.owner.email, world.b.domain):
        assert marker not in text, f"{marker!r} leaked into agency A's page"


def _requires_admin_login(v: Visitors, url: str) -> None:
    _redirects_to_login(v.on_a().get(url), "/admin/login/")
    _redirects_to_login(v.b_session_on_a().get(url), "/admin/login/")
    _redirects_to_login(v.on_a(v.world.a.client_admin).get(url), "/admin/login/")


# --- agency admin --------------------------------------------------------------------------------

# The object of agency B that agency A's admin must not reach, per model on the agency site.
FOREIGN_OBJECTS: dict[str, Callable[[World], models.Model]] = {
    "tenants.location": lambda w: w.b.locations[0],
    "tenants.agencydomain": lambda w: AgencyDomain.objects.for_agency(w.b.agency).get(),
    "tenants.branding": lambda w: Branding.objects.for_agency(w.b.agency).get(),
    "tenants.user": lambda w: w.b.owner,
    "tenants.auditlogentry": lambda w: AuditLogEntry.objects.for_agency(w.b.agency).first(),  # type: ignore[arg-type, return-value]
    "tenants.invitation": lambda w: services.invitation_create(
        location=w.b.locations[0],
        email="invitee@b.test",
        role="client_member",
        acting_user=w.b.owner,
    ),
    "tenants.locationrequest": lambda w: LocationRequest.objects.create(
        agency=w.b.agency, requested_by=w.b.client_member, business_name="B Location Request"
    ),
    "integrations.ghlinstallation": lambda w: factories.GhlInstallationFactory(
        agency=w.b.agency, location=w.b.locations[0]
    ),
    "integrations.ghlcalllog": lambda w: factories.GhlCallLogFactory(
        installation=factories.GhlInstallationFactory(agency=w.b.agency, location=w.b.locations[0])
    ),
    "integrations.locationsync": lambda w: factories.LocationSyncFactory(location=w.b.locations[0]),
    "integrations.syncrun": lambda w: factories.SyncRunFactory(location=w.b.locations[0]),
    "integrations.inboundevent": lambda w: factories.InboundEventFactory(
        location_id=w.b.locations[0].ghl_location_id, company_id=w.b.agency.ghl_company_id
    ),
    "integrations.mirrorcontact": lambda w: factories.MirrorContactFactory(
        location=w.b.locations[0], first_name="B", last_name="Location Lead"
    ),
    "integrations.externalconnection": lambda w: factories.ExternalConnectionFactory(
        location=w.b.locations[0]
    ),
    "integrations.externalsyncrun": lambda w: factories.ExternalSyncRunFactory(
        connection=factories.ExternalConnectionFactory(location=w.b.locations[0])
    ),
    "integrations.syncconflict": lambda w: factories.SyncConflictFactory(
        link=factories.ExternalLinkFactory(
            connection=factories.ExternalConnectionFactory(location=w.b.locations[0])
        )
    ),
    "integrations.fieldoverwrite": lambda w: factories.FieldOverwriteFactory(
        connection=factories.ExternalConnectionFactory(location=w.b.locations[0])
    ),
    "integrations.contactimport": lambda w: factories.ContactImportFactory(
        location=w.b.locations[0], error_report="row,reason\n2,bad\n"
    ),
    "integrations.reportschedule": lambda w: factories.ReportScheduleFactory(
        location=w.b.locations[0], recipients="b-reports@b.test"
    ),
    "integrations.bulkjob": lambda w: (
        factories.BulkJobItemFactory(
            job=factories.BulkJobFactory(agency=w.b.agency), location=w.b.locations[0]
        ).job
    ),
    "integrations.packactivation": lambda w: factories.PackActivationFactory(
        location=w.b.locations[0]
    ),
    "integrations.routingrule": lambda w: factories.RoutingRuleFactory(location=w.b.locations[0]),
    "integrations.agentprofile": lambda w: factories.AgentProfileFactory(location=w.b.locations[0]),
    "integrations.routingdecision": lambda w: factories.RoutingDecisionFactory(
        location=w.b.locations[0]
    ),
    "billing.stripeaccount": lambda w: StripeAccount.objects.create(
        agency=w.b.agency, stripe_account_id="acct_isolationB01"
    ),
    "billing.plan": lambda w: Plan.objects.create(
        agency=w.b.agency, name="B secret plan", amount=100, currency="usd"
    ),
    "billing.subscription": lambda w: Subscription.objects.create(
        location=w.b.locations[0],
        stripe_account_id="acct_isolationB01",
        stripe_subscription_id="sub_isolationB01",
        status="active",
    ),
    "billing.paymentautomation": lambda w: factories.PaymentAutomationFactory(
        location=w.b.locations[0], name="B secret rule"
    ),
    "billing.paymentrequest": lambda w: factories.PaymentRequestFactory(
        automation=factories.PaymentAutomationFactory(location=w.b.locations[0]),
        opportunity_name="B secret deal",
    ),
    "integrations.webhookendpoint": lambda w: factories.WebhookEndpointFactory(
        location=w.b.locations[0], description="B Location hooks"
    ),
    "integrations.webhookdelivery": lambda w: factories.WebhookDeliveryFactory(
        endpoint=factories.WebhookEndpointFactory(location=w.b.locations[0])
    ),
}

MODEL_ROUTE = re.compile(
    r"^admin/(?P<app>\w+)/(?P<model>\w+)/(?P<rest>|add/|<path:object_id>/(history/|delete/|change/)?)$"
)
# A page of one object that a ModelAdmin adds in get_urls (a download, …): the same check.
OBJECT_SUBPAGE_ROUTE = re.compile(
    r"^admin/(?P<app>\w+)/(?P<model>\w+)/(?P<rest><path:object_id>/[\w-]+/)$"
)


def _agency_model_case(label: str, rest: str) -> Check | None:
    if label not in FOREIGN_OBJECTS:
        return None
    app, model = label.split(".")
    base = f"/admin/{app}/{model}/"

    def check(v: Visitors) -> None:
        foreign = FOREIGN_OBJECTS[label](v.world)
        if rest.startswith("<path:object_id>"):
            url = base + rest.replace("<path:object_id>", str(foreign.pk))
            owner = v.on_a(v.world.a.owner)
            # The bare object URL redirects to its change page, which is the 404.
            assert owner.get(url, follow=True).status_code == 404, url
            assert owner.post(url, {}, follow=True).status_code == 404, url
        else:
            url = base + rest
            response = v.on_a(v.world.a.owner).get(url, follow=True)
            assert response.status_code in (200, 403), (url, response.status_code)
            _shows_nothing_of_b(response, v.world)
            assert str(foreign) not in response.content.decode() or label == "tenants.branding"
        _requires_admin_login(v, url)

    return check


def _agency_admin_case(pattern: str) -> Check | None:
    fixed: dict[str, Check] = {
        "admin/": _admin_index,
        "admin/login/": _admin_login,
        "admin/logout/": _admin_logout,
        "admin/password_change/": lambda v: _requires_admin_login(v, "/admin/password_change/"),
        "admin/password_change/done/": lambda v: _requires_admin_login(
            v, "/admin/password_change/done/"
        ),
        "admin/autocomplete/": _admin_autocomplete,
        "admin/jsi18n/": lambda v: _requires_admin_login(v, "/admin/jsi18n/"),
        "admin/(?P<url>.*)$": _admin_catch_all,
        "admin/integrations/routingrule/simulate/": _simulate_routing,
        "admin/billing/stripeaccount/onboard/": _stripe_onboard,
        REPORTS: _reports_dashboard,
        REPORTS + "export/<slug:table>/": _reports_export,
    }
    if pattern in fixed:
        return fixed[pattern]
    if pattern.startswith("admin/^(?P<app_label>"):
        return _admin_app_index
    match = MODEL_ROUTE.match(pattern) or OBJECT_SUBPAGE_ROUTE.match(pattern)
    if match:
        return _agency_model_case(f"{match['app']}.{match['model']}", match["rest"])
    return None


def _stripe_onboard(v: Visitors) -> None:
    """Onboarding starts for the agency of the domain only, for its owners and admins."""
    url = "/admin/billing/stripeaccount/onboard/"
    assert v.on_a(v.world.a.owner).get(url).status_code == 405
    # B's owner on A's domain is not signed in there: to the login page, nothing created.
    _redirects_to_login(v.b_session_on_a().post(url), "/admin/login/")
    assert v.on_a(v.world.a.staff).post(url).status_code == 403
    _requires_admin_login(v, url)
    assert not StripeAccount.objects.unscoped().exists()


def _simulate_routing(v: Visitors) -> None:
    """The form offers only the agency's locations; another agency's is a 404."""
    url = "/admin/integrations/routingrule/simulate/"
    owner = v.on_a(v.world.a.owner)
    page = owner.get(url)
    assert page.status_code == 200
    _shows_nothing_of_b(page, v.world)
    foreign = owner.get(url, {"location": v.world.b.locations[0].pk, "days": 7})
    assert foreign.status_code == 404
    _requires_admin_login(v, url)


REPORTS = "admin/integrations/reportschedule/dashboard/"


def _reports_dashboard(v: Visitors) -> None:
    """A's dashboards sum A's locations; naming one of B's is refused like a missing one."""
    url = "/" + REPORTS
    owner = v.on_a(v.world.a.owner)
    response = owner.get(url)
    assert response.status_code == 200
    _shows_nothing_of_b(response, v.world)
    foreign = owner.get(url, {"location": v.world.b.locations[0].pk})
    assert foreign.status_code == 400
    _shows_nothing_of_b(foreign, v.world)
    assert owner.get(url, {"agency": v.world.b.agency.pk}).status_code == 200  # ignored here
    _requires_admin_login(v, url)


def _reports_export(v: Visitors) -> None:
    url = f"/{REPORTS}export/pnl/"
    owner = v.on_a(v.world.a.owner)
    response = owner.get(url)
    assert response.status_code == 200
    _shows_nothing_of_b(response, v.world)
    assert owner.get(url, {"location": v.world.b.locations[0].pk}).status_code == 400
    _requires_admin_login(v, url)


def _admin_index(v: Visitors) -> None:
    response = v.on_a(v.world.a.owner).get("/admin/")
    assert response.status_code == 200
    _shows_nothing_of_b(response, v.world)
    _requires_admin_login(v, "/admin/")


def _admin_app_index(v: Visitors) -> None:
    response = v.on_a(v.world.a.owner).get("/admin/tenants/")
    assert response.status_code == 200
    _shows_nothing_of_b(response, v.world)
    _requires_admin_login(v, "/admin/tenants/")


def _admin_login(v: Visitors) -> None:
    page = v.on_a().get("/admin/login/")
    assert page.status_code == 200 and "Brand A" in page.content.decode()
    _shows_nothing_of_b(page, v.world)
    client = v.on_a()
    attempt = client.post(
        "/admin/login/", {"username": v.world.b.owner.email, "password": "correct-horse-battery"}
    )
    assert attempt.status_code == 200  # B's credentials mean nothing on A's domain
    _redirects_to_login(client.get("/admin/"), "/admin/login/")


def _admin_logout(v: Visitors) -> None:
    on_b = Client(HTTP_HOST=v.world.b.domain)
    on_b.force_login(v.world.b.owner)
    replay = Client(HTTP_HOST=v.world.a.domain)
    replay.cookies["sessionid"] = on_b.cookies["sessionid"].value
    assert replay.post("/admin/logout/").status_code in (200, 302)
    _shows_nothing_of_b(replay.post("/admin/logout/"), v.world)


def _admin_autocomplete(v: Visitors) -> None:
    """Autocomplete answers from the target model's scoped admin queryset."""
    owner = v.on_a(v.world.a.owner)
    for field, foreign in (("location", v.world.b.locations), ("user", [v.world.b.owner])):
        url = f"/admin/autocomplete/?app_label=tenants&model_name=membership&field_name={field}"
        response = owner.get(url)
        assert response.status_code == 200, response.status_code
        ids = {int(item["id"]) for item in response.json()["results"]}
        assert ids and not ids & {obj.pk for obj in foreign}, (field, ids)
        _requires_admin_login(v, url)


def _admin_catch_all(v: Visitors) -> None:
    url = "/admin/tenants/agency/"  # agencies are not on the agency site at all
    assert v.on_a(v.world.a.owner).get(url).status_code == 404
    assert v.on_a().get(url).status_code in (302, 404)


def _public_without_tenant_data(url: str) -> Check:
    def check(v: Visitors) -> None:
        response = v.on_a().get(url)
        assert response.status_code == 200
        _shows_nothing_of_b(response, v.world)

    return check


# --- portal --------------------------------------------------------------------------------------


def _portal_landing(v: Visitors) -> None:
    response = v.on_a().get("/")
    assert response.status_code == 200 and "Brand A" in response.content.decode()
    _shows_nothing_of_b(response, v.world)


def _portal_login(v: Visitors) -> None:
    _public_without_tenant_data("/accounts/login/")(v)
    client = v.on_a()
    client.post(
        "/accounts/login/",
        {"login": v.world.b.owner.email, "password": "correct-horse-battery"},
    )
    _redirects_to_login(client.get("/app/"), "/accounts/login/")


def _portal_logout(v: Visitors) -> None:
    assert v.b_session_on_a().post("/accounts/logout/").status_code == 302


def _portal_home(v: Visitors) -> None:
    response = v.on_a(v.world.a.client_admin).get("/app/")
    text = response.content.decode()
    assert response.status_code == 200
    assert "A Location 1" in text and "A Location 2" not in text  # only their own location
    _shows_nothing_of_b(response, v.world)
    _redirects_to_login(v.on_a().get("/app/"), "/accounts/login/")
    _redirects_to_login(v.b_session_on_a().get("/app/"), "/accounts/login/")


def workspace_page(suffix: str = "", *, access: str = "member") -> Check:
    """A location workspace page (``/app/l/<location_id>/<suffix>``, GET): its own users get
    200, an admin-only page refuses the client's plain member (403), and every other location,
    agency or visitor is a 404 or the sign-in page."""

    def check(v: Visitors) -> None:
        own, sibling = v.world.a.locations
        foreign = v.world.b.locations[0]

        def url(location_id: int) -> str:
            return f"/app/l/{location_id}/{suffix}"

        admin = v.on_a(v.world.a.client_admin)
        response = admin.get(url(own.pk), follow=True)
        assert response.status_code == 200, (url(own.pk), response.status_code)
        _shows_nothing_of_b(response, v.world)
        assert admin.get(url(sibling.pk)).status_code == 404
        assert admin.get(url(foreign.pk)).status_code == 404
        assert admin.get(url(999999999)).status_code == 404
        member = v.on_a(v.world.a.client_member)
        expected = 200 if access == "member" else 403
        assert member.get(url(sibling.pk), follow=True).status_code == expected
        assert member.get(url(own.pk)).status_code == 404
        assert v.on_a(v.world.a.staff).get(url(own.pk), follow=True).status_code == 200
        owner = v.on_a(v.world.a.owner)
        assert owner.get(url(foreign.pk)).status_code == 404
        _redirects_to_login(v.on_a().get(url(own.pk)), "/accounts/login/")
        _redirects_to_login(v.b_session_on_a().get(url(own.pk)), "/accounts/login/")

    return check


def _payment_portal(v: Visitors) -> None:
    """Only the location's client admin and the agency's admins; another location's or
    agency's is a 404 (Stripe is unreachable here, so nothing is opened either way)."""
    own, sibling = v.world.a.locations
    client = v.on_a(v.world.a.client_admin)
    assert client.get(f"/billing/portal/{sibling.pk}/").status_code == 404
    assert client.get(f"/billing/portal/{v.world.b.locations[0].pk}/").status_code == 404
    assert client.get(f"/billing/portal/{own.pk}/").status_code == 404  # no subscription yet
    member = v.on_a(v.world.a.client_member)
    assert member.get(f"/billing/portal/{sibling.pk}/").status_code == 404  # not an admin
    owner = v.on_a(v.world.a.owner)
    assert owner.get(f"/billing/portal/{v.world.b.locations[0].pk}/").status_code == 404
    _redirects_to_login(v.on_a().get(f"/billing/portal/{own.pk}/"), "/accounts/login/")
    _redirects_to_login(v.b_session_on_a().get(f"/billing/portal/{own.pk}/"), "/accounts/login/")


def _checkout(v: Visitors) -> None:
    """Only the location's client admin and the agency's admins, only the agency's own plans;
    anything else is a 404 and nothing reaches Stripe (it is unreachable here)."""
    own, sibling = v.world.a.locations
    mine = Plan.objects.create(agency=v.world.a.agency, name="A plan", amount=100, currency="usd")
    theirs = Plan.objects.create(
        agency=v.world.b.agency, name="B secret plan", amount=100, currency="usd"
    )
    b_location = v.world.b.locations[0]
    client = v.on_a(v.world.a.client_admin)
    assert client.post(f"/billing/checkout/{sibling.pk}/{mine.pk}/").status_code == 404
    assert client.post(f"/billing/checkout/{b_location.pk}/{theirs.pk}/").status_code == 404
    assert client.post(f"/billing/checkout/{own.pk}/{theirs.pk}/").status_code == 404
    assert client.get(f"/billing/checkout/{own.pk}/{mine.pk}/").status_code == 405
    refused = client.post(f"/billing/checkout/{own.pk}/{mine.pk}/")  # not in Stripe yet
    assert refused.status_code == 400 and b"not ready" in refused.content
    member = v.on_a(v.world.a.client_member)
    assert member.post(f"/billing/checkout/{sibling.pk}/{mine.pk}/").status_code == 404
    owner = v.on_a(v.world.a.owner)
    assert owner.post(f"/billing/checkout/{b_location.pk}/{theirs.pk}/").status_code == 404
    path = f"/billing/checkout/{own.pk}/{mine.pk}/"
    _redirects_to_login(v.on_a().post(path), "/accounts/login/")
    _redirects_to_login(v.b_session_on_a().post(path), "/accounts/login/")


def _connect_ghl(v: Visitors) -> None:
    """Connecting GHL binds the flow to the visitor's own agency; nobody else may start one."""
    response = v.on_a(v.world.a.owner).get("/integrations/ghl/connect/")
    assert response.status_code == 302 and "chooselocation" in response["Location"]
    assert set(GhlOAuthState.objects.values_list("agency_id", flat=True)) == {v.world.a.agency.pk}
    for client in (v.on_a(), v.b_session_on_a(), v.on_a(v.world.a.client_admin)):
        _redirects_to_login(client.get("/integrations/ghl/connect/"), "/admin/login/")
    assert GhlOAuthState.objects.count() == 1


PORTAL_CASES: dict[str, Check] = {
    "integrations/ghl/connect/": _connect_ghl,
    "": _portal_landing,
    "accounts/login/": _portal_login,
    "accounts/logout/": _portal_logout,
    "app/": _portal_home,
    "app/l/<int:location_id>/": workspace_page(),
    "billing/portal/<int:location_id>/": _payment_portal,
    "billing/checkout/<int:location_id>/<int:plan_id>/": _checkout,
}


# --- platform surface: the staff admin and public endpoints ------------------------------------

# One existing object per model on the staff site (operators see every tenant's rows).
STAFF_OBJECTS: dict[str, Callable[[World], models.Model]] = {
    "tenants.agency": lambda w: w.b.agency,
    "tenants.location": lambda w: w.b.locations[0],
    "tenants.agencydomain": lambda w: AgencyDomain.objects.for_agency(w.b.agency).get(),
    "tenants.user": lambda w: w.b.owner,
    "tenants.membership": lambda w: Membership.objects.for_agency(w.b.agency).first(),  # type: ignore[arg-type, return-value]
    "tenants.auditlogentry": lambda w: AuditLogEntry.objects.for_agency(w.b.agency).first(),  # type: ignore[arg-type, return-value]
    "integrations.ghlinstallation": lambda w: factories.GhlInstallationFactory(
        agency=w.b.agency, location=w.b.locations[0]
    ),
    "integrations.ghlcalllog": lambda w: factories.GhlCallLogFactory(
        installation=factories.GhlInstallationFactory(agency=w.b.agency, location=w.b.locations[0])
    ),
    "integrations.inboundevent": lambda w: factories.InboundEventFactory(),
    "integrations.locationsync": lambda w: factories.LocationSyncFactory(location=w.b.locations[0]),
    "integrations.syncrun": lambda w: factories.SyncRunFactory(location=w.b.locations[0]),
    "integrations.externalconnection": lambda w: factories.ExternalConnectionFactory(
        location=w.b.locations[0]
    ),
    "integrations.externalsyncrun": lambda w: factories.ExternalSyncRunFactory(
        connection=factories.ExternalConnectionFactory(location=w.b.locations[0])
    ),
    "integrations.reportschedule": lambda w: factories.ReportScheduleFactory(
        location=w.b.locations[0], recipients="b-reports@b.test"
    ),
    "integrations.bulkjob": lambda w: (
        factories.BulkJobItemFactory(
            job=factories.BulkJobFactory(agency=w.b.agency), location=w.b.locations[0]
        ).job
    ),
    "integrations.packactivation": lambda w: factories.PackActivationFactory(
        location=w.b.locations[0]
    ),
    "integrations.routingrule": lambda w: factories.RoutingRuleFactory(location=w.b.locations[0]),
    "integrations.agentprofile": lambda w: factories.AgentProfileFactory(location=w.b.locations[0]),
    "integrations.routingdecision": lambda w: factories.RoutingDecisionFactory(
        location=w.b.locations[0]
    ),
    "django_celery_beat.periodictask": lambda w: PeriodicTask.objects.create(
        name="probe",
        task="saas_platform.tasks.sessions_clear_expired",
        interval=IntervalSchedule.objects.create(every=10, period="seconds"),
    ),
    "django_celery_beat.intervalschedule": lambda w: IntervalSchedule.objects.create(
        every=5, period="minutes"
    ),
    "django_celery_beat.crontabschedule": lambda w: CrontabSchedule.objects.create(minute="7"),
    "billing.stripeaccount": lambda w: StripeAccount.objects.create(
        agency=w.b.agency, stripe_account_id="acct_isolationB01"
    ),
    "billing.plan": lambda w: Plan.objects.create(
        agency=w.b.agency, name="B secret plan", amount=100, currency="usd"
    ),
    "billing.subscription": lambda w: Subscription.objects.create(
        location=w.b.locations[0],
        stripe_account_id="acct_isolationB01",
        stripe_subscription_id="sub_isolationB01",
        status="active",
    ),
    "billing.stripeevent": lambda w: StripeEvent.objects.create(
        source="connect", event_id="evt_isolation", event_type="invoice.paid", body=b"{}"
    ),
    "billing.paymentautomation": lambda w: factories.PaymentAutomationFactory(
        location=w.b.locations[0], name="B secret rule"
    ),
    "billing.paymentrequest": lambda w: factories.PaymentRequestFactory(
        automation=factories.PaymentAutomationFactory(location=w.b.locations[0])
    ),
    "integrations.webhookendpoint": lambda w: factories.WebhookEndpointFactory(
        location=w.b.locations[0]
    ),
    "integrations.webhookdelivery": lambda w: factories.WebhookDeliveryFactory(
        endpoint=factories.WebhookEndpointFactory(location=w.b.locations[0])
    ),
}


def _only_operators(url: str, operator_status: tuple[int, ...] = (200,)) -> Check:
    def check(v: Visitors) -> None:
        _redirects_to_login(v.on_platform().get(url), "/admin/login/")
        # An agency owner's session is not valid on the platform host at all.
        _redirects_to_login(v.on_platform(v.world.a.owner).get(url), "/admin/login/")
        status = v.on_platform(v.world.operator).get(url).status_code
        assert status in operator_status, (url, status)

    return check


def _staff_case(pattern: str) -> Check | None:
    match = MODEL_ROUTE.match(pattern)
    if match and not pattern.startswith("admin/password_change/"):
        label = f"{match['app']}.{match['model']}"
        if label not in STAFF_OBJECTS:
            return None
        rest = match["rest"]

        def check(v: Visitors) -> None:
            obj = STAFF_OBJECTS[label](v.world)
            url = f"/admin/{match['app']}/{match['model']}/" + rest.replace(
                "<path:object_id>", str(obj.pk)
            )
            _only_operators(url, (200, 302, 403))(v)
            if "<path:object_id>" in rest:
                missing = url.replace(f"/{obj.pk}/", "/987654321/")
                operator = v.on_platform(v.world.operator)
                assert operator.get(missing, follow=True).status_code == 404

        return check
    fixed: dict[str, Check] = {
        "admin/": _only_operators("/admin/"),
        "admin/login/": _platform_login,
        "admin/logout/": _platform_logout,
        "admin/password_change/": _only_operators("/admin/password_change/"),
        "admin/password_change/done/": _only_operators("/admin/password_change/done/"),
        "admin/autocomplete/": _only_operators("/admin/autocomplete/", (403,)),
        "admin/jsi18n/": _only_operators("/admin/jsi18n/"),
        "admin/(?P<url>.*)$": _only_operators("/admin/nothing-here/", (404,)),
        "admin/integrations/routingrule/simulate/": _only_operators(
            "/admin/integrations/routingrule/simulate/"
        ),
        REPORTS: _only_operators("/" + REPORTS),
        REPORTS + "export/<slug:table>/": _only_operators(f"/{REPORTS}export/win_rate/"),
        "healthz": lambda v: _assert_status(v.on_platform().get("/healthz"), 200),
        "readyz": _readyz,
        "metrics": _metrics,
        "integrations/ghl/oauth/callback": _ghl_callback,
        "integrations/ghl/webhooks": _ghl_webhook,
        "billing/stripe/webhooks": _stripe_webhook("/billing/stripe/webhooks"),
        "billing/stripe/connect-webhooks": _stripe_webhook("/billing/stripe/connect-webhooks"),
        "": _platform_home,
    }
    if pattern in fixed:
        return fixed[pattern]
    if pattern.startswith("admin/^(?P<app_label>"):
        return _only_operators("/admin/tenants/")
    return None


def _assert_status(response: Any, status: int) -> None:
    assert response.status_code == status, response.status_code


def _readyz(v: Visitors) -> None:
    _assert_status(v.on_platform().get("/readyz"), 200)
    _assert_status(v.on_a().get("/readyz"), 404)  # probes use a platform host


def _metrics(v: Visitors) -> None:
    """No token configured: no page; with one, only its bearer (never an agency's session)."""
    _assert_status(v.on_platform().get("/metrics"), 404)
    with override_settings(METRICS_TOKEN="scrape-token-for-tests"):
        _assert_status(v.on_platform(v.world.operator).get("/metrics"), 401)
        ok = v.on_platform().get("/metrics", HTTP_AUTHORIZATION="Bearer scrape-token-for-tests")
        _assert_status(ok, 200)
        _assert_status(v.on_a(v.world.a.owner).get("/metrics"), 404)


def _platform_login(v: Visitors) -> None:
    client = v.on_platform()
    client.post(
        "/admin/login/", {"username": v.world.a.owner.email, "password": "correct-horse-battery"}
    )
    _redirects_to_login(client.get("/admin/"), "/admin/login/")


def _ghl_callback(v: Visitors) -> None:
    """A state issued to agency A cannot be replayed, forged or used for anyone else."""
    client = v.on_platform()
    url = "/integrations/ghl/oauth/callback"
    state = factories.GhlOAuthStateFactory(agency=v.world.a.agency)
    forged = client.get(url, {"code": "x", "state": "forged"})
    assert forged.status_code == 400
    # GHL is unreachable in this test: the real state is spent, nothing is stored.
    assert client.get(url, {"code": "x", "state": state.state}).status_code == 400
    assert client.get(url, {"code": "x", "state": state.state}).status_code == 400
    assert not GhlInstallation.objects.unscoped().exists()


def _ghl_webhook(v: Visitors) -> None:
    client = v.on_platform()
    url = "/integrations/ghl/webhooks"
    body = b'{"type":"UNINSTALL","webhookId":"w1","locationId":"x"}'
    assert client.post(url, body, content_type="application/json").status_code == 401
    assert client.get(url).status_code == 405
    assert not InboundEvent.objects.exists()


def _stripe_webhook(url: str) -> Check:
    """Only a delivery signed with our endpoint's secret is taken; nothing else is stored."""

    def check(v: Visitors) -> None:
        client = v.on_platform(v.world.a.owner)
        body = b'{"id":"evt_1","type":"account.updated","account":"acct_1","data":{"object":{}}}'
        assert client.post(url, body, content_type="application/json").status_code == 400
        forged = "t=9999999999,v1=" + "0" * 64
        response = client.post(
            url, body, content_type="application/json", HTTP_STRIPE_SIGNATURE=forged
        )
        assert response.status_code == 400
        assert client.get(url).status_code == 405
        assert not StripeEvent.objects.exists()

    return check


def _platform_logout(v: Visitors) -> None:
    assert v.on_platform(v.world.a.owner).post("/admin/logout/").status_code in (200, 302)


def _platform_home(v: Visitors) -> None:
    response = v.on_platform().get("/")
    assert response.status_code == 200
    for marker in ("Brand A", "Brand B"):
        assert marker not in response.content.decode()


# --- lookup --------------------------------------------------------------------------------------


def case_for(route: Route) -> Check | None:
    if route.surface == "agency":
        if route.pattern.startswith("admin/"):
            return _agency_admin_case(route.pattern)
        from tests.isolation_accounts import ACCOUNT_CASES  # its cases build on this module

        return PORTAL_CASES.get(route.pattern) or ACCOUNT_CASES.get(route.pattern)
    if route.surface == "platform":
        return _staff_case(route.pattern)
    return None


def uncovered(all_routes: list[Route]) -> list[Route]:
    return [route for route in all_routes if case_for(route) is None]


# --- workspace: pipeline board and appointments (integrations/portal) ---------------------------


def _opportunity_move(v: Visitors) -> None:
    """Only an opportunity of the URL's location, to a stage of its own pipeline; the world has
    no GHL connection, so the own case ends in a message, never in a GHL call."""
    own, sibling = v.world.a.locations
    stages = [{"id": "iso-stage-1", "name": "New"}, {"id": "iso-stage-2", "name": "Won"}]
    for location in (own, sibling, v.world.b.locations[0]):
        factories.MirrorPipelineFactory(location=location, ghl_id="iso-pipe", stages=stages)
    mine = factories.MirrorOpportunityFactory(
        location=own, ghl_id="iso-opp-a", pipeline_ghl_id="iso-pipe", stage_ghl_id="iso-stage-1"
    )
    theirs = factories.MirrorOpportunityFactory(
        location=v.world.b.locations[0],
        ghl_id="iso-opp-b",
        pipeline_ghl_id="iso-pipe",
        stage_ghl_id="iso-stage-1",
    )

    def url(location_id: int, opportunity_id: str) -> str:
        return f"/app/l/{location_id}/pipeline/opportunities/{opportunity_id}/move/"

    move = {"stage": "iso-stage-2"}
    admin = v.on_a(v.world.a.client_admin)
    assert admin.post(url(own.pk, mine.ghl_id), move).status_code == 302
    assert admin.post(url(own.pk, mine.ghl_id), {"stage": "elsewhere"}).status_code == 404
    assert admin.post(url(own.pk, theirs.ghl_id), move).status_code == 404
    assert admin.post(url(sibling.pk, mine.ghl_id), move).status_code == 404
    assert admin.get(url(own.pk, mine.ghl_id)).status_code == 405
    member = v.on_a(v.world.a.client_member)
    assert member.post(url(own.pk, mine.ghl_id), move).status_code == 404
    owner = v.on_a(v.world.a.owner)
    assert owner.post(url(v.world.b.locations[0].pk, theirs.ghl_id), move).status_code == 404
    _redirects_to_login(v.on_a().post(url(own.pk, mine.ghl_id), move), "/accounts/login/")
    _redirects_to_login(v.b_session_on_a().post(url(own.pk, mine.ghl_id), move), "/accounts/login/")
    mine.refresh_from_db()
    theirs.refresh_from_db()
    assert mine.stage_ghl_id == theirs.stage_ghl_id == "iso-stage-1"


def _appointment_book(v: Visitors) -> None:
    """The booking page like any workspace page; a POST naming another location's contact is
    a 404 before anything reaches GHL."""
    workspace_page("appointments/book/")(v)
    own = v.world.a.locations[0]
    foreign = factories.MirrorContactFactory(location=v.world.b.locations[0], ghl_id="iso-c-b")
    data = {"calendar": "cal", "slot": "2030-01-01T10:00:00+00:00", "contact": foreign.ghl_id}
    url = f"/app/l/{own.pk}/appointments/book/"
    assert v.on_a(v.world.a.client_admin).post(url, data).status_code == 404
    assert v.on_a(v.world.a.client_member).post(url, data).status_code == 404
    _redirects_to_login(v.on_a().post(url, data), "/accounts/login/")
    _redirects_to_login(v.b_session_on_a().post(url, data), "/accounts/login/")


PORTAL_CASES |= {
    "app/l/<int:location_id>/pipeline/": workspace_page("pipeline/"),
    "app/l/<int:location_id>/pipeline/opportunities/<str:opportunity_id>/move/": _opportunity_move,
    "app/l/<int:location_id>/appointments/": workspace_page("appointments/"),
    "app/l/<int:location_id>/appointments/book/": _appointment_book,
}
# --- workspace: dashboard and contacts (integrations/portal/) ------------------------------------


def _workspace_contact(v: Visitors) -> None:
    """A contact's page: its own location's users see it; another location's contact under the
    own location's id, or under its own location, is a 404; nobody else gets past sign-in."""
    own, sibling = v.world.a.locations
    mine = factories.MirrorContactFactory(location=own, ghl_id="ContactOwn00000001")
    theirs = factories.MirrorContactFactory(location=sibling, ghl_id="ContactSib00000001")
    foreign = factories.MirrorContactFactory(
        location=v.world.b.locations[0], ghl_id="ContactB0000000001", first_name="Secret"
    )
    admin = v.on_a(v.world.a.client_admin)
    response = admin.get(f"/app/l/{own.pk}/contacts/{mine.ghl_id}/")
    assert response.status_code == 200
    _shows_nothing_of_b(response, v.world)
    for contact in (theirs, foreign):
        assert admin.get(f"/app/l/{own.pk}/contacts/{contact.ghl_id}/").status_code == 404
    assert admin.get(f"/app/l/{sibling.pk}/contacts/{theirs.ghl_id}/").status_code == 404
    member = v.on_a(v.world.a.client_member)
    assert member.get(f"/app/l/{sibling.pk}/contacts/{theirs.ghl_id}/").status_code == 200
    assert member.get(f"/app/l/{own.pk}/contacts/{mine.ghl_id}/").status_code == 404
    owner = v.on_a(v.world.a.owner)
    b_url = f"/app/l/{v.world.b.locations[0].pk}/contacts/{foreign.ghl_id}/"
    assert owner.get(b_url).status_code == 404
    url = f"/app/l/{own.pk}/contacts/{mine.ghl_id}/"
    _redirects_to_login(v.on_a().get(url), "/accounts/login/")
    _redirects_to_login(v.b_session_on_a().get(url), "/accounts/login/")


# --- workspace: routing and sync (integrations/portal/) -----------------------------------------


def _location_object(
    make: Callable[[Any], Any], suffix: str, *, method: str = "get", data: Any = None
) -> Check:
    """A workspace page about one object of a location (``app/l/<location>/<suffix>`` with
    ``{id}`` in the suffix): the location's admin reaches their own object (200, or 302 after a
    POST); another location's or agency's object, or their own object under another location,
    is a 404; a plain member is refused; nobody else gets past the sign-in page."""

    def check(v: Visitors) -> None:
        own, sibling = v.world.a.locations
        foreign = v.world.b.locations[0]

        def call(client: Client, location: Any, obj: Any) -> Any:
            url = f"/app/l/{location.pk}/{suffix.format(id=obj.pk)}"
            return getattr(client, method)(url, data or {})

        admin = v.on_a(v.world.a.client_admin)
        mine, theirs, b_obj = make(own), make(sibling), make(foreign)
        assert call(admin, own, theirs).status_code == 404
        assert call(admin, own, b_obj).status_code == 404
        assert call(admin, sibling, theirs).status_code == 404
        assert call(v.on_a(v.world.a.owner), foreign, b_obj).status_code == 404
        assert call(v.on_a(v.world.a.client_member), sibling, theirs).status_code == 403
        _redirects_to_login(call(v.on_a(), own, mine), "/accounts/login/")
        _redirects_to_login(call(v.b_session_on_a(), own, mine), "/accounts/login/")
        response = call(admin, own, mine)
        assert response.status_code in ((200,) if method == "get" else (302,)), response.status_code
        if method == "get" and not getattr(response, "streaming", False):
            _shows_nothing_of_b(response, v.world)

    return check


def _rule(location: Any) -> Any:
    return factories.RoutingRuleFactory(location=location, name=f"Rule of {location.pk}")


def _profile(location: Any) -> Any:
    return factories.AgentProfileFactory(location=location)


def _connection(location: Any) -> Any:
    # A loopback database: the SSRF guard refuses it before any socket is opened.
    connection = factories.ExternalConnectionFactory(
        location=location, kind="sql", config={"table": "leads"}
    )
    connection.secrets = {"url": "postgresql://u:p@127.0.0.1:1/leads"}
    connection.save()
    return connection


def _run(location: Any) -> Any:
    return factories.ExternalSyncRunFactory(connection=_connection(location))


def _conflict(location: Any) -> Any:
    link = factories.ExternalLinkFactory(connection=_connection(location))
    return factories.SyncConflictFactory(link=link)


def _failed_import(location: Any) -> Any:
    return factories.ContactImportFactory(
        location=location, status="partial", failed_rows=1, error_report="row,reason\n2,bad\n"
    )


def _csv_export(v: Visitors) -> None:
    """The location's contacts as CSV: its own admin only; another location's connection's
    mapping is a 404 like the other location itself."""
    own, sibling = v.world.a.locations
    factories.MirrorContactFactory(location=sibling, email="sibling-secret@example.test")
    admin = v.on_a(v.world.a.client_admin)
    response = admin.get(f"/app/l/{own.pk}/sync/csv/contacts.csv")
    assert response.status_code == 200
    assert b"sibling-secret" not in b"".join(response.streaming_content)
    theirs = _connection(sibling)
    url = f"/app/l/{own.pk}/sync/csv/contacts.csv?connection={theirs.pk}"
    assert admin.get(url).status_code == 404
    assert admin.get(f"/app/l/{sibling.pk}/sync/csv/contacts.csv").status_code == 404
    member = v.on_a(v.world.a.client_member)
    assert member.get(f"/app/l/{sibling.pk}/sync/csv/contacts.csv").status_code == 403
    _redirects_to_login(v.on_a().get(f"/app/l/{own.pk}/sync/csv/contacts.csv"), "/accounts/login/")


def _new_connection(v: Visitors) -> None:
    workspace_page("sync/new/https/", access="admin")(v)
    own = v.world.a.locations[0]
    assert v.on_a(v.world.a.client_admin).get(f"/app/l/{own.pk}/sync/new/ftp/").status_code == 404


PORTAL_CASES.update(
    {
        "app/l/<int:location_id>/dashboard/": workspace_page("dashboard/"),
        "app/l/<int:location_id>/dashboard/export.csv": workspace_page("dashboard/export.csv"),
        "app/l/<int:location_id>/contacts/": workspace_page("contacts/"),
        "app/l/<int:location_id>/contacts/<str:contact_id>/": _workspace_contact,
    }
)
# The workspace's billing, team and settings pages (their cases build on this module).
from tests.isolation_workspace_admin import CASES as _WORKSPACE_ADMIN_CASES  # noqa: E402

PORTAL_CASES.update(_WORKSPACE_ADMIN_CASES)


PORTAL_CASES.update(
    {
        "app/l/<int:location_id>/routing/": workspace_page("routing/", access="admin"),
        "app/l/<int:location_id>/routing/rules/new/": workspace_page(
            "routing/rules/new/", access="admin"
        ),
        "app/l/<int:location_id>/routing/rules/<int:rule_id>/": _location_object(
            _rule, "routing/rules/{id}/"
        ),
        "app/l/<int:location_id>/routing/rules/<int:rule_id>/toggle/": _location_object(
            _rule, "routing/rules/{id}/toggle/", method="post"
        ),
        "app/l/<int:location_id>/routing/rules/<int:rule_id>/move/": _location_object(
            _rule, "routing/rules/{id}/move/", method="post", data={"direction": "up"}
        ),
        "app/l/<int:location_id>/routing/rules/<int:rule_id>/delete/": _location_object(
            _rule, "routing/rules/{id}/delete/", method="post"
        ),
        "app/l/<int:location_id>/routing/agents/": workspace_page(
            "routing/agents/", access="admin"
        ),
        "app/l/<int:location_id>/routing/agents/new/": workspace_page(
            "routing/agents/new/", access="admin"
        ),
        "app/l/<int:location_id>/routing/agents/<int:profile_id>/": _location_object(
            _profile, "routing/agents/{id}/"
        ),
        "app/l/<int:location_id>/routing/agents/<int:profile_id>/delete/": _location_object(
            _profile, "routing/agents/{id}/delete/", method="post"
        ),
        "app/l/<int:location_id>/routing/simulate/": workspace_page(
            "routing/simulate/?days=7", access="admin"
        ),
        "app/l/<int:location_id>/routing/decisions/": workspace_page(
            "routing/decisions/", access="admin"
        ),
        "app/l/<int:location_id>/sync/": workspace_page("sync/", access="admin"),
        "app/l/<int:location_id>/sync/new/<slug:kind>/": _new_connection,
        "app/l/<int:location_id>/sync/<int:connection_id>/": _location_object(
            _connection, "sync/{id}/"
        ),
        "app/l/<int:location_id>/sync/<int:connection_id>/edit/": _location_object(
            _connection, "sync/{id}/edit/"
        ),
        "app/l/<int:location_id>/sync/<int:connection_id>/sync-now/": _location_object(
            _connection, "sync/{id}/sync-now/", method="post"
        ),
        "app/l/<int:location_id>/sync/<int:connection_id>/pause/": _location_object(
            _connection, "sync/{id}/pause/", method="post"
        ),
        "app/l/<int:location_id>/sync/<int:connection_id>/resume/": _location_object(
            _connection, "sync/{id}/resume/", method="post"
        ),
        "app/l/<int:location_id>/sync/<int:connection_id>/check/": _location_object(
            _connection, "sync/{id}/check/", method="post"
        ),
        "app/l/<int:location_id>/sync/runs/<int:run_id>/progress/": _location_object(
            _run, "sync/runs/{id}/progress/"
        ),
        "app/l/<int:location_id>/sync/conflicts/": workspace_page(
            "sync/conflicts/", access="admin"
        ),
        "app/l/<int:location_id>/sync/conflicts/<int:conflict_id>/resolve/": _location_object(
            _conflict, "sync/conflicts/{id}/resolve/", method="post", data={"choose": "ghl"}
        ),
        "app/l/<int:location_id>/sync/csv/": workspace_page("sync/csv/", access="admin"),
        "app/l/<int:location_id>/sync/csv/contacts.csv": _csv_export,
        "app/l/<int:location_id>/sync/csv/upload/": workspace_page(
            "sync/csv/upload/", access="admin"
        ),
        "app/l/<int:location_id>/sync/csv/imports/<int:import_id>/errors.csv": _location_object(
            _failed_import, "sync/csv/imports/{id}/errors.csv"
        ),
    }
)
# The REST API's cases live beside this module (they build on its visitors).
from tests.isolation_api import API_CASES, foreign_api_key  # noqa: E402

PORTAL_CASES.update(API_CASES)
FOREIGN_OBJECTS["tenants.apikey"] = foreign_api_key
STAFF_OBJECTS["tenants.apikey"] = foreign_api_key
# --- embedded SSO (integrations/ghl/sso.py) ------------------------------------------------------


def _sso_payload(tenant: Any, user: Any, **overrides: Any) -> str:
    from sandbox.ghl.sso import encrypted_context

    context = {
        "userId": "GhlIsolationUser0001",
        "companyId": tenant.agency.ghl_company_id,
        "type": "location",
        "activeLocation": tenant.locations[0].ghl_location_id,
        "email": user.email,
        "userName": "Isolation",
    }
    return encrypted_context(context | overrides, settings.GHL_SSO_SHARED_SECRET)


def _sso_page(v: Visitors) -> None:
    """The SSO page is public (it only asks the CRM frame), and branded with the domain's agency."""
    for client in (v.on_a(), v.b_session_on_a()):
        response = client.get("/integrations/sso/ghl/")
        assert response.status_code == 200
        assert "Brand A" in response.content.decode() and "Brand B" not in response.content.decode()


def _sso_sign_in(v: Visitors) -> None:
    """A's payload signs in on A; B's company or B's location on A's domain never does."""
    a, b = v.world.a, v.world.b
    url, origin = "/integrations/sso/ghl/sign-in/", f"http://{a.domain}"

    def post(payload: str) -> Any:
        return v.on_a().post(url, {"payload": payload}, HTTP_ORIGIN=origin)

    assert post(_sso_payload(a, a.client_admin)).status_code == 302
    assert post(_sso_payload(b, b.client_admin)).status_code == 403
    own_company_foreign_location = _sso_payload(
        a, a.client_admin, activeLocation=b.locations[0].ghl_location_id
    )
    assert post(own_company_foreign_location).status_code == 404
    assert post("garbage").status_code == 400
    session_of_b = v.b_session_on_a()
    response = session_of_b.post(url, {"payload": _sso_payload(b, b.owner)}, HTTP_ORIGIN=origin)
    assert response.status_code == 403
    assert v.on_a().get(url).status_code == 405


PORTAL_CASES |= {
    "integrations/sso/ghl/": _sso_page,
    "integrations/sso/ghl/sign-in/": _sso_sign_in,
}
# The agency pages (/app/agency/…; their cases build on this module).
from tests.isolation_agency import CASES as _AGENCY_PAGE_CASES  # noqa: E402
from tests.isolation_agency import foreign_agency_subscription  # noqa: E402

PORTAL_CASES.update(_AGENCY_PAGE_CASES)
FOREIGN_OBJECTS["billing.agencysubscription"] = foreign_agency_subscription
STAFF_OBJECTS["billing.agencysubscription"] = foreign_agency_subscription
# Outbound webhooks' workspace pages (the module builds on this one, so it comes last).
from tests.isolation_webhooks import WEBHOOK_CASES  # noqa: E402

PORTAL_CASES.update(WEBHOOK_CASES)
# The REST API's second part (pipelines … subscriptions; their cases build on this module).
from tests.isolation_api_resources import API_RESOURCE_CASES  # noqa: E402

PORTAL_CASES.update(API_RESOURCE_CASES)
# Payment automations' workspace pages.
from tests.isolation_payments import PAYMENT_CASES  # noqa: E402

PORTAL_CASES.update(PAYMENT_CASES)
