"""Stripe's request encoding: form bodies (and query strings) with bracketed nested keys.

``metadata[plan]=gold``, ``items[0][price]=price_1``, ``expand[]=customer``. Numeric or empty
brackets make arrays; an empty string is kept (Stripe reads it as "unset this field").
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import parse_qsl

from sandbox.stripe.errors import invalid

_KEY = re.compile(r"^([^\[\]]+)((?:\[[^\[\]]*\])*)$")


def decode(body: str) -> dict[str, Any]:
    root: dict[str, Any] = {}
    for raw_key, value in parse_qsl(body, keep_blank_values=True):
        match = _KEY.match(raw_key)
        if match is None:
            raise invalid(f"Invalid parameter name: {raw_key}", param=raw_key)
        parts = [match.group(1), *re.findall(r"\[([^\[\]]*)\]", match.group(2))]
        _put(root, parts, value, raw_key)
    out: dict[str, Any] = _listify(root)
    return out


def _put(node: dict[str, Any], parts: list[str], value: str, raw_key: str) -> None:
    for index, part in enumerate(parts):
        last = index == len(parts) - 1
        if part == "":
            # "expand[]" style: append under the next free index.
            part = str(sum(1 for key in node if key.isdigit()))
        if last:
            if isinstance(node.get(part), dict):
                raise invalid(f"Invalid parameter: {raw_key} mixes a value and a hash", raw_key)
            node[part] = value
            return
        child = node.setdefault(part, {})
        if not isinstance(child, dict):
            raise invalid(f"Invalid parameter: {raw_key} mixes a value and a hash", raw_key)
        node = child


def _listify(node: Any) -> Any:
    """Hashes whose keys are all 0..n-1 become lists, recursively."""
    if not isinstance(node, dict):
        return node
    out = {key: _listify(value) for key, value in node.items()}
    if out and all(key.isdigit() for key in out):
        keys = sorted(out, key=int)
        if [int(key) for key in keys] == list(range(len(keys))):
            return [out[key] for key in keys]
    return out
