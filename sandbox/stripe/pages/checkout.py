"""The hosted Checkout page: ``/c/pay/{session}``.

GET shows the order and a card form; POST takes a test card number. A card that needs
authentication gets a challenge step (complete or fail), as Stripe's 3-D Secure test page does.
Success redirects (303) to ``success_url`` with ``{CHECKOUT_SESSION_ID}`` filled in.
"""

from __future__ import annotations

from html import escape
from typing import Any

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from sandbox.stripe import billing, cards, checkout, payments
from sandbox.stripe.errors import StripeError
from sandbox.stripe.pages.layout import card_form, form_data, money, render
from sandbox.stripe.state import StripeState


def _session(state: StripeState, session_id: str) -> tuple[str, dict[str, Any]] | None:
    found = state.store.locate(session_id, "checkout.session")
    if found and found[1]["status"] == "open" and state.now() >= found[1]["expires_at"]:
        found[1].update(status="expired", url=None)
        state.emit(found[0], "checkout.session.expired", found[1])
    return found


def _summary(state: StripeState, account: str, session: dict[str, Any]) -> str:
    rows = []
    for line in session["_line_items"]:
        price = state.store.get(account, line["price"], "price")
        name = billing.product_name(state, account, price)
        every = f" / {price['recurring']['interval']}" if price["recurring"] else ""
        rows.append(
            f"<li>{line['quantity']} x {escape(name)}: "
            f"{money(price['unit_amount'], price['currency'])}{every}</li>"
        )
    trial = session["_subscription_data"]["trial_seconds"] // 86_400
    trial_note = f"<p class='trial'>{trial}-day free trial</p>" if trial else ""
    return f"<ul>{''.join(rows)}</ul>{trial_note}"


def checkout_pages(state: StripeState) -> list[Route]:
    def form(
        account: str, session: dict[str, Any], error: str | None = None, status: int = 200
    ) -> Response:
        email = None if session["customer"] else (session["customer_email"] or "")
        cancel = (
            f'<p><a class="cancel" href="/c/pay/{session["id"]}/cancel">Cancel</a></p>'
            if session["cancel_url"]
            else ""
        )
        body = (
            _summary(state, account, session)
            + card_form(
                f"/c/pay/{session['id']}",
                "Subscribe" if session["mode"] == "subscription" else "Pay",
                email,
                error,
            )
            + cancel
        )
        return render(state, account, "Checkout", body, status)

    def closed(account: str, session: dict[str, Any]) -> Response:
        if session["status"] == "complete" and session["success_url"]:
            return _to_success(session)
        return render(
            state, account, "Checkout", "<p>This Checkout Session is no longer active.</p>", 410
        )

    async def show(request: Request) -> Response:
        found = _session(state, request.path_params["session"])
        if found is None:
            return render(state, "", "Checkout", "<p>Something went wrong.</p>", 404)
        account, session = found
        return form(account, session) if session["status"] == "open" else closed(account, session)

    async def submit(request: Request) -> Response:
        found = _session(state, request.path_params["session"])
        if found is None:
            return render(state, "", "Checkout", "<p>Something went wrong.</p>", 404)
        account, session = found
        if session["status"] != "open":
            return closed(account, session)
        data = await form_data(request)
        number, email = str(data.get("card_number", "")), str(data.get("email", "")).strip()
        if not session["customer"] and not (email or session["customer_email"]):
            return form(account, session, "Enter your email address.", 400)
        try:
            pm = payments.card_payment_method(state, account, number)
        except StripeError as exc:
            return form(account, session, str(exc), 402)
        card = cards.lookup(number)
        if card is not None and card.requires_authentication:
            session["_challenge"] = {"pm": pm["id"], "email": email}
            return render(state, account, "Authenticate your payment", _challenge(session))
        return _finish(account, session, pm, email, authenticated=False)

    async def authenticate(request: Request) -> Response:
        found = _session(state, request.path_params["session"])
        if found is None or not found[1].get("_challenge"):
            return render(state, "", "Checkout", "<p>Something went wrong.</p>", 404)
        account, session = found
        challenge = session.pop("_challenge")
        pm = state.store.get(account, challenge["pm"], "payment_method")
        if (await form_data(request)).get("action") != "complete":
            state.store.spaces[account].pop(pm["id"], None)
            return form(
                account,
                session,
                "We are unable to authenticate your payment method. Please choose a "
                "different payment method and try again.",
                402,
            )
        if pm["_number"] == "4000002500003155":
            pm["_authenticated"] = True  # set up for later off-session payments
        return _finish(account, session, pm, challenge["email"], authenticated=True)

    def _finish(
        account: str,
        session: dict[str, Any],
        pm: dict[str, Any],
        email: str,
        *,
        authenticated: bool,
    ) -> Response:
        error = checkout.complete(state, account, session, pm, email, authenticated=authenticated)
        if error is not None:
            if pm["customer"] is None:
                state.store.spaces[account].pop(pm["id"], None)
            return form(account, session, str(error), 402)
        return _to_success(session)

    async def cancel(request: Request) -> Response:
        found = _session(state, request.path_params["session"])
        if found is None or not found[1]["cancel_url"]:
            return render(state, "", "Checkout", "<p>Something went wrong.</p>", 404)
        return RedirectResponse(found[1]["cancel_url"], 303)

    return [
        Route("/c/pay/{session}", show, methods=["GET"]),
        Route("/c/pay/{session}", submit, methods=["POST"]),
        Route("/c/pay/{session}/authenticate", authenticate, methods=["POST"]),
        Route("/c/pay/{session}/cancel", cancel, methods=["GET"]),
    ]


def _challenge(session: dict[str, Any]) -> str:
    action = f"/c/pay/{session['id']}/authenticate"
    return f"""<p>Test mode: this card needs 3-D Secure authentication.</p>
<form method="post" action="{action}"><input type="hidden" name="action" value="complete">
<button type="submit">Complete authentication</button></form>
<form method="post" action="{action}"><input type="hidden" name="action" value="fail">
<button type="submit">Fail authentication</button></form>"""


def _to_success(session: dict[str, Any]) -> Response:
    url = str(session["success_url"]).replace("{CHECKOUT_SESSION_ID}", session["id"])
    return RedirectResponse(url, 303)
