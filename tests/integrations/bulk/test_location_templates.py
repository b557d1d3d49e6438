"""Bulk "Apply a routing template" and "Apply a report template": another location's rules and
report schedule copied to many locations, translated to each, with per-location results."""

from __future__ import annotations

from typing import Any

import pytest

from integrations.bulk.models import BulkJob
from integrations.bulk.services import bulk_job_start
from integrations.reporting.models import ReportSchedule
from integrations.routing.models import RoutingRule, RoutingRuleState
from integrations.routing.services import rule_save
from saas_platform.kernel.errors import ApplicationError, NotFound
from tenants.models import AuditLogEntry, Location
from tests import factories
from tests.conftest import Tenant, World

from .test_bulk_jobs import results, start

Kind = BulkJob.Kind
SALES = [{"id": "src-new", "name": "New", "position": 0}, {"id": "src-won", "name": "Won"}]


def agents(location: Location, *ids: str, inactive: tuple[str, ...] = ()) -> None:
    for ghl_id in ids:
        factories.AgentProfileFactory(location=location, ghl_user_id=ghl_id)
    for ghl_id in inactive:
        factories.AgentProfileFactory(location=location, ghl_user_id=ghl_id, active=False)


def real_estate(location: Location, suffix: str) -> None:
    factories.PackActivationFactory(
        location=location, fields={"area": f"Area{suffix}", "language": f"Lang{suffix}"}
    )


def template_location(tenant: Tenant) -> Location:
    """A location with three rules: two enabled ones naming its agents, pack fields and
    pipeline, and a disabled one (not copied)."""
    source = factories.LocationFactory(agency=tenant.agency, name="A Template")
    agents(source, "SrcAgent1", "SrcAgent2")
    real_estate(source, "Src")
    factories.MirrorPipelineFactory(location=source, ghl_id="src-pipe", name="Sales", stages=SALES)
    rule_save(
        location=source,
        name="Marina buyers",
        conditions={"all": [{"field": "custom:AreaSrc", "op": "in", "value": ["Dubai Marina"]}]},
        pool={"agents": ["SrcAgent1"]},
        strategy="weighted",
        pipeline_id="src-pipe",
        stage_id="src-new",
    )
    rule_save(
        location=source,
        name="By language",
        conditions={"field": "source", "op": "equals", "value": "Zillow"},
        pool={"match": {"attribute": "language", "field": "custom:LangSrc"}},
        fallback_pool={"agents": ["SrcAgent2"]},
    )
    rule_save(location=source, name="Old rule", pool={"agents": ["SrcAgent2"]}, enabled=False)
    return source


def target(tenant: Tenant, name: str, *, pipeline: bool = True) -> Location:
    """A location ready for the template: agents, the pack, and (unless not) a pipeline of the
    same name spelled differently, with the stage under its own id."""
    location = factories.LocationFactory(agency=tenant.agency, name=name)
    agents(location, f"{name[-1]}Agent1", f"{name[-1]}Agent2", inactive=(f"{name[-1]}Gone",))
    real_estate(location, name[-1])
    if pipeline:
        stages = [{"id": f"{name[-1]}-new", "name": "new"}]
        factories.MirrorPipelineFactory(
            location=location, ghl_id=f"{name[-1]}-pipe", name="SALES ", stages=stages
        )
    return location


def copies(location: Location) -> list[RoutingRule]:
    return list(RoutingRule.objects.for_location(location).filter(copied_from__isnull=False))


def apply(capture: Any, tenant: Tenant, source: Location, locations: list[Location]) -> BulkJob:
    job: BulkJob = start(
        capture,
        tenant,
        Kind.APPLY_ROUTING_TEMPLATE,
        locations,
        template_location_id=source.pk,
    )
    return job


# --- routing template ----------------------------------------------------------------------------


