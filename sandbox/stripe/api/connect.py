"""Connect: connected accounts, account links (hosted onboarding) and application fees.

Accounts live in the platform's space; everything a connected account owns lives in its own,
reached with ``Stripe-Account: acct_…``. A new account cannot take charges until its
onboarding link is completed (or the control API completes it).
"""

from __future__ import annotations

from typing import Any

from sandbox.stripe.api.common import Call, Routes, on_platform, one_of
from sandbox.stripe.errors import invalid
from sandbox.stripe.state import StripeState
from sandbox.stripe.store import PLATFORM, metadata, new_id, public

ACCOUNT_TYPES = ("express", "standard", "custom")
LINK_LIFETIME = 300  # seconds, as on Stripe
DUE = [
    "business_profile.url",
    "external_account",
    "tos_acceptance.date",
    "tos_acceptance.ip",
    "representative.first_name",
]


def account_create(call: Call) -> dict[str, Any]:
    on_platform(call, "Connected accounts")
    call.check(
        (
            "type",
            "country",
            "email",
            "business_type",
            "business_profile",
            "settings",
            "metadata",
            "capabilities",
            "controller",
        )
    )
    kind = one_of(call.params.get("type", "express"), ACCOUNT_TYPES, "type")
    profile = call.mapping("business_profile")
    account: dict[str, Any] = {
        "id": new_id("acct", 16),
        "object": "account",
        "type": kind,
        "created": call.state.now(),
        "country": call.text("country") or "US",
        "default_currency": "usd",
        "email": call.text("email"),
        "business_type": call.text("business_type"),
        "business_profile": {
            "name": profile.get("name"),
            "url": profile.get("url"),
            "support_email": profile.get("support_email"),
        },
        "charges_enabled": False,
        "payouts_enabled": False,
        "details_submitted": False,
        "requirements": {
            "currently_due": list(DUE),
            "eventually_due": list(DUE),
            "past_due": [],
            "disabled_reason": "requirements.past_due",
        },
        "settings": {
            "branding": {
                "icon": None,
                "logo": None,
                "primary_color": None,
                "secondary_color": None,
            },
            "dashboard": {"display_name": profile.get("name"), "timezone": "Etc/UTC"},
        },
        "livemode": False,
        "metadata": metadata(call.params.get("metadata", {})),
    }
    _apply_settings(call, account)
    call.state.store.add(PLATFORM, account)
    call.state.store.spaces.setdefault(account["id"], {})
    return account


def _apply_settings(call: Call, account: dict[str, Any]) -> None:
    settings = call.mapping("settings")
    branding = settings.get("branding") or {}
    if not isinstance(branding, dict):
        raise invalid("Invalid hash", "settings[branding]", "parameter_invalid_hash")
    for key in ("icon", "logo", "primary_color", "secondary_color"):
        if key in branding:
            value = branding[key] or None
            if value and key.endswith("color") and not _is_hex_colour(value):
                raise invalid(f"Invalid hex color: {value}", f"settings[branding][{key}]")
            account["settings"]["branding"][key] = value
    dashboard = settings.get("dashboard") or {}
    if isinstance(dashboard, dict) and "display_name" in dashboard:
        account["settings"]["dashboard"]["display_name"] = dashboard["display_name"] or None


def _is_hex_colour(value: str) -> bool:
    digits = value[1:] if value.startswith("#") else ""
    return len(digits) in (3, 6) and all(ch in "0123456789abcdefABCDEF" for ch in digits)


def account_update(call: Call, id: str) -> dict[str, Any]:  # noqa: A002
    call.check(("email", "business_profile", "settings", "metadata"))
    account = _account(call, id)
    previous = public(account)
    if "email" in call.params:
        account["email"] = call.text("email") or None
    for key, value in call.mapping("business_profile").items():
        account["business_profile"][key] = value or None
    _apply_settings(call, account)
    if "metadata" in call.params:
        account["metadata"] = metadata(call.params["metadata"], account["metadata"])
    changed = {key: previous[key] for key in previous if previous[key] != account.get(key)}
    if changed:
        call.state.emit(account["id"], "account.updated", account, changed)
    return account


