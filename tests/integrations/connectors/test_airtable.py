"""The Airtable connector against the wire-level fake, and the Redis rate limiter under it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis
from django.conf import settings as django_settings

from integrations.connectors import ssrf
from integrations.connectors.airtable import AirtableConnector
from integrations.connectors.base import (
    ConnectorAuthError,
    ConnectorConfigError,
    ConnectorError,
    ConnectorSettings,
    ConnectorUnavailable,
    OutboundRecord,
    connector_class,
)
from integrations.connectors.ratelimit import RateLimiter, RateLimitTimeout

from .airtable_fake import AirtableFake, airtable_time

BASE = "appTESTBASE000001"
OTHER_BASE = "appOTHERBASE00002"
TOKEN = "patTESTTOKEN00001." + "0123456789abcdef" * 4
T0 = datetime(2024, 5, 1, 10, 0, 0, tzinfo=UTC)


class Clock:
    """The fake's wall clock, moved by hand."""

    def __init__(self, at: datetime) -> None:
        self.at = at

    def __call__(self) -> datetime:
        return self.at


@pytest.fixture(autouse=True)
def _own_rate_keys(settings: Any) -> None:
    # A key space of our own on the shared Redis, so parallel runs never share windows.
    settings.CONNECTOR_RATE_KEY_PREFIX = f"test:airtable:{uuid.uuid4().hex}"
    settings.AIRTABLE_API_BASE = "https://api.airtable.com"


@pytest.fixture
def clock() -> Clock:
    return Clock(T0)


@pytest.fixture
def fake(respx_mock: Any, clock: Clock) -> AirtableFake:
    fake = AirtableFake(now=clock)
    fake.add_token(TOKEN)
    fake.add_table(BASE, "Contacts", ["Name", "Email", "Phone"])
    fake.add_base(OTHER_BASE)
    fake.install(respx_mock)
    return fake


class Made:
    """Connectors made by a test, closed at its end, and the waits they asked for."""

    def __init__(self) -> None:
        self.sleeps: list[float] = []
        self.made: list[AirtableConnector] = []

    def __call__(
        self,
        *,
        fields: tuple[str, ...] = ("Name", "Email"),
        modified: str | None = "Last modified",
        token: str = TOKEN,
        table: str = "Contacts",
        base: str = BASE,
        limiter: RateLimiter | None = None,
    ) -> AirtableConnector:
        config = {"base_id": base, "table": table}
        if modified:
            config["modified_field"] = modified
        connector = AirtableConnector(
            ConnectorSettings(config=config, credentials={"token": token}, fields=list(fields)),
            http=httpx.Client(timeout=10),
            limiter=limiter,
            sleep=self.sleeps.append,
        )
        self.made.append(connector)
        return connector


@pytest.fixture
def make() -> Iterator[Made]:
    made = Made()
    yield made
    for connector in made.made:
        connector.close()
        connector._http.close()


def _params(entry: Any) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for key, value in entry.params:
        out.setdefault(key, []).append(value)
    return out


def _contacts(fake: AirtableFake, clock: Clock, count: int, step: timedelta) -> list[str]:
    ids = []
    for i in range(count):
        clock.at = T0 + step * i
        ids += fake.add_records(BASE, "Contacts", [{"Name": f"P{i}", "Email": f"p{i}@x.test"}])
    return ids


# -- registration and settings --------------------------------------------------------------------


def test_registered_as_airtable() -> None:
    assert connector_class("airtable") is AirtableConnector
    assert AirtableConnector.label == "Airtable"


@pytest.mark.parametrize(
    ("config", "credentials", "expected"),
    [
        ({"table": "Contacts"}, {"token": TOKEN}, "Enter the Airtable base id"),
        ({"base_id": "app123", "table": "T"}, {"token": TOKEN}, "is not an Airtable base id"),
        ({"base_id": "base0000000000001", "table": "T"}, {"token": TOKEN}, "not an Airtable"),
        ({"base_id": BASE, "table": "  "}, {"token": TOKEN}, "Enter the Airtable table"),
        ({"base_id": BASE, "table": "T"}, {}, "Enter an Airtable personal access token"),
        (
            {"base_id": BASE, "table": "T"},
            {"token": "keyABCDEFGHIJ1234"},
            "retired Airtable API key",
        ),
        ({"base_id": BASE, "table": "T"}, {"token": "pat1 2"}, "spaces or line breaks"),
        (
            {"base_id": BASE, "table": "T", "modified_field": "a{b}"},
            {"token": TOKEN},
            "curly braces",
        ),
    ],
)
def test_validate_refuses_settings_that_cannot_work(
    config: dict[str, Any], credentials: dict[str, Any], expected: str
) -> None:
    with pytest.raises(ConnectorConfigError) as caught:
        AirtableConnector.validate(config, credentials)
    assert expected in caught.value.message
    assert TOKEN not in caught.value.message


