"""Checks a stand-in route-table entry against the official OpenAPI operation."""

from __future__ import annotations

from typing import Any

from sandbox.ghl.spec import SpecSet

BODY_TYPES = {"json": "application/json", "form": "application/x-www-form-urlencoded"}


def check_route(spec: SpecSet, route: dict[str, Any]) -> list[str]:
    """Every way the route's claims differ from the spec; empty when it conforms."""
    where = f"{route['method']} {route['path']}"
    op = spec.operation(route["spec"], route["method"], route["path"])
    if op is None:
        return [f"{where}: no such operation in {route['spec']}.json"]
    problems = []
    if op.get("operationId") != route["operationId"]:
        problems.append(
            f"{where}: operationId {route['operationId']!r} != {op.get('operationId')!r}"
        )
    if spec.version_of(op) != route["version"]:
        problems.append(f"{where}: Version {route['version']!r} != {spec.version_of(op)!r}")

    expected = sorted(spec.security_of(op))
    claimed = sorted((s["scheme"], tuple(s["scopes"])) for s in route["security"])
    if route.get("scopeFallback"):
        # Allowed only where the spec names no scope: same schemes, stand-in adds a scope.
        if [s for s, _ in claimed] != [s for s, _ in expected] or any(
            scopes for _, scopes in expected
        ):
            problems.append(f"{where}: scope fallback used where the spec lists {expected}")
    elif claimed != expected:
        problems.append(f"{where}: security {claimed} != spec {expected}")

    responses = op.get("responses", {})
    if str(route["status"]) not in responses:
        problems.append(
            f"{where}: success status {route['status']} not in spec responses {sorted(responses)}"
        )
    elif not str(route["status"]).startswith("2"):
        problems.append(f"{where}: success status {route['status']} is not 2xx")

    content = (op.get("requestBody") or {}).get("content", {})
    body = route.get("body")
    if body is None and content:
        problems.append(f"{where}: spec has a request body ({sorted(content)}) the route ignores")
    if body is not None and BODY_TYPES[body] not in content:
        problems.append(
            f"{where}: route reads {BODY_TYPES[body]} but the spec declares "
            f"{sorted(content) or 'no body'}"
        )
    return problems
