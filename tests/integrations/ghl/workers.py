"""Code run in child processes by the concurrency tests (importable, so `spawn` can find it).

Each child sets Django up on the test database, then runs many GHL calls at once through the
real async client; it reports how many succeeded and the errors of the others."""

from __future__ import annotations

import asyncio
import os
from typing import Any


def setup_django(overrides: dict[str, Any]) -> None:
    os.environ["DJANGO_SETTINGS_MODULE"] = "saas_platform.settings.test"
    import django
    from django.conf import settings

    django.setup()
    for name, value in overrides.items():
        if name == "DATABASE_NAME":
            settings.DATABASES["default"]["NAME"] = value
        else:
            setattr(settings, name, value)


def call_many(
    installation_pks: list[int], calls_each: int, overrides: dict[str, Any]
) -> dict[str, Any]:
    """`calls_each` concurrent `GET /locations/{id}` per installation, all at once."""
    setup_django(overrides)
    from integrations.ghl import operations as ops
    from integrations.ghl.client import AsyncGhlClient
    from integrations.ghl.models import GhlInstallation

    installations = list(
        GhlInstallation.objects.unscoped()
        .select_related("location")
        .filter(pk__in=installation_pks)
    )

    async def run() -> list[Any]:
        clients = [AsyncGhlClient(i) for i in installations]
        try:
            calls = [
                client.run(ops.location_get(location_id=client.installation.ghl_location_id))
                for client in clients
                for _ in range(calls_each)
            ]
            return await asyncio.gather(*calls, return_exceptions=True)
        finally:
            for client in clients:
                await client.aclose()

    results = asyncio.run(run())
    errors = [f"{type(r).__name__}: {r}" for r in results if isinstance(r, BaseException)]
    return {"ok": len(results) - len(errors), "errors": errors[:5], "failed": len(errors)}
