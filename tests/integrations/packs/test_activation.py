"""Activating a pack against the GHL stand-in: fields created once, adopted when they exist,
pipelines matched by name, a failure midway finished by the next run without duplicates."""

from __future__ import annotations

import threading
from collections import Counter

import httpx
import pytest
from django.db import DEFAULT_DB_ALIAS, connections

from integrations.ghl.errors import GhlError
from integrations.packs.catalog import pack_get
from integrations.packs.models import PackActivation
from integrations.packs.services import pack_activate, pipeline_instructions
from saas_platform.kernel.errors import ApplicationError
from saas_platform.kernel.scoping import UnscopedQueryError
from sandbox.ghl.testing import StandIn
from tenants.models import AuditLogEntry, Location
from tests.conftest import World
from tests.integrations.conftest import DUBAI

from .standin import creates, ghl_field_create, ghl_fields, last_seq

pytestmark = pytest.mark.django_db

GENERIC = ("Interested In", "Preferred Contact Method", "Budget")


def by_name(ghl: StandIn) -> dict[str, dict[str, object]]:
    return {f["name"]: f for f in ghl_fields(ghl)}


def test_first_activation_creates_the_fields_and_a_second_creates_none(
    dubai: Location, ghl: StandIn
) -> None:
    before = last_seq(ghl)
    activation = pack_activate(location=dubai, pack_key="generic")

    assert len(creates(ghl, since=before)) == 3
    fields = by_name(ghl)
    assert activation.fields == {
        "interest": fields["Interested In"]["id"],
        "contact_method": fields["Preferred Contact Method"]["id"],
        "budget": fields["Budget"]["id"],
    }
    assert fields["Preferred Contact Method"]["dataType"] == "SINGLE_OPTIONS"
    assert fields["Preferred Contact Method"]["picklistOptions"] == ["Phone", "Email", "SMS",
                                                                     "WhatsApp"]  # fmt: skip
    assert activation.pack_version == pack_get(key="generic").version
    assert activation.activated_at is not None and activation.error == ""

    again = last_seq(ghl)
    second = pack_activate(location=dubai, pack_key="generic")
    assert creates(ghl, since=again) == []
    assert second.pk == activation.pk and second.fields == activation.fields
    assert sorted(n for n in by_name(ghl) if n in GENERIC) == sorted(GENERIC)
    audits = AuditLogEntry.objects.for_agency(dubai.agency).filter(action="pack.activated")
    assert audits.count() == 2
    first = audits.order_by("pk").first()
    assert first is not None and sorted(first.changes["fields_created"][1]) == [
        "budget", "contact_method", "interest"]  # fmt: skip


def test_missing_pipelines_are_recorded_with_an_instruction(dubai: Location, ghl: StandIn) -> None:
    activation = pack_activate(location=dubai, pack_key="generic")
    # The Dubai location only has the "Property Sales" pipeline; GHL's API cannot create one.
    assert activation.status == PackActivation.Status.PIPELINES_MISSING
    assert activation.pipelines_matched == []
    assert activation.pipelines_missing == [
        {"name": "Sales Pipeline",
         "stages": ["New Lead", "Contacted", "Qualified", "Proposal Sent", "Won"]}
    ]  # fmt: skip
    steps = pipeline_instructions(activation=activation)
    assert "Create the pipeline “Sales Pipeline” in GHL" in steps[0]
    assert "activate the pack again" in steps[-1]


def test_existing_fields_and_pipelines_are_adopted(dubai: Location, ghl: StandIn) -> None:
    seeded = by_name(ghl)
    intent = ghl_field_create(ghl, "lead intent", "TEXT")  # made by hand, other case and type
    before = last_seq(ghl)

    activation = pack_activate(location=dubai, pack_key="real_estate")

    made = creates(ghl, since=before)
    assert len(made) == 1  # only "Preferred Language"; the rest were there
    assert activation.fields["area"] == seeded["Preferred Area"]["id"]
    assert activation.fields["budget"] == seeded["Budget (AED)"]["id"]
    assert activation.fields["property_type"] == seeded["Property Type"]["id"]
    assert activation.fields["bedrooms"] == seeded["Bedrooms"]["id"]
    assert activation.fields["intent"] == intent
    assert activation.fields["language"] == by_name(ghl)["Preferred Language"]["id"]
    assert activation.notes == [
        "Lead Intent: adopted the existing GHL field 'lead intent' of type TEXT (the pack would "
        "create SINGLE_OPTIONS)."
    ]
    [sales] = activation.pipelines_matched
    assert sales["name"] == "Property Sales" and sales["missing_stages"] == []
    assert list(sales["stages"]) == list(pack_get(key="real_estate").pipelines[0].stages)
    assert [p["name"] for p in activation.pipelines_missing] == ["Leasing"]


