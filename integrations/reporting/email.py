"""The scheduled e-mail report: a location's figures for the period just ended, under the agency's
brand, linking to the dashboard on the agency's own domain.

Every location has a schedule, weekly unless changed (`report_schedules_ensure` adds the missing
ones set-based). Reports go out at 07:00 in the location's time zone: daily for yesterday, weekly
on Mondays for the past seven days, monthly on the 1st for the past month. Sending locks the
schedule row and moves `next_send_at` on in the same transaction; the mail leaves after the
commit, so a report is neither lost to a rollback nor sent twice by two workers.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import connection, transaction
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.translation import gettext as _

from saas_platform.kernel.errors import NotFound
from saas_platform.kernel.logging import get_logger
from tenants import selectors as tenant_selectors
from tenants.entitlements import location_may
from tenants.mail import brand_context
from tenants.models import Agency, Branding, Location, User
from tenants.services import audit_record

from .models import ReportSchedule
from .pages import sections_for
from .selectors import dashboard_location
from .tables import dashboard_tables, duration, money, percent

log = get_logger(__name__)

SEND_AT = time(7, 0)
# The location's dashboard in the portal workspace: its client users and the agency's people
# may open it (the agency admin's cross-location dashboard stays in the admin).
DASHBOARD_PATH = "/app/l/{location_id}/dashboard/"
Frequency = ReportSchedule.Frequency
# Paused or archived locations and suspended agencies are not sent reports.
_LIVE = {
    "location__status": Location.Status.ACTIVE,
    "location__agency__status": Agency.Status.ACTIVE,
}


def next_send_at(*, frequency: str, after: datetime, zone: str) -> datetime | None:
    """The first 07:00 local time after `after` that the frequency sends on."""
    if frequency == Frequency.OFF:
        return None
    tz = ZoneInfo(zone)
    local = after.astimezone(tz)
    day = local.date()
    for _attempt in range(40):
        candidate = datetime.combine(day, SEND_AT, tzinfo=tz)
        sends = (
            frequency == Frequency.DAILY
            or (frequency == Frequency.WEEKLY and day.weekday() == 0)
            or (frequency == Frequency.MONTHLY and day.day == 1)
        )
        if sends and candidate > local:
            return candidate
        day += timedelta(days=1)
    raise ValueError(f"no send day found for {frequency!r}")


def report_period(*, frequency: str, sent_on: date) -> tuple[date, date]:
    """The whole period that ended the day before `sent_on`."""
    end = sent_on - timedelta(days=1)
    if frequency == Frequency.DAILY:
        return end, end
    if frequency == Frequency.MONTHLY:
        return end.replace(day=1), end
    return end - timedelta(days=6), end


def report_schedules_ensure() -> int:
    """Give every location without a schedule the default (weekly); returns how many were made.
    The first send is the next Monday, worked out per time zone below."""
    table = connection.ops.quote_name(ReportSchedule._meta.db_table)
    locations = connection.ops.quote_name(Location._meta.db_table)
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (location_id, frequency, recipients, created_at, updated_at)"  # noqa: S608
            f" SELECT l.id, %s, '', now(), now() FROM {locations} l"
            f" WHERE NOT EXISTS (SELECT 1 FROM {table} s WHERE s.location_id = l.id)"
            " ON CONFLICT (location_id) DO NOTHING RETURNING id",
            [Frequency.WEEKLY],
        )
        made = [pk for (pk,) in cursor.fetchall()]
    now = timezone.now()
    for schedule in (
        ReportSchedule.objects.unscoped().filter(pk__in=made).select_related("location")
    ):
        schedule.next_send_at = next_send_at(
            frequency=schedule.frequency, after=now, zone=schedule.location.timezone
        )
        schedule.save(update_fields=["next_send_at"])
    return len(made)


def report_schedule_save(
    *, schedule: ReportSchedule, acting_user: User | None, changes: dict[str, tuple[Any, Any]]
) -> ReportSchedule:
    """Store a schedule edited in the admin (already validated by its form), with an audit row;
    a new frequency moves the next send to its first day."""
    created = schedule.pk is None
    if created or "frequency" in changes:
        schedule.next_send_at = next_send_at(
            frequency=schedule.frequency, after=timezone.now(), zone=schedule.location.timezone
        )
    with transaction.atomic():
        schedule.save()
        audit_record(
            action="report_schedule.created" if created else "report_schedule.updated",
            target=schedule,
            acting_user=acting_user,
            agency=schedule.location.agency,
            location=schedule.location,
            changes=changes,
        )
    return schedule


def report_schedules_due(*, now: datetime | None = None) -> list[int]:
    """The schedules whose report is due, after adding the missing defaults."""
    report_schedules_ensure()
    return list(
        ReportSchedule.objects.unscoped()
        .filter(next_send_at__lte=now or timezone.now(), **_LIVE)
        .exclude(frequency=Frequency.OFF)
        .order_by("next_send_at")
        .values_list("pk", flat=True)
    )


def _recipients(schedule: ReportSchedule) -> list[str]:
    named = schedule.recipients.split()
    return named or tenant_selectors.agency_admin_emails(schedule.location.agency)


@transaction.atomic
def report_email_send(*, schedule_pk: int, now: datetime | None = None) -> int:
    """Send one due report; returns the number of recipients (0 when not due or nobody to tell)."""
    now = now or timezone.now()
    schedule = (
        ReportSchedule.objects.unscoped()
        .select_for_update(of=("self",))
        .select_related("location__agency")
        .filter(pk=schedule_pk, next_send_at__lte=now, **_LIVE)
        .exclude(frequency=Frequency.OFF)
        .first()
    )
    if schedule is None:
        return 0
    location = schedule.location
    zone = location.timezone
    date_from, date_to = report_period(
        frequency=schedule.frequency, sent_on=now.astimezone(ZoneInfo(zone)).date()
    )
    schedule.next_send_at = next_send_at(frequency=schedule.frequency, after=now, zone=zone)
    schedule.last_sent_at = now
    schedule.save(update_fields=["next_send_at", "last_sent_at", "updated_at"])
    if not location_may(location=location, feature="reports"):
        # The dashboard it links to is closed too; the next period is tried as usual.
        log.info("reporting.email_skipped_plan", location_id=location.pk)
        return 0
    recipients = _recipients(schedule)
    agency = location.agency
    try:
        query = urlencode({"range": "custom", "from": date_from, "to": date_to})
        path = DASHBOARD_PATH.format(location_id=location.pk)
        url = tenant_selectors.agency_portal_url(agency, f"{path}?{query}")
    except NotFound:
        log.warning("reporting.email_no_domain", location_id=location.pk)
        return 0
    if not recipients:
        return 0
    message = _message(location, date_from, date_to, url, recipients)
    transaction.on_commit(message.send)
    log.info("reporting.email_sent", location_id=location.pk, recipients=len(recipients))
    return len(recipients)


def _message(
    location: Location, date_from: date, date_to: date, url: str, recipients: list[str]
) -> EmailMultiAlternatives:
    brand = brand_context(location.agency)
    branding: Branding = brand["brand"]
    board = dashboard_location(location=location, date_from=date_from, date_to=date_to)
    sections = sections_for(location)
    tables = [
        table
        for table in dashboard_tables(board, sections)
        if table.key in ("leads_by_source", "agent_leaderboard", "pipeline_value_by_stage")
    ]
    context = {
        **brand,
        "location": location,
        "board": board,
        "kpis": [
            ("Leads", f"{board.total_leads:,}"),
            ("Won", f"{board.win_rate.won} · {money(board.win_rate.won_value)}"),
            (_("Win rate"), percent(board.win_rate.rate)),
            (_("Avg. first reply"), duration(board.speed_to_lead.avg_respond_seconds)),
            (_("Show rate"), percent(board.appointments.show_rate)),
        ],
        "tables": [(t, t.rows[:5]) for t in tables],
        "url": url,
    }
    sender = branding.sender_name or branding.display_name
    period = f"{date_from:%-d %b} to {date_to:%-d %b %Y}"
    message = EmailMultiAlternatives(
        subject=_("%(brand)s: %(location)s report, %(period)s")
        % {"brand": branding.display_name, "location": location.name, "period": period},
        body=render_to_string("emails/location_report.txt", context),
        from_email=f"{sender} <{settings.DEFAULT_FROM_EMAIL}>",
        to=recipients,
        reply_to=[branding.support_email] if branding.support_email else None,
    )
    message.attach_alternative(
        render_to_string("emails/location_report.html", context), "text/html"
    )
    return message
