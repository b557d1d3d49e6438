"""The hosted billing portal: ``/p/session/{session}``.

Behaves like a portal configuration with ``subscription_update`` (any active recurring price of
the same currency, ``proration_behavior=create_prorations``), ``subscription_cancel``
(``mode=at_period_end``) and ``payment_method_update`` enabled. A new card becomes the
customer's default and is tried at once on open invoices, so a past-due customer recovers.
"""

from __future__ import annotations

from html import escape
from typing import Any

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from sandbox.stripe import billing, changes, payments
from sandbox.stripe.errors import StripeError
from sandbox.stripe.pages.layout import card_form, form_data, money, render
from sandbox.stripe.state import StripeState

ACTIVE = ("trialing", "active", "past_due", "incomplete", "unpaid")


def _plans(state: StripeState, account: str, currency: str) -> list[dict[str, Any]]:
    """The prices a customer may switch to: active, recurring, same currency."""
    return state.store.all(
        account,
        "price",
        lambda p: p["active"] and p["recurring"] is not None and p["currency"] == currency,
    )


def portal_pages(state: StripeState) -> list[Route]:
    def found(request: Request) -> tuple[str, dict[str, Any], dict[str, Any]] | None:
        hit = state.store.locate(request.path_params["session"], "billing_portal.session")
        if hit is None:
            return None
        account, session = hit
        return account, session, state.store.get(account, session["customer"], "customer")

    def subscriptions(account: str, customer_id: str) -> list[dict[str, Any]]:
        return state.store.all(
            account,
            "subscription",
            lambda s: s["customer"] == customer_id and s["status"] in ACTIVE,
        )

    def page(
        account: str,
        session: dict[str, Any],
        customer: dict[str, Any],
        notice: str | None = None,
        error: str | None = None,
        status: int = 200,
    ) -> Response:
        base = f"/p/session/{session['id']}"
        parts = []
        if notice:
            parts.append(f'<p class="notice" role="status">{escape(notice)}</p>')
        for sub in subscriptions(account, customer["id"]):
            item = sub["items"]["data"][0]
            price = item["price"]
            name = billing.product_name(state, account, price)
            ending = " · cancels at period end" if sub["cancel_at_period_end"] else ""
            options = "".join(
                f'<option value="{p["id"]}">{escape(billing.product_name(state, account, p))}: '
                f"{money(p['unit_amount'], p['currency'])} / {p['recurring']['interval']}</option>"
                for p in _plans(state, account, sub["currency"])
                if p["id"] != price["id"]
            )
            sid = sub["id"]
            hidden = f'<input type="hidden" name="subscription" value="{sid}">'
            parts.append(f"""<section class="subscription" data-id="{sid}">
<h2>{escape(name)}</h2><p>{money(price["unit_amount"], price["currency"])} /
{price["recurring"]["interval"]} · <span class="status">{sub["status"]}</span>{ending}</p>
<form method="post" action="{base}/update">{hidden}
<label for="price-{sid}">Change plan</label><select id="price-{sid}" name="price">{options}</select>
<button type="submit">Update plan</button></form>
<form method="post" action="{base}/cancel">{hidden}
<button type="submit">Cancel plan</button></form></section>""")
        default = state.store.find(
            account, customer["invoice_settings"]["default_payment_method"] or "", "payment_method"
        )
        card = f"{default['card']['brand']} •••• {default['card']['last4']}" if default else "none"
        parts.append(f'<h2>Payment method</h2><p class="card">{escape(card)}</p>')
        parts.append(card_form(f"{base}/card", "Update card", None, error))
        if session["return_url"]:
            parts.append(
                f'<p><a class="return" href="{escape(session["return_url"])}">Return</a></p>'
            )
        return render(state, account, "Manage your billing", "\n".join(parts), status)

    async def show(request: Request) -> Response:
        hit = found(request)
        if hit is None:
            return render(state, "", "Billing", "<p>This session has expired.</p>", 404)
        notices = {
            "updated": "Your plan was updated.",
            "canceled": "Your plan will be canceled at the end of the billing period.",
            "card": "Your card was updated.",
        }
        notice = next((text for key, text in notices.items() if key in request.query_params), None)
        return page(*hit, notice=notice)

    def own_subscription(
        account: str, customer: dict[str, Any], sub_id: str
    ) -> dict[str, Any] | None:
        sub = state.store.find(account, sub_id, "subscription")
        return sub if sub and sub["customer"] == customer["id"] else None

    async def update(request: Request) -> Response:
        hit = found(request)
        if hit is None:
            return render(state, "", "Billing", "<p>This session has expired.</p>", 404)
        account, session, customer = hit
        data = await form_data(request)
        sub = own_subscription(account, customer, data.get("subscription", ""))
        price = state.store.find(account, data.get("price", ""), "price")
        if sub is None or price is None or not price["active"] or price["recurring"] is None:
            return page(
                account, session, customer, error="Choose one of the listed plans.", status=400
            )
        item = sub["items"]["data"][0]
        try:
            changes.subscription_change_items(
                state, account, sub, [(item["id"], price, None, False)], "create_prorations"
            )
        except StripeError as exc:
            return page(account, session, customer, error=str(exc), status=400)
        return RedirectResponse(f"/p/session/{session['id']}?updated=1", 303)

    async def cancel(request: Request) -> Response:
        hit = found(request)
        if hit is None:
            return render(state, "", "Billing", "<p>This session has expired.</p>", 404)
        account, session, customer = hit
        sub = own_subscription(
            account, customer, (await form_data(request)).get("subscription", "")
        )
        if sub is None:
            return page(account, session, customer, error="No such plan.", status=400)
        changes.set_cancel_at_period_end(state, account, sub, True)
        return RedirectResponse(f"/p/session/{session['id']}?canceled=1", 303)

    async def card(request: Request) -> Response:
        hit = found(request)
        if hit is None:
            return render(state, "", "Billing", "<p>This session has expired.</p>", 404)
        account, session, customer = hit
        number = (await form_data(request)).get("card_number", "")
        try:
            pm = payments.card_payment_method(state, account, number, customer["id"])
        except StripeError as exc:
            return page(account, session, customer, error=str(exc), status=402)
        payments.set_default(state, account, customer, pm["id"])
        for sub in subscriptions(account, customer["id"]):
            sub["default_payment_method"] = pm["id"]
        for invoice in state.store.all(
            account, "invoice", lambda i: i["customer"] == customer["id"] and i["status"] == "open"
        ):
            error = billing.invoice_pay(state, account, invoice, pm_id=pm["id"])
            if error is not None:
                return page(account, session, customer, error=str(error), status=402)
        return RedirectResponse(f"/p/session/{session['id']}?card=1", 303)

    return [
        Route("/p/session/{session}", show, methods=["GET"]),
        Route("/p/session/{session}/update", update, methods=["POST"]),
        Route("/p/session/{session}/cancel", cancel, methods=["POST"]),
        Route("/p/session/{session}/card", card, methods=["POST"]),
    ]
