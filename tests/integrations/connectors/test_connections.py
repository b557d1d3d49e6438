"""Connections around the engine: validation when saved, secrets at rest, bad settings failing a
run cleanly, pausing after repeated failures (and telling the owner), scheduling without double
runs, erasure and export of a person across the connected systems, and the admin screens."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import psycopg
import pytest
from django.core import mail
from django.db import connection as db
from django.test import Client
from django.utils import timezone

from integrations.connectors.engine import PAUSE_AFTER, connection_run
from integrations.connectors.models import ExternalConnection, ExternalLink, FieldOverwrite
from integrations.connectors.services import (
    connection_create,
    connections_due_claim,
)
from integrations.mirror.models import MirrorContact
from integrations.privacy import contact_erase, contact_export
from saas_platform.kernel.errors import ApplicationError
from sandbox.ghl.testing import StandIn
from tenants.models import AuditLogEntry, Location
from tests import factories

pytestmark = pytest.mark.django_db
MAPPING = [
    {"ghl": "email", "external": "email", "policy": "newest"},
    {"ghl": "first_name", "external": "first_name", "policy": "ghl"},
]


@pytest.fixture
def target_db(client_db: str) -> str:
    return client_db


def sql_connection(location: Location, url: str, **overrides: Any) -> ExternalConnection:
    options: dict[str, Any] = {
        "location": location,
        "name": "Client CRM",
        "kind": "sql",
        "config": {"table": "leads", "key_column": "id", "create_table": True},
        "credentials": {"url": url},
        "mapping": MAPPING,
        **overrides,
    }
    return connection_create(**options)


def rows(url: str) -> list[tuple[Any, ...]]:
    with psycopg.connect(url) as conn:
        return list(conn.execute("SELECT id, email, first_name FROM leads ORDER BY email"))


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"mapping": []}, "Map at least one field"),
        ({"mapping": [{"ghl": "shoe_size", "external": "x"}]}, "not a GHL contact field"),
        ({"mapping": [{"ghl": "email", "external": ""}]}, "name the external field"),
        ({"mapping": [{"ghl": "email", "external": "a", "policy": "loudest"}]}, "unknown conflict"),
        (
            {"mapping": [{"ghl": "email", "external": "a"}, {"ghl": "phone", "external": "a"}]},
            "Mapped more than once: a",
        ),
        ({"kind": "fax"}, "Unknown kind of connection"),
        ({"credentials": {"url": "postgresql://postgres@10.1.2.3:5432/x"}}, "private or reserved"),
        ({"credentials": {"url": "ftp://host/db"}}, ""),
        ({"name": "  "}, "Give the connection a name"),
        ({"match_on": "custom:abc"}, "matched on a standard field"),
    ],
)
def test_settings_that_cannot_work_are_refused_when_saved(
    world: Any, target_db: str, overrides: dict[str, Any], message: str
) -> None:
    with pytest.raises(ApplicationError) as refused:
        sql_connection(world.a.locations[0], target_db, **overrides)
    assert message in refused.value.message
    assert not ExternalConnection.objects.unscoped().exists()


def test_credentials_are_encrypted_at_rest(world: Any, target_db: str) -> None:
    secret_url = target_db.replace("postgres@", "postgres:s3cr3t-pass@")
    connection = sql_connection(world.a.locations[0], secret_url)
    with db.cursor() as cursor:
        cursor.execute(
            "SELECT credentials FROM integrations_externalconnection WHERE id = %s",
            [connection.pk],
        )
        (stored,) = cursor.fetchone()
    assert "s3cr3t-pass" not in stored and stored.startswith("gAAAA")
    fresh = ExternalConnection.objects.for_location(world.a.locations[0]).get()
    assert fresh.secrets == {"url": secret_url}


def test_a_mapping_to_a_missing_column_fails_the_run_clearly_and_writes_nothing(
    dubai: Location, target_db: str
) -> None:
    with psycopg.connect(target_db, autocommit=True) as conn:
        conn.execute("CREATE TABLE leads (id text PRIMARY KEY, email text)")
    connection = sql_connection(
        dubai, target_db, config={"table": "leads", "key_column": "id", "create_table": False}
    )
    run = connection_run(connection_pk=connection.pk)
    assert run is not None and run.status == "failed"
    assert "first_name" in run.error
    connection.refresh_from_db()
    assert "first_name" in connection.last_error and connection.consecutive_failures == 1
    assert rows_count(target_db) == 0
    assert not ExternalLink.objects.for_location(dubai).exists()


def rows_count(url: str) -> int:
    with psycopg.connect(url) as conn:
        row = conn.execute("SELECT count(*) FROM leads").fetchone()
        return int(row[0]) if row else 0


def test_repeated_failures_pause_the_connection_and_tell_its_owner(
    dubai: Location, target_db: str, django_capture_on_commit_callbacks: Any
) -> None:
    owner = factories.UserFactory(agency=dubai.agency, email="owner@agency.test")
    connection = sql_connection(
        dubai,
        target_db,
        config={"table": "missing", "key_column": "id", "create_table": False},
        acting_user=owner,
    )
    for attempt in range(1, PAUSE_AFTER + 1):
        with django_capture_on_commit_callbacks(execute=True):
            run = connection_run(connection_pk=connection.pk)
        assert run is not None and run.status == "failed"
        connection.refresh_from_db()
        assert connection.consecutive_failures == attempt
    assert connection.status == ExternalConnection.Status.PAUSED
    assert connection_due_ids() == []  # a paused connection is not scheduled
    [message] = mail.outbox
    assert message.to == ["owner@agency.test"]
    assert "paused" in message.subject and connection.name in message.subject
    assert "missing" in message.body  # the last error, so the owner knows what to fix
    assert "HighLevel" not in message.body and "GHL" not in message.subject


def connection_due_ids() -> list[int]:
    return connections_due_claim(now=timezone.now() + timedelta(days=1))


def test_a_run_queued_for_a_deleted_connection_does_nothing(world: Any, target_db: str) -> None:
    connection = sql_connection(world.a.locations[0], target_db)
    pk = connection.pk
    connection.delete()
    assert connection_run(connection_pk=pk) is None


def test_due_connections_are_claimed_once(world: Any, target_db: str) -> None:
    connection = sql_connection(world.a.locations[0], target_db, interval_minutes=30)
    assert connections_due_claim() == [connection.pk]
    assert connections_due_claim() == []  # the next slot is half an hour away
    connection.refresh_from_db()
    assert connection.next_run_at is not None
    assert connection.next_run_at > timezone.now() + timedelta(minutes=29)


def test_erasing_a_person_deletes_their_row_in_connected_systems_and_says_so(
    dubai: Location, target_db: str, ghl: StandIn
) -> None:
    connection = sql_connection(dubai, target_db)
    run = connection_run(connection_pk=connection.pk)
    assert run is not None and run.status == "succeeded", run.error
    person = MirrorContact.objects.for_location(dubai).exclude(email="").order_by("ghl_id")[0]
    link = ExternalLink.objects.for_location(dubai).get(ghl_id=person.ghl_id)
    assert any(r[0] == link.external_key for r in rows(target_db))

    exported = contact_export(location=dubai, ghl_contact_id=person.ghl_id)
    assert exported["contact"]["email"] == person.email
    assert exported["connected_systems"] == [
        {
            "connection": "Client CRM",
            "kind": "sql",
            "row": link.external_key,
            "values": link.snapshot,
        }
    ]
    json.dumps(exported)  # plain JSON, ready to download

    report = contact_erase(location=dubai, ghl_contact_id=person.ghl_id, acting_user=None)
    assert report.elsewhere == {"Client CRM": f"row {link.external_key} deleted"}
    assert all(r[0] != link.external_key for r in rows(target_db))
    assert not ExternalLink.objects.for_location(dubai).filter(ghl_id=person.ghl_id).exists()
    assert not FieldOverwrite.objects.for_location(dubai).filter(ghl_id=person.ghl_id).exists()
    entry = AuditLogEntry.objects.for_agency(dubai.agency).filter(action="contact.erased").get()
    assert entry.changes["elsewhere"][1] == {"Client CRM": f"row {link.external_key} deleted"}


def test_the_agency_admin_never_shows_credentials_and_refuses_bad_settings(
    world: Any, target_db: str, agency_client: Any
) -> None:
    location = world.a.locations[0]
    secret_url = target_db.replace("postgres@", "postgres:hunter2-secret@")
    connection = sql_connection(location, secret_url)
    client: Client = agency_client(world.a, world.a.owner)
    page = client.get(f"/admin/integrations/externalconnection/{connection.pk}/change/")
    assert page.status_code == 200
    assert "hunter2-secret" not in page.content.decode()
    # A new connection with a mapping to an unknown GHL field: refused, nothing stored.
    answer = client.post(
        "/admin/integrations/externalconnection/add/",
        {
            "location": location.pk,
            "name": "Second",
            "kind": "sql",
            "config": json.dumps({"table": "leads"}),
            "new_credentials": json.dumps({"url": target_db}),
            "mapping": json.dumps([{"ghl": "shoe_size", "external": "x"}]),
            "direction": "two_way",
            "match_on": "email",
            "interval_minutes": 15,
        },
    )
    assert answer.status_code == 200 and "not a GHL contact field" in answer.content.decode()
    assert ExternalConnection.objects.for_location(location).count() == 1


def test_the_agency_admins_disable_and_conflict_actions_leave_an_audit_trail(
    world: Any, agency_client: Any
) -> None:
    location = world.a.locations[0]
    conflict = factories.SyncConflictFactory(
        link=factories.ExternalLinkFactory(
            connection=factories.ExternalConnectionFactory(location=location)
        )
    )
    client: Client = agency_client(world.a, world.a.owner)
    client.post(
        "/admin/integrations/externalconnection/",
        {"action": "disable", "_selected_action": [conflict.connection_id]},
    )
    client.post(
        "/admin/integrations/syncconflict/",
        {"action": "keep_ghl", "_selected_action": [conflict.pk]},
    )
    connection = ExternalConnection.objects.for_location(location).get()
    assert connection.status == ExternalConnection.Status.DISABLED
    actions = set(
        AuditLogEntry.objects.for_agency(world.a.agency)
        .filter(location=location)
        .values_list("action", flat=True)
    )
    assert {"connection.paused", "connection.conflict_resolved"} <= actions
