"""The contact list and contact pages in the workspace: what a client sees, htmx in place,
validation, empty states, paging links, the 404 for other tenants' contacts, pinned queries."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from html import unescape
from typing import Any

import pytest

from tenants.models import Location
from tests import factories
from tests.conftest import AgencyClient, World

pytestmark = pytest.mark.django_db


def at(day: int, hour: int = 12, minute: int = 0) -> datetime:
    return datetime(2026, 3, day, hour, minute, tzinfo=UTC)


NEXT_LINK = (
    r'<a href="([^"]+)" hx-get="[^"]+" hx-target="#contact-results" hx-push-url="true" '
    r'rel="next">'
)
TIMELINE_ENTRY = (
    r'<li><time[^>]*>[^<]*</time><span class="badge">(\w+)</span>'
    r"<span><strong>([^<]+)</strong>"
)


def listing(location_id: int) -> str:
    return f"/app/l/{location_id}/contacts/"


def names(html: str) -> list[str]:
    return [
        unescape(n) for n in re.findall(r'<td><a href="[^"]+/contacts/[^"]+/">([^<]+)</a>', html)
    ]


def test_the_list_shows_the_locations_contacts_with_their_agent(
    world: World, agency_client: AgencyClient
) -> None:
    own = world.a.locations[0]
    factories.MirrorUserFactory(location=own, ghl_id="u1", first_name="Amal", last_name="Haddad")
    factories.MirrorContactFactory(
        location=own, ghl_id="c1", first_name="Zoe", last_name="Stone", assigned_to="u1",
        tags=["vip"], phone="+15550102030",
    )  # fmt: skip
    factories.MirrorContactFactory(location=world.a.locations[1], first_name="Sibling")
    response = agency_client(world.a, world.a.client_admin).get(listing(own.pk))
    assert response.status_code == 200
    html = response.content.decode()
    assert names(html) == ["Zoe Stone"]
    assert f'href="/app/l/{own.pk}/contacts/c1/"' in html
    assert "Amal Haddad" in html and '<span class="badge">vip</span>' in html
    assert f'hx-get="/app/l/{own.pk}/contacts/"' in html and 'hx-push-url="true"' in html
    assert "GHL" not in html


def test_the_filter_form_works_with_and_without_htmx(
    world: World, agency_client: AgencyClient
) -> None:
    own = world.a.locations[0]
    factories.MirrorContactFactory(location=own, first_name="Amal", last_name="One")
    factories.MirrorContactFactory(location=own, first_name="Bilal", last_name="Two")
    client = agency_client(world.a, world.a.client_admin)
    plain = client.get(listing(own.pk), {"q": "amal"})
    assert names(plain.content.decode()) == ["Amal One"]
    assert "<html" in plain.content.decode()
    swapped = client.get(
        listing(own.pk), {"q": "bilal"}, HTTP_HX_REQUEST="true", HTTP_HX_TARGET="contact-results"
    )
    html = swapped.content.decode()
    assert names(html) == ["Bilal Two"]
    assert "<html" not in html and "<form" not in html  # only the results are swapped
    assert "HX-Request" in swapped["Vary"]


def test_empty_states_tell_no_contacts_from_no_match(
    world: World, agency_client: AgencyClient
) -> None:
    own = world.a.locations[0]
    client = agency_client(world.a, world.a.client_admin)
    assert "No contacts yet" in client.get(listing(own.pk)).content.decode()
    factories.MirrorContactFactory(location=own, first_name="Amal")
    html = client.get(listing(own.pk), {"tag": "nope"}).content.decode()
    assert "No contacts match these filters" in html and "No contacts yet" not in html


def test_bad_filters_are_explained_not_guessed(world: World, agency_client: AgencyClient) -> None:
    own = world.a.locations[0]
    factories.MirrorContactFactory(location=own, first_name="Amal")
    client = agency_client(world.a, world.a.client_admin)
    html = unescape(client.get(listing(own.pk), {"created_from": "yesterday"}).content.decode())
    assert "“Added from” is not a date like 2026-03-01." in html and names(html) == []
    html = unescape(
        client.get(
            listing(own.pk), {"created_from": "2026-03-05", "created_to": "2026-03-01"}
        ).content.decode()
    )
    assert "“Added from” is after “Added to”." in html
    assert (
        'value="yesterday"'
        in client.get(listing(own.pk), {"created_from": "yesterday"}).content.decode()
    )  # what was typed is kept to correct


def test_paging_follows_next_links_to_the_end(world: World, agency_client: AgencyClient) -> None:
    own = world.a.locations[0]
    for i in range(120):
        factories.MirrorContactFactory(
            location=own,
            first_name=f"Lead{i:03d}",
            last_name="X",
            date_added=at(1) + timedelta(minutes=i),
        )
    client = agency_client(world.a, world.a.client_admin)
    seen: list[str] = []
    url, query = listing(own.pk), {"sort": "oldest", "source": "Website"}
    response = client.get(url, query)
    while True:
        html = response.content.decode()
        seen += names(html)
        found = re.search(NEXT_LINK, html)
        if not found:
            break
        next_url = unescape(found.group(1))
        assert "sort=oldest" in next_url and "source=Website" in next_url
        response = client.get(next_url)
    assert seen == [f"Lead{i:03d} X" for i in range(120)]
    assert "← First page" in html  # fmt: skip


def test_the_list_runs_a_pinned_number_of_queries(
    world: World, agency_client: AgencyClient, django_assert_num_queries: Any
) -> None:
    own = world.a.locations[0]
    for _ in range(60):
        factories.MirrorContactFactory(location=own, tags=["a", "b"])
    client = agency_client(world.a, world.a.client_admin)
    client.get(listing(own.pk))
    # 4 of the workspace, the agents, the sources and one page of contacts.
    with django_assert_num_queries(7):
        assert client.get(listing(own.pk), {"q": "lead", "tag": "a"}).status_code == 200


def test_members_of_the_location_see_its_contacts(
    world: World, agency_client: AgencyClient
) -> None:
    sibling = world.a.locations[1]
    factories.MirrorContactFactory(location=sibling, ghl_id="s1", first_name="Mo", last_name="Lee")
    member = agency_client(world.a, world.a.client_member)
    assert names(member.get(listing(sibling.pk)).content.decode()) == ["Mo Lee"]
    assert member.get(f"{listing(sibling.pk)}s1/").status_code == 200
    assert member.get(listing(world.a.locations[0].pk)).status_code == 404


# --- one contact ------------------------------------------------------------------------------


@pytest.fixture
def contact_page(world: World) -> dict[str, Any]:
    own = world.a.locations[0]
    mk = {"location": own}
    factories.MirrorUserFactory(**mk, ghl_id="u1", first_name="Amal", last_name="Haddad")
    factories.MirrorUserFactory(**mk, ghl_id="u2", first_name="Bilal", last_name="Khan")
    factories.PackActivationFactory(**mk, pack_key="real_estate", fields={"area": "FieldArea01"})
    contact = factories.MirrorContactFactory(
        **mk, ghl_id="c1", first_name="Zoe", last_name="Stone", email="zoe@example.test",
        phone="+15550102030", tags=["vip", "buyer"], assigned_to="u1", date_added=at(1, 9),
        custom_fields={"FieldArea01": "Dubai Marina", "FieldOther99": ["a", "b"], "Empty": ""},
    )  # fmt: skip
    factories.MirrorPipelineFactory(
        **mk, ghl_id="p1", name="Sales",
        stages=[{"id": "s1", "name": "New"}, {"id": "s2", "name": "Viewing booked"}],
    )  # fmt: skip
    factories.MirrorOpportunityFactory(
        **mk, ghl_id="o1", contact_ghl_id="c1", pipeline_ghl_id="p1", stage_ghl_id="s2",
        name="2BR Marina", status="open", monetary_value=Decimal("1500000"),
        ghl_created_at=at(1, 10),
    )  # fmt: skip
    factories.MirrorMessageFactory(
        **mk, contact_ghl_id="c1", conversation_ghl_id="k1", direction="inbound",
        message_type="TYPE_SMS", date_added=at(1, 9, 1),
    )  # fmt: skip
    factories.MirrorMessageFactory(
        **mk, contact_ghl_id="c1", conversation_ghl_id="k1", direction="outbound",
        message_type="TYPE_EMAIL", user_ghl_id="u1", date_added=at(1, 9, 5),
    )  # fmt: skip
    factories.MirrorConversationFactory(
        **mk, ghl_id="k2", contact_ghl_id="c1", last_message_type="TYPE_WHATSAPP",
        last_message_at=at(3), unread_count=2,
    )  # fmt: skip
    factories.MirrorAppointmentFactory(
        **mk, contact_ghl_id="c1", title="Viewing", status="confirmed",
        assigned_user_ghl_id="u1", start_time=at(4, 15),
    )  # fmt: skip
    factories.RoutingDecisionFactory(
        **mk, contact_ghl_id="c1", status="unroutable", is_current=False, created_at=at(1, 9, 2),
        rule_name="", candidates=[], timings={"total_ms": 3},
    )  # fmt: skip
    factories.RoutingDecisionFactory(
        **mk, contact_ghl_id="c1", status="assigned", agent_ghl_id="u1", rule_name="Marina leads",
        strategy="round_robin", created_at=at(1, 9, 3), ghl_written_at=at(1, 9, 4),
        candidates=[
            {"agent": "u2", "pool": "main", "eligible": False, "reason": "out_of_office"},
            {"agent": "u1", "pool": "main", "eligible": True, "reason": "", "chosen": True},
        ],
        timings={"total_ms": 12, "match_ms": 2},
    )  # fmt: skip
    return {"location": own, "contact": contact}


def test_the_contact_page_shows_fields_timeline_and_routing(
    world: World, agency_client: AgencyClient, contact_page: dict[str, Any]
) -> None:
    own = contact_page["location"]
    response = agency_client(world.a, world.a.client_admin).get(f"{listing(own.pk)}c1/")
    assert response.status_code == 200
    html = unescape(response.content.decode())
    assert "<h1>Zoe Stone</h1>" in html and "zoe@example.test" in html
    assert "<dt>Assigned to</dt><dd>Amal Haddad</dd>" in html
    assert "<dt>Preferred Area</dt><dd>Dubai Marina</dd>" in html  # named by the pack
    assert "<dt>FieldOther99</dt><dd>a, b</dd>" in html  # unknown ones by id
    assert "<dt>Empty</dt>" not in html
    timeline = re.findall(TIMELINE_ENTRY, html)
    assert timeline == [
        ("Appointment", "Viewing"),
        ("Message", "Last WhatsApp in a conversation"),
        ("Opportunity", "2BR Marina"),
        ("Message", "Sent E-mail"),
        ("Routing", "Assigned to Amal Haddad"),
        ("Routing", "Could not be assigned"),
        ("Message", "Received SMS"),
    ]  # fmt: skip
    assert "Sales / Viewing booked · Open · 1,500,000.00" in html
    assert "Skipped: out of office" in html and "<strong>Chosen</strong>" in html
    assert "Marina leads" in html and "total 12 ms, match 2 ms" in html
    assert "replaced by a later decision" in html and "No rule matched" in html
    assert "GHL" not in html and "u1" not in re.sub(r"<[^>]+>", "", html)


def test_another_locations_contact_is_a_404(
    world: World, agency_client: AgencyClient, contact_page: dict[str, Any]
) -> None:
    sibling, foreign = world.a.locations[1], world.b.locations[0]
    factories.MirrorContactFactory(location=foreign, ghl_id="b1")
    owner = agency_client(world.a, world.a.owner)
    assert owner.get(f"{listing(sibling.pk)}c1/").status_code == 404
    assert owner.get(f"{listing(contact_page['location'].pk)}b1/").status_code == 404
    assert owner.get(f"{listing(contact_page['location'].pk)}missing/").status_code == 404


def test_a_contact_without_history(world: World, agency_client: AgencyClient) -> None:
    own = world.a.locations[0]
    factories.MirrorContactFactory(location=own, ghl_id="lonely", first_name="", last_name="",
                                   email="", custom_fields={})  # fmt: skip
    html = agency_client(world.a, world.a.client_admin).get(f"{listing(own.pk)}lonely/").content
    text = html.decode()
    assert "<h1>lonely</h1>" in text  # named by id when there is nothing else
    assert "No messages, appointments or opportunities yet." in text
    assert "has not been through lead routing" in text and "No custom fields" in text


def test_the_contact_page_runs_a_pinned_number_of_queries(
    world: World,
    agency_client: AgencyClient,
    contact_page: dict[str, Any],
    django_assert_num_queries: Any,
) -> None:
    client = agency_client(world.a, world.a.client_admin)
    url = f"{listing(contact_page['location'].pk)}c1/"
    client.get(url)
    # 4 of the workspace; contact, agents, decisions, pack fields, messages, conversations,
    # appointments, opportunities and their pipelines.
    with django_assert_num_queries(13):
        assert client.get(url).status_code == 200


def test_times_are_shown_in_the_locations_time_zone(
    world: World, agency_client: AgencyClient
) -> None:
    own = world.a.locations[0]
    Location.objects.unscoped().filter(pk=own.pk).update(timezone="Asia/Dubai")
    factories.MirrorContactFactory(location=own, ghl_id="late", date_added=at(1, 22, 30))
    client = agency_client(world.a, world.a.client_admin)
    assert ">2 Mar 2026</time>" in client.get(listing(own.pk)).content.decode()
    detail = client.get(f"{listing(own.pk)}late/").content.decode()
    assert ">2 Mar 2026, 02:30</time>" in detail and "times in Asia/Dubai" in detail
