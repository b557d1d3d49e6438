"""Tokens never leave the vault: not in the database in clear, not in logs, not in the admin."""

from __future__ import annotations

import logging
import shutil
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from cryptography.fernet import Fernet
from django.core.management import call_command
from django.db import connection
from django.test import Client

from integrations.ghl import operations as ops
from integrations.ghl import vault
from integrations.ghl.client import GhlClient
from integrations.ghl.models import GhlInstallation, GhlToken
from sandbox.ghl.testing import StandIn
from tests import factories
from tests.integrations.conftest import APEX, CLINIC, DUBAI, Installer


def pg_dump_text() -> str:
    """The whole test database as `pg_dump --data-only` prints it (the embedded server's own
    pg_dump first: a client older than the server refuses to dump)."""
    import pgserver

    db = connection.settings_dict
    args = ["--data-only", "-d", db["NAME"], "-U", db.get("USER") or "postgres"]
    host = db.get("HOST") or db.get("OPTIONS", {}).get("host")
    if host:
        args += ["-h", host]
    if db.get("PORT"):
        args += ["-p", str(db["PORT"])]
    bundled = Path(pgserver.__file__).parent / "pginstall" / "bin" / "pg_dump"
    errors = []
    for binary in (str(bundled), shutil.which("pg_dump")):
        if not binary:
            continue
        result = subprocess.run(
            [binary, *args],
            capture_output=True,
            text=True,
            env={"PGPASSWORD": db.get("PASSWORD") or ""},
        )
        if result.returncode == 0:
            return result.stdout
        errors.append(result.stderr)
    raise AssertionError(f"pg_dump failed: {errors}")


def issued_tokens() -> list[str]:
    return [
        value
        for token in GhlToken.objects.all()
        for value in (token.access_token, token.refresh_token)
        if value
    ]


@pytest.mark.django_db(transaction=True)
def test_after_a_full_install_no_token_is_in_the_dump_the_logs_or_the_admin(
    install: Installer, ghl: StandIn, caplog: Any
) -> None:
    caplog.set_level(logging.DEBUG)
    company = install(company_id=APEX, approvedLocations=[DUBAI, CLINIC])
    for installation in GhlInstallation.objects.unscoped().exclude(ghl_location_id=""):
        ghl.expire_tokens(location_id=installation.ghl_location_id)
        GhlToken.objects.filter(installation=installation).update(expires_at="2000-01-01T00:00Z")
        vault.forget(installation.pk)
        with GhlClient(installation) as client:  # a refresh and a call, logged
            client.run(ops.location_get(location_id=installation.ghl_location_id))
    secrets = issued_tokens()
    assert len(secrets) >= 6

    dump = pg_dump_text()
    assert "DemoLocApexDubai0001" in dump  # the dump is real
    logs = caplog.text
    assert "ghl.token.refreshed" in logs
    admin = Client(HTTP_HOST=f"{company.agency.slug}.localhost")
    owner = factories.UserFactory(agency=company.agency)
    factories.MembershipFactory(user=owner, agency=company.agency, role="agency_owner")
    admin.force_login(owner)
    pages = [admin.get("/admin/integrations/ghlinstallation/").content.decode()]
    for installation in GhlInstallation.objects.unscoped():
        pages.append(
            admin.get(
                f"/admin/integrations/ghlinstallation/{installation.pk}/change/"
            ).content.decode()
        )
    pages.append(admin.get("/admin/integrations/ghlcalllog/").content.decode())
    for secret in secrets:
        assert secret not in dump
        assert secret not in logs
        assert all(secret not in page for page in pages)


@pytest.mark.django_db(transaction=True)
def test_rotate_token_keys_under_parallel_reads(settings: Any) -> None:
    """10,000 token rows re-encrypted under a new key while readers keep reading: 0 failures."""
    old_key = settings.TOKEN_ENCRYPTION_KEYS[0]
    agency = factories.AgencyFactory()
    installations = GhlInstallation.objects.bulk_create(
        GhlInstallation(
            agency=agency,
            ghl_company_id=agency.ghl_company_id,
            ghl_location_id=f"RotLoc{n:08d}",
            user_type="Location",
            status="healthy",
        )
        for n in range(10_000)
    )
    GhlToken.objects.bulk_create(
        GhlToken(
            installation=i,
            access_token=f"access-{i.pk}",
            refresh_token=f"refresh-{i.pk}",
            expires_at="2030-01-01T00:00Z",
        )
        for i in installations
    )
    new_key = Fernet.generate_key().decode()
    settings.TOKEN_ENCRYPTION_KEYS = [new_key, old_key]
    failures: list[str] = []
    reads = [0]
    stop = threading.Event()
    pks = [i.pk for i in installations]

    def reader(offset: int) -> None:
        from django.db import connections

        try:
            n = offset
            while not stop.is_set():
                batch = pks[n % len(pks) : n % len(pks) + 200]
                for token in GhlToken.objects.filter(installation_id__in=batch):
                    if token.access_token != f"access-{token.installation_id}":
                        failures.append(f"wrong value for {token.installation_id}")
                reads[0] += len(batch)
                n += 997
                time.sleep(0.002)  # steady reading, not a GIL monopoly
        except Exception as exc:
            failures.append(repr(exc))
        finally:
            connections.close_all()

    threads = [threading.Thread(target=reader, args=(k * 3331,)) for k in range(2)]
    for thread in threads:
        thread.start()
    time.sleep(0.2)
    call_command("rotate_token_keys", "--batch-size", "500", stdout=open("/dev/null", "w"))  # noqa: SIM115, PTH123
    stop.set()
    for thread in threads:
        thread.join()
    assert failures == [] and reads[0] > 1000
    settings.TOKEN_ENCRYPTION_KEYS = [new_key]  # the old key can go now
    assert GhlToken.objects.get(installation=installations[-1]).refresh_token == (
        f"refresh-{installations[-1].pk}"
    )
    with connection.cursor() as cursor:
        cursor.execute("SELECT access_token FROM integrations_ghltoken")
        newest = Fernet(new_key)
        assert all(newest.decrypt(row[0].encode()) for row in cursor.fetchall())
