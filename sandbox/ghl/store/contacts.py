"""Contacts of one location: a dict by id plus a list sorted by (dateAdded ms, id).

The sorted list backs the legacy cursor pagination (``startAfter``/``startAfterId``) with a
binary search; email/phone indexes back the duplicate rules of create and upsert.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Iterable, Iterator
from typing import Any

from sandbox.ghl.clock import iso_ms

Contact = dict[str, Any]

# Input fields that map straight onto the stored contact.
PLAIN_FIELDS = (
    "firstName",
    "lastName",
    "email",
    "address1",
    "city",
    "state",
    "postalCode",
    "website",
    "timezone",
    "dnd",
    "dndSettings",
    "inboundDndSettings",
    "source",
    "country",
    "companyName",
    "assignedTo",
    "gender",
    "dateOfBirth",
)
_NON_DIGITS = re.compile(r"[^\d+]")


def normalize_phone(raw: str, calling_code: str) -> str:
    """E.164-ish normalisation as GHL does on save (formatting stripped, country code added)."""
    phone = _NON_DIGITS.sub("", raw or "")
    if not phone:
        return ""
    if phone.startswith("00"):
        return "+" + phone[2:]
    if phone.startswith("+"):
        return phone
    if calling_code == "1" and len(phone) == 11 and phone.startswith("1"):
        return "+" + phone
    return f"+{calling_code}{phone.lstrip('0')}"


def normalize_tags(tags: Iterable[Any]) -> list[str]:
    """GHL stores tags trimmed, lower-cased and without duplicates, in first-seen order."""
    seen: dict[str, None] = {}
    for tag in tags:
        text = str(tag).strip().lower()
        if text:
            seen.setdefault(text, None)
    return list(seen)


def refresh_derived(contact: Contact) -> None:
    """Recompute the lower-case helper fields GHL returns alongside the originals."""
    first = contact.get("firstName") or ""
    last = contact.get("lastName") or ""
    full = f"{first} {last}".strip()
    for key, value in (
        ("firstNameLowerCase", first.lower()),
        ("lastNameLowerCase", last.lower()),
        ("fullNameLowerCase", full.lower()),
        ("name", full),
        ("contactName", full.lower()),
    ):
        if value:
            contact[key] = value
        else:
            contact.pop(key, None)
    email = contact.get("email")
    if email:
        contact["emailLowerCase"] = email.lower()
    else:
        contact.pop("emailLowerCase", None)


class ContactStore:
    def __init__(self) -> None:
        self.by_id: dict[str, Contact] = {}
        self.added_ms: dict[str, int] = {}
        self.order: list[tuple[int, str]] = []
        # The contacts in the same order as ``order``: scans skip the dict lookup per row.
        self.ordered: list[Contact] = []
        self.by_email: dict[str, list[str]] = {}
        self.by_phone: dict[str, list[str]] = {}

    def __len__(self) -> int:
        return len(self.by_id)

    def get(self, contact_id: str) -> Contact | None:
        return self.by_id.get(contact_id)

    def add(self, contact: Contact, added_ms: int) -> None:
        cid = contact["id"]
        self.by_id[cid] = contact
        self.added_ms[cid] = added_ms
        key = (added_ms, cid)
        # Seeded and live contacts arrive in time order, so appending is the common case.
        index = len(self.order)
        if self.order and self.order[-1] > key:
            index = bisect.bisect_left(self.order, key)
        self.order.insert(index, key)
        self.ordered.insert(index, contact)
        self._index(contact)

    def bulk_load(self, contacts: list[tuple[Contact, int]]) -> None:
        """Add many contacts at once (seeding): one sort instead of many inserts."""
        for contact, added_ms in contacts:
            self.by_id[contact["id"]] = contact
            self.added_ms[contact["id"]] = added_ms
            self._index(contact)
        self.order.extend((ms, c["id"]) for c, ms in contacts)
        self.order.sort()
        self.ordered = [self.by_id[cid] for _, cid in self.order]

    def remove(self, contact_id: str) -> Contact | None:
        contact = self.by_id.pop(contact_id, None)
        if contact is None:
            return None
        key = (self.added_ms.pop(contact_id), contact_id)
        index = bisect.bisect_left(self.order, key)
        if index < len(self.order) and self.order[index] == key:
            del self.order[index]
            del self.ordered[index]
        self._unindex(contact)
        return contact

    def reindex(self, contact: Contact, before: Contact) -> None:
        self._unindex(before)
        self._index(contact)

    def _index(self, contact: Contact) -> None:
        if contact.get("emailLowerCase"):
            self.by_email.setdefault(contact["emailLowerCase"], []).append(contact["id"])
        if contact.get("phone"):
            self.by_phone.setdefault(contact["phone"], []).append(contact["id"])

    def _unindex(self, contact: Contact) -> None:
        for index, key in (
            (self.by_email, contact.get("emailLowerCase")),
            (self.by_phone, contact.get("phone")),
        ):
            ids = index.get(key) if key else None
            if ids and contact["id"] in ids:
                ids.remove(contact["id"])
                if not ids:
                    del index[key]  # type: ignore[arg-type]

    def find_duplicate(
        self, email: str | None, phone: str | None, priority: Iterable[str]
    ) -> tuple[Contact, str] | None:
        """The oldest contact matching the first field (in the location's order) that matches."""
        for field_name in priority:
            key = (email or "").lower() if field_name == "email" else (phone or "")
            index = self.by_email if field_name == "email" else self.by_phone
            ids = index.get(key) if key else None
            if ids:
                oldest = min(ids, key=lambda i: (self.added_ms[i], i))
                return self.by_id[oldest], field_name
        return None

    def iter_ordered(self, reverse: bool = False) -> Iterator[Contact]:
        return reversed(self.ordered) if reverse else iter(self.ordered)

    def page_after(
        self, start_after: int | None, start_after_id: str | None, limit: int
    ) -> list[Contact]:
        """Oldest first, strictly after the (startAfter, startAfterId) cursor."""
        start = 0
        if start_after is not None:
            start = bisect.bisect_right(self.order, (start_after, start_after_id or "\uffff"))
        return self.ordered[start : start + limit]

    def cursor_of(self, contact_id: str) -> tuple[int, str]:
        return self.added_ms[contact_id], contact_id


def new_contact(
    contact_id: str, location_id: str, data: dict[str, Any], calling_code: str, now_ms: int
) -> Contact:
    contact: Contact = {"id": contact_id, "locationId": location_id}
    apply_fields(contact, data, calling_code)
    contact.setdefault("type", "lead")
    contact.setdefault("tags", [])
    contact.setdefault("customFields", [])
    contact["dateAdded"] = iso_ms(now_ms)
    contact["dateUpdated"] = contact["dateAdded"]
    return contact


def apply_fields(contact: Contact, data: dict[str, Any], calling_code: str) -> set[str]:
    """Copy input fields onto ``contact``; returns the names of the fields that changed."""
    changed: set[str] = set()
    values = dict(data)
    if "name" in values and not ({"firstName", "lastName"} & values.keys()):
        first, _, last = str(values.pop("name") or "").partition(" ")
        values["firstName"], values["lastName"] = first, last
    for key in PLAIN_FIELDS:
        if key in values:
            value = values[key]
            if contact.get(key) != value:
                changed.add(key)
            if value is None or value == "":
                contact.pop(key, None)
            else:
                contact[key] = value
    if "phone" in values:
        phone = normalize_phone(str(values["phone"] or ""), calling_code)
        if contact.get("phone", "") != phone:
            changed.add("phone")
        if phone:
            contact["phone"] = phone
        else:
            contact.pop("phone", None)
    if "tags" in values:
        tags = normalize_tags(values["tags"] or [])
        if tags != contact.get("tags"):
            changed.add("tags")
        contact["tags"] = tags
    refresh_derived(contact)
    return changed