def test_validate_accepts_good_settings() -> None:
    AirtableConnector.validate(
        {"base_id": BASE, "table": "tblABCDEFGHIJKLMN", "modified_field": "Last modified"},
        {"token": TOKEN},
    )


# -- check() --------------------------------------------------------------------------------------


def test_check_passes_and_reads_the_schema(fake: AirtableFake, make: Made) -> None:
    make(fields=("Name", "Email", "Phone")).check()
    assert [(e.method, e.path, e.status) for e in fake.log] == [
        ("GET", f"/v0/{BASE}/Contacts", 200),
        ("GET", f"/v0/meta/bases/{BASE}/tables", 200),
    ]
    assert _params(fake.log[0])["pageSize"] == ["1"]


def test_check_works_with_a_table_id(fake: AirtableFake, make: Made) -> None:
    table_id = fake.table(BASE, "Contacts").id
    make(table=table_id).check()
    assert fake.log[0].path == f"/v0/{BASE}/{table_id}"


def test_check_refused_token(fake: AirtableFake, make: Made) -> None:
    wrong = "patWRONGTOKEN0001." + "f" * 64
    with pytest.raises(ConnectorAuthError) as caught:
        make(token=wrong).check()
    assert caught.value.message.startswith("Airtable refused the token")
    assert wrong not in caught.value.message
    assert fake.log[0].status == 401


def test_check_names_a_missing_mapped_field(fake: AirtableFake, make: Made) -> None:
    with pytest.raises(ConnectorConfigError) as caught:
        make(fields=("Name", "Phone number")).check()
    assert "no field 'Phone number'" in caught.value.message


def test_check_names_a_missing_field_without_schema_access(fake: AirtableFake, make: Made) -> None:
    token = fake.add_token(scopes={"data.records:read", "data.records:write"})
    with pytest.raises(ConnectorConfigError) as caught:
        make(token=token, fields=("Name", "Mobile")).check()
    assert "no field 'Mobile'" in caught.value.message
    # The schema was refused (403), so the fields were asked for by name instead (422).
    assert [e.status for e in fake.log] == [200, 403, 422]
    assert token not in caught.value.message


def test_check_without_schema_access_passes_when_fields_exist(
    fake: AirtableFake, make: Made
) -> None:
    token = fake.add_token(scopes={"data.records:read"})
    make(token=token, fields=("Name", "Email")).check()
    assert _params(fake.log[-1])["fields[]"] == ["Name", "Email", "Last modified"]


def test_check_refuses_a_modified_field_that_is_not_a_time(fake: AirtableFake, make: Made) -> None:
    with pytest.raises(ConnectorConfigError) as caught:
        make(modified="Email").check()
    assert 'must be a "Last modified time" field' in caught.value.message


@pytest.mark.parametrize("case", ["base not granted", "unknown base", "unknown table"])
def test_check_explains_missing_access(fake: AirtableFake, make: Made, case: str) -> None:
    if case == "base not granted":
        token = fake.add_token(bases=[OTHER_BASE])
        connector = make(token=token)
    elif case == "unknown base":
        connector = make(base="appNOSUCHBASE0003")
    else:
        connector = make(table="Leads")
    with pytest.raises(ConnectorConfigError) as caught:
        connector.check()
    message = caught.value.message
    assert "Airtable found no table" in message
    assert "access list includes the base" in message
    assert fake.log[0].status == 403
    assert TOKEN not in message


# -- changes() ------------------------------------------------------------------------------------


