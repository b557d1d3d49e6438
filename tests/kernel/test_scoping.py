"""Tenant-owned models refuse to be queried without a tenant scope."""

import pytest
from django.db.models import Count, Prefetch

from saas_platform.kernel.errors import UnscopedQueryError
from tenants.models import Agency, AgencyDomain, Location
from tests.conftest import World

pytestmark = pytest.mark.django_db

UNSCOPED_READS = {
    "list": lambda qs: list(qs),
    "iterate": lambda qs: list(iter(qs)),
    "count": lambda qs: qs.count(),
    "exists": lambda qs: qs.exists(),
    "first": lambda qs: qs.first(),
    "get": lambda qs: qs.get(name="A Location 1"),
    "values": lambda qs: list(qs.values("name")),
    "values_list": lambda qs: list(qs.values_list("pk", flat=True)),
    "iterator": lambda qs: list(qs.iterator()),
    "aggregate": lambda qs: qs.aggregate(n=Count("pk")),
    "in_bulk": lambda qs: qs.in_bulk(),
    "bool": lambda qs: bool(qs),
    "len": lambda qs: len(qs),
    "slice": lambda qs: qs[0],
    "update": lambda qs: qs.update(name="x"),
    "delete": lambda qs: qs.delete(),
}


@pytest.mark.parametrize("operation", sorted(UNSCOPED_READS))
def test_an_unscoped_query_raises(world: World, operation: str) -> None:
    with pytest.raises(UnscopedQueryError, match="Location"):
        UNSCOPED_READS[operation](Location.objects.all())
    assert Location.objects.unscoped().filter(name="x").count() == 0  # nothing was written


@pytest.mark.parametrize("operation", sorted(UNSCOPED_READS))
def test_filtering_on_other_fields_does_not_scope(world: World, operation: str) -> None:
    with pytest.raises(UnscopedQueryError):
        UNSCOPED_READS[operation](Location.objects.filter(name__startswith="A"))


def test_exclude_and_isnull_do_not_count_as_a_scope(world: World) -> None:
    with pytest.raises(UnscopedQueryError):
        list(Location.objects.exclude(agency=world.a.agency))
    with pytest.raises(UnscopedQueryError):
        list(Location.objects.filter(agency__isnull=False))
    with pytest.raises(UnscopedQueryError):
        list(Location.objects.filter(agency=None))


def test_scoped_queries_return_only_the_tenants_rows(world: World) -> None:
    mine = Location.objects.for_agency(world.a.agency)
    assert set(mine) == set(world.a.locations)
    assert mine.count() == 2
    assert set(Location.objects.filter(agency_id=world.b.agency.pk)) == set(world.b.locations)
    both = Location.objects.filter(agency__in=[world.a.agency, world.b.agency])
    assert both.count() == 4
    # A scope survives further chaining.
    assert mine.filter(name__endswith="1").order_by("name").get() == world.a.locations[0]


def test_related_managers_and_prefetches_are_scoped_by_their_owner(world: World) -> None:
    assert set(world.a.agency.locations.all()) == set(world.a.locations)
    agencies = Agency.objects.filter(
        pk__in=[world.a.agency.pk, world.b.agency.pk]
    ).prefetch_related("locations", Prefetch("domains", queryset=AgencyDomain.objects.unscoped()))
    by_agency = {a.pk: {loc.pk for loc in a.locations.all()} for a in agencies}
    assert by_agency[world.a.agency.pk] == {loc.pk for loc in world.a.locations}


def test_unscoped_is_the_explicit_escape_hatch(world: World) -> None:
    assert (
        Location.objects.unscoped().filter(agency__in=[world.a.agency, world.b.agency]).count() == 4
    )
    assert Location.objects.unscoped().count() >= 4


def test_forward_relations_and_cascades_still_work(world: World) -> None:
    location = Location.objects.for_agency(world.a.agency).first()
    assert location is not None and location.agency == world.a.agency
    world.b.agency.delete()  # the collector uses the base manager
    assert Location.objects.for_agency(world.a.agency).count() == 2


def test_uniqueness_validation_sees_every_tenant(world: World) -> None:
    from django.core.exceptions import ValidationError

    clash = Location(
        agency=world.a.agency, name="Clash", ghl_location_id=world.b.locations[0].ghl_location_id
    )
    with pytest.raises(ValidationError, match="GHL location id"):
        clash.full_clean()


def test_related_managers_of_other_relations_are_scoped_by_the_instance(world: World) -> None:
    location = world.a.locations[0]
    assert {m.user for m in location.memberships.all()} == {world.a.client_admin}
    assert location.memberships.count() == 1


def test_an_unscoped_queryset_has_a_harmless_repr(world: World) -> None:
    assert "not scoped" in repr(Location.objects.all())
    assert "A Location" in repr(Location.objects.for_agency(world.a.agency))
