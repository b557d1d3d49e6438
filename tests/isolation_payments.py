"""Isolation cases of the Payments workspace pages (added to tests.isolation.PORTAL_CASES): a
location's admins reach its own payment rules; another location's or agency's rule id is a 404
whoever asks, through either location's URL, and changes nothing."""

from __future__ import annotations

from typing import Any

from billing.models import PaymentAutomation
from tests import factories
from tests.isolation import Check, Visitors, _redirects_to_login, workspace_page

BASE = "app/l/<int:location_id>/payments/"


def _rule_case(suffix: str, method: str, own_status: int) -> Check:
    """`suffix` has `{id}` for the rule's id."""

    def check(v: Visitors) -> None:
        own_loc, sibling_loc = v.world.a.locations
        foreign_loc = v.world.b.locations[0]
        own, sibling, foreign = (
            factories.PaymentAutomationFactory(location=location)
            for location in (own_loc, sibling_loc, foreign_loc)
        )
        before = _states()

        def url(location: Any, rule: Any) -> str:
            return f"/app/l/{location.pk}/payments/" + suffix.format(id=rule.pk)

        def call(client: Any, path: str) -> Any:
            return client.post(path) if method == "post" else client.get(path)

        admin = v.on_a(v.world.a.client_admin)
        for rule in (sibling, foreign):  # another location's or agency's id, through our own URL
            assert call(admin, url(own_loc, rule)).status_code == 404
        assert call(admin, url(foreign_loc, foreign)).status_code == 404
        owner = v.on_a(v.world.a.owner)
        assert call(owner, url(foreign_loc, foreign)).status_code == 404
        assert call(owner, url(own_loc, foreign)).status_code == 404
        member = v.on_a(v.world.a.client_member)  # a plain member of the sibling location
        assert call(member, url(sibling_loc, sibling)).status_code == 403
        assert call(member, url(own_loc, own)).status_code == 404
        _redirects_to_login(call(v.on_a(), url(own_loc, own)), "/accounts/login/")
        _redirects_to_login(call(v.b_session_on_a(), url(own_loc, own)), "/accounts/login/")
        assert _states() == before  # nobody switched or changed anyone's rule
        assert call(admin, url(own_loc, own)).status_code == own_status

    return check


def _states() -> dict[int, tuple[str, bool]]:
    return {r.pk: (r.name, r.enabled) for r in PaymentAutomation.objects.unscoped()}


PAYMENT_CASES: dict[str, Check] = {
    BASE: workspace_page("payments/", access="admin"),
    BASE + "rules/new/": workspace_page("payments/rules/new/", access="admin"),
    BASE + "rules/<int:automation_id>/": _rule_case("rules/{id}/", "get", 200),
    BASE + "rules/<int:automation_id>/toggle/": _rule_case("rules/{id}/toggle/", "post", 302),
}
