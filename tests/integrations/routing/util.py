"""Builders for routing tests: agents through the service (so they are validated like real
ones), contacts straight into the mirror with bulk_create (thousands, fast)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from integrations.mirror.models import MirrorContact, MirrorUser
from integrations.routing.models import AgentProfile
from integrations.routing.services import agent_profile_save
from tenants.models import Location


def agent(location: Location, ghl_id: str, **profile: Any) -> AgentProfile:
    MirrorUser.objects.for_location(location).get_or_create(
        location=location, ghl_id=ghl_id, defaults={"first_name": ghl_id}
    )
    return agent_profile_save(location=location, ghl_user_id=ghl_id, **profile)


def agents(location: Location, count: int, prefix: str = "agent", **profile: Any) -> list[str]:
    ids = [f"{prefix}{i:02d}" for i in range(count)]
    for ghl_id in ids:
        agent(location, ghl_id, **profile)
    return ids


def contacts(
    location: Location,
    count: int,
    fields: Callable[[int], dict[str, Any]] = lambda i: {},
    prefix: str = "lead",
) -> list[str]:
    rows = [
        MirrorContact(location=location, ghl_id=f"{prefix}{i:06d}", **fields(i))
        for i in range(count)
    ]
    MirrorContact.objects.bulk_create(rows, batch_size=2000)
    return [row.ghl_id for row in rows]


def route_all(location: Location, ids: Iterable[str], **kwargs: Any) -> list[Any]:
    from integrations.routing.engine import route_lead

    return [route_lead(location=location, contact_ghl_id=i, **kwargs) for i in ids]
