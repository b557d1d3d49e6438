"""Payment automation end to end, against both stand-ins: an opportunity marked won in GHL (its
OpportunityStatusUpdate webhook, as the GHL stand-in signs and sends it) → one Stripe invoice on
the agency's connected account for the opportunity's value, with the platform's fee, sent to the
contact → the contact pays it on the hosted page → Stripe's Connect event → a note on the contact
and the opportunity updated in GHL. Duplicates on either side bill once and note once."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from django.test import Client

from billing.models import PaymentRequest, StripeAccount, StripeEvent
from billing.services.automations import automation_save
from billing.services.connect import connect_account_refresh
from billing.services.inbox import stripe_event_replay
from integrations.mirror.models import MirrorContact, MirrorOpportunity, MirrorPipeline
from integrations.payments.models import PaymentWriteback
from sandbox.ghl.testing import StandIn
from sandbox.stripe.testing import StripeStandIn
from tenants.models import Location
from tests.billing.stripe_wire import signed
from tests.integrations.sync.test_webhook_mirror import api, forward

pytestmark = pytest.mark.django_db
CONNECT_SECRET = "whsec_test_connect"  # the test settings' Connect endpoint secret


@pytest.fixture
def stripe(stripe_standin: StripeStandIn, settings: Any) -> StripeStandIn:
    settings.STRIPE_API_BASE = stripe_standin.base_url
    settings.STRIPE_SECRET_KEY = stripe_standin.api_key
    return stripe_standin


def connected_account(stripe: StripeStandIn, location: Location) -> StripeAccount:
    """The location's agency's connected account, onboarded, as our copy of it."""
    made = stripe.client().v1.accounts.create(params={"type": "express"})
    stripe.onboard(made.id)
    StripeAccount.objects.create(agency=location.agency, stripe_account_id=made.id)
    return connect_account_refresh(stripe_account_id=made.id)


def won_opportunity_target(location: Location) -> tuple[MirrorOpportunity, str]:
    """An open opportunity of the location whose contact has an e-mail address."""
    emails = dict(
        MirrorContact.objects.for_location(location)
        .exclude(email="")
        .values_list("ghl_id", "email")
    )
    for opportunity in MirrorOpportunity.objects.for_location(location).filter(status="open"):
        if opportunity.contact_ghl_id in emails:
            return opportunity, emails[opportunity.contact_ghl_id]
    raise AssertionError("the demo location has no open opportunity with an e-mail contact")


def mark_won(ghl: StandIn, capture: Any, opportunity_id: str, value: float = 1200) -> Any:
    before = len(ghl.webhooks(type="OpportunityStatusUpdate"))
    api(ghl, "PUT", f"/opportunities/{opportunity_id}", json={"monetaryValue": value})
    api(ghl, "PUT", f"/opportunities/{opportunity_id}/status", json={"status": "won"})
    delivery = ghl.wait_for_webhooks(before + 1, type="OpportunityStatusUpdate")[-1]
    response = forward(delivery, capture)
    assert response.status_code == 200, response.content
    return delivery


def deliver_stripe_events(
    stripe: StripeStandIn, account: str, event_type: str, capture: Any
) -> int:
    """Stripe's Connect events of that type, as the stand-in recorded them, signed with our
    endpoint's secret and posted to it (the workers run at once)."""
    events = stripe.client().v1.events.list(
        params={"type": event_type},
        options={"stripe_account": account},  # type: ignore[arg-type]
    )
    for stripe_event in events.data:
        body, signature = signed(json.loads(json.dumps(stripe_event.to_dict())), CONNECT_SECRET)
        with capture(execute=True):
            response = Client(HTTP_HOST="localhost").post(
                "/billing/stripe/connect-webhooks",
                body,
                content_type="application/json",
                HTTP_STRIPE_SIGNATURE=signature,
            )
        assert response.status_code == 200, response.content
    return len(events.data)


