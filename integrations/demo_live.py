"""The product side of the live demo (`DEMO_TRAFFIC=1 make run`, see docs/development.md).

Once the demo agencies are connected to the GHL stand-in, each demo location gets its industry
pack, an agent profile per GHL user and one routing rule, and each demo agency an outbound
webhook endpoint: the leads the stand-in's demo traffic makes are then routed and sent on within
seconds. What already exists (a location's rules, an endpoint for the URL) is left alone, so
running it again changes nothing.
"""

from __future__ import annotations

from integrations.mirror.models import MirrorPipeline, MirrorUser
from integrations.packs.catalog import Pack, packs
from integrations.packs.selectors import pack_routing_attributes
from integrations.packs.services import pack_activate
from integrations.routing.models import RoutingRule
from integrations.routing.services import agent_profile_save, rule_save
from integrations.sync.engine import location_installation
from integrations.webhooks_out import catalog
from integrations.webhooks_out.endpoints import endpoint_create
from integrations.webhooks_out.models import WebhookEndpoint
from tenants import demo
from tenants.models import Agency, Location

SPECIALISM = "area"
SINK_DESCRIPTION = "Demo receiver (make run)"


def demo_locations() -> list[Location]:
    """The demo world's locations that exist here, in the order tenants.demo lists them."""
    found = []
    for spec in demo.AGENCIES:
        agency = Agency.objects.filter(slug=spec["slug"]).first()
        if agency is None:
            continue
        for loc in spec["locations"]:
            location = (
                Location.objects.for_agency(agency)
                .filter(ghl_location_id=loc["ghl_location_id"])
                .first()
            )
            if location is not None:
                found.append(location)
    return found


def demo_locations_waiting() -> list[Location]:
    """Demo locations not yet connected, or whose GHL users are not mirrored yet."""
    return [
        location
        for location in demo_locations()
        if location_installation(location) is None
        or not MirrorUser.objects.for_location(location).exists()
    ]


def _pack_of(location: Location) -> Pack | None:
    return next((p for p in packs().values() if p.industry == location.industry), None)


def _specialisms(agents: list[str], options: tuple[str, ...]) -> dict[str, list[str]]:
    """Every option covered by someone and everyone covering something, spread evenly."""
    covers: dict[str, list[str]] = {agent: [] for agent in agents}
    for k in range(max(len(agents), len(options)) if options else 0):
        covers[agents[k % len(agents)]].append(options[k % len(options)])
    return covers


def demo_location_prepare(*, location: Location) -> str:
    """Pack, agent profiles and a routing rule for one connected location; says what it did."""
    if RoutingRule.objects.for_location(location).exists():
        return f"{location.name}: has routing rules already, left as they are"
    agents = sorted(MirrorUser.objects.for_location(location).values_list("ghl_id", flat=True))
    if location_installation(location) is None or not agents:
        return f"{location.name}: not connected to GHL (or its users not mirrored yet), skipped"
    pack = _pack_of(location)
    match = None
    if pack is not None:
        pack_activate(location=location, pack_key=pack.key)
        match = next(
            (a for a in pack_routing_attributes(location=location) if a.key == SPECIALISM), None
        )
    options = pack.field(SPECIALISM).options if pack is not None and match is not None else ()
    for agent, covers in _specialisms(agents, options).items():
        agent_profile_save(
            location=location,
            ghl_user_id=agent,
            attributes={SPECIALISM: covers} if covers else None,
        )
    pipeline = MirrorPipeline.objects.for_location(location).order_by("ghl_id").first()
    stage = {"pipeline_id": pipeline.ghl_id, "stage_id": pipeline.stages[0]["id"]} if (
        pipeline is not None and pipeline.stages
    ) else {}  # fmt: skip
    if match is not None:
        rule_save(
            location=location,
            name="Area specialists",
            pool={"match": {"attribute": SPECIALISM, "field": match.field}},
            fallback_pool={"agents": agents},
            **stage,
        )
        how = f"by {match.label.lower()} over {len(agents)} agents"
    else:
        rule_save(location=location, name="Everyone", pool={"agents": agents}, **stage)
        how = f"round robin over {len(agents)} agents"
    return f"{location.name}: pack {pack.key if pack else 'none'}, leads routed {how}"


def demo_outbound_prepare(*, agency: Agency, url: str) -> str:
    """An agency-wide endpoint for every event type at `url`, unless one is there already."""
    endpoints = WebhookEndpoint.objects.for_agency(agency).filter(location=None, url=url)
    if endpoints.exists():
        return f"{agency.name}: outbound webhooks already go to {url}"
    endpoint_create(
        agency=agency,
        location=None,
        url=url,
        description=SINK_DESCRIPTION,
        event_types=list(catalog.EVENT_TYPES),
        acting_user=None,
    )
    return f"{agency.name}: outbound webhooks now go to {url}"


def demo_live_prepare(*, sink_url: str | None) -> list[str]:
    """Prepare every demo location, and point every demo agency's webhooks at `sink_url`."""
    lines = [demo_location_prepare(location=location) for location in demo_locations()]
    if sink_url:
        for agency in Agency.objects.filter(slug__in=[a["slug"] for a in demo.AGENCIES]):
            lines.append(demo_outbound_prepare(agency=agency, url=sink_url))
    return lines
