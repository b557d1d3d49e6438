"""`seed_demo`: the demo world, created once; a second run changes nothing."""

import json
from pathlib import Path

import pytest
from django.apps import apps
from django.core.management import call_command
from django.db.models import Max
from django.test import Client

from tenants import demo
from tenants.models import Agency, Location, User

ROOT = Path(__file__).resolve().parents[2]


def snapshot() -> dict[str, tuple[int, object]]:
    """Row count and newest change time of every table."""
    state = {}
    for model in apps.get_models():
        rows = model._base_manager.all()
        latest = None
        if any(f.name == "updated_at" for f in model._meta.fields):
            latest = rows.aggregate(m=Max("updated_at"))["m"]
        state[model._meta.label] = (rows.count(), latest)
    return state


@pytest.mark.django_db
def test_seed_demo_twice_changes_nothing() -> None:
    call_command("seed_demo", stdout=open("/dev/null", "w"))  # noqa: SIM115, PTH123
    first = snapshot()
    call_command("seed_demo", stdout=open("/dev/null", "w"))  # noqa: SIM115, PTH123
    assert snapshot() == first


@pytest.mark.django_db
def test_the_demo_world_has_every_role_and_serves_its_brands() -> None:
    call_command("seed_demo", stdout=open("/dev/null", "w"))  # noqa: SIM115, PTH123
    apex = Agency.objects.get(slug="apex")
    assert {loc.industry for loc in Location.objects.for_agency(apex)} == {
        "real_estate",
        "health_clinic",
    }
    assert User.objects.filter(agency=None, is_staff=True, email=demo.OPERATOR_EMAIL).exists()
    roles = set(apex.memberships.values_list("role", flat=True))
    assert roles == {
        "agency_owner",
        "agency_admin",
        "agency_staff",
        "client_admin",
        "client_member",
    }
    page = Client(HTTP_HOST="apex.localhost:8000").get("/")
    assert b"Apex Growth" in page.content and b"#0f766e" in page.content
    client = Client(HTTP_HOST="apex.localhost:8000")
    client.post(
        "/admin/login/",
        {"username": "owner@apexgrowth.example", "password": demo.DEMO_PASSWORD},
    )
    listing = client.get("/admin/tenants/location/").content.decode()
    assert "Dubai Homes Realty" in listing and "Rapid Rooter Plumbing" not in listing


def test_the_demo_ids_match_the_ghl_stand_ins_demo_scenario() -> None:
    scenario = json.loads((ROOT / "sandbox/ghl/scenarios/demo.json").read_text())
    text = json.dumps(scenario)
    for agency in demo.AGENCIES:
        assert agency["ghl_company_id"] in text
        for location in agency["locations"]:
            assert location["ghl_location_id"] in text
