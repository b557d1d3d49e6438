"""Contact CSV export and import: an export imports back as a no-op, formula injection is
neutralised, a file's rows are created, updated or refused with a numbered error report, bad files
are refused with nothing stored, cp1252 and semicolon files, resuming after GHL stops answering,
and the agency admin's screens (another agency's import is a 404)."""

from __future__ import annotations

import csv
import io
from datetime import timedelta
from typing import Any

import httpx
import pytest
from django.http import StreamingHttpResponse
from django.test import Client
from django.utils import timezone

from integrations.bulk.csv_import import imports_stalled_sweep
from integrations.bulk.csv_io import (
    contact_import_inspect,
    contact_import_resume,
    contact_import_start,
    contacts_csv_export,
)
from integrations.bulk.csv_table import MAX_UPLOAD_BYTES, csv_lines, csv_table_read
from integrations.bulk.models import ContactImport
from integrations.mirror.models import MirrorContact
from integrations.sync.engine import sync_run_execute, sync_run_start
from saas_platform.kernel.errors import ApplicationError
from sandbox.ghl.testing import StandIn
from tenants.models import Location
from tests import factories
from tests.conftest import World
from tests.integrations.conftest import DUBAI, Installer
from tests.integrations.connectors.scenario import ghl_contacts

pytestmark = pytest.mark.django_db
ADD_URL = "/admin/integrations/contactimport/add/"


@pytest.fixture
def dubai(install: Installer) -> Location:
    installation = install(location_id=DUBAI)
    assert installation.location is not None
    run = sync_run_start(location=installation.location, kind="reconcile", enqueue=False)
    sync_run_execute(run_pk=run.pk)  # the location's 300 GHL contacts in the mirror
    return installation.location


def run_import(capture: Any, location: Location, text: str, **mapping: str) -> ContactImport:
    """Upload `text` as CSV (mapping: the suggested one, overridden by `mapping`) and run it."""
    content = text.encode()
    suggested = contact_import_inspect(content=content).suggested
    with capture(execute=True):
        job = contact_import_start(
            location=location,
            file_name="people.csv",
            content=content,
            mapping=suggested | mapping,
            acting_user=None,
        )
    job.refresh_from_db()
    return job


def report_rows(job: ContactImport) -> list[list[str]]:
    return list(csv.reader(io.StringIO(job.error_report)))


def ghl_by_email(ghl: StandIn) -> dict[str, list[dict[str, Any]]]:
    found: dict[str, list[dict[str, Any]]] = {}
    for contact in ghl_contacts(ghl).values():
        found.setdefault((contact.get("email") or "").lower(), []).append(contact)
    return found


# --- export --------------------------------------------------------------------------------------


def test_an_export_imports_back_without_changing_anything(
    dubai: Location, ghl: StandIn, django_capture_on_commit_callbacks: Any
) -> None:
    content = b"".join(contacts_csv_export(location=dubai))
    assert content.startswith(b"\xef\xbb\xbf")  # UTF-8 with a BOM: Excel reads the accents
    rows = list(csv.reader(io.StringIO(content.decode("utf-8-sig"))))
    assert rows[0][:5] == ["GHL id", "First Name", "Last Name", "Email", "Phone"]
    mirrored = MirrorContact.objects.for_location(dubai)
    assert len(rows) - 1 == mirrored.count() == 300
    assert {r[0] for r in rows[1:]} == set(mirrored.values_list("ghl_id", flat=True))
    before = ghl_contacts(ghl)

    job = run_import(django_capture_on_commit_callbacks, dubai, content.decode("utf-8-sig"))

    assert job.status == ContactImport.Status.SUCCEEDED, (job.error, job.error_report[:500])
    assert (job.created, job.updated, job.failed_rows) == (0, 0, 0)
    assert job.done_rows == job.total_rows == 300
    assert ghl_contacts(ghl) == before  # not one write reached GHL


def test_cells_that_would_start_a_formula_are_neutralised(world: World) -> None:
    location = world.a.locations[0]
    factories.MirrorContactFactory(
        location=location,
        first_name='=HYPERLINK("http://evil.example","x")',
        last_name="+1+1",
        company_name="@SUM(A1)",
        source="-2",
        city="\tTab",
        email="ok@example.com",
        phone="+971501234567",
    )
    text = b"".join(contacts_csv_export(location=location)).decode("utf-8-sig")
    row = next(csv.DictReader(io.StringIO(text)))
    assert row["First Name"] == '\'=HYPERLINK("http://evil.example","x")'
    assert (row["Last Name"], row["Company Name"], row["Source"]) == ("'+1+1", "'@SUM(A1)", "'-2")
    assert row["Phone"] == "'+971501234567"
    assert row["City"] == "Tab"  # values are trimmed; a tab or CR elsewhere is escaped too:
    assert csv_lines([["\tx", "\rx", "a=b"]]) == "'\tx,\"'\rx\",a=b\r\n"
    assert row["Email"] == "ok@example.com"  # other cells untouched
    # Reading it back takes the apostrophe off again.
    table = csv_table_read(content=text.encode())
    assert table.rows[0][table.headers.index("Phone")] == "'+971501234567"
    assert contact_import_inspect(content=text.encode()).suggested["Phone"] == "phone"