def test_changes_pages_through_every_record_without_a_modified_field(
    fake: AirtableFake, make: Made, clock: Clock
) -> None:
    ids = _contacts(fake, clock, 250, timedelta(seconds=1))
    connector = make(modified=None)

    first = connector.changes(None, limit=100)
    assert first.more and first.cursor
    assert [r.key for r in first.records] == ids[:100]
    assert first.records[0].fields == {"Name": "P0", "Email": "p0@x.test"}
    assert first.records[0].modified_at is None
    second = connector.changes(first.cursor, limit=100)
    third = connector.changes(second.cursor, limit=100)
    assert [r.key for r in second.records + third.records] == ids[100:]
    assert not third.more and third.cursor is None

    params = [_params(e) for e in fake.log]
    assert all(p["pageSize"] == ["100"] for p in params)
    assert all(p["returnFieldsByFieldId"] == ["false"] for p in params)
    assert all(p["fields[]"] == ["Name", "Email"] for p in params)
    assert "offset" not in params[0] and params[1]["offset"] and params[2]["offset"]
    assert all("filterByFormula" not in p for p in params)

    # The next run lists everything again; one call pages through up to `limit` records.
    again = connector.changes(third.cursor)
    assert len(again.records) == 250 and not again.more
    assert len(fake.log) == 6


def test_changes_incremental_filter_and_cursor(
    fake: AirtableFake, make: Made, clock: Clock
) -> None:
    ids = _contacts(fake, clock, 3, timedelta(seconds=1))
    connector = make(fields=("Name",))

    first = connector.changes(None)
    assert [r.key for r in first.records] == ids
    assert first.records[2].modified_at == T0 + timedelta(seconds=2)
    assert first.records[0].fields == {"Name": "P0"}
    assert json.loads(first.cursor or "")["since"] == airtable_time(T0 + timedelta(seconds=2))
    assert not first.more and "filterByFormula" not in _params(fake.log[-1])

    clock.at = T0 + timedelta(seconds=10)
    fake.edit(BASE, "Contacts", ids[0], Name="P0 edited")
    clock.at = T0 + timedelta(seconds=11)
    new = fake.add_records(BASE, "Contacts", [{"Name": "P3"}])

    second = connector.changes(first.cursor)
    assert _params(fake.log[-1])["filterByFormula"] == [
        "IS_AFTER({Last modified}, '2024-05-01T09:59:57.000Z')"  # since, less the lookback
    ]
    assert [(r.key, r.fields["Name"]) for r in second.records] == [
        (ids[0], "P0 edited"),
        (new[0], "P3"),
    ]
    assert json.loads(second.cursor or "")["since"] == "2024-05-01T10:00:11.000Z"

    third = connector.changes(second.cursor)
    assert third.records == [] and not third.more
    assert _params(fake.log[-1])["filterByFormula"] == [
        "IS_AFTER({Last modified}, '2024-05-01T10:00:06.000Z')"
    ]

    # A write that lands with a time just before the cursor's (it was in flight while we read)
    # is still seen, thanks to the lookback; unchanged records are not delivered again.
    clock.at = T0 + timedelta(seconds=9)
    fake.edit(BASE, "Contacts", ids[1], Name="P1 late")
    fourth = connector.changes(third.cursor)
    assert [(r.key, r.fields["Name"]) for r in fourth.records] == [(ids[1], "P1 late")]


def test_changes_incremental_pages_keep_their_filter(
    fake: AirtableFake, make: Made, clock: Clock
) -> None:
    ids = _contacts(fake, clock, 30, timedelta(seconds=10))
    connector = make()
    first = connector.changes(None)
    clock.at = T0 + timedelta(hours=1)
    for record_id in ids[:25]:
        fake.edit(BASE, "Contacts", record_id, Phone="1")
    page = connector.changes(first.cursor, limit=10)
    seen = [r.key for r in page.records]
    while page.more:
        formula = _params(fake.log[-1])["filterByFormula"]
        page = connector.changes(page.cursor, limit=10)
        assert _params(fake.log[-1])["filterByFormula"] == formula
        seen += [r.key for r in page.records]
    assert seen == ids[:25]
    assert json.loads(page.cursor or "")["since"] == airtable_time(T0 + timedelta(hours=1))


def test_changes_starts_the_pass_again_when_airtable_forgets_the_offset(
    fake: AirtableFake, make: Made, clock: Clock
) -> None:
    ids = _contacts(fake, clock, 150, timedelta(seconds=0))
    connector = make(modified=None)
    first = connector.changes(None, limit=100)
    fake.expire_iterators()
    second = connector.changes(first.cursor, limit=200)
    assert [e.status for e in fake.log] == [200, 422, 200, 200]
    assert [r.key for r in second.records] == ids
    assert not second.more


