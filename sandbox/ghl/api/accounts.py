"""Locations (sub-accounts) and users."""

from __future__ import annotations

from typing import Any

from sandbox.ghl import errors
from sandbox.ghl.api.common import V7, route
from sandbox.ghl.pipeline import ApiRoute, Ctx, Security


def _company_for(ctx: Ctx, company_id: str | None) -> str:
    """The company a search may cover: the token's own (403 for another company)."""
    token = ctx.auth
    if company_id and company_id != token.company_id:
        raise errors.forbidden("The token does not have access to this company")
    return token.company_id


async def get_location(ctx: Ctx) -> Any:
    location = ctx.location(ctx.params["locationId"])
    return {"location": location.to_api(ctx.state.world.companies.get(location.company_id))}


async def search_locations(ctx: Ctx) -> Any:
    company_id = _company_for(ctx, ctx.query("companyId"))
    skip = ctx.int_query("skip", 0, 0)
    limit = ctx.int_query("limit", 10, 1, 1000)
    rows = ctx.state.world.company_locations(company_id)
    if ctx.auth.location_id is not None:
        rows = [r for r in rows if r.id == ctx.auth.location_id]
    email = (ctx.query("email") or "").lower()
    if email:
        rows = [r for r in rows if r.email.lower() == email]
    rows.sort(key=lambda r: (r.name.lower(), r.id), reverse=ctx.query("order") == "desc")
    return {"locations": [r.summary() for r in rows[skip : skip + limit]]}


async def get_user(ctx: Ctx) -> Any:
    user = ctx.state.world.users.get(ctx.params["userId"])
    token = ctx.auth
    if user is None or user.deleted:
        raise errors.not_found("User not found")
    if user.company_id != token.company_id or (
        token.location_id
        and token.location_id not in user.location_ids
        and user.role_type != "agency"
    ):
        raise errors.forbidden()
    return user.to_api()


async def list_location_users(ctx: Ctx) -> Any:
    location = ctx.location(ctx.require_query("locationId"))
    return {"users": [u.to_api() for u in ctx.state.world.location_users(location.id)]}


async def search_users(ctx: Ctx) -> Any:
    company_id = _company_for(ctx, ctx.require_query("companyId"))
    skip = ctx.int_query("skip", 0, 0)
    limit = ctx.int_query("limit", 25, 1, 1000)
    users = [
        u for u in ctx.state.world.users.values() if u.company_id == company_id and not u.deleted
    ]
    location_id = ctx.query("locationId") or ctx.auth.location_id
    if location_id:
        ctx.location(location_id)
        users = [u for u in users if location_id in u.location_ids]
    query = (ctx.query("query") or "").lower()
    if query:
        users = [
            u
            for u in users
            if query in f"{u.first_name} {u.last_name}".lower() or query in u.email.lower()
        ]
    for key, attr in (("type", "role_type"), ("role", "role")):
        wanted = ctx.query(key)
        if wanted:
            users = [u for u in users if getattr(u, attr) == wanted]
    ids = ctx.query("ids")
    if ids:
        wanted_ids = set(ids.split(","))
        users = [u for u in users if u.id in wanted_ids]
    users.sort(
        key=lambda u: (u.first_name.lower(), u.last_name.lower(), u.id),
        reverse=ctx.query("sortDirection") == "desc",
    )
    return {"users": [u.to_api() for u in users[skip : skip + limit]], "count": len(users)}


def routes() -> list[ApiRoute]:
    loc_read = Security("Location-Access", ("locations.readonly",))
    agency_read = Security("Agency-Access", ("locations.readonly",))
    users_agency = Security("Agency-Access", ("users.readonly",))
    users_loc = Security("Location-Access", ("users.readonly",))
    return [
        route(
            "GET",
            "/locations/search",
            "locations",
            "search-locations",
            V7,
            [agency_read, loc_read],
            search_locations,
        ),
        route(
            "GET",
            "/locations/{locationId}",
            "locations",
            "get-location",
            V7,
            [loc_read, agency_read],
            get_location,
        ),
        route(
            "GET",
            "/users/search",
            "users",
            "search-users",
            V7,
            [users_agency, users_loc],
            search_users,
        ),
        route(
            "GET", "/users/", "users", "get-user-by-location", V7, [users_loc], list_location_users
        ),
        route(
            "GET", "/users/{userId}", "users", "get-user", V7, [users_agency, users_loc], get_user
        ),
    ]
