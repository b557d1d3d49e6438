"""Stripe's HTTP API answered at the wire by respx: the official SDK runs unchanged and sends
real form-encoded requests; this keeps the objects they create and answers with Stripe's
documented JSON shapes (ids with their prefixes, `object` names, error envelopes). Idempotency
keys are honoured as Stripe does: the same key on the same account returns the first answer.
When the Stripe stand-in (sandbox/stripe) lands, tests can point STRIPE_API_BASE at it instead."""

from __future__ import annotations

import itertools
import json
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

import httpx
import respx
from django.conf import settings


def _form(request: httpx.Request) -> dict[str, str]:
    return dict(parse_qsl(request.content.decode(), keep_blank_values=True))


def error(status: int, message: str, kind: str = "invalid_request_error", code: str = "") -> Any:
    body: dict[str, Any] = {"error": {"type": kind, "message": message}}
    if code:
        body["error"]["code"] = code
    return httpx.Response(status, json=body)


@dataclass
class Call:
    method: str
    path: str
    account: str | None
    idempotency_key: str | None
    form: dict[str, str]


@dataclass
class StripeWire:
    router: respx.MockRouter
    objects: dict[str, dict[str, Any]] = field(default_factory=dict)
    calls: list[Call] = field(default_factory=list)
    fail_next: dict[str, int] = field(default_factory=dict)  # "POST /v1/prices" → HTTP status
    down: dict[str, int] = field(default_factory=dict)  # the same, until removed
    _seen_keys: dict[tuple[str | None, str], httpx.Response] = field(default_factory=dict)
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    def new_id(self, prefix: str) -> str:
        return f"{prefix}_T{next(self._ids):010d}"

    def creates(self, path: str) -> list[Call]:
        return [c for c in self.calls if c.method == "POST" and c.path == path]

    def install(self) -> None:
        base = settings.STRIPE_API_BASE
        self.router.route(host=httpx.URL(base).host).mock(side_effect=self._answer)

    # --- dispatch ----------------------------------------------------------------------------

    def _answer(self, request: httpx.Request) -> httpx.Response:
        account = request.headers.get("Stripe-Account")
        key = request.headers.get("Idempotency-Key")
        form = _form(request) if request.method == "POST" else {}
        path = request.url.path
        self.calls.append(Call(request.method, path, account, key, form))
        assert request.headers["Authorization"] == f"Bearer {settings.STRIPE_SECRET_KEY}"
        failing = self.fail_next.pop(f"{request.method} {path}", None) or self.down.get(
            f"{request.method} {path}"
        )
        if failing:
            return error(failing, "Simulated failure", kind="api_error")
        if key and (account, key) in self._seen_keys:
            return self._seen_keys[(account, key)]
        response = self._route(request.method, path, form, account)
        if key and request.method == "POST" and response.status_code < 500:
            self._seen_keys[(account, key)] = response
        return response

    def _route(self, method: str, path: str, form: dict[str, str], account: str | None) -> Any:
        if (method, path) == ("POST", "/v1/billing_portal/sessions"):
            return self._portal_session(form, account)
        parts = path.strip("/").split("/")[1:]  # drop "v1"
        if parts[:2] == ["checkout", "sessions"] and len(parts) == 3:
            parts = ["checkout_sessions", parts[2]]  # a session is read like any object
        kind = parts[0]
        if method == "POST" and len(parts) == 1:
            make = getattr(self, f"_create_{kind}", None)
            if make is None:
                return error(404, f"Unrecognized request URL (POST: {path})")
            return make(form, account)
        if len(parts) == 2:
            obj = self.objects.get(parts[1])
            if obj is None or (obj.get("_account") != account and kind != "accounts"):
                return error(404, f"No such {kind[:-1]}: '{parts[1]}'", code="resource_missing")
            if method == "POST":
                obj.update({k: v for k, v in form.items() if "[" not in k})
            return self._json(obj)
        return error(404, f"Unrecognized request URL ({method}: {path})")

    @staticmethod
    def _json(obj: dict[str, Any]) -> httpx.Response:
        return httpx.Response(200, json={k: v for k, v in obj.items() if not k.startswith("_")})

    def put(self, obj: dict[str, Any], account: str | None) -> httpx.Response:
        obj["_account"] = account
        self.objects[obj["id"]] = obj
        return self._json(obj)

    # --- objects -----------------------------------------------------------------------------

    def _create_accounts(self, form: dict[str, str], account: str | None) -> Any:
        return self.put(
            {
                "id": self.new_id("acct"),
                "object": "account",
                "type": form.get("type", "express"),
                "business_profile": {"name": form.get("business_profile[name]")},
                "settings": {
                    "branding": {
                        "primary_color": form.get("settings[branding][primary_color]"),
                        "secondary_color": form.get("settings[branding][secondary_color]"),
                    }
                },
                "charges_enabled": False,
                "payouts_enabled": False,
                "details_submitted": False,
                "requirements": {"currently_due": ["external_account", "tos_acceptance.date"]},
                "metadata": _metadata(form),
            },
            None,
        )

    def _portal_session(self, form: dict[str, str], account: str | None) -> Any:
        customer = self.objects.get(form.get("customer", ""))
        if customer is None or customer["_account"] != account:
            return error(
                400, f"No such customer: '{form.get('customer')}'", code="resource_missing"
            )
        session_id = self.new_id("bps")
        return httpx.Response(
            200,
            json={
                "id": session_id,
                "object": "billing_portal.session",
                "customer": customer["id"],
                "return_url": form.get("return_url"),
                "url": f"https://billing.stripe.com/p/session/test_{session_id}",
            },
        )

    def _create_account_links(self, form: dict[str, str], account: str | None) -> Any:
        if form.get("account") not in self.objects:
            return error(400, "No such account", code="resource_missing")
        now = int(time.time())
        return httpx.Response(
            200,
            json={
                "object": "account_link",
                "created": now,
                "expires_at": now + 300,
                "url": f"https://connect.stripe.com/setup/e/{form['account']}/{now}",
            },
        )

    def _create_products(self, form: dict[str, str], account: str | None) -> Any:
        return self.put(
            {
                "id": self.new_id("prod"),
                "object": "product",
                "name": form["name"],
                "active": form.get("active", "true") == "true",
                "metadata": _metadata(form),
            },
            account,
        )

    def _create_prices(self, form: dict[str, str], account: str | None) -> Any:
        if form.get("currency") not in {"usd", "eur", "aed", "gbp"}:
            return error(400, f"Invalid currency: {form.get('currency')}", code="parameter_invalid")
        return self.put(
            {
                "id": self.new_id("price"),
                "object": "price",
                "product": form["product"],
                "unit_amount": int(form["unit_amount"]),
                "currency": form["currency"],
                "recurring": {"interval": form["recurring[interval]"], "interval_count": 1},
                "type": "recurring",
                "metadata": _metadata(form),
            },
            account,
        )

    def _create_customers(self, form: dict[str, str], account: str | None) -> Any:
        return self.put(
            {
                "id": self.new_id("cus"),
                "object": "customer",
                "email": form.get("email"),
                "name": form.get("name"),
                "metadata": _metadata(form),
            },
            account,
        )

    def _create_subscriptions(self, form: dict[str, str], account: str | None) -> Any:
        price = self.objects.get(form["items[0][price]"])
        if price is None or price["_account"] != account:
            return error(400, "No such price", code="resource_missing")
        trial = int(form.get("trial_period_days", 0))
        return self.put(
            self.subscription(
                customer=form["customer"],
                price=price,
                status="trialing" if trial else "incomplete",
                metadata=_metadata(form),
                fee=float(form["application_fee_percent"]),
            ),
            account,
        )

    def subscription(
        self,
        *,
        customer: str,
        price: dict[str, Any],
        status: str,
        metadata: dict[str, str],
        fee: float | None = None,
        period_end: int = 1_800_000_000,
    ) -> dict[str, Any]:
        """A subscription as Stripe's API (2025-03-31 and later) shapes it: the billing
        period on the items."""
        sub_id = self.new_id("sub")
        return {
            "id": sub_id,
            "object": "subscription",
            "customer": customer,
            "status": status,
            "application_fee_percent": fee,
            "metadata": metadata,
            "items": {
                "object": "list",
                "data": [
                    {
                        "id": self.new_id("si"),
                        "object": "subscription_item",
                        "price": {k: v for k, v in price.items() if not k.startswith("_")},
                        "current_period_start": period_end - 30 * 86400,
                        "current_period_end": period_end,
                        "subscription": sub_id,
                    }
                ],
                "has_more": False,
                "url": f"/v1/subscription_items?subscription={sub_id}",
            },
        }

    def invoice(
        self,
        *,
        subscription: dict[str, Any],
        status: str,
        account: str,
        amount_paid: int = 0,
        paid_at: int | None = None,
    ) -> str:
        invoice_id = self.new_id("in")
        self.put(
            {
                "id": invoice_id,
                "object": "invoice",
                "customer": subscription["customer"],
                "status": status,
                "currency": "usd",
                "amount_paid": amount_paid,
                "created": 1_790_000_000,
                "status_transitions": {"paid_at": paid_at},
                "parent": {
                    "type": "subscription_details",
                    "subscription_details": {
                        "subscription": subscription["id"],
                        "metadata": {},
                    },
                },
            },
            account,
        )
        return invoice_id