def test_changes_flattens_airtable_values(fake: AirtableFake, make: Made) -> None:
    kinds = {"Name": "singleLineText", "Tags": "multipleSelects", "Owner": "singleCollaborator"}
    kinds |= {"Score": "number", "Ok": "checkbox", "Notes": "multilineText"}
    fake.add_table(BASE, "Rich", kinds)
    fake.add_records(
        BASE,
        "Rich",
        [
            {
                "Name": "A",
                "Tags": ["vip", "lead"],
                "Owner": {"id": "usr1", "email": "o@x.test", "name": "O"},
                "Score": 4.5,
                "Ok": True,
            }
        ],
    )
    connector = make(table="Rich", fields=("Name", "Tags", "Owner", "Score", "Ok", "Notes"))
    page = connector.changes(None)
    assert page.records[0].fields == {
        "Name": "A",
        "Tags": "vip, lead",
        "Owner": "o@x.test",
        "Score": 4.5,
        "Ok": True,
        "Notes": None,  # empty: Airtable leaves it out
    }


def test_changes_names_a_renamed_field(fake: AirtableFake, make: Made) -> None:
    with pytest.raises(ConnectorConfigError) as caught:
        make(fields=("Name", "E-mail")).changes(None)
    assert "no field 'E-mail'" in caught.value.message


# -- upsert() and delete() ------------------------------------------------------------------------


def test_upsert_updates_and_creates_in_batches_of_ten(
    fake: AirtableFake, make: Made, clock: Clock
) -> None:
    existing = _contacts(fake, clock, 23, timedelta(0))
    outbound: list[OutboundRecord] = []
    for i in range(35):
        if (i % 3 == 2 and i < 30) or i >= 33:  # 12 new ones among the 23 updates
            outbound.append(OutboundRecord(None, {"Name": f"New {i}", "Email": None}))
        else:
            outbound.append(OutboundRecord(existing.pop(0), {"Name": f"Upd {i}"}))
    assert not existing

    keys = make().upsert(outbound)

    assert len(keys) == 35
    for record, key in zip(outbound, keys, strict=True):
        if record.key:
            assert key == record.key
    by_id = {r["id"]: r["fields"] for r in fake.records(BASE, "Contacts")}
    assert len(by_id) == 23 + 12
    assert [by_id[k]["Name"] for k in keys] == [r.fields["Name"] for r in outbound]
    patches, posts = fake.requests("PATCH"), fake.requests("POST")
    assert [len(e.body["records"]) for e in patches] == [10, 10, 3]
    assert [len(e.body["records"]) for e in posts] == [10, 2]
    assert all(e.body["typecast"] is True for e in patches + posts)
    assert all(set(r) == {"id", "fields"} for e in patches for r in e.body["records"])
    assert all(set(r) == {"fields"} for e in posts for r in e.body["records"])


def test_upsert_of_a_record_deleted_in_airtable_is_a_clear_error(
    fake: AirtableFake, make: Made
) -> None:
    with pytest.raises(ConnectorError) as caught:
        make().upsert([OutboundRecord("recGONEGONEGONE01", {"Name": "x"})])
    assert "no longer in the table 'Contacts'" in caught.value.message


def test_delete_in_batches_of_ten_skipping_records_already_gone(
    fake: AirtableFake, make: Made, clock: Clock
) -> None:
    ids = _contacts(fake, clock, 25, timedelta(0))
    connector = make()
    connector.delete(ids[:21])
    deletes = fake.requests("DELETE")
    assert [len(_params(e)["records[]"]) for e in deletes] == [10, 10, 1]
    assert [r["id"] for r in fake.records(BASE, "Contacts")] == ids[21:]

    # One of the batch is gone already: the others are still deleted.
    fake.log.clear()
    connector.delete([ids[0], ids[21], ids[22]])
    assert [(e.method, e.status) for e in fake.log] == [("DELETE", 404)] + [("DELETE", 404)] + [
        ("DELETE", 200)
    ] * 2
    assert [r["id"] for r in fake.records(BASE, "Contacts")] == ids[23:]


def test_find_asks_airtable_with_a_formula(fake: AirtableFake, make: Made, clock: Clock) -> None:
    ids = _contacts(fake, clock, 5, timedelta(0))
    found = make().find("Email", "p3@x.test")
    assert [r.key for r in found] == [ids[3]]
    assert _params(fake.log[-1])["filterByFormula"] == ["{Email} = 'p3@x.test'"]


# -- failures, retries and the rate limit ---------------------------------------------------------


def test_429_twice_backs_off_then_succeeds(fake: AirtableFake, make: Made) -> None:
    fake.force_429(times=2)
    connector = make()
    page = connector.changes(None)
    assert page.records == []
    assert make.sleeps == [30.0, 30.0]  # Airtable asks for 30 s
    assert [e.status for e in fake.log] == [429, 429, 200]


