"""Scenario files: a fixed world (apps, companies, locations) plus seed volumes per location.

The demo scenario's company and location ids are shared with the product's demo data; every
other id is derived deterministically from the scenario's ``seed``.
"""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

from sandbox.ghl.config import MarketplaceApp
from sandbox.ghl.ids import new_id
from sandbox.ghl.seed.generator import seed_location
from sandbox.ghl.state import SandboxState
from sandbox.ghl.store.world import Company, Location, User

LOCATION_KEYS = {
    "name": "name",
    "timezone": "timezone",
    "vertical": "vertical",
    "address": "address",
    "city": "city",
    "state": "state",
    "country": "country",
    "postalCode": "postal_code",
    "website": "website",
    "phone": "phone",
    "email": "email",
    "logoUrl": "logo_url",
    "allowDuplicateContact": "allow_duplicate_contact",
    "allowDuplicateOpportunity": "allow_duplicate_opportunity",
}
VOLUME_KEYS = ("contacts", "opportunities", "appointments", "conversations", "users")


def add_company(state: SandboxState, data: dict[str, Any], seed: int) -> Company:
    rng = random.Random(f"{seed}:{data['id']}:company")
    owner = data.get("owner", {})
    company = state.world.add_company(
        Company(
            id=data["id"],
            name=data["name"],
            email=data.get("email", ""),
            phone=data.get("phone", ""),
            whitelabel_domain=data.get("whitelabelDomain", ""),
            logo_url=data.get("logoUrl", ""),
            relationship_number=data.get("relationshipNumber", "0-000-000"),
            owner_name=f"{owner.get('firstName', '')} {owner.get('lastName', '')}".strip(),
        )
    )
    if owner:
        state.world.add_user(
            User(
                id=owner.get("id") or new_id(rng),
                company_id=company.id,
                first_name=owner.get("firstName", "Agency"),
                last_name=owner.get("lastName", "Owner"),
                email=owner.get("email", f"owner@{company.id.lower()}.example.com"),
                phone=owner.get("phone", ""),
                role_type="agency",
                role="admin",
            )
        )
    return company


def add_location(
    state: SandboxState,
    company: Company,
    data: dict[str, Any],
    seed: int,
) -> tuple[Location, dict[str, int]]:
    kwargs = {attr: data[key] for key, attr in LOCATION_KEYS.items() if key in data}
    location = state.world.add_location(Location(id=data["id"], company_id=company.id, **kwargs))
    admin = state.world.agency_admin(company.id)
    if admin is not None:
        admin.location_ids.append(location.id)
    volumes = {k: int(data.get(k, 0)) for k in VOLUME_KEYS}
    made = seed_location(state, location, seed=seed, **volumes)
    return location, made


def load_scenario(state: SandboxState, path: Path) -> dict[str, Any]:
    document = json.loads(path.read_text(encoding="utf-8"))
    seed = int(document.get("seed", 1))
    for app_data in document.get("apps", []):
        if app_data["client_id"] not in state.config.apps:
            state.config.add_app(MarketplaceApp.from_dict(app_data))
    summary: dict[str, Any] = {"companies": 0, "locations": {}}
    for company_data in document.get("companies", []):
        company = add_company(state, company_data, seed)
        summary["companies"] += 1
        for location_data in company_data.get("locations", []):
            location, made = add_location(state, company, location_data, seed)
            summary["locations"][location.id] = made
    return summary
