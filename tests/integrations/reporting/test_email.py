"""The scheduled branded e-mail report."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pytest
from django.conf import settings
from django.core import mail

from integrations.reporting.email import (
    next_send_at,
    report_email_send,
    report_period,
    report_schedules_due,
)
from integrations.reporting.models import ReportSchedule
from integrations.tasks import report_schedules_send_due
from tenants import selectors
from tenants.models import AuditLogEntry, Branding, Location
from tests.conftest import AgencyClient, World

from .dataset import Dataset, build

pytestmark = pytest.mark.django_db

# Monday 9 March 2026, 04:00 UTC = 08:00 in Dubai: the weekly report of 2-8 March is due.
MONDAY = datetime(2026, 3, 9, 4, 0, tzinfo=UTC)


def test_next_send_is_seven_local_on_the_frequencys_day() -> None:
    sunday_night = datetime(2026, 3, 8, 23, 0, tzinfo=UTC)  # 03:00 Monday in Dubai
    weekly = next_send_at(frequency="weekly", after=sunday_night, zone="Asia/Dubai")
    assert weekly == datetime(2026, 3, 9, 3, 0, tzinfo=UTC)  # 07:00 Monday in Dubai
    assert next_send_at(frequency="weekly", after=MONDAY, zone="UTC") == datetime(
        2026, 3, 9, 7, 0, tzinfo=UTC
    )
    assert next_send_at(frequency="weekly", after=weekly, zone="Asia/Dubai") == datetime(
        2026, 3, 16, 3, 0, tzinfo=UTC
    )
    assert next_send_at(frequency="monthly", after=MONDAY, zone="UTC") == datetime(
        2026, 4, 1, 7, 0, tzinfo=UTC
    )
    assert next_send_at(frequency="off", after=MONDAY, zone="UTC") is None
    assert report_period(frequency="weekly", sent_on=MONDAY.date()) == (
        date(2026, 3, 2),
        date(2026, 3, 8),
    )


def test_every_location_gets_a_weekly_schedule_by_default(world: World) -> None:
    report_schedules_send_due()
    schedules = ReportSchedule.objects.unscoped().select_related("location")
    assert schedules.count() == 4
    assert {s.frequency for s in schedules} == {"weekly"}
    assert all(s.next_send_at and s.next_send_at.weekday() == 0 for s in schedules)
    assert report_schedules_send_due() == 0  # nothing due yet, nothing duplicated
    assert ReportSchedule.objects.unscoped().count() == 4


def test_a_due_report_goes_out_once_under_the_agencys_brand(
    world: World, django_capture_on_commit_callbacks: Any
) -> None:
    data: Dataset = build(world)
    Branding.objects.for_agency(world.a.agency).update(
        logo_url="https://cdn.brand-a.test/logo.png", accent_color="#ff8800"
    )
    schedule = ReportSchedule.objects.create(
        location=data.a1,
        recipients="owner@client.test\nops@client.test",
        next_send_at=datetime(2026, 3, 9, 3, 0, tzinfo=UTC),
    )
    with django_capture_on_commit_callbacks(execute=True):
        assert report_email_send(schedule_pk=schedule.pk, now=MONDAY) == 2
        assert report_email_send(schedule_pk=schedule.pk, now=MONDAY) == 0  # not due any more
    (message,) = mail.outbox
    assert message.to == ["owner@client.test", "ops@client.test"]
    assert message.subject == "Brand A: A Location 1 report, 2 Mar to 8 Mar 2026"
    html = message.alternatives[0][0]
    domain = selectors.agency_primary_domain(world.a.agency)
    link = f"http://{domain}/app/l/{data.a1.pk}/dashboard/?range=custom"
    assert link in html and link in message.body
    assert "&amp;" not in message.body and "?range=custom&from=2026-03-02&to=2026-03-08" in (
        message.body
    )
    assert "https://cdn.brand-a.test/logo.png" in html and "#ff8800" in html
    for text in (html, message.body, message.subject, message.from_email):
        assert settings.PLATFORM_NAME not in text
        assert "://localhost" not in text  # the platform's own host
    # 2-8 March in Dubai: c1 and c2 (the 2nd), c4 (the 3rd); c3 is the 1st.
    assert "Leads: 3" in message.body
    assert "Amal Haddad" in message.body
    schedule.refresh_from_db()
    assert schedule.next_send_at == datetime(2026, 3, 16, 3, 0, tzinfo=UTC)
    assert schedule.last_sent_at == MONDAY


def test_without_recipients_the_agency_admins_are_told(
    world: World, django_capture_on_commit_callbacks: Any
) -> None:
    schedule = ReportSchedule.objects.create(
        location=world.a.locations[1], frequency="daily", next_send_at=MONDAY
    )
    with django_capture_on_commit_callbacks(execute=True):
        report_email_send(schedule_pk=schedule.pk, now=MONDAY)
    assert sorted(mail.outbox[0].to) == ["agency_admin@a.test", "agency_owner@a.test"]
    off = ReportSchedule.objects.create(
        location=world.a.locations[0], frequency="off", next_send_at=MONDAY
    )
    assert report_email_send(schedule_pk=off.pk, now=MONDAY) == 0
    paused = ReportSchedule.objects.create(location=world.b.locations[0], next_send_at=MONDAY)
    Location.objects.unscoped().filter(pk=world.b.locations[0].pk).update(status="paused")
    assert report_email_send(schedule_pk=paused.pk, now=MONDAY) == 0
    assert paused.pk not in report_schedules_due(now=MONDAY)
    assert len(mail.outbox) == 1


def test_the_admin_refuses_a_bad_recipient_and_stores_nothing(
    world: World, agency_client: AgencyClient
) -> None:
    client = agency_client(world.a, world.a.owner)
    url = "/admin/integrations/reportschedule/add/"
    form = {"location": world.a.locations[0].pk, "frequency": "weekly"}
    response = client.post(url, {**form, "recipients": "boss@client.test, not-an-address"})
    assert response.status_code == 200
    assert "“not-an-address” is not an e-mail address." in response.content.decode()
    assert not ReportSchedule.objects.for_agency(world.a.agency).exists()
    response = client.post(url, {**form, "recipients": "boss@client.test, ops@client.test"})
    assert response.status_code == 302
    saved = ReportSchedule.objects.for_agency(world.a.agency).get()
    assert saved.recipients == "boss@client.test\nops@client.test"
    assert saved.next_send_at is not None and saved.next_send_at.weekday() == 0
    entry = AuditLogEntry.objects.for_agency(world.a.agency).get(action="report_schedule.created")
    assert entry.actor == world.a.owner and entry.location == world.a.locations[0]
    response = client.post(
        f"/admin/integrations/reportschedule/{saved.pk}/change/",
        {**form, "frequency": "daily", "recipients": saved.recipients},
    )
    assert response.status_code == 302
    entry = AuditLogEntry.objects.for_agency(world.a.agency).get(action="report_schedule.updated")
    assert entry.changes == {"frequency": ["weekly", "daily"]}
    saved.refresh_from_db()
    assert saved.frequency == "daily" and saved.next_send_at.hour == 7  # 07:00 in UTC
    foreign = client.post(url, {**form, "location": world.b.locations[0].pk, "recipients": ""})
    assert foreign.status_code == 200  # not a choice on A's admin
    assert not ReportSchedule.objects.for_agency(world.b.agency).exists()