def test_429_respects_retry_after(fake: AirtableFake, make: Made) -> None:
    fake.force_429(times=1, retry_after="7")
    make().changes(None)
    assert make.sleeps == [7.0]


def test_429_forever_gives_up_as_unavailable(fake: AirtableFake, make: Made) -> None:
    fake.force_429(times=None)
    with pytest.raises(ConnectorUnavailable) as caught:
        make().upsert([OutboundRecord(None, {"Name": "x"})])
    assert caught.value.retryable
    assert "too many requests" in caught.value.message
    assert len(fake.log) == AirtableConnector.rate_limit_attempts
    assert make.sleeps == [30.0] * (AirtableConnector.rate_limit_attempts - 1)
    assert TOKEN not in caught.value.message


def test_server_errors_are_retried_with_jittered_backoff(fake: AirtableFake, make: Made) -> None:
    fake.force(503, {"error": {"type": "SERVICE_UNAVAILABLE", "message": "busy"}}, times=2)
    make().changes(None)
    assert [e.status for e in fake.log] == [503, 503, 200]
    assert 0.5 <= make.sleeps[0] <= 1.0 and 1.0 <= make.sleeps[1] <= 2.0

    fake.log.clear()
    fake.force(500, {"error": {"type": "SERVER_ERROR", "message": "oops"}}, times=None)
    with pytest.raises(ConnectorUnavailable) as caught:
        make().changes(None)
    assert "500 SERVER_ERROR (oops)" in caught.value.message
    assert len(fake.log) == AirtableConnector.error_attempts


def test_a_create_that_failed_on_a_500_is_not_sent_twice(fake: AirtableFake, make: Made) -> None:
    fake.force(500, {"error": {"type": "SERVER_ERROR", "message": "oops"}}, times=1)
    with pytest.raises(ConnectorUnavailable):
        make().upsert([OutboundRecord(None, {"Name": "x"})])
    assert len(fake.requests("POST")) == 1


def test_error_shapes_are_surfaced_without_the_token(fake: AirtableFake, make: Made) -> None:
    fake.force(
        422,
        {"error": {"type": "INVALID_VALUE_FOR_COLUMN", "message": f"Bad value near {TOKEN}"}},
    )
    with pytest.raises(ConnectorError) as caught:
        make().upsert([OutboundRecord(None, {"Name": "x"})])
    assert "INVALID_VALUE_FOR_COLUMN: Bad value near [token]" in caught.value.message
    assert TOKEN not in caught.value.message

    fake.force(400, {"error": "INVALID_REQUEST"})
    with pytest.raises(ConnectorError) as caught:
        make().changes(None)
    assert caught.value.message == "Airtable refused the request (400 INVALID_REQUEST)."


def test_the_fake_answers_429_past_five_requests_a_second(fake: AirtableFake) -> None:
    # Without the limiter, a burst of six is refused at the sixth: the fake is strict.
    with httpx.Client() as http:
        url = f"https://api.airtable.com/v0/{BASE}/Contacts"
        answers = [http.get(url, headers={"Authorization": f"Bearer {TOKEN}"}) for _ in range(6)]
    assert [a.status_code for a in answers] == [200] * 5 + [429]
    assert answers[-1].json()["errors"][0]["error"] == "RATE_LIMIT_REACHED"
    assert fake.max_in_window(BASE) == 5


def test_four_threads_never_exceed_five_requests_a_second(
    fake: AirtableFake, make: Made, clock: Clock
) -> None:
    fake.add_records(BASE, "Contacts", [{"Name": "A"}, {"Name": "B"}])
    # Each thread is its own "process": its own connector, HTTP client and Redis client.
    connectors = [
        make(limiter=RateLimiter(redis.Redis.from_url(django_settings.REDIS_URL))) for _ in range(4)
    ]
    errors: list[BaseException] = []

    def work(connector: AirtableConnector, count: int) -> None:
        try:
            for i in range(count):
                if i % 2:
                    connector.changes(None, limit=1)  # one GET of one record
                else:
                    connector.upsert([OutboundRecord(None, {"Name": f"T{i}"})])  # one POST
        except BaseException as exc:  # reported by the assertion below
            errors.append(exc)

    threads = [
        threading.Thread(target=work, args=(c, n))
        for c, n in zip(connectors, (8, 8, 7, 7), strict=True)
    ]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    elapsed = time.monotonic() - started

    assert not errors
    assert len(fake.log) == 30
    assert not fake.requests(status=429)
    assert fake.max_in_window(BASE) <= 5
    assert fake.max_in_window(BASE, window=1.0) >= 3  # turns were taken side by side
    assert elapsed >= 5.0  # 30 requests at 5 a second
    assert make.sleeps == []


