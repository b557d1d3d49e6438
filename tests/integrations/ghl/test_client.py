"""The GHL client against the stand-in: Version headers, retries with backoff where repeating is
safe, 429 handling, the error taxonomy, paging, the call log, and the async face."""

from __future__ import annotations

import asyncio
import os
import time
from typing import Any

import pytest

from integrations.ghl import operations as ops
from integrations.ghl import paging, transport
from integrations.ghl.client import AsyncGhlClient, GhlClient, pooled_http
from integrations.ghl.config import ghl_app
from integrations.ghl.errors import (
    GhlNotFound,
    GhlRateLimited,
    GhlServerError,
    GhlTimeout,
    GhlValidationError,
)
from integrations.ghl.governor import Priority
from integrations.ghl.models import GhlCallLog, GhlInstallation
from sandbox.ghl.testing import StandIn
from tests.integrations.conftest import APEX, DUBAI, Installer

pytestmark = pytest.mark.django_db
FAST = transport.RetryPolicy(max_transient=3, max_throttled=2, backoff_base=0.01, backoff_cap=0.05)


@pytest.fixture
def dubai(install: Installer) -> GhlInstallation:
    return install(location_id=DUBAI)


def client(installation: GhlInstallation, **kw: Any) -> GhlClient:
    return GhlClient(installation, policy=FAST, **kw)


def test_typed_operations_and_the_call_log(dubai: GhlInstallation, ghl: StandIn) -> None:
    with client(dubai) as ghl_client:
        location = ghl_client.run(ops.location_get(location_id=DUBAI))
        created = ghl_client.run(
            ops.contact_create(location_id=DUBAI, fields={"firstName": "Mona", "email": "m@x.test"})
        )
        fetched = ghl_client.run(ops.contact_get(contact_id=created["id"]))
    assert location["timezone"] == "Asia/Dubai"
    assert fetched["email"] == "m@x.test"
    calls = list(GhlCallLog.objects.for_agency(dubai.agency).order_by("id"))
    assert [(c.method, c.path, c.status) for c in calls][-3:] == [
        ("GET", f"/locations/{DUBAI}", 200),
        ("POST", "/contacts/", 201),
        ("GET", f"/contacts/{created['id']}", 200),
    ]
    assert calls[-1].rate_remaining is not None and calls[-1].daily_remaining is not None
    assert all(c.location == dubai.location for c in calls)


def test_clients_share_the_process_connection_pool(dubai: GhlInstallation) -> None:
    """A client per call must not build its own TLS context and connections: they share one
    pool, closing a client leaves it usable, and a forked worker builds its own."""
    with client(dubai) as first:
        first.run(ops.location_get(location_id=DUBAI))
    with client(dubai) as second:
        assert second.http is first.http
        assert second.run(ops.location_get(location_id=DUBAI))["id"] == DUBAI
    timeout = ghl_app().timeout
    assert pooled_http(timeout) is first.http
    reader, writer = os.pipe()
    child = os.fork()
    if child == 0:  # pragma: no cover — the child reports through the pipe
        os.write(writer, b"1" if pooled_http(timeout) is first.http else b"0")
        os._exit(0)
    os.waitpid(child, 0)
    assert os.read(reader, 1) == b"0"


def test_errors_map_to_the_taxonomy(dubai: GhlInstallation) -> None:
    with client(dubai) as ghl_client:
        with pytest.raises(GhlNotFound):
            ghl_client.run(ops.contact_get(contact_id="NoSuchContact0000001"))
        with pytest.raises(GhlValidationError) as invalid:
            ghl_client.run(ops.contact_create(location_id=DUBAI, fields={"email": 12}))
    assert invalid.value.status in (400, 422) and invalid.value.messages