def test_routing_template_is_translated_to_each_location(
    world: World, django_capture_on_commit_callbacks: Any
) -> None:
    a = world.a
    source = template_location(a)
    one = target(a, "Target 1")
    two = target(a, "Target 2", pipeline=False)
    own = rule_save(location=one, name="Own VIP rule", pool={"agents": ["1Agent1"]})

    job = apply(django_capture_on_commit_callbacks, a, source, [source, one, two])

    assert (job.status, job.done, job.failed, job.total) == ("succeeded", 3, 0, 3)
    assert job.params == {"template_location_id": source.pk, "template_location_name": "A Template"}
    outcome = results(job)
    assert outcome["A Template"] == ("skipped", "This is the template location.")
    assert outcome["Target 1"] == (
        "succeeded",
        "2 rule(s) from A Template: 2 created, 0 updated, 0 removed.",
    )
    assert outcome["Target 2"][0] == "succeeded"
    assert (
        "Rule 'Marina buyers' copied without an opportunity: no pipeline 'Sales' with a stage "
        "'New'." in outcome["Target 2"][1]
    )

    marina, language = copies(one)
    assert (marina.name, language.name) == ("Marina buyers", "By language")
    assert marina.conditions == {
        "all": [{"field": "custom:Area1", "op": "in", "value": ["Dubai Marina"]}]
    }
    assert marina.pool == {"agents": ["1Agent1", "1Agent2"]}  # the active ones, not "1Gone"
    assert (marina.strategy, marina.pipeline_id, marina.stage_id) == ("weighted", "1-pipe", "1-new")
    assert language.pool == {"match": {"attribute": "language", "field": "custom:Lang1"}}
    assert language.fallback_pool == {"agents": ["1Agent1", "1Agent2"]}
    assert language.conditions == {"field": "source", "op": "equals", "value": "Zillow"}
    assert {marina.copied_from_id, language.copied_from_id} == {source.pk}
    # After the location's own rule, in the template's order; each with its routing state.
    assert [r.name for r in RoutingRule.objects.for_location(one).order_by("position")] == [
        "Own VIP rule",
        "Marina buyers",
        "By language",
    ]
    own.refresh_from_db()
    assert own.copied_from_id is None and own.pool == {"agents": ["1Agent1"]}
    assert RoutingRuleState.objects.for_location(one).count() == 3
    assert [(r.pipeline_id, r.stage_id) for r in copies(two)] == [("", ""), ("", "")]
    created = AuditLogEntry.objects.for_agency(a.agency).filter(action="routing_rule.created")
    assert created.filter(location__in=[one, two]).count() == 5  # own rule + two copies in each


def test_re_applying_changes_only_what_the_template_changed(
    world: World, django_capture_on_commit_callbacks: Any
) -> None:
    a = world.a
    source = template_location(a)
    one = target(a, "Target 1")
    own = rule_save(location=one, name="Own rule", pool={"agents": ["1Agent2"]})
    apply(django_capture_on_commit_callbacks, a, source, [one])
    before = {r.pk: r.updated_at for r in copies(one)}

    again = apply(django_capture_on_commit_callbacks, a, source, [one])
    assert results(again)["Target 1"] == ("skipped", "Already has the 2 rule(s) of A Template.")
    assert {r.pk: r.updated_at for r in copies(one)} == before  # nothing rewritten

    marina = RoutingRule.objects.for_location(source).get(name="Marina buyers")
    rule_save(
        location=source,
        rule=marina,
        name="Marina buyers",
        pool={"agents": ["SrcAgent2"]},
        strategy="round_robin",
    )
    RoutingRule.objects.for_location(source).filter(name="By language").update(enabled=False)
    changed = apply(django_capture_on_commit_callbacks, a, source, [one])

    assert results(changed)["Target 1"] == (
        "succeeded",
        "1 rule(s) from A Template: 0 created, 1 updated, 1 removed.",
    )
    (kept,) = copies(one)
    assert kept.pk in before and kept.strategy == "round_robin" and kept.pipeline_id == ""
    assert RoutingRule.objects.for_location(one).get(pk=own.pk).name == "Own rule"
    assert (
        AuditLogEntry.objects.for_agency(a.agency)
        .filter(action="routing_rule.deleted", location=one)
        .exists()
    )

    RoutingRule.objects.for_location(source).update(enabled=False)  # the template emptied
    emptied = apply(django_capture_on_commit_callbacks, a, source, [one])
    assert results(emptied)["Target 1"] == (
        "succeeded",
        "0 rule(s) from A Template: 0 created, 0 updated, 1 removed.",
    )
    assert [r.pk for r in RoutingRule.objects.for_location(one)] == [own.pk]


