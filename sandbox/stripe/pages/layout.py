"""One HTML shell for every hosted page, branded like Stripe brands them.

A page for a connected account's object shows that account's branding (display name, colour,
icon/logo), never the platform's: that is what a white-label agency's client sees.
"""

from __future__ import annotations

from html import escape
from typing import Any
from urllib.parse import parse_qsl

from starlette.requests import Request
from starlette.responses import HTMLResponse

from sandbox.stripe.state import StripeState
from sandbox.stripe.store import PLATFORM

DEFAULT_COLOUR = "#635bff"


def branding(state: StripeState, account: str) -> dict[str, Any]:
    if account == PLATFORM:
        return {"name": state.config.platform_name, "colour": DEFAULT_COLOUR, "logo": None}
    acct = state.store.find(PLATFORM, account, "account") or {}
    settings = acct.get("settings", {})
    brand = settings.get("branding", {})
    name = (
        settings.get("dashboard", {}).get("display_name")
        or acct.get("business_profile", {}).get("name")
        or account
    )
    return {
        "name": name,
        "colour": brand.get("primary_color") or DEFAULT_COLOUR,
        "logo": brand.get("logo") or brand.get("icon"),
    }


def render(
    state: StripeState, account: str, title: str, body: str, status: int = 200
) -> HTMLResponse:
    brand = branding(state, account)
    logo = brand["logo"]
    if logo and str(logo).startswith(("http://", "https://")):
        mark = f'<img class="logo" src="{escape(logo)}" alt="{escape(brand["name"])}">'
    elif logo:
        mark = f'<span class="logo" data-file="{escape(logo)}"></span>'
    else:
        mark = ""
    colour = escape(brand["colour"])
    html = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{escape(title)}</title>
<style>
body{{font-family:system-ui,sans-serif;margin:0;background:#f6f8fa;color:#1a1f36}}
header{{background:{colour};color:#fff;padding:16px 24px;display:flex;gap:12px;align-items:center}}
main{{max-width:560px;margin:24px auto;background:#fff;padding:24px;border-radius:8px}}
button{{background:{colour};color:#fff;border:0;padding:10px 16px;border-radius:6px}}
.error{{color:#c0123c}} .logo{{height:32px}} label{{display:block;margin:12px 0 4px}}
input,select{{padding:8px;width:100%;box-sizing:border-box}}
</style></head>
<body data-brand-colour="{colour}"><header>{mark}
<strong class="brand">{escape(brand["name"])}</strong>
<span>· test mode</span></header>
<main><h1>{escape(title)}</h1>
{body}
</main></body></html>"""
    return HTMLResponse(html, status_code=status)


def money(amount: int, currency: str) -> str:
    return f"{amount / 100:,.2f} {currency.upper()}"


def card_form(action: str, button: str, email: str | None = None, error: str | None = None) -> str:
    email_field = (
        ""
        if email is None
        else f'<label for="email">Email</label><input id="email" name="email" type="email" '
        f'value="{escape(email)}">'
    )
    return f"""{f'<p class="error" role="alert">{escape(error)}</p>' if error else ""}
<form method="post" action="{escape(action)}">
{email_field}
<label for="card_number">Card number</label>
<input id="card_number" name="card_number" inputmode="numeric" autocomplete="cc-number"
 placeholder="4242 4242 4242 4242" required>
<p><small>Test cards: 4242424242424242 succeeds · 4000000000000002 is declined ·
4000000000000341 saves but its charges fail · 4000002500003155 asks for authentication</small></p>
<button type="submit">{escape(button)}</button>
</form>"""


async def form_data(request: Request) -> dict[str, str]:
    """A urlencoded form body (the pages post nothing else; no multipart parser needed)."""
    return dict(parse_qsl((await request.body()).decode(), keep_blank_values=True))
