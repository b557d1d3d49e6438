"""Run the Stripe stand-in from tests and scripts.

``StripeStandIn`` starts ``python -m sandbox.stripe`` on a free loopback port, waits for
``/_sandbox/health``, and doubles as a synchronous client of the control API. Point the
official SDK at it with ``client()`` (a ``stripe.StripeClient``) or by setting
``stripe.api_base = standin.base_url`` and ``stripe.api_key = standin.api_key``.

    with StripeStandIn() as fake:
        sdk = fake.client()
        customer = sdk.v1.customers.create(params={"email": "a@example.com"})
        fake.advance(days=31)
"""

from __future__ import annotations

import sys
from typing import Any

import httpx

from sandbox.process import StandInProcess, free_port
from sandbox.stripe.state import DEFAULT_API_KEY, DEFAULT_WEBHOOK_SECRET


class StripeControl:
    """Synchronous client of the ``/_sandbox`` control API."""

    api_key = DEFAULT_API_KEY
    webhook_secret = DEFAULT_WEBHOOK_SECRET

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url.rstrip("/")
        self.http = httpx.Client(base_url=self.base_url, timeout=30, trust_env=False)

    def _call(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        response = self.http.request(method, f"/_sandbox{path}", json=body)
        if response.status_code >= 400:
            raise RuntimeError(
                f"{method} /_sandbox{path} -> {response.status_code}: {response.text}"
            )
        return response.json()

    def client(self, api_key: str | None = None, **options: Any) -> Any:
        """An official ``stripe.StripeClient`` aimed at the stand-in."""
        import stripe

        return stripe.StripeClient(
            api_key or self.api_key,
            base_addresses={
                "api": self.base_url,
                "connect": self.base_url,
                "files": self.base_url,
                "meter_events": self.base_url,
            },
            max_network_retries=0,
            **options,
        )

    def health(self) -> dict[str, Any]:
        return dict(self._call("GET", "/health"))

    def reset(self) -> None:
        self._call("POST", "/reset")

    def now(self) -> int:
        return int(self._call("GET", "/clock")["now"])

    def advance(self, days: float = 0, seconds: float = 0) -> int:
        """Move the stand-in clock forward and run whatever fell due (renewals, retries)."""
        return int(self._call("POST", "/clock/advance", {"days": days, "seconds": seconds})["now"])

    def fail_payments(
        self,
        *,
        customer: str | None = None,
        payment_method: str | None = None,
        decline_code: str = "generic_decline",
        count: int | None = None,
    ) -> None:
        body = {
            "customer": customer,
            "payment_method": payment_method,
            "decline_code": decline_code,
            "count": count,
        }
        self._call("POST", "/failures", {k: v for k, v in body.items() if v is not None})

    def clear_failures(self) -> None:
        self._call("DELETE", "/failures")

    def run_retries(self) -> list[dict[str, Any]]:
        return list(self._call("POST", "/retries/run")["attempted"])

    def set_webhook(self, url: str | None, secret: str | None = None) -> dict[str, Any]:
        return dict(self._call("POST", "/webhook", {"url": url, "secret": secret}))

    def deliveries(self, **filters: str) -> list[dict[str, Any]]:
        query = "&".join(f"{k}={v}" for k, v in filters.items())
        return list(self._call("GET", f"/deliveries?{query}")["deliveries"])

    def onboard(self, account: str) -> None:
        self._call("POST", f"/accounts/{account}/onboard")

    def close(self) -> None:
        self.http.close()


class StripeStandIn(StripeControl, StandInProcess):
    """The stand-in as a subprocess; a context manager, or call start()/stop()."""

    name = "Stripe stand-in"

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int | None = None,
        webhook_url: str | None = None,
        time_factor: float | None = None,
        platform_name: str | None = None,
        startup_timeout: float = 30.0,
    ) -> None:
        self.host, self.port = host, port or free_port(host)
        super().__init__(f"http://{host}:{self.port}")
        self._process_init(prefix="stripe-standin-", startup_timeout=startup_timeout)
        args = [sys.executable, "-m", "sandbox.stripe", "--host", host, "--port", str(self.port)]
        if webhook_url:
            args += ["--webhook-url", webhook_url]
        if time_factor:
            args += ["--time-factor", str(time_factor)]
        if platform_name:
            args += ["--platform-name", platform_name]
        self.args = args