# -- the limiter on its own -----------------------------------------------------------------------


def _most_in_window(times: list[float], window: float) -> int:
    times, best, start = sorted(times), 0, 0
    for end, at in enumerate(times):
        while at - times[start] >= window:
            start += 1
        best = max(best, end - start + 1)
    return best


def test_limiter_instances_share_the_window(settings: Any) -> None:
    key = f"k-{uuid.uuid4().hex}"
    limiters = [RateLimiter(redis.Redis.from_url(settings.REDIS_URL)) for _ in range(2)]
    grants: list[float] = []
    lock = threading.Lock()

    def take(limiter: RateLimiter) -> None:
        for _ in range(6):
            slot = limiter.acquire(key, 5, 0.3, timeout=10)
            with lock:
                grants.append(slot.at)

    threads = [threading.Thread(target=take, args=(lim,)) for lim in limiters for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(grants) == 24
    assert _most_in_window(grants, 0.3) == 5


def test_limiter_times_out(settings: Any) -> None:
    limiter = RateLimiter()
    key = f"k-{uuid.uuid4().hex}"
    for _ in range(2):
        limiter.acquire(key, 2, 5.0)
    with pytest.raises(RateLimitTimeout):
        limiter.acquire(key, 2, 5.0, timeout=0.2)


def test_limiter_holds_a_slot_until_a_window_after_the_answer(settings: Any) -> None:
    limiter = RateLimiter(safety=0.0)
    key = f"k-{uuid.uuid4().hex}"
    with limiter.slot(key, 1, 0.3):
        time.sleep(0.4)  # a slow request: longer than the window
    started = time.monotonic()
    limiter.acquire(key, 1, 0.3, timeout=5)
    assert time.monotonic() - started >= 0.25


_CHILD = """
import json, sys
import redis
from integrations.connectors.ratelimit import RateLimiter

url, prefix, key, count = sys.argv[1:5]
limiter = RateLimiter(redis.Redis.from_url(url), prefix=prefix)
print("ready", flush=True)
sys.stdin.readline()  # go
print(json.dumps([limiter.acquire(key, 5, 0.25, timeout=20).at for _ in range(int(count))]))
"""


# Turns per process: together about 4 s at 20 a second, so a child slow to start on a busy
# machine still competes with the parent for most of them.
TURNS = 40


def test_limiter_is_atomic_across_processes(settings: Any) -> None:
    prefix, key = settings.CONNECTOR_RATE_KEY_PREFIX, f"k-{uuid.uuid4().hex}"
    root = str(Path(django_settings.BASE_DIR))
    child = subprocess.Popen(
        [
            sys.executable,
            "-c",
            textwrap.dedent(_CHILD),
            settings.REDIS_URL,
            prefix,
            key,
            str(TURNS),
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": root},
        cwd=root,
        text=True,
    )
    assert child.stdin and child.stdout
    try:
        assert child.stdout.readline().strip() == "ready"
        limiter = RateLimiter(redis.Redis.from_url(settings.REDIS_URL), prefix=prefix)
        child.stdin.write("go\n")
        child.stdin.flush()
        mine = [limiter.acquire(key, 5, 0.25, timeout=20).at for _ in range(TURNS)]
        out, err = child.communicate(timeout=30)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    assert child.returncode == 0, err
    theirs = json.loads(out)
    assert len(theirs) == TURNS
    # Both processes took turns in the same stretch of time, never more than 5 in 0.25 s.
    assert min(theirs) < max(mine) and min(mine) < max(theirs)
    assert _most_in_window(mine + theirs, 0.25) == 5


# -- the HTTP client ------------------------------------------------------------------------------


def test_default_http_client_is_the_ssrf_guarded_one_when_there_is_one(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    guarded = httpx.Client()
    monkeypatch.setattr(ssrf, "guarded_http_client", lambda: guarded, raising=False)
    settings = ConnectorSettings({"base_id": BASE, "table": "T"}, {"token": TOKEN}, ["Name"])
    with AirtableConnector(settings) as connector:
        assert connector._http is guarded
    assert guarded.is_closed

    monkeypatch.delattr(ssrf, "guarded_http_client", raising=False)
    with AirtableConnector(settings) as connector:
        assert isinstance(connector._http, httpx.Client)
        assert connector._http.timeout.read == 30
