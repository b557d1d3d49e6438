"""A paid automation request written back to GHL (the outbox's "payment.succeeded"), against the
GHL stand-in: GHL busy on the opportunity update keeps the write-back pending and the retry adds
no second note; a location no longer connected is a failure with its reason; one write-back per
payment however many events name it."""

from __future__ import annotations

import pytest

from integrations.ghl.models import GhlInstallation
from integrations.mirror.models import MirrorContact, MirrorOpportunity
from integrations.payments.models import PaymentWriteback
from integrations.payments.services import (
    RetryLater,
    payment_events_claim,
    payment_writeback_run,
)
from sandbox.ghl.testing import StandIn
from tenants.events import PAYMENT_SUCCEEDED, event_publish
from tenants.models import Location
from tests.integrations.conftest import DUBAI
from tests.integrations.sync.test_webhook_mirror import api

pytestmark = pytest.mark.django_db


def paid(location: Location, opportunity: MirrorOpportunity, payment_id: int = 7) -> None:
    event_publish(
        location=location,
        event_type=PAYMENT_SUCCEEDED,
        data={
            "payment": {
                "id": payment_id,
                "amount": 50000,
                "currency": "usd",
                "amount_display": "500.00 USD",
                "stripe_object_id": "in_test123",
                "kind": "invoice",
            },
            "opportunity": {
                "id": opportunity.ghl_id,
                "pipeline_id": opportunity.pipeline_ghl_id,
                "monetary_value": "500.00",
                "paid_stage_id": "",
            },
            "contact": {"id": opportunity.contact_ghl_id},
        },
    )


def target(location: Location) -> MirrorOpportunity:
    contacts = set(MirrorContact.objects.for_location(location).values_list("ghl_id", flat=True))
    return next(
        o
        for o in MirrorOpportunity.objects.for_location(location).order_by("ghl_id")
        if o.contact_ghl_id in contacts
    )


def test_ghl_busy_keeps_it_pending_and_the_retry_adds_no_second_note(
    dubai: Location, ghl: StandIn
) -> None:
    opportunity = target(dubai)
    paid(dubai, opportunity)
    paid(dubai, opportunity)  # the same payment announced twice
    [writeback_id] = payment_events_claim()
    assert payment_events_claim() == []
    ghl.set_faults(DUBAI, error_rate=1.0, error_status=503, paths=["/opportunities/"])
    with pytest.raises(RetryLater):
        payment_writeback_run(writeback_id=writeback_id)
    writeback = PaymentWriteback.objects.for_location(dubai).get()
    assert writeback.status == "pending" and writeback.note_ghl_id
    assert writeback.opportunity_written_at is None and "busy" in writeback.error
    ghl.clear_faults()
    assert payment_writeback_run(writeback_id=writeback_id) == "done"
    notes = api(ghl, "GET", f"/contacts/{opportunity.contact_ghl_id}/notes")["notes"]
    assert [n["body"] for n in notes] == ["Paid 500.00 USD — invoice in_test123"]
    remote = api(ghl, "GET", f"/opportunities/{opportunity.ghl_id}")["opportunity"]
    assert remote["monetaryValue"] == 500
    opportunity.refresh_from_db()
    assert opportunity.monetary_value == 500  # the mirror, from GHL's answer
    assert payment_writeback_run(writeback_id=writeback_id) == "done"  # nothing more


def test_a_location_no_longer_connected_fails_with_its_reason(
    dubai: Location, ghl: StandIn
) -> None:
    opportunity = target(dubai)
    paid(dubai, opportunity)
    [writeback_id] = payment_events_claim()
    GhlInstallation.objects.for_agency(dubai.agency).update(
        status=GhlInstallation.Status.NEEDS_REAUTH
    )
    assert payment_writeback_run(writeback_id=writeback_id) == "failed"
    assert "not connected" in PaymentWriteback.objects.for_location(dubai).get().error
    notes = api(ghl, "GET", f"/contacts/{opportunity.contact_ghl_id}/notes")["notes"]
    assert notes == []
