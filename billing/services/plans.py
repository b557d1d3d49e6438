"""Plans: validated here, then synced to a Stripe product and price — on the agency's connected
account for an agency's plan, on the platform account for the platform's.

Nothing is stored or sent to Stripe until the input is valid and the account can take payments;
each Stripe create carries an idempotency key naming our row (and its price revision), so a
retried save never creates a second product or price."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import stripe
from django.db import transaction
from django.utils.translation import gettext as _

from saas_platform.kernel.errors import ApplicationError
from saas_platform.kernel.logging import get_logger
from tenants.models import Agency, User
from tenants.services import agency_entitlements_validate, audit_record, entitlements_validate

from .. import stripe_api
from ..currencies import SUPPORTED
from ..models import Plan, StripeAccount

log = get_logger(__name__)

MAX_AMOUNT = 99_999_999  # Stripe's ceiling for unit_amount (eight digits)
PLAN_FIELDS = ("name", "amount", "currency", "interval", "trial_days", "entitlements", "active")
PRICE_FIELDS = ("amount", "currency", "interval")


def _validate(data: Mapping[str, Any], *, platform: bool) -> dict[str, Any]:
    unknown = sorted(set(data) - set(PLAN_FIELDS))
    if unknown:
        raise ApplicationError(
            _("These fields cannot be set on a plan: %(value)s.") % {"value": ", ".join(unknown)}
        )
    clean = dict(data)
    if "name" in clean:
        clean["name"] = str(clean["name"]).strip()
        if not clean["name"] or len(clean["name"]) > 120:
            raise ApplicationError(_("A plan needs a name of at most 120 characters."))
    if "amount" in clean:
        amount = clean["amount"]
        if isinstance(amount, bool) or not isinstance(amount, int):
            raise ApplicationError(_("The price must be a whole number of cents (minor units)."))
        if amount < 0:
            raise ApplicationError(_("The price cannot be negative."))
        if amount > MAX_AMOUNT:
            raise ApplicationError(
                _("The price cannot exceed %(MAX_AMOUNT)s minor units.")
                % {"MAX_AMOUNT": MAX_AMOUNT}
            )
    if "currency" in clean:
        clean["currency"] = str(clean["currency"]).strip().lower()
        if clean["currency"] not in SUPPORTED:
            raise ApplicationError(
                _(
                    "Stripe does not support the currency %(value)s; use an ISO code such as "
                    "usd, eur or aed."
                )
                % {"value": repr(clean["currency"])}
            )
    if "interval" in clean and clean["interval"] not in Plan.Interval.values:
        raise ApplicationError(_("The interval must be month or year."))
    if "trial_days" in clean:
        days = clean["trial_days"]
        if isinstance(days, bool) or not isinstance(days, int) or not 0 <= days <= 730:
            raise ApplicationError(_("Trial days must be a whole number from 0 to 730."))
    if "entitlements" in clean:
        # The platform's plans grant agencies agency-wide entitlements; agencies' plans grant
        # their clients location entitlements.
        check = agency_entitlements_validate if platform else entitlements_validate
        clean["entitlements"] = check(clean["entitlements"])
    return clean


def _account_for(agency: Agency | None) -> str | None:
    """The connected account an agency's plans live on (None: the platform account). Refused
    unless Stripe lets it take payments and pay out."""
    if agency is None:
        return None
    account: StripeAccount | None = StripeAccount.objects.for_agency(agency).first()
    if account is None:
        raise ApplicationError(
            _("Connect a Stripe account before selling plans (Billing → Stripe account).")
        )
    if not account.payouts_enabled or not account.charges_enabled:
        raise ApplicationError(
            _(
                "Your Stripe account cannot take payments or pay out yet: finish Stripe's "
                "onboarding (Billing → Stripe account), then save the plan again."
            )
        )
    return account.stripe_account_id


def plan_validate(*, agency: Agency | None, data: Mapping[str, Any]) -> dict[str, Any]:
    """What `plan_save` checks before it stores or sends anything (forms call it to show the
    refusal beside the fields)."""
    clean = _validate(data, platform=agency is None)
    _account_for(agency)
    return clean


def plan_save(
    *,
    agency: Agency | None,
    data: Mapping[str, Any],
    acting_user: User | None,
    plan: Plan | None = None,
) -> Plan:
    """Create (`plan` None) or change a plan, then sync it to Stripe. A changed price makes a new
    Stripe price (prices are immutable there); existing subscriptions keep theirs. Bad input or
    an account that cannot take payments is refused before anything is stored or sent."""
    clean = _validate(data, platform=agency is None)
    if plan is None:
        missing = [f for f in ("name", "amount", "currency") if f not in clean]
        if missing:
            raise ApplicationError(
                _("A new plan needs: %(value)s.") % {"value": ", ".join(missing)}
            )
        plan = Plan(agency=agency)
    elif plan.agency_id != (agency.pk if agency else None):
        raise ApplicationError(_("No such plan."))
    account = _account_for(agency)
    changes: dict[str, tuple[Any, Any]] = {}
    for field, new in clean.items():
        old = getattr(plan, field) if plan.pk else None
        if old != new:
            changes[field] = (old, new)
            setattr(plan, field, new)
    if plan.pk and not changes and plan.stripe_price_id:
        return plan
    price_changed = any(f in changes for f in PRICE_FIELDS)
    with transaction.atomic():
        if price_changed:
            plan.revision += 1
        plan.save()
        audit_record(
            action="plan.saved",
            target=plan,
            acting_user=acting_user,
            agency=agency,
            changes=changes,
        )
    # Stripe is called after our commit: the row (and so the idempotency keys naming it)
    # survives a failed call, and saving again resumes where Stripe stopped.
    _sync(plan, account=account, price_changed=price_changed or not plan.stripe_price_id)
    plan.save(update_fields=["stripe_product_id", "stripe_price_id", "updated_at"])
    log.info("billing.plan.synced", plan_id=plan.pk, price=plan.stripe_price_id)
    return plan


def _sync(plan: Plan, *, account: str | None, price_changed: bool) -> None:
    """Product and price in Stripe; raises (rolling back our row) when Stripe says no."""
    api = stripe_api.client().v1
    owner = f"agency-{plan.agency_id}" if plan.agency_id else "platform"
    product_fields: Any = {
        "name": plan.name,
        "active": plan.active,
        "metadata": {"plan_id": str(plan.pk), "owner": owner},
    }
    try:
        if not plan.stripe_product_id:
            product = api.products.create(
                params=product_fields,
                options=stripe_api.options(
                    account=account, idempotency_key=f"plan-{plan.pk}-product"
                ),
            )
            plan.stripe_product_id = product.id
        else:
            api.products.update(
                plan.stripe_product_id,
                params=product_fields,
                options=stripe_api.options(account=account),
            )
        if price_changed:
            price = api.prices.create(
                params={
                    "product": plan.stripe_product_id,
                    "unit_amount": plan.amount,
                    "currency": plan.currency,
                    "recurring": {"interval": plan.interval},
                    "metadata": {"plan_id": str(plan.pk)},
                },
                options=stripe_api.options(
                    account=account, idempotency_key=f"plan-{plan.pk}-price-{plan.revision}"
                ),
            )
            plan.stripe_price_id = price.id
    except stripe.StripeError as exc:
        log.warning("billing.plan.sync_failed", plan_id=plan.pk, error=str(exc))
        raise stripe_api.translate(exc) from exc