def test_a_failure_midway_then_a_retry_leaves_no_duplicates(dubai: Location, ghl: StandIn) -> None:
    ghl.set_faults(
        DUBAI,
        error_rate=1.0,
        error_status=503,
        methods=["POST"],
        after=1,
        paths=["/locations/{locationId}/customFields"],
    )
    with pytest.raises(GhlError):  # transient: raised for the task to retry
        pack_activate(location=dubai, pack_key="generic")

    failed = PackActivation.objects.for_location(dubai).get(pack_key="generic")
    assert failed.status == PackActivation.Status.FAILED
    assert "GHL failed during the activation" in failed.error
    assert failed.fields == {"interest": by_name(ghl)["Interested In"]["id"]}  # what exists
    assert failed.activated_at is None and failed.pack_version == 0
    audit = AuditLogEntry.objects.for_agency(dubai.agency).get(action="pack.activation_failed")
    assert audit.changes["fields_created"] == [None, ["interest"]]

    ghl.clear_faults()
    done = pack_activate(location=dubai, pack_key="generic")
    names = Counter(f["name"] for f in ghl_fields(ghl))
    assert all(names[name] == 1 for name in GENERIC), names
    assert done.status == PackActivation.Status.PIPELINES_MISSING and done.error == ""
    assert done.fields["interest"] == failed.fields["interest"]
    assert set(done.fields) == {"interest", "contact_method", "budget"}
    assert (
        AuditLogEntry.objects.for_agency(dubai.agency)
        .filter(action="pack.activation_failed")
        .exists()
    )


def test_a_field_deleted_in_ghl_is_created_again(dubai: Location, ghl: StandIn) -> None:
    first = pack_activate(location=dubai, pack_key="generic")
    token = ghl.mint_token(location_id=DUBAI)["access_token"]
    path = f"/locations/{DUBAI}/customFields/{first.fields['budget']}"
    httpx.delete(ghl.base_url + path, headers=ghl.api_headers(token, path), timeout=30)
    before = last_seq(ghl)
    again = pack_activate(location=dubai, pack_key="generic")
    assert len(creates(ghl, since=before)) == 1
    assert again.fields["budget"] != first.fields["budget"]
    assert again.fields["interest"] == first.fields["interest"]


def test_an_unknown_pack_is_refused_and_nothing_stored(dubai: Location) -> None:
    with pytest.raises(ApplicationError, match=r"Unknown pack 'dental'.*generic.*real_estate"):
        pack_activate(location=dubai, pack_key="dental")
    assert not PackActivation.objects.for_location(dubai).exists()


def test_a_location_not_connected_is_refused(world: World) -> None:
    location = world.a.locations[0]
    with pytest.raises(ApplicationError, match="not connected to GHL"):
        pack_activate(location=location, pack_key="generic")
    assert not PackActivation.objects.for_location(location).exists()


def test_activations_are_scoped_to_their_location(
    dubai: Location, ghl: StandIn, world: World
) -> None:
    pack_activate(location=dubai, pack_key="generic")
    with pytest.raises(UnscopedQueryError):
        list(PackActivation.objects.all())
    other = world.b.locations[0]
    assert not PackActivation.objects.for_location(other).exists()
    assert not PackActivation.objects.for_agency(world.b.agency).exists()
    assert PackActivation.objects.for_agency(dubai.agency).count() == 1


@pytest.mark.concurrency
@pytest.mark.django_db(transaction=True)
def test_two_activations_at_once_create_each_field_once(dubai: Location, ghl: StandIn) -> None:
    # The row exists (queued from the admin): only its lock keeps the two runs apart.
    PackActivation.objects.create(location=dubai, pack_key="generic")
    errors: list[BaseException] = []
    start = threading.Barrier(2)

    def run() -> None:
        try:
            start.wait()
            pack_activate(location=dubai, pack_key="generic")
        except BaseException as exc:  # a thread's failure must fail the test
            errors.append(exc)
        finally:
            connections[DEFAULT_DB_ALIAS].close()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert errors == []
    names = Counter(f["name"] for f in ghl_fields(ghl))
    assert all(names[name] == 1 for name in GENERIC), names
    assert len(creates(ghl)) == 3
    assert PackActivation.objects.for_location(dubai).count() == 1


def test_a_ghl_refusal_fails_the_run_with_the_reason_and_is_not_raised(
    dubai: Location, ghl: StandIn
) -> None:
    ghl.revoke_tokens(DUBAI, "all")  # the app was disconnected on GHL's side
    activation = pack_activate(location=dubai, pack_key="generic")
    assert activation.status == PackActivation.Status.FAILED
    assert activation.error.startswith("GHL failed during the activation: ")
    assert activation.fields == {} and activation.activated_at is None
