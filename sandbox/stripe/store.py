"""Objects per account, Stripe ids, list pagination and ``expand[]``.

Every object lives in exactly one account's space: the platform's (``PLATFORM``) or a connected
account's (chosen per request by the ``Stripe-Account`` header). A lookup from another space is
a 404, as on Stripe. Objects are plain dicts in their wire shape; keys starting with ``_`` are
the stand-in's private bookkeeping and never leave it.
"""

from __future__ import annotations

import copy
import itertools
import secrets
import string
from collections.abc import Callable, Iterable
from typing import Any

from sandbox.stripe.errors import invalid, no_such

PLATFORM = ""
_ALPHABET = string.ascii_letters + string.digits
# The noun in "No such <kind>: 'id'" for each object type.
KINDS = {
    "customer": "customer",
    "product": "product",
    "price": "price",
    "payment_method": "PaymentMethod",
    "subscription": "subscription",
    "subscription_item": "subscription item",
    "invoice": "invoice",
    "invoiceitem": "invoiceitem",
    "payment_intent": "payment_intent",
    "charge": "charge",
    "checkout.session": "checkout.session",
    "billing_portal.session": "billing portal session",
    "account": "account",
    "application_fee": "application fee",
    "event": "event",
    "webhook_endpoint": "webhook endpoint",
}


def new_id(prefix: str, length: int = 24) -> str:
    return f"{prefix}_{''.join(secrets.choice(_ALPHABET) for _ in range(length))}"


class Store:
    def __init__(self) -> None:
        self.spaces: dict[str, dict[str, dict[str, Any]]] = {PLATFORM: {}}
        self.owner: dict[str, str] = {}
        self._seq = itertools.count(1)

    def add(self, account: str, obj: dict[str, Any]) -> dict[str, Any]:
        obj["_seq"] = next(self._seq)
        self.spaces.setdefault(account, {})[obj["id"]] = obj
        self.owner[obj["id"]] = account
        return obj

    def find(self, account: str, object_id: str, object_type: str | None = None) -> Any:
        obj = self.spaces.get(account, {}).get(object_id)
        if obj is None or obj.get("deleted") or (object_type and obj["object"] != object_type):
            return None
        return obj

    def get(
        self, account: str, object_id: str, object_type: str, param: str = "id"
    ) -> dict[str, Any]:
        obj = self.find(account, object_id, object_type)
        if obj is None:
            raise no_such(KINDS.get(object_type, object_type), object_id, param)
        return obj  # type: ignore[no-any-return]

    def locate(self, object_id: str, object_type: str) -> tuple[str, dict[str, Any]] | None:
        """Which space an object lives in (for hosted pages, which carry no header)."""
        account = self.owner.get(object_id)
        if account is None:
            return None
        obj = self.find(account, object_id, object_type)
        return (account, obj) if obj is not None else None

    def all(
        self, account: str, object_type: str, where: Callable[[dict[str, Any]], bool] | None = None
    ) -> list[dict[str, Any]]:
        """Newest first, like every Stripe list."""
        rows = [
            obj
            for obj in self.spaces.get(account, {}).values()
            if obj["object"] == object_type
            and not obj.get("deleted")
            and (where is None or where(obj))
        ]
        return sorted(rows, key=lambda obj: obj["_seq"], reverse=True)

    def every(self, object_type: str) -> Iterable[tuple[str, dict[str, Any]]]:
        for account, space in list(self.spaces.items()):
            for obj in list(space.values()):
                if obj["object"] == object_type and not obj.get("deleted"):
                    yield account, obj

    # -- rendering -----------------------------------------------------------------------
    def render(self, account: str, obj: dict[str, Any], expand: list[str] | None = None) -> Any:
        out = public(obj)
        for path in expand or []:
            self._expand(account, out, path.split("."), path)
        return out

    def _expand(self, account: str, node: dict[str, Any], parts: list[str], path: str) -> None:
        key, rest = parts[0], parts[1:]
        value = node.get(key)
        if isinstance(value, str) and value:
            target = self.spaces.get(account, {}).get(value)
            if target is None and value in self.spaces.get(PLATFORM, {}):
                target = self.spaces[PLATFORM][value]  # e.g. an account, seen from itself
            if target is None:
                raise invalid(f"This property cannot be expanded ({path}).", "expand")
            node[key] = value = public(target)
        elif key == "data" and isinstance(value, list):
            for item in value:
                if rest:
                    self._expand(account, item, rest, path)
            return
        elif value is None and key in node:
            return  # a null reference stays null, as on Stripe
        elif not isinstance(value, dict):
            raise invalid(f"This property cannot be expanded ({path}).", "expand")
        if rest:
            self._expand(account, value, rest, path)

    def page(
        self,
        account: str,
        rows: list[dict[str, Any]],
        params: dict[str, Any],
        url: str,
    ) -> dict[str, Any]:
        limit = as_int(params.get("limit", 10), "limit")
        if not 1 <= limit <= 100:
            raise invalid(
                "This value must be greater than or equal to 1 and less than or equal to 100.",
                "limit",
            )
        after, before = params.get("starting_after"), params.get("ending_before")
        ids = [row["id"] for row in rows]
        for name, cursor in (("starting_after", after), ("ending_before", before)):
            if cursor and cursor not in ids:
                raise no_such("object", str(cursor), name)
        if after:
            rows = rows[ids.index(after) + 1 :]
            chunk, has_more = rows[:limit], len(rows) > limit
        elif before:
            rows = rows[: ids.index(before)]
            chunk, has_more = rows[-limit:], len(rows) > limit
        else:
            chunk, has_more = rows[:limit], len(rows) > limit
        expand = [p[len("data.") :] for p in params.get("expand") or [] if p.startswith("data.")]
        return {
            "object": "list",
            "data": [self.render(account, row, expand) for row in chunk],
            "has_more": has_more,
            "url": url,
        }


def public(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: public(item) for key, item in value.items() if not key.startswith("_")}
    if isinstance(value, list):
        return [public(item) for item in value]
    return copy.copy(value)


def as_int(value: Any, param: str) -> int:
    try:
        return int(str(value))
    except ValueError:
        raise invalid(f"Invalid integer: {value}", param, "parameter_invalid_integer") from None


def as_bool(value: Any, param: str) -> bool:
    if isinstance(value, bool):
        return value
    if str(value).lower() in ("true", "false"):
        return str(value).lower() == "true"
    raise invalid(f"Invalid boolean: {value}", param, "parameter_invalid_boolean")


def metadata(value: Any, current: dict[str, str] | None = None) -> dict[str, str]:
    """Merge like Stripe: keys set to "" are removed; a "" for the whole hash clears it."""
    out = dict(current or {})
    if value == "":
        return {}
    if not isinstance(value, dict):
        raise invalid("Invalid hash", "metadata", "parameter_invalid_hash")
    for key, item in value.items():
        if item == "":
            out.pop(key, None)
        else:
            out[key] = str(item)
    return out