def test_5xx_on_a_get_is_retried_then_succeeds(dubai: GhlInstallation, ghl: StandIn) -> None:
    before = GhlCallLog.objects.for_agency(dubai.agency).order_by("-id").first()
    ghl.set_faults(DUBAI, error_rate=0.5, error_status=503, paths=["/locations/"])
    with client(dubai) as ghl_client:
        for _ in range(10):
            assert ghl_client.run(ops.location_get(location_id=DUBAI))["id"] == DUBAI
    attempts = GhlCallLog.objects.for_agency(dubai.agency).filter(
        path=f"/locations/{DUBAI}", id__gt=before.pk if before else 0
    )
    assert attempts.filter(status=503).exists() and attempts.filter(status=200).count() == 10


def test_persistent_5xx_gives_up_after_the_bounded_retries(
    dubai: GhlInstallation, ghl: StandIn
) -> None:
    ghl.set_faults(DUBAI, error_rate=1.0, error_status=502, paths=["/locations/"])
    with client(dubai) as ghl_client, pytest.raises(GhlServerError):
        ghl_client.run(ops.location_get(location_id=DUBAI))
    assert GhlCallLog.objects.for_agency(dubai.agency).filter(status=502).count() == 4


def test_a_create_is_not_repeated_after_a_5xx(dubai: GhlInstallation, ghl: StandIn) -> None:
    ghl.set_faults(DUBAI, error_rate=1.0, error_status=500, paths=["/contacts/"])
    with client(dubai) as ghl_client, pytest.raises(GhlServerError):
        ghl_client.run(ops.contact_create(location_id=DUBAI, fields={"firstName": "Once"}))
    assert GhlCallLog.objects.for_agency(dubai.agency).filter(path="/contacts/").count() == 1


def test_timeouts_are_retried_for_safe_calls(
    dubai: GhlInstallation, ghl: StandIn, settings: Any
) -> None:
    settings.GHL_HTTP_TIMEOUT_SECONDS = 0.3
    ghl.set_faults(DUBAI, timeout_rate=1.0, timeout_hold_ms=1000, paths=["/locations/"])
    started = time.monotonic()
    with client(dubai) as ghl_client, pytest.raises(GhlTimeout):
        ghl_client.run(ops.location_get(location_id=DUBAI))
    assert time.monotonic() - started < 10  # 4 attempts of 0.3 s, not 4 of the 1 s hold
    no_answer = GhlCallLog.objects.for_agency(dubai.agency).filter(status__isnull=True)
    assert no_answer.count() == 4 and "Timeout" in no_answer.first().error  # type: ignore[union-attr]


def test_a_429_waits_as_the_headers_say_then_succeeds(
    dubai: GhlInstallation, ghl: StandIn, settings: Any
) -> None:
    # GHL counts 3 requests per 0.5 s here while our governor believes in 1,000: the 429s and
    # the headers correct us, and every call still succeeds.
    ghl.set_config(rate_limits={"burst_max": 3, "burst_window_s": 0.5})
    settings.GHL_RATE_BURST_LIMIT = 1000
    settings.GHL_RATE_WINDOW_MS = 500
    started = time.monotonic()
    with client(dubai) as ghl_client:
        for _ in range(8):
            ghl_client.run(ops.location_get(location_id=DUBAI))
    assert time.monotonic() - started < 5
    calls = GhlCallLog.objects.for_agency(dubai.agency).filter(path=f"/locations/{DUBAI}")
    assert calls.filter(status=200).count() >= 8


def test_the_daily_budget_spent_is_reported_not_waited_for(
    dubai: GhlInstallation, ghl: StandIn, settings: Any
) -> None:
    ghl.set_config(rate_limits={"daily_limit": 2})
    settings.GHL_RATE_DAILY_LIMIT = 1_000_000
    with client(dubai) as ghl_client, pytest.raises(GhlRateLimited, match="daily"):
        for _ in range(5):
            ghl_client.run(ops.location_get(location_id=DUBAI))