def _account(call: Call, account_id: str) -> dict[str, Any]:
    # A connected account may read itself (Stripe-Account: acct_x, GET /v1/accounts/acct_x).
    if call.account not in (PLATFORM, account_id):
        raise invalid("Only the platform can manage other accounts.", "account")
    return call.state.store.get(PLATFORM, account_id, "account", "account")


def account_retrieve(call: Call, id: str) -> dict[str, Any]:  # noqa: A002
    call.check(())
    return _account(call, id)


def account_self(call: Call) -> dict[str, Any]:
    if call.account == PLATFORM:
        return {
            "id": "acct_standinplatform",
            "object": "account",
            "type": "standard",
            "charges_enabled": True,
            "payouts_enabled": True,
            "details_submitted": True,
            "settings": {"dashboard": {"display_name": call.state.config.platform_name}},
        }
    return _account(call, call.account)


def account_list(call: Call) -> dict[str, Any]:
    on_platform(call, "Connected accounts")
    call.check(("limit", "starting_after", "ending_before"))
    return call.list_of("account")


def account_delete(call: Call, id: str) -> dict[str, Any]:  # noqa: A002
    on_platform(call, "Connected accounts")
    account = _account(call, id)
    account["deleted"] = True
    return {"id": id, "object": "account", "deleted": True}


def account_link_create(call: Call) -> dict[str, Any]:
    on_platform(call, "Account links")
    call.check(
        ("account", "refresh_url", "return_url", "type", "collect", "collection_options"),
        required=("account", "type"),
    )
    one_of(call.params["type"], ("account_onboarding", "account_update"), "type")
    account = call.state.store.get(PLATFORM, str(call.params["account"]), "account", "account")
    for name in ("refresh_url", "return_url"):
        url = call.text(name)
        if url and not url.startswith(("http://", "https://")):
            raise invalid(f"Invalid URL: {url}", name, "url_invalid")
    now = call.state.now()
    link_id = new_id("link", 20)
    call.state.store.add(
        PLATFORM,
        {
            "id": link_id,
            "object": "_account_link",
            "account": account["id"],
            "refresh_url": call.text("refresh_url"),
            "return_url": call.text("return_url"),
            "expires_at": now + LINK_LIFETIME,
            "used": False,
        },
    )
    return {
        "object": "account_link",
        "created": now,
        "expires_at": now + LINK_LIFETIME,
        "url": call.state.url(f"/setup/{link_id}"),
    }


def complete_onboarding(state: StripeState, account: dict[str, Any], name: str | None) -> None:
    previous = public(account)
    account.update(charges_enabled=True, payouts_enabled=True, details_submitted=True)
    account["requirements"].update(currently_due=[], eventually_due=[], disabled_reason=None)
    if name:
        account["business_profile"]["name"] = name
        account["settings"]["dashboard"]["display_name"] = (
            account["settings"]["dashboard"]["display_name"] or name
        )
    changed = {key: previous[key] for key in previous if previous[key] != account.get(key)}
    state.emit(account["id"], "account.updated", account, changed)


def fee_list(call: Call) -> dict[str, Any]:
    on_platform(call, "Application fees")
    call.check(("limit", "starting_after", "ending_before", "charge"))
    charge = call.text("charge")
    return call.list_of("application_fee", lambda f: charge is None or f["charge"] == charge)


def fee_retrieve(call: Call, id: str) -> dict[str, Any]:  # noqa: A002
    on_platform(call, "Application fees")
    return call.get(id, "application_fee")


def require_charges_enabled(call: Call) -> None:
    if call.account == PLATFORM:
        return
    account = call.state.store.get(PLATFORM, call.account, "account")
    if not account["charges_enabled"]:
        raise invalid(
            "This connected account cannot accept payments yet: complete its onboarding "
            "(charges_enabled is false).",
            code="account_invalid",
        )


ROUTES: Routes = [
    ("POST", "/v1/accounts", account_create),
    ("GET", "/v1/accounts", account_list),
    ("GET", "/v1/account", account_self),
    ("GET", "/v1/accounts/{id}", account_retrieve),
    ("POST", "/v1/accounts/{id}", account_update),
    ("DELETE", "/v1/accounts/{id}", account_delete),
    ("POST", "/v1/account_links", account_link_create),
    ("GET", "/v1/application_fees", fee_list),
    ("GET", "/v1/application_fees/{id}", fee_retrieve),
]