def test_a_location_that_cannot_take_the_template_fails_with_nothing_half_done(
    world: World, django_capture_on_commit_callbacks: Any
) -> None:
    a = world.a
    source = template_location(a)
    good = target(a, "Target 1")
    no_agents = factories.LocationFactory(agency=a.agency, name="No agents")
    real_estate(no_agents, "N")
    no_pack = factories.LocationFactory(agency=a.agency, name="No pack")
    agents(no_pack, "PAgent")
    # A field of its own (not a pack's) cannot be found elsewhere.
    odd = factories.LocationFactory(agency=a.agency, name="Odd template")
    agents(odd, "OAgent")
    rule_save(
        location=odd,
        name="Odd",
        pool={"agents": ["OAgent"]},
        conditions={"field": "custom:Private123", "op": "equals", "value": "x"},
    )

    job = apply(django_capture_on_commit_callbacks, a, source, [good, no_agents, no_pack])

    assert (job.status, job.done, job.failed) == ("partial", 3, 2)
    outcome = results(job)
    assert outcome["Target 1"][0] == "succeeded"
    assert outcome["No agents"] == (
        "failed",
        "This location has no active agent profiles to route to: add its agents under Routing → "
        "Agent profiles, then apply the template again.",
    )
    status, message = outcome["No pack"]
    assert status == "failed" and message.startswith("Rule 'Marina buyers': ")
    assert "Real estate pack's field 'area'" in message
    assert "activate the Real estate pack" in message
    assert not RoutingRule.objects.for_location(no_agents).exists()
    assert not RoutingRule.objects.for_location(no_pack).exists()
    assert (
        not AuditLogEntry.objects.for_agency(a.agency)
        .filter(action="routing_rule.created", location__in=[no_agents, no_pack])
        .exists()
    )

    empty = factories.LocationFactory(agency=a.agency, name="Empty template")
    nothing = apply(django_capture_on_commit_callbacks, a, empty, [good, no_agents])
    assert {status for status, _ in results(nothing).values()} == {"skipped"}
    assert results(nothing)["No agents"][1] == "Empty template has no enabled rule to copy."

    odd_job = apply(django_capture_on_commit_callbacks, a, odd, [good])
    status, message = results(odd_job)["Target 1"]
    assert status == "failed"
    assert "custom field 'Private123' is not a field of one of its" in message


def test_a_failed_re_apply_keeps_the_earlier_copies_as_they_were(
    world: World, django_capture_on_commit_callbacks: Any
) -> None:
    a = world.a
    source = template_location(a)
    one = target(a, "Target 1")
    apply(django_capture_on_commit_callbacks, a, source, [one])
    before = [(r.pk, r.name, r.pool, r.conditions) for r in copies(one)]
    # The template gains a rule on a field the target lacks, after one it could update.
    marina = RoutingRule.objects.for_location(source).get(name="Marina buyers")
    rule_save(location=source, rule=marina, name="Marina renamed", pool={"agents": ["SrcAgent1"]})
    factories.PackActivationFactory(
        location=source, pack_key="home_services", fields={"service_type": "SrcService"}
    )
    rule_save(
        location=source,
        name="Plumbing",
        pool={"agents": ["SrcAgent1"]},
        conditions={"field": "custom:SrcService", "op": "equals", "value": "Plumbing"},
    )

    job = apply(django_capture_on_commit_callbacks, a, source, [one])

    status, message = results(job)["Target 1"]
    assert status == "failed" and message.startswith("Rule 'Plumbing': ")
    assert "'service_type'" in message
    assert [(r.pk, r.name, r.pool, r.conditions) for r in copies(one)] == before


def test_another_agencys_template_location_is_refused(
    world: World, django_capture_on_commit_callbacks: Any
) -> None:
    a, b = world.a, world.b
    theirs = template_location(b)
    for kind in (Kind.APPLY_ROUTING_TEMPLATE, Kind.APPLY_REPORT_TEMPLATE):
        for params, error, message in (
            ({"template_location_id": theirs.pk}, NotFound, "does not exist"),
            ({"template_location_id": "x"}, ApplicationError, "Choose the template location"),
            ({}, ApplicationError, "Choose the template location"),
        ):
            with django_capture_on_commit_callbacks(execute=True), pytest.raises(error) as raised:
                bulk_job_start(
                    agency=a.agency,
                    kind=kind,
                    locations=a.locations,
                    params=params,
                    acting_user=a.owner,
                )
            assert message in raised.value.message
    assert not BulkJob.objects.unscoped().exists()
    assert not RoutingRule.objects.for_agency(a.agency).exists()


# --- report template -----------------------------------------------------------------------------