def _metadata(form: dict[str, str]) -> dict[str, str]:
    return {k[len("metadata[") : -1]: v for k, v in form.items() if k.startswith("metadata[")}


def signed(payload: dict[str, Any], secret: str, *, at: int | None = None) -> tuple[bytes, str]:
    """The body and `Stripe-Signature` header Stripe would send: HMAC-SHA256 over
    "<timestamp>.<body>" with the endpoint's secret."""
    import hashlib
    import hmac

    body = json.dumps(payload).encode()
    timestamp = at if at is not None else int(time.time())
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return body, f"t={timestamp},v1={digest.hexdigest()}"


def event(
    event_type: str, obj: dict[str, Any], *, account: str | None, event_id: str | None = None
) -> dict[str, Any]:
    """An event envelope as Stripe delivers it (a snapshot of the object at that time)."""
    payload: dict[str, Any] = {
        "id": event_id or f"evt_{abs(hash((event_type, obj['id'], time.time_ns()))):016d}",
        "object": "event",
        "api_version": "2026-10-28.endive",
        "created": int(time.time()),
        "type": event_type,
        "livemode": False,
        "pending_webhooks": 1,
        "request": {"id": None, "idempotency_key": None},
        "data": {"object": {k: v for k, v in obj.items() if not k.startswith("_")}},
    }
    if account:
        payload["account"] = account
    return payload
