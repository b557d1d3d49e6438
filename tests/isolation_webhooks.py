"""Isolation cases of the Webhooks workspace pages (added to tests.isolation.PORTAL_CASES): a
location's admins reach its own endpoints and deliveries; another location's or agency's id is a
404 whoever asks, through either location's URL, and changes nothing."""

from __future__ import annotations

from typing import Any

from integrations.webhooks_out.models import WebhookDelivery, WebhookEndpoint
from tests import factories
from tests.isolation import Check, Visitors, _redirects_to_login, workspace_page

BASE = "app/l/<int:location_id>/webhooks/"


def _objects(v: Visitors, kind: str) -> tuple[Any, Any, Any]:
    """(own, sibling location's, other agency's) endpoint or delivery."""
    own_loc, sibling_loc = v.world.a.locations
    foreign_loc = v.world.b.locations[0]
    make = (
        factories.WebhookEndpointFactory if kind == "endpoint" else factories.WebhookDeliveryFactory
    )

    def one(location: Any) -> Any:
        if kind == "endpoint":
            return make(location=location)
        return make(endpoint=factories.WebhookEndpointFactory(location=location))

    return one(own_loc), one(sibling_loc), one(foreign_loc)


def _object_case(suffix: str, kind: str, method: str, own_status: int) -> Check:
    """`suffix` has `{id}` for the endpoint's or delivery's id."""

    def check(v: Visitors) -> None:
        own_loc, sibling_loc = v.world.a.locations
        foreign_loc = v.world.b.locations[0]
        own, sibling, foreign = _objects(v, kind)
        secrets_before = _secrets()

        def url(location: Any, obj: Any) -> str:
            return f"/app/l/{location.pk}/webhooks/" + suffix.format(id=obj.pk)

        def call(client: Any, path: str) -> Any:
            return client.post(path) if method == "post" else client.get(path)

        admin = v.on_a(v.world.a.client_admin)
        for obj in (sibling, foreign):  # another location's or agency's id, through our own URL
            assert call(admin, url(own_loc, obj)).status_code == 404
        assert call(admin, url(foreign_loc, foreign)).status_code == 404
        owner = v.on_a(v.world.a.owner)
        assert call(owner, url(foreign_loc, foreign)).status_code == 404
        assert call(owner, url(own_loc, foreign)).status_code == 404
        member = v.on_a(v.world.a.client_member)  # a plain member of the sibling location
        assert call(member, url(sibling_loc, sibling)).status_code == 403
        assert call(member, url(own_loc, own)).status_code == 404
        _redirects_to_login(call(v.on_a(), url(own_loc, own)), "/accounts/login/")
        _redirects_to_login(call(v.b_session_on_a(), url(own_loc, own)), "/accounts/login/")
        # Nothing of the others changed: same secrets, no replay, no test event.
        assert _secrets(exclude=own) == {k: s for k, s in secrets_before.items() if k != own.pk}
        if kind == "delivery":
            assert WebhookDelivery.objects.unscoped().filter(pk=foreign.pk, attempts=0).exists()
        assert call(admin, url(own_loc, own)).status_code == own_status

    return check


def _secrets(exclude: Any = None) -> dict[int, str]:
    rows = WebhookEndpoint.objects.unscoped()
    if isinstance(exclude, WebhookEndpoint):
        rows = rows.exclude(pk=exclude.pk)
    return {e.pk: e.secret for e in rows}


WEBHOOK_CASES: dict[str, Check] = {
    BASE: workspace_page("webhooks/", access="admin"),
    BASE + "new/": workspace_page("webhooks/new/", access="admin"),
    BASE + "<int:endpoint_id>/": _object_case("{id}/", "endpoint", "get", 200),
    BASE + "<int:endpoint_id>/roll-secret/": _object_case(
        "{id}/roll-secret/", "endpoint", "post", 200
    ),
    BASE + "<int:endpoint_id>/test/": _object_case("{id}/test/", "endpoint", "post", 302),
    BASE + "<int:endpoint_id>/delete/": _object_case("{id}/delete/", "endpoint", "post", 302),
    BASE + "deliveries/<int:delivery_id>/": _object_case(
        "deliveries/{id}/", "delivery", "get", 200
    ),
    BASE + "deliveries/<int:delivery_id>/replay/": _object_case(
        "deliveries/{id}/replay/", "delivery", "post", 302
    ),
}