def test_the_admin_export_streams_one_locations_contacts(world: World, agency_client: Any) -> None:
    own, sibling = world.a.locations
    for n in range(3):
        factories.MirrorContactFactory(location=own, email=f"p{n}@example.com")
    other = factories.MirrorContactFactory(location=sibling, email="sibling@example.com")
    client: Client = agency_client(world.a, world.a.owner)
    url = "/admin/integrations/mirrorcontact/"
    mine = list(MirrorContact.objects.for_location(own).values_list("pk", flat=True))

    response = client.post(url, {"action": "export_csv", "_selected_action": mine})

    assert isinstance(response, StreamingHttpResponse)
    assert response["Content-Disposition"].startswith(
        'attachment; filename="contacts-a-location-1-'
    )
    text = b"".join(response.streaming_content).decode("utf-8-sig")  # type: ignore[arg-type]
    emails = sorted(r["Email"] for r in csv.DictReader(io.StringIO(text)))
    assert emails == ["p0@example.com", "p1@example.com", "p2@example.com"]
    # Two locations at once: refused with a message.
    both = client.post(
        url, {"action": "export_csv", "_selected_action": [mine[0], other.pk]}, follow=True
    )
    assert "one location at a time" in both.content.decode()


# --- import --------------------------------------------------------------------------------------


def test_rows_are_created_updated_or_refused_with_a_numbered_report(
    dubai: Location, ghl: StandIn, django_capture_on_commit_callbacks: Any
) -> None:
    known = MirrorContact.objects.for_location(dubai).exclude(email="").order_by("pk")[0]
    # A contact GHL holds but the mirror does not (yet): GHL refuses a second one.
    token = ghl.mint_token(location_id=DUBAI)["access_token"]
    httpx.post(
        ghl.base_url + "/contacts/",
        json={"locationId": DUBAI, "email": "unmirrored@example.com", "firstName": "Un"},
        headers=ghl.api_headers(token),
    ).raise_for_status()
    long_name = "L" * 201
    text = (
        "First Name,Last Name,E-mail,Phone,Country,DND,Tags,City\n"
        "Ada,Lovelace,ada@example.com,+44 20 7946 0001,GB,no,vip,London\n"  # 2: created
        f"Known,,{known.email.upper()},,,,,Sharjah\n"  # 3: updated (e-mail without case)
        "Bad,Mail,not-an-email,,,,,\n"  # 4
        "Bad,Phone,,12,,,,\n"  # 5
        "Bad,Country,bc@example.com,,United Arab Emirates,,,\n"  # 6
        "Bad,Dnd,bd@example.com,,,maybe,,\n"  # 7
        ",,,,,,,\n"  # 8: blank, skipped
        ",Byron,ADA@example.com,,,,friend,\n"  # 9: updates the contact row 2 created
        f"{long_name},,long@example.com,,,,,\n"  # 10
        "No,Key,,,,,,Paris\n"  # 11
        "Dupe,,unmirrored@example.com,,,,,\n"  # 12: GHL refuses
    )

    job = run_import(django_capture_on_commit_callbacks, dubai, text)

    assert job.status == ContactImport.Status.PARTIAL
    assert (job.total_rows, job.done_rows) == (11, 11)
    assert (job.created, job.updated, job.failed_rows) == (1, 2, 7)
    report = report_rows(job)
    assert report[0] == ["row", "reason", "First Name", "Last Name", "E-mail", "Phone",
                         "Country", "DND", "Tags", "City"]  # fmt: skip
    assert [r[0] for r in report[1:]] == ["4", "5", "6", "7", "10", "11", "12"]
    reasons = {r[0]: r[1] for r in report[1:]}
    assert "not a valid e-mail address" in reasons["4"]
    assert "not a phone number" in reasons["5"]
    assert "2-letter country code" in reasons["6"]
    assert "not yes or no" in reasons["7"]
    assert "longer than 200 characters" in reasons["10"]
    assert "no e-mail or phone" in reasons["11"]
    assert reasons["12"].startswith("GHL refused it:")
    assert report[3][2:] == ["Bad", "Country", "bc@example.com", "", "United Arab Emirates",
                             "", "", ""]  # fmt: skip
    assert job.content == b""  # the file is not kept once imported

    in_ghl = ghl_by_email(ghl)
    ada = in_ghl["ada@example.com"]
    assert len(ada) == 1 and ada[0]["lastName"] == "Byron" and ada[0]["country"] == "GB"
    assert set(ada[0]["tags"]) == {"vip", "friend"}  # tags are added, never removed
    for refused in ("bc@example.com", "bd@example.com", "long@example.com"):
        assert refused not in in_ghl
    assert len(in_ghl["unmirrored@example.com"]) == 1
    assert in_ghl[known.email.lower()][0]["city"] == "Sharjah"
    mirrored = MirrorContact.objects.for_location(dubai)
    assert mirrored.get(pk=known.pk).city == "Sharjah"
    assert mirrored.get(email="ada@example.com").last_name == "Byron"


