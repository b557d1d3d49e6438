"""Companies (agencies), locations (sub-accounts) and users, plus the per-location data."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from sandbox.ghl.clock import now_iso
from sandbox.ghl.store.calendars import CalendarStore
from sandbox.ghl.store.contacts import ContactStore
from sandbox.ghl.store.conversations import ConversationStore
from sandbox.ghl.store.opportunities import OpportunityStore

COUNTRY_CALLING_CODES = {"AE": "971", "US": "1", "GB": "44", "CA": "1", "AU": "61", "IN": "91"}


@dataclass
class Company:
    id: str
    name: str
    email: str = ""
    phone: str = ""
    whitelabel_domain: str = ""
    logo_url: str = ""
    relationship_number: str = "0-000-000"
    owner_name: str = ""
    plan: str = "agency_pro"

    @property
    def is_whitelabel(self) -> bool:
        return bool(self.whitelabel_domain)


@dataclass
class User:
    id: str
    company_id: str
    first_name: str
    last_name: str
    email: str
    phone: str = ""
    role_type: str = "account"  # "agency" or "account"
    role: str = "user"  # "admin" or "user"
    location_ids: list[str] = field(default_factory=list)
    deleted: bool = False

    def to_api(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": f"{self.first_name} {self.last_name}".strip(),
            "firstName": self.first_name,
            "lastName": self.last_name,
            "email": self.email,
            "phone": self.phone,
            "extension": "",
            "permissions": {
                "contactsEnabled": True,
                "opportunitiesEnabled": True,
                "appointmentsEnabled": True,
                "conversationsEnabled": True,
                "assignedDataOnly": self.role == "user" and self.role_type == "account",
                "settingsEnabled": self.role == "admin",
            },
            "roles": {
                "type": self.role_type,
                "role": self.role,
                "locationIds": list(self.location_ids),
                "restrictSubAccount": False,
            },
            "deleted": self.deleted,
            "platformLanguage": "en_US",
        }


def field_key(model: str, name: str) -> str:
    """GHL's custom field key: ``<model>.<snake_case name>``."""
    slug = re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_") or "field"
    return f"{model}.{slug}"


@dataclass
class CustomField:
    id: str
    location_id: str
    name: str
    field_key: str
    data_type: str
    model: str = "contact"
    placeholder: str = ""
    position: int = 0
    picklist_options: list[str] = field(default_factory=list)

    def to_api(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "id": self.id,
            "name": self.name,
            "fieldKey": self.field_key,
            "placeholder": self.placeholder,
            "dataType": self.data_type,
            "position": self.position,
            "locationId": self.location_id,
            "model": self.model,
        }
        if self.picklist_options:
            out["picklistOptions"] = list(self.picklist_options)
        return out


@dataclass
class LocationData:
    contacts: ContactStore = field(default_factory=ContactStore)
    opportunities: OpportunityStore = field(default_factory=OpportunityStore)
    calendars: CalendarStore = field(default_factory=CalendarStore)
    conversations: ConversationStore = field(default_factory=ConversationStore)
    custom_fields: dict[str, CustomField] = field(default_factory=dict)
    pipelines: list[dict[str, Any]] = field(default_factory=list)
    # Contact id → its notes, oldest first.
    notes: dict[str, list[dict[str, Any]]] = field(default_factory=dict)


@dataclass
class Location:
    id: str
    company_id: str
    name: str
    timezone: str
    vertical: str = "generic"
    address: str = ""
    city: str = ""
    state: str = ""
    country: str = "US"
    postal_code: str = ""
    website: str = ""
    phone: str = ""
    email: str = ""
    first_name: str = ""
    last_name: str = ""
    logo_url: str = ""
    allow_duplicate_contact: bool = False
    duplicate_priority: tuple[str, ...] = ("email", "phone")
    allow_duplicate_opportunity: bool = False
    active: bool = True
    date_added: str = field(default_factory=now_iso)
    data: LocationData = field(default_factory=LocationData)

    @property
    def calling_code(self) -> str:
        return COUNTRY_CALLING_CODES.get(self.country, "1")

    def settings(self) -> dict[str, bool]:
        return {
            "allowDuplicateContact": self.allow_duplicate_contact,
            "allowDuplicateOpportunity": self.allow_duplicate_opportunity,
            "allowFacebookNameMerge": False,
            "disableContactTimezone": False,
        }

    def summary(self) -> dict[str, Any]:
        """The ``GetLocationSchema`` shape used by ``/locations/search``."""
        return {
            "id": self.id,
            "name": self.name,
            "phone": self.phone,
            "email": self.email,
            "address": self.address,
            "city": self.city,
            "state": self.state,
            "country": self.country,
            "postalCode": self.postal_code,
            "website": self.website,
            "timezone": self.timezone,
            "settings": self.settings(),
            "social": {},
        }

    def to_api(self, company: Company | None) -> dict[str, Any]:
        out = self.summary()
        out |= {
            "companyId": self.company_id,
            "domain": company.whitelabel_domain if company else "",
            "logoUrl": self.logo_url,
            "firstName": self.first_name,
            "lastName": self.last_name,
            "business": {
                "name": self.name,
                "address": self.address,
                "city": self.city,
                "state": self.state,
                "country": self.country,
                "postalCode": self.postal_code,
                "website": self.website,
                "timezone": self.timezone,
                "logoUrl": self.logo_url,
            },
            "reseller": {},
        }
        return out


class World:
    """Everything the stand-in knows about GHL accounts, indexed for O(1) ownership checks."""

    def __init__(self) -> None:
        self.companies: dict[str, Company] = {}
        self.locations: dict[str, Location] = {}
        self.users: dict[str, User] = {}
        # resource id -> (kind, location id): lets a lookup by id answer 403 for another
        # location's resource and 404 for an unknown id.
        self.owner: dict[str, tuple[str, str]] = {}

    def add_company(self, company: Company) -> Company:
        self.companies[company.id] = company
        return company

    def add_location(self, location: Location) -> Location:
        self.locations[location.id] = location
        return location

    def add_user(self, user: User) -> User:
        self.users[user.id] = user
        return user

    def company_locations(self, company_id: str) -> list[Location]:
        return [loc for loc in self.locations.values() if loc.company_id == company_id]

    def location_users(self, location_id: str) -> list[User]:
        return [u for u in self.users.values() if location_id in u.location_ids and not u.deleted]

    def agency_admin(self, company_id: str) -> User | None:
        for user in self.users.values():
            if user.company_id == company_id and user.role_type == "agency":
                return user
        return None

    def claim(self, kind: str, resource_id: str, location_id: str) -> None:
        self.owner[resource_id] = (kind, location_id)

    def release(self, resource_id: str) -> None:
        self.owner.pop(resource_id, None)