def test_every_paging_style_walks_all_rows_once(
    install: Installer, ghl: StandIn, dubai: GhlInstallation
) -> None:
    ghl.seed(DUBAI, seed=7, contacts=250, conversations=30)
    with client(dubai) as ghl_client:
        legacy = paging.StartAfter(
            lambda after, after_id: ops.contacts_list(
                location_id=DUBAI, limit=100, start_after=after, start_after_id=after_id
            ),
            key="contacts",
        )
        contact_ids = [c["id"] for page in paging.pages(ghl_client, legacy) for c in page]
        conversations = paging.StartAfterDate(
            lambda after: ops.conversations_search(
                location_id=DUBAI, limit=7, start_after_date=after
            ),
            key="conversations",
            size=7,
        )
        conversation_pages = list(paging.pages(ghl_client, conversations))
        first = conversation_pages[0][0]["id"]
        messages = paging.LastId(
            lambda last: ops.conversation_messages(
                conversation_id=first, limit=2, last_message_id=last
            )
        )
        message_pages = list(paging.pages(ghl_client, messages))
        total = ghl_client.run(ops.contacts_search(location_id=DUBAI, page_limit=1))["total"]
    assert len(contact_ids) == len(set(contact_ids)) == total >= 250
    conversation_ids = [c["id"] for page in conversation_pages for c in page]
    assert len(conversation_ids) == len(set(conversation_ids)) >= 30
    message_ids = [m["id"] for page in message_pages for m in page]
    assert len(message_ids) == len(set(message_ids)) >= 1

    company = install(company_id=APEX, approvedLocations=[DUBAI])
    with client(company) as agency_client:
        one_by_one = paging.SkipLimit(
            lambda skip, limit: ops.installed_locations(
                company_id=APEX, app_id="66d0a1b2c3d4e5f601234567", skip=skip, limit=limit
            ),
            key="locations",
            size=1,
        )
        rows = list(paging.pages(agency_client, one_by_one))
    assert [page[0]["_id"] for page in rows] == [DUBAI]


@pytest.mark.django_db(transaction=True)
def test_search_after_paging_on_the_async_face(
    install: Installer, ghl: StandIn, settings: Any
) -> None:
    ghl.set_config(rate_limits={"unlimited": True})
    settings.GHL_RATE_BURST_LIMIT = 100_000
    installation = install(location_id=DUBAI)
    ghl.seed(DUBAI, seed=3, contacts=1200)

    async def walk() -> list[str]:
        pager = paging.SearchAfter(
            lambda after: ops.contacts_search(
                location_id=DUBAI,
                page_limit=500,
                search_after=after,
                sort=[{"field": "dateAdded", "direction": "asc"}],
            ),
            key="contacts",
            size=500,
        )
        async with AsyncGhlClient(installation, priority=Priority.BULK, policy=FAST) as aclient:
            return [c["id"] async for page in paging.apages(aclient, pager) for c in page]

    ids = asyncio.run(walk())
    assert len(ids) == len(set(ids)) >= 1200


@pytest.mark.django_db(transaction=True)
def test_the_async_face_keeps_many_calls_in_flight(
    install: Installer, ghl: StandIn, settings: Any
) -> None:
    ghl.set_config(rate_limits={"unlimited": True})
    settings.GHL_RATE_BURST_LIMIT = 100_000
    installation = install(location_id=DUBAI)
    ghl.set_faults(DUBAI, latency={"kind": "fixed", "ms": 200})

    async def run() -> tuple[float, list[Any]]:
        async with AsyncGhlClient(installation, priority=Priority.BULK, policy=FAST) as aclient:
            started = time.monotonic()
            results = await asyncio.gather(
                *(aclient.run(ops.location_get(location_id=DUBAI)) for _ in range(100))
            )
            return time.monotonic() - started, results

    elapsed, results = asyncio.run(run())
    assert all(r["id"] == DUBAI for r in results)
    # In series: 20 s. Concurrently about 1 s; the bound leaves room for a loaded machine.
    assert elapsed < 8, f"100 calls of 200 ms took {elapsed:.2f} s: not concurrent"
    assert GhlCallLog.objects.for_agency(installation.agency).filter(status=200).count() >= 100