def test_resuming_after_ghl_stopped_answering_does_not_redo_rows(
    dubai: Location, ghl: StandIn, django_capture_on_commit_callbacks: Any
) -> None:
    known = MirrorContact.objects.for_location(dubai).exclude(email="").order_by("pk")[0]
    emails = ["r1@example.com", "r2@example.com", "r3@example.com", known.email]
    emails += ["r5@example.com", "r6@example.com"]
    text = "Email,First Name\n" + "".join(f"{e},R{n}\n" for n, e in enumerate(emails))
    # GHL answers 503 to every update (creates still work): row 5, an update, stops the run.
    ghl.set_faults(DUBAI, error_rate=1.0, error_status=503, paths=["/contacts/{contactId}"])

    job = run_import(django_capture_on_commit_callbacks, dubai, text)

    assert job.status == ContactImport.Status.FAILED
    assert (job.done_rows, job.created, job.updated) == (3, 3, 0)
    assert "row 5" in job.error and "Resume" in job.error
    assert job.content != b""  # kept for the resume

    ghl.clear_faults()
    with django_capture_on_commit_callbacks(execute=True):
        contact_import_resume(contact_import=job)
    job.refresh_from_db()

    assert job.status == ContactImport.Status.SUCCEEDED, job.error
    assert (job.done_rows, job.created, job.updated, job.failed_rows) == (6, 5, 1, 0)
    in_ghl = ghl_by_email(ghl)
    assert all(len(in_ghl[f"r{n}@example.com"]) == 1 for n in (1, 2, 3, 5, 6))
    assert in_ghl[known.email.lower()][0]["firstName"] == "R3"
    with pytest.raises(ApplicationError, match="nothing left to do"):
        contact_import_resume(contact_import=job)


def test_an_import_whose_worker_died_becomes_resumable(world: World) -> None:
    location = world.a.locations[0]
    alive = factories.ContactImportFactory(location=location, status="running", done_rows=10)
    dead = factories.ContactImportFactory(location=location, status="running", done_rows=40)
    ContactImport.objects.for_location(location).filter(pk=dead.pk).update(
        updated_at=timezone.now() - timedelta(minutes=16)
    )
    assert imports_stalled_sweep() == 1
    alive.refresh_from_db()
    dead.refresh_from_db()
    assert alive.status == "running"
    assert (dead.status, dead.done_rows) == ("failed", 40)  # the position is kept
    assert "resume" in dead.error


# --- bad files and the upload screens --------------------------------------------------------


def upload(client: Client, location: Location, content: bytes, name: str = "people.csv") -> Any:
    file = io.BytesIO(content)
    file.name = name
    return client.post(ADD_URL, {"location": location.pk, "file": file})


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "The submitted file is empty."),
        (b"   \r\n", "The file is empty."),
        (b"Email\n" + b"x" * MAX_UPLOAD_BYTES, "the limit is 5 MB"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "This is not a CSV file"),
        (b"PK\x03\x04\x14\x00\x06\x00\x08\x00\x00\x00!\x00", "This is not a CSV file"),
        (b"ada@example.com,Ada\nbob@example.com,Bob\n", "not column names"),
        (b"Email,Name,email\na@example.com,A,b@example.com\n", "appears more than once"),
        (b"Email,Phone\n", "no rows of contacts"),
    ],
)
def test_a_bad_file_is_refused_with_a_clear_message_and_nothing_stored(
    world: World, agency_client: Any, content: bytes, message: str
) -> None:
    client: Client = agency_client(world.a, world.a.owner)
    response = upload(client, world.a.locations[0], content)
    assert response.status_code == 200
    assert message in response.content.decode()
    assert not ContactImport.objects.for_agency(world.a.agency).exists()


def test_a_mapping_without_email_or_phone_is_refused(world: World, agency_client: Any) -> None:
    client: Client = agency_client(world.a, world.a.owner)
    page = upload(client, world.a.locations[0], b"Name,City\nAda,Paris\n")
    assert page.status_code == 200 and "Match the columns" in page.content.decode()
    token = page.context["form"]["token"].value()
    answer = client.post(ADD_URL, {"token": token, "col_0": "first_name", "col_1": "city"})
    assert "Map a column to Email or Phone" in answer.content.decode()
    nothing = client.post(ADD_URL, {"token": token, "col_0": "", "col_1": ""})
    assert "No column is mapped" in nothing.content.decode()
    assert not ContactImport.objects.for_agency(world.a.agency).exists()


