"""The workspace's sync pages: connection setup per kind (write-only credentials, the SSRF
guard's refusal on its field, nothing saved on bad input), pause/resume, the run progress
fragment, the conflict queue, and CSV out and back in."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from integrations.bulk.models import ContactImport
from integrations.connectors.models import ExternalConnection, ExternalLink, SyncConflict
from tenants.models import AuditLogEntry, Location
from tenants.portal import navigation
from tests import factories
from tests.conftest import World

pytestmark = pytest.mark.django_db

PUBLIC = "https://93.184.215.14"


def _https_post(**overrides: Any) -> dict[str, Any]:
    data = {
        "rows": "2",
        "name": "Our CRM",
        "push_url": f"{PUBLIC}/hook",
        "pull_url": "",
        "key_field": "",
        "modified_field": "",
        "bearer_token": "sEcReT-bearer-123",
        "m0_ghl": "email",
        "m0_external": "Email",
        "m0_policy": "newest",
        "m1_ghl": "phone",
        "m1_external": "Phone",
        "m1_policy": "ask",
        "direction": "two_way",
        "match_on": "email",
        "interval_minutes": "15",
    }
    data.update(overrides)
    return data


def _audits(location: Location, action: str) -> int:
    entries = AuditLogEntry.objects.for_agency(location.agency)
    return entries.filter(location=location, action=action).count()


def test_an_https_connection_is_set_up_and_its_token_never_shown(
    admin: Client, location: Location
) -> None:
    response = admin.post(f"/app/l/{location.pk}/sync/new/https/", _https_post())
    assert response.status_code == 302, response.content.decode()
    connection = ExternalConnection.objects.for_location(location).get()
    assert connection.config == {"push_url": f"{PUBLIC}/hook"}
    assert connection.mapping[1] == {"ghl": "phone", "external": "Phone", "policy": "ask"}
    assert connection.secrets["bearer_token"] == "sEcReT-bearer-123"
    assert connection.secrets["signing_secret"].startswith("whsec_")
    for page in ("", "edit/"):
        text = admin.get(f"/app/l/{location.pk}/sync/{connection.pk}/{page}").content.decode()
        assert "sEcReT-bearer-123" not in text and "whsec_" not in text
        assert "GHL" not in text  # white-label
    assert _audits(location, "connection.created") == 1


def test_a_private_address_is_refused_on_its_field_and_nothing_saved(
    admin: Client, location: Location
) -> None:
    data = _https_post(push_url=f"{PUBLIC}/hook", pull_url="https://10.0.0.7/changes")
    response = admin.post(f"/app/l/{location.pk}/sync/new/https/", data)
    assert response.status_code == 400
    errors = response.context["form"].errors
    assert "private" in " ".join(errors["pull_url"]) and "push_url" not in errors
    assert "sEcReT-bearer-123" not in response.content.decode()  # write-only, even now
    assert 'value="Our CRM"' in response.content.decode()
    assert not ExternalConnection.objects.for_location(location).exists()


def test_a_mapping_line_without_its_external_field_is_refused(
    admin: Client, location: Location
) -> None:
    response = admin.post(f"/app/l/{location.pk}/sync/new/https/", _https_post(m1_external=""))
    assert response.status_code == 400
    assert response.context["form"].errors["m1_external"]
    assert not ExternalConnection.objects.for_location(location).exists()


def test_a_kind_setting_refused_by_the_connector_is_shown_on_its_field(
    admin: Client, location: Location
) -> None:
    data = {
        **_https_post(),
        "base_id": "not-a-base",
        "table": "Leads",
        "modified_field": "",
        "token": "patXYZ.123",
    }
    response = admin.post(f"/app/l/{location.pk}/sync/new/airtable/", data)
    assert response.status_code == 400
    assert "is not an Airtable base id" in " ".join(response.context["form"].errors["base_id"])
    assert not ExternalConnection.objects.for_location(location).exists()


def test_an_edit_with_blank_credentials_keeps_the_saved_ones(
    admin: Client, location: Location
) -> None:
    admin.post(f"/app/l/{location.pk}/sync/new/https/", _https_post())
    connection = ExternalConnection.objects.for_location(location).get()
    secret = connection.secrets["signing_secret"]
    data = _https_post(name="Our CRM (renamed)", bearer_token="", rows="5")
    response = admin.post(f"/app/l/{location.pk}/sync/{connection.pk}/edit/", data)
    assert response.status_code == 302, response.content.decode()
    connection.refresh_from_db()
    assert connection.name == "Our CRM (renamed)"
    assert connection.secrets == {"bearer_token": "sEcReT-bearer-123", "signing_secret": secret}
    assert _audits(location, "connection.updated") == 1


def test_pause_and_resume(admin: Client, location: Location) -> None:
    connection = factories.ExternalConnectionFactory(location=location)
    base = f"/app/l/{location.pk}/sync/{connection.pk}"
    assert admin.post(f"{base}/pause/").status_code == 302
    connection.refresh_from_db()
    assert connection.status == ExternalConnection.Status.DISABLED
    refused = admin.post(f"{base}/sync-now/", follow=True)
    assert "disabled" in refused.content.decode()
    assert admin.post(f"{base}/resume/").status_code == 302
    connection.refresh_from_db()
    assert connection.status == ExternalConnection.Status.ACTIVE
    assert _audits(location, "connection.paused") == _audits(location, "connection.resumed") == 1


def test_the_progress_fragment_polls_only_while_the_run_is_running(
    admin: Client, location: Location
) -> None:
    run = factories.ExternalSyncRunFactory(
        connection=factories.ExternalConnectionFactory(location=location),
        status="running",
        phase="pulling",
        done=30,
        total=120,
    )
    url = f"/app/l/{location.pk}/sync/runs/{run.pk}/progress/"
    running = admin.get(url, HTTP_HX_REQUEST="true").content.decode()
    assert 'hx-trigger="every 2s"' in running and f'hx-get="{url}"' in running
    assert 'aria-valuenow="25"' in running
    run.status, run.done = "succeeded", 120
    run.save()
    done = admin.get(url, HTTP_HX_REQUEST="true").content.decode()
    assert "hx-trigger" not in done and "Done" in done
    detail = admin.get(f"/app/l/{location.pk}/sync/{run.connection_id}/").content.decode()
    assert f'id="run-{run.pk}"' in detail


def test_a_conflict_is_resolved_from_the_queue(admin: Client, location: Location) -> None:
    link = factories.ExternalLinkFactory(
        connection=factories.ExternalConnectionFactory(location=location)
    )
    conflict = factories.SyncConflictFactory(link=link)
    page = admin.get(f"/app/l/{location.pk}/sync/conflicts/").content.decode()
    assert conflict.external_value in page
    url = f"/app/l/{location.pk}/sync/conflicts/{conflict.pk}/resolve/"
    assert admin.post(url, {"choose": "external"}).status_code == 302
    conflict.refresh_from_db()
    assert (conflict.status, conflict.resolution) == (SyncConflict.Status.RESOLVED, "external")
    link = ExternalLink.objects.for_location(location).get(pk=link.pk)
    assert link.pending == {"phone": conflict.external_value}
    assert _audits(location, "connection.conflict_resolved") == 1
    again = admin.post(url, {"choose": "ghl"}, follow=True)
    assert "settled already" in again.content.decode()
    assert "No conflicts are waiting" in again.content.decode()


def test_csv_round_trip_download_then_upload(
    admin: Client, location: Location, django_capture_on_commit_callbacks: Any
) -> None:
    factories.MirrorContactFactory(location=location, email="ada@example.test", first_name="Ada")
    response = admin.get(f"/app/l/{location.pk}/sync/csv/contacts.csv")
    assert response["Content-Disposition"].startswith("attachment;")
    content = b"".join(response.streaming_content)
    assert b"ada@example.test" in content
    upload = SimpleUploadedFile("contacts.csv", content, content_type="text/csv")
    step = admin.post(f"/app/l/{location.pk}/sync/csv/upload/", {"file": upload})
    assert step.status_code == 200, step.content.decode()
    form = step.context["form"]
    data = {"token": form.initial["token"]}
    data |= {name: form.initial.get(name) or "" for name in form.fields if name != "token"}
    with django_capture_on_commit_callbacks(execute=False):
        done = admin.post(f"/app/l/{location.pk}/sync/csv/upload/", data)
    assert done.status_code == 302, done.content.decode()
    job = ContactImport.objects.for_location(location).get()
    assert job.total_rows == 1 and "email" in job.mapping.values()


def test_an_upload_without_email_or_phone_is_refused_with_nothing_queued(
    admin: Client, location: Location
) -> None:
    upload = SimpleUploadedFile("c.csv", b"Name,City\nAda,London\n", content_type="text/csv")
    step = admin.post(f"/app/l/{location.pk}/sync/csv/upload/", {"file": upload})
    form = step.context["form"]
    data = {"token": form.initial["token"], "col_0": "first_name", "col_1": "city"}
    refused = admin.post(f"/app/l/{location.pk}/sync/csv/upload/", data)
    assert (
        refused.status_code == 400 and "Map a column to Email or Phone" in refused.content.decode()
    )
    assert not ContactImport.objects.for_location(location).exists()


def test_the_error_report_of_an_import_is_downloadable(admin: Client, location: Location) -> None:
    job = factories.ContactImportFactory(
        location=location, status="partial", failed_rows=1, error_report="row,reason\n2,bad email\n"
    )
    page = admin.get(f"/app/l/{location.pk}/sync/csv/").content.decode()
    assert "Download the refused rows" in page
    report = admin.get(f"/app/l/{location.pk}/sync/csv/imports/{job.pk}/errors.csv")
    assert b"bad email" in report.content


def test_a_database_on_a_private_address_is_refused_on_the_url_field(
    admin: Client, location: Location
) -> None:
    data = {
        **_https_post(name="Warehouse"),
        "table": "leads",
        "key_column": "",
        "modified_column": "",
        "url": "postgresql://crm:hunter2-pass@10.0.0.5:5432/crm",
    }
    response = admin.post(f"/app/l/{location.pk}/sync/new/sql/", data)
    assert response.status_code == 400
    assert "private" in " ".join(response.context["form"].errors["url"])
    assert "hunter2-pass" not in response.content.decode()
    assert not ExternalConnection.objects.for_location(location).exists()


def test_more_mapping_rows_keep_the_settings_but_never_the_credentials(
    admin: Client, location: Location
) -> None:
    data = _https_post(more_rows="1")
    response = admin.post(f"/app/l/{location.pk}/sync/new/https/", data)
    text = response.content.decode()
    assert response.status_code == 200 and 'name="m4_ghl"' in text
    assert f"{PUBLIC}/hook" in text and "sEcReT-bearer-123" not in text
    assert not ExternalConnection.objects.for_location(location).exists()


def test_a_sheet_address_instead_of_its_id_is_refused_on_the_id_field(
    admin: Client, location: Location
) -> None:
    data = {
        **_https_post(name="Leads sheet"),
        "spreadsheet_id": "https://docs.google.com/spreadsheets/d/1AbCdEfGhIjKlMnOpQrStUvWxYz0123456789abcdefgh/edit",
        "sheet": "",
        "key_column": "",
        "client_id": "id",
        "client_secret": "secret",
        "refresh_token": "refresh",
    }
    response = admin.post(f"/app/l/{location.pk}/sync/new/google_sheets/", data)
    assert response.status_code == 400
    assert "spreadsheet id is the long code" in " ".join(
        response.context["form"].errors["spreadsheet_id"]
    )
    assert not ExternalConnection.objects.for_location(location).exists()


def test_routing_and_sync_are_in_the_admins_navigation_only(world: World) -> None:
    own, sibling = world.a.locations
    admin_nav = {item.key: item.url for item in navigation(location=own, role="admin")}
    assert admin_nav["routing"] == f"/app/l/{own.pk}/routing/"
    assert admin_nav["sync"] == f"/app/l/{own.pk}/sync/"
    member_nav = {item.key for item in navigation(location=sibling, role="member")}
    assert not {"routing", "sync"} & member_nav


def test_sync_now_queues_one_run_after_the_commit(
    admin: Client, location: Location, django_capture_on_commit_callbacks: Any
) -> None:
    connection = factories.ExternalConnectionFactory(location=location)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = admin.post(f"/app/l/{location.pk}/sync/{connection.pk}/sync-now/", follow=True)
    assert "Sync queued" in response.content.decode()
    assert len(callbacks) == 1