def test_a_won_opportunity_is_invoiced_paid_and_written_back_to_ghl_once(
    dubai: Location,
    ghl: StandIn,
    stripe: StripeStandIn,
    django_capture_on_commit_callbacks: Any,
) -> None:
    account = connected_account(stripe, dubai)
    opportunity, email = won_opportunity_target(dubai)
    pipeline = MirrorPipeline.objects.for_location(dubai).get(ghl_id=opportunity.pipeline_ghl_id)
    paid_stage = pipeline.stages[-1]["id"]
    rule = automation_save(
        location=dubai,
        data={
            "name": "Deposit on win",
            "currency": "aed",
            "days_until_due": 10,
            "pipeline_ghl_id": pipeline.ghl_id,
            "paid_stage_ghl_id": paid_stage,
        },
        acting_user=None,
    )

    delivery = mark_won(ghl, django_capture_on_commit_callbacks, opportunity.ghl_id)

    request = PaymentRequest.objects.for_location(dubai).get()
    assert (request.status, request.automation_id, request.error) == ("sent", rule.pk, "")
    assert (request.amount, request.currency, request.customer_email) == (120000, "aed", email)
    on_account = {"stripe_account": account.stripe_account_id}
    sdk = stripe.client()
    invoice = sdk.v1.invoices.retrieve(request.stripe_object_id, options=on_account)  # type: ignore[arg-type]
    assert (invoice.status, invoice.amount_due, invoice.currency) == ("open", 120000, "aed")
    assert invoice.application_fee_amount == 12000  # the platform's 10 %
    assert invoice.collection_method == "send_invoice"
    assert invoice.due_date == invoice.created + 10 * 86_400
    assert invoice.customer_email == email
    assert request.hosted_url == invoice.hosted_invoice_url

    # The same webhook again, and the opportunity reopened and won a second time: one invoice.
    forward(delivery, django_capture_on_commit_callbacks)
    api(ghl, "PUT", f"/opportunities/{opportunity.ghl_id}/status", json={"status": "open"})
    mark_won(ghl, django_capture_on_commit_callbacks, opportunity.ghl_id)
    assert PaymentRequest.objects.for_location(dubai).count() == 1
    assert len(sdk.v1.invoices.list(options=on_account).data) == 1  # type: ignore[arg-type]

    paid = httpx.post(invoice.hosted_invoice_url, data={"card_number": "4242424242424242"})
    assert paid.status_code == 303
    fees = sdk.v1.application_fees.list().data
    assert [(f.account, f.amount) for f in fees] == [(account.stripe_account_id, 12000)]

    assert deliver_stripe_events(
        stripe, account.stripe_account_id, "invoice.paid", django_capture_on_commit_callbacks
    )
    request.refresh_from_db()
    assert request.status == "paid" and request.paid_at is not None
    writeback = PaymentWriteback.objects.for_location(dubai).get()
    assert writeback.status == "done", writeback.error
    notes = api(ghl, "GET", f"/contacts/{opportunity.contact_ghl_id}/notes")["notes"]
    assert [n["body"] for n in notes] == [f"Paid 1,200.00 AED — invoice {invoice.id}"]
    remote = api(ghl, "GET", f"/opportunities/{opportunity.ghl_id}")["opportunity"]
    assert (remote["monetaryValue"], remote["pipelineStageId"]) == (1200, paid_stage)
    opportunity.refresh_from_db()
    assert opportunity.stage_ghl_id == paid_stage  # the mirror, from GHL's answer

    # Stripe's event again, and both paid events replayed: still one note.
    deliver_stripe_events(
        stripe, account.stripe_account_id, "invoice.paid", django_capture_on_commit_callbacks
    )
    for stored in StripeEvent.objects.all():
        with django_capture_on_commit_callbacks(execute=True):
            stripe_event_replay(event_pk=stored.pk)
    notes = api(ghl, "GET", f"/contacts/{opportunity.contact_ghl_id}/notes")["notes"]
    assert len(notes) == 1
    assert PaymentWriteback.objects.for_location(dubai).count() == 1
