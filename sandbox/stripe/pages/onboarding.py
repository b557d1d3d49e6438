"""Connect onboarding (``/setup/{link}``, an account link's url) and hosted invoices (``/i/{id}``).

Onboarding: one form (business name); submitting it completes the account
(``charges_enabled``, ``payouts_enabled``, ``details_submitted``), emits ``account.updated``
and redirects to ``return_url``. An expired or used link redirects to ``refresh_url``, as
Stripe does. The hosted invoice page pays an open invoice with a test card.
"""

from __future__ import annotations

from html import escape

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from sandbox.stripe import billing, payments
from sandbox.stripe.api.connect import complete_onboarding
from sandbox.stripe.errors import StripeError
from sandbox.stripe.pages.layout import card_form, form_data, money, render
from sandbox.stripe.state import StripeState
from sandbox.stripe.store import PLATFORM

# The smallest valid PDF: enough for "the link serves a PDF" without a PDF library.
_PDF = (
    b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj 2 0 obj<</Type/Pages/Kids[]"
    b"/Count 0>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"
)


def onboarding_pages(state: StripeState) -> list[Route]:
    def link_for(request: Request) -> dict[str, object] | None:
        link = state.store.find(PLATFORM, request.path_params["link"], "_account_link")
        return link if isinstance(link, dict) else None

    async def show(request: Request) -> Response:
        link = link_for(request)
        if link is None:
            return render(state, "", "Onboarding", "<p>Unknown link.</p>", 404)
        if link["used"] or state.now() > int(str(link["expires_at"])):
            return RedirectResponse(str(link["refresh_url"]), 303)
        account = str(link["account"])
        acct = state.store.get(PLATFORM, account, "account")
        name = acct["business_profile"]["name"] or ""
        body = f"""<p>Test mode: submitting this form completes onboarding.</p>
<form method="post"><label for="business_name">Business name</label>
<input id="business_name" name="business_name" value="{escape(name)}">
<button type="submit">Agree and submit</button></form>"""
        return render(state, account, "Set up payments", body)

    async def submit(request: Request) -> Response:
        link = link_for(request)
        if link is None:
            return render(state, "", "Onboarding", "<p>Unknown link.</p>", 404)
        if link["used"] or state.now() > int(str(link["expires_at"])):
            return RedirectResponse(str(link["refresh_url"]), 303)
        link["used"] = True
        acct = state.store.get(PLATFORM, str(link["account"]), "account")
        name = (await form_data(request)).get("business_name", "").strip() or None
        complete_onboarding(state, acct, name)
        return RedirectResponse(str(link["return_url"]), 303)

    return [
        Route("/setup/{link}", show, methods=["GET"]),
        Route("/setup/{link}", submit, methods=["POST"]),
    ]


def invoice_pages(state: StripeState) -> list[Route]:
    async def show(request: Request) -> Response:
        hit = state.store.locate(request.path_params["invoice"], "invoice")
        if hit is None:
            return render(state, "", "Invoice", "<p>Unknown invoice.</p>", 404)
        account, invoice = hit
        return _page(account, invoice)

    def _page(
        account: str, invoice: dict[str, object], error: str | None = None, status: int = 200
    ) -> Response:
        amount = money(int(str(invoice["amount_due"])), str(invoice["currency"]))
        status_tag = f'<span class="status">{invoice["status"]}</span>'
        body = f"<p>Invoice {invoice['number']} · {amount} · {status_tag}</p>"
        if invoice["status"] == "open":
            body += card_form(f"/i/{invoice['id']}", "Pay", None, error)
        return render(state, account, "Invoice", body, status)

    async def pay(request: Request) -> Response:
        hit = state.store.locate(request.path_params["invoice"], "invoice")
        if hit is None:
            return render(state, "", "Invoice", "<p>Unknown invoice.</p>", 404)
        account, invoice = hit
        if invoice["status"] != "open":
            return _page(account, invoice)
        number = (await form_data(request)).get("card_number", "")
        try:
            pm = payments.card_payment_method(state, account, number, invoice["customer"])
        except StripeError as exc:
            return _page(account, invoice, str(exc), 402)
        error = billing.invoice_pay(state, account, invoice, pm_id=pm["id"], on_session=True)
        if error is not None:
            return _page(account, invoice, str(error), 402)
        return RedirectResponse(f"/i/{invoice['id']}", 303)

    async def pdf(request: Request) -> Response:
        if state.store.locate(request.path_params["invoice"], "invoice") is None:
            return Response("Unknown invoice", 404)
        return Response(_PDF, media_type="application/pdf")

    return [
        Route("/i/{invoice}", show, methods=["GET"]),
        Route("/i/{invoice}", pay, methods=["POST"]),
        Route("/i/{invoice}/pdf", pdf, methods=["GET"]),
    ]