def test_a_cp1252_semicolon_file_is_mapped_and_queued(
    world: World, agency_client: Any, django_capture_on_commit_callbacks: Any
) -> None:
    location = world.a.locations[0]
    content = "First Name;E-mail;Phone;City;Notes\nZoé;zoe@example.com;+33 1 23 45 67 89;Besançon;"
    content += "x\n"
    raw = content.encode("cp1252")
    client: Client = agency_client(world.a, world.a.owner)
    page = upload(client, location, raw, "clients.csv")
    text = page.content.decode()
    assert "semicolon separated" in text and "Windows-1252" in text and "Besançon" in text
    form = page.context["form"]
    suggested = [form[f"col_{i}"].value() for i in range(5)]
    assert suggested == ["first_name", "email", "phone", "city", ""]
    post = {"token": form["token"].value()} | {f"col_{i}": v for i, v in enumerate(suggested)}

    with django_capture_on_commit_callbacks(execute=False) as queued:
        done = client.post(ADD_URL, post)

    assert done.status_code == 302 and len(queued) == 1
    job = ContactImport.objects.for_location(location).get()
    assert job.status == ContactImport.Status.QUEUED and job.total_rows == 1
    assert bytes(job.content) == raw and job.file_name == "clients.csv"
    assert job.mapping == {"First Name": "first_name", "E-mail": "email", "Phone": "phone",
                           "City": "city"}  # fmt: skip
    assert csv_table_read(content=raw).rows[0][3] == "Besançon"
    # The same confirmation twice does not import twice.
    again = client.post(ADD_URL, post, follow=True)
    assert "upload expired" in again.content.decode()
    assert ContactImport.objects.for_location(location).count() == 1


# --- the admin screens -------------------------------------------------------------------------


def test_the_admin_screens_of_agency_a_and_b_is_a_404(
    world: World, agency_client: Any, django_capture_on_commit_callbacks: Any
) -> None:
    mine = factories.ContactImportFactory(
        location=world.a.locations[0],
        file_name="spring-leads.csv",
        status=ContactImport.Status.PARTIAL,
        total_rows=4,
        done_rows=4,
        created=2,
        failed_rows=1,
        content=b"secret-cell-value",
        error_report="row,reason,Email\r\n3,bad e-mail,nope\r\n",
    )
    theirs = factories.ContactImportFactory(
        location=world.b.locations[0], error_report="row,reason\r\n2,x\r\n"
    )
    client: Client = agency_client(world.a, world.a.owner)
    base = "/admin/integrations/contactimport/"

    listing = client.get(base)
    assert listing.status_code == 200 and "spring-leads.csv" in listing.content.decode()
    assert b'http-equiv="refresh"' not in listing.content
    detail = client.get(f"{base}{mine.pk}/change/").content.decode()
    assert "Download error report" in detail and "secret-cell-value" not in detail
    assert 'name="_save"' not in detail  # finished imports are not edited
    report = client.get(f"{base}{mine.pk}/report/")
    assert report.status_code == 200 and report["Content-Type"] == "text/csv; charset=utf-8"
    assert report.content.decode("utf-8-sig").splitlines()[1] == "3,bad e-mail,nope"
    assert 'filename="spring-leads-errors.csv"' in report["Content-Disposition"]

    for url in (f"{base}{theirs.pk}/change/", f"{base}{theirs.pk}/report/"):
        assert client.get(url).status_code == 404, url
    assert client.get(f"{base}987654321/report/").status_code == 404

    # While one runs, the list refreshes itself; a stopped one can be resumed.
    factories.ContactImportFactory(
        location=world.a.locations[1], status=ContactImport.Status.RUNNING, total_rows=10
    )
    assert b'http-equiv="refresh"' in client.get(base).content
    stopped = factories.ContactImportFactory(
        location=world.a.locations[0],
        status=ContactImport.Status.FAILED,
        total_rows=10,
        done_rows=4,
        content=b"Email\nx@example.com\n",
    )
    with django_capture_on_commit_callbacks(execute=False) as queued:
        client.post(base, {"action": "resume", "_selected_action": [stopped.pk]})
    stopped.refresh_from_db()
    assert stopped.status == ContactImport.Status.QUEUED and len(queued) == 1
    # Agency staff may look but not import.
    staff: Client = agency_client(world.a, world.a.staff)
    assert staff.get(base).status_code == 200
    assert staff.get(ADD_URL).status_code == 403
