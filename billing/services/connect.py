"""Stripe Connect for agencies: the connected account their clients pay into, its onboarding
link, and our copy of its state (can it take charges, pay out, what Stripe still needs)."""

from __future__ import annotations

from typing import Any

import stripe
from django.db import transaction
from django.utils import timezone

from saas_platform.kernel.errors import NotFound
from saas_platform.kernel.logging import get_logger
from tenants.models import Agency, Branding, User
from tenants.services import audit_record

from .. import stripe_api
from ..models import StripeAccount

log = get_logger(__name__)

ACCOUNT_FIELDS = ("charges_enabled", "payouts_enabled", "details_submitted", "requirements_due")


def _brand(agency: Agency) -> Any:
    """How Stripe's hosted pages (onboarding, Checkout, invoices) present the agency: its own name
    and colours, never the platform's."""
    branding: Branding | None = Branding.objects.for_agency(agency).first()
    name = branding.display_name if branding else agency.name
    fields: dict[str, Any] = {
        "type": "express",
        "business_profile": {"name": name},
        "metadata": {"agency_id": str(agency.pk)},
    }
    if branding is not None:
        fields["settings"] = {
            "branding": {
                "primary_color": branding.primary_color,
                "secondary_color": branding.accent_color,
            }
        }
    return fields


def connect_onboarding_start(
    *, agency: Agency, acting_user: User | None, return_url: str, refresh_url: str
) -> str:
    """The URL of Stripe's onboarding for the agency, creating its connected account first if it
    has none. One account per agency even when two admins click at once (the agency row is
    locked, and the create carries an idempotency key naming the agency)."""
    api = stripe_api.client().v1
    with transaction.atomic():
        Agency.objects.select_for_update().filter(pk=agency.pk).first()
        account: StripeAccount | None = StripeAccount.objects.for_agency(agency).first()
        if account is None:
            try:
                created = api.accounts.create(
                    params=_brand(agency),
                    options=stripe_api.options(idempotency_key=f"agency-{agency.pk}-account"),
                )
            except stripe.StripeError as exc:
                raise stripe_api.translate(exc) from exc
            account = StripeAccount(agency=agency, stripe_account_id=created.id)
            _copy(account, created)
            account.save()
            audit_record(
                action="billing.connect_account_created",
                target=account,
                acting_user=acting_user,
                agency=agency,
                changes={"stripe_account_id": (None, created.id)},
            )
    try:
        link = api.account_links.create(
            params={
                "account": account.stripe_account_id,
                "refresh_url": refresh_url,
                "return_url": return_url,
                "type": "account_onboarding",
            }
        )
    except stripe.StripeError as exc:
        raise stripe_api.translate(exc) from exc
    return str(link.url)


def _copy(account: StripeAccount, remote: Any) -> dict[str, tuple[Any, Any]]:
    fresh = {
        "charges_enabled": bool(stripe_api.value(remote, "charges_enabled", default=False)),
        "payouts_enabled": bool(stripe_api.value(remote, "payouts_enabled", default=False)),
        "details_submitted": bool(stripe_api.value(remote, "details_submitted", default=False)),
        "requirements_due": list(
            stripe_api.value(remote, "requirements", "currently_due", default=[])
        ),
    }
    changes = {}
    for field, new in fresh.items():
        old = getattr(account, field)
        if old != new:
            changes[field] = (old, new)
            setattr(account, field, new)
    account.refreshed_at = timezone.now()
    return changes


def connect_account_refresh(*, stripe_account_id: str) -> StripeAccount:
    """Re-read a connected account from Stripe and store what it says now."""
    account: StripeAccount | None = (
        StripeAccount.objects.unscoped()
        .select_related("agency")
        .filter(stripe_account_id=stripe_account_id)
        .first()
    )
    if account is None:
        raise NotFound(f"No agency has the Stripe account {stripe_account_id}.")
    try:
        remote = stripe_api.client().v1.accounts.retrieve(stripe_account_id)
    except stripe.StripeError as exc:
        raise stripe_api.translate(exc) from exc
    with transaction.atomic():
        changes = _copy(account, remote)
        account.save()
        if changes:
            audit_record(
                action="billing.connect_account_updated",
                target=account,
                acting_user=None,
                agency=account.agency,
                changes=changes,
            )
    return account