def test_report_template_copies_frequency_and_recipients(
    world: World, django_capture_on_commit_callbacks: Any
) -> None:
    a = world.a
    source = factories.LocationFactory(agency=a.agency, name="A Template")
    recipients = "boss@example.test\nsales@example.test"
    factories.ReportScheduleFactory(location=source, frequency="daily", recipients=recipients)
    weekly = factories.LocationFactory(agency=a.agency, name="Weekly one")
    factories.ReportScheduleFactory(location=weekly)
    same = factories.LocationFactory(agency=a.agency, name="Same one")
    factories.ReportScheduleFactory(location=same, frequency="daily", recipients=recipients)
    none_yet = factories.LocationFactory(agency=a.agency, name="No schedule yet")

    job = start(
        django_capture_on_commit_callbacks,
        a,
        Kind.APPLY_REPORT_TEMPLATE,
        [source, weekly, same, none_yet],
        template_location_id=source.pk,
    )

    assert (job.status, job.done, job.failed) == ("succeeded", 4, 0)
    described = "daily, to boss@example.test, sales@example.test"
    assert results(job) == {
        "A Template": ("skipped", "This is the template location."),
        "Weekly one": ("succeeded", f"Report schedule set from A Template: {described}."),
        "Same one": ("skipped", f"Already sends the same report ({described})."),
        "No schedule yet": ("succeeded", f"Report schedule set from A Template: {described}."),
    }
    for location in (weekly, none_yet):
        schedule = ReportSchedule.objects.for_location(location).get()
        assert (schedule.frequency, schedule.recipients) == ("daily", recipients)
        assert schedule.next_send_at is not None
    audits = AuditLogEntry.objects.for_agency(a.agency).filter(action__startswith="report_schedule")
    assert sorted(audits.values_list("action", "location__name")) == [
        ("report_schedule.created", "No schedule yet"),
        ("report_schedule.updated", "Weekly one"),
    ]
    updated = audits.get(location=weekly)
    assert updated.changes["frequency"] == ["weekly", "daily"]


def test_a_template_without_a_schedule_stands_for_the_default(
    world: World, django_capture_on_commit_callbacks: Any
) -> None:
    a = world.a
    source, monthly = a.locations
    factories.ReportScheduleFactory(location=monthly, frequency="monthly", recipients="x@y.test")
    job = start(
        django_capture_on_commit_callbacks,
        a,
        Kind.APPLY_REPORT_TEMPLATE,
        [monthly],
        template_location_id=source.pk,
    )
    assert results(job)[monthly.name] == (
        "succeeded",
        f"Report schedule set from {source.name}: weekly (mondays), to the agency's owners and "
        "admins.",
    )
    assert not ReportSchedule.objects.for_location(source).exists()  # the template is only read


# --- the admin -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("action", "label"),
    [
        ("apply_routing_template", "Apply a routing template"),
        ("apply_report_template", "Apply a report template"),
    ],
)
def test_admin_template_actions_ask_for_the_template_location_first(
    world: World,
    agency_client: Any,
    django_capture_on_commit_callbacks: Any,
    action: str,
    label: str,
) -> None:
    a, b = world.a, world.b
    source = template_location(a)
    factories.ReportScheduleFactory(location=source, frequency="monthly")
    chosen_target = target(a, "Target 1")
    client = agency_client(a, a.owner)
    chosen = {"action": action, "_selected_action": [chosen_target.pk]}

    page = client.post("/admin/tenants/location/", {**chosen, "index": 0})
    text = page.content.decode()
    assert page.status_code == 200 and "Template location" in text and label in text
    assert "A Template" in text and "Target 1" in text and "B Location" not in text
    assert not BulkJob.objects.for_agency(a.agency).exists()

    foreign = b.locations[0].pk
    refused = client.post("/admin/tenants/location/", {**chosen, "apply": "1", "template": foreign})
    assert refused.status_code == 200 and "Select a valid choice" in refused.content.decode()
    assert not BulkJob.objects.unscoped().exists()

    with django_capture_on_commit_callbacks(execute=True):
        done = client.post(
            "/admin/tenants/location/", {**chosen, "apply": "1", "template": source.pk}
        )
    job = BulkJob.objects.for_agency(a.agency).get()
    assert done.status_code == 302 and done["Location"].endswith(f"/bulkjob/{job.pk}/change/")
    assert (job.kind, job.status) == (action, "succeeded")
    text = client.get(done["Location"]).content.decode()
    assert "A Template" in text and "Target 1" in text and label in text
    if action == "apply_routing_template":
        first, _ = copies(chosen_target)
        page = client.get(f"/admin/integrations/routingrule/{first.pk}/change/").content.decode()
        assert "A Template — applying that routing template again overwrites" in page
    else:
        assert ReportSchedule.objects.for_location(chosen_target).get().frequency == "monthly"
