"""Run the GHL stand-in from tests, benchmarks and scripts.

``StandIn`` starts ``python -m sandbox.ghl`` as a subprocess on a free loopback port, waits for
``/_sandbox/health``, and doubles as a synchronous client of the ``/_sandbox`` control API.
``WebhookReceiver`` is a tiny threaded HTTP server that records the webhooks it is sent and
answers with scripted statuses.

    with StandIn(scenario="demo") as ghl:
        token = ghl.mint_token(location_id="DemoLocApexDubai0001")["access_token"]
        httpx.get(f"{ghl.base_url}/locations/DemoLocApexDubai0001",
                  headers=ghl.api_headers(token))
"""

from __future__ import annotations

import json
import sys
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx

from sandbox.process import StandInProcess, free_port

DEMO_CLIENT_ID = "66d0a1b2c3d4e5f601234567-m0ck5t4n"
DEMO_CLIENT_SECRET = "sandbox-only-client-secret"  # noqa: S105 (a published sandbox value)
VERSIONS = {"calendars": "2021-04-15", "conversations": "2021-04-15"}


def version_for(path: str) -> str:
    """The ``Version`` header GHL expects for a path (calendars/conversations are older)."""
    service = path.strip("/").split("/", 1)[0]
    return VERSIONS.get(service, "2021-07-28")


class StandInControl:
    """Synchronous client of the ``/_sandbox`` control API."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url.rstrip("/")
        self.http = httpx.Client(base_url=self.base_url, timeout=60, trust_env=False)

    def _call(
        self,
        method: str,
        path: str,
        body: dict[str, Any] | None = None,
        params: dict[str, Any] | None = None,
    ) -> Any:
        response = self.http.request(method, f"/_sandbox{path}", json=body, params=params)
        if response.status_code >= 400:
            raise RuntimeError(
                f"{method} /_sandbox{path} -> {response.status_code}: {response.text}"
            )
        return response.json()

    @staticmethod
    def api_headers(token: str | None = None, path: str = "/contacts/") -> dict[str, str]:
        headers = {"Version": version_for(path), "Accept": "application/json"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        return headers

    def health(self) -> dict[str, Any]:
        return dict(self._call("GET", "/health"))

    def reset(self, scenario: str | None = None, keep_config: bool = False) -> None:
        self._call("POST", "/reset", {"scenario": scenario, "keepConfig": keep_config})

    def config(self) -> dict[str, Any]:
        return dict(self._call("GET", "/config"))

    def set_config(self, **updates: Any) -> dict[str, Any]:
        return dict(self._call("POST", "/config", updates))

    def register_app(self, **app: Any) -> dict[str, Any]:
        return dict(self._call("POST", "/apps", app))

    def set_webhook_url(self, url: str | None, client_id: str = DEMO_CLIENT_ID) -> None:
        """Point an app's default webhook URL somewhere (e.g. a WebhookReceiver)."""
        self.register_app(client_id=client_id, webhook_url=url)

    def seed(self, location_id: str, seed: int = 1, **volumes: int) -> dict[str, Any]:
        return dict(
            self._call("POST", "/seed", {"locationId": location_id, "seed": seed, **volumes})
        )

    def set_faults(self, resource: str = "*", **spec: Any) -> dict[str, Any]:
        return dict(self._call("POST", "/faults", {"resource": resource, **spec}))

    def clear_faults(self, resource: str | None = None) -> None:
        self._call("DELETE", "/faults", params={"resource": resource} if resource else None)

    def pause_location(self, location_id: str, paused: bool = True) -> None:
        self._call("POST", "/faults", {"resource": location_id, "paused": paused})

    def revoke_tokens(self, resource: str, which: str = "access") -> None:
        self._call("POST", "/faults", {"resource": resource, "revokeTokens": which})

    def counters(self, resource: str | None = None) -> dict[str, Any]:
        return dict(
            self._call("GET", "/counters", params={"resource": resource} if resource else None)
        )

    def requests(
        self, resource: str | None = None, limit: int = 100, since: int = 0
    ) -> list[dict[str, Any]]:
        """The request log (oldest first); `since`: only entries after that sequence number."""
        params: dict[str, Any] = {"limit": limit, "since": since}
        if resource:
            params["resource"] = resource
        return list(self._call("GET", "/requests", params=params))

    def webhooks(self, **filters: Any) -> list[dict[str, Any]]:
        return list(self._call("GET", "/webhooks", params=filters)["deliveries"])

    def wait_for_webhooks(
        self, count: int = 1, timeout: float = 10.0, settled: bool = True, **filters: Any
    ) -> list[dict[str, Any]]:
        """Poll until ``count`` deliveries match (and, by default, none is still pending)."""
        deadline = time.monotonic() + timeout
        while True:
            rows = self.webhooks(**filters)
            done = (
                [d for d in rows if d["status"] not in ("queued", "retrying")] if settled else rows
            )
            if len(done) >= count:
                return done
            if time.monotonic() > deadline:
                raise TimeoutError(f"expected {count} webhooks matching {filters}, got {rows}")
            time.sleep(0.02)

    def trigger_event(
        self,
        event_type: str,
        location_id: str,
        data: dict[str, Any] | None = None,
        raw: bool = False,
    ) -> dict[str, Any]:
        return dict(
            self._call(
                "POST",
                "/events",
                {"type": event_type, "locationId": location_id, "data": data or {}, "raw": raw},
            )
        )

    def create_location(self, company_id: str, **fields: Any) -> dict[str, Any]:
        """A new sub-account under a company (emits LocationCreate)."""
        body = {"companyId": company_id, **fields}
        return dict(self._call("POST", "/locations", body)["location"])

    def install(self, **options: Any) -> dict[str, Any]:
        """Simulate a Marketplace install; returns ``{code, redirectUrl, ...}``."""
        return dict(self._call("POST", "/install", options))

    def mint_token(
        self, location_id: str | None = None, company_id: str | None = None, **options: Any
    ) -> dict[str, Any]:
        """A token pair without the OAuth dance (installs silently if needed)."""
        body = {"locationId": location_id, "companyId": company_id, **options}
        return dict(self._call("POST", "/tokens", {k: v for k, v in body.items() if v}))

    def expire_tokens(self, access_token: str | None = None, location_id: str | None = None) -> int:
        body = {"accessToken": access_token, "locationId": location_id}
        return int(self._call("POST", "/tokens/expire", body)["expired"])

    def keys(self) -> dict[str, str]:
        return dict(self._call("GET", "/keys"))

    def traffic(self) -> dict[str, Any]:
        """The demo traffic generator's state and counters."""
        return dict(self._call("GET", "/traffic"))

    def start_traffic(self, interval: float | None = None, seed: int | None = None) -> None:
        body = {"interval": interval, "seed": seed}
        self._call("POST", "/traffic/start", {k: v for k, v in body.items() if v is not None})

    def stop_traffic(self) -> None:
        self._call("POST", "/traffic/stop")

    def traffic_rounds(self, rounds: int = 1) -> list[dict[str, Any]]:
        """Run demo traffic rounds now; returns what they made."""
        return list(self._call("POST", "/traffic/round", {"rounds": rounds})["made"])

    def routes(self) -> list[dict[str, Any]]:
        return list(self._call("GET", "/routes"))

    def sso_payload(self, **context: Any) -> str:
        """A user context encrypted as GHL hands it to a custom menu page (``userId``,
        ``companyId``, ``type``, ``activeLocation``, ``email``, ``userName``, ``role``; optional
        ``clientId`` or ``secret``)."""
        return str(self._call("POST", "/sso/payload", context)["payload"])

    def sso_frame_url(self, url: str, **context: Any) -> str:
        """The stand-in page that frames ``url`` like a custom menu link for that user."""
        query = httpx.QueryParams({"url": url, **context})
        return f"{self.base_url}/_sandbox/sso/frame?{query}"

    def close(self) -> None:
        self.http.close()


class StandIn(StandInControl, StandInProcess):
    """The stand-in as a subprocess; use as a context manager or call start()/stop()."""

    name = "GHL stand-in"

    def __init__(
        self,
        *,
        scenario: str | None = "demo",
        host: str = "127.0.0.1",
        port: int | None = None,
        keys_dir: Path | None = None,
        config: dict[str, Any] | None = None,
        time_factor: float | None = None,
        unlimited: bool = False,
        webhook_url: str | None = None,
        python: str | None = None,
        startup_timeout: float = 30.0,
        extra_args: list[str] | None = None,
    ) -> None:
        self.host, self.port = host, port or free_port(host)
        super().__init__(f"http://{host}:{self.port}")
        workdir = self._process_init(prefix="ghl-standin-", startup_timeout=startup_timeout)
        self.keys_dir = keys_dir or workdir / "keys"
        args = [
            python or sys.executable,
            "-m",
            "sandbox.ghl",
            "--host",
            host,
            "--port",
            str(self.port),
            "--keys-dir",
            str(self.keys_dir),
        ]
        if scenario:
            args += ["--scenario", scenario]
        if config:
            config_path = workdir / "config.json"
            config_path.write_text(json.dumps(config), encoding="utf-8")
            args += ["--config", str(config_path)]
        if time_factor:
            args += ["--time-factor", str(time_factor)]
        if unlimited:
            args.append("--unlimited")
        if webhook_url:
            args += ["--webhook-url", webhook_url]
        self.args = args + (extra_args or [])


class _ReceiverHandler(BaseHTTPRequestHandler):
    server: _ReceiverServer

    def do_POST(self) -> None:
        length = int(self.headers.get("content-length", 0))
        body = self.rfile.read(length)
        receiver = self.server.receiver
        status = receiver.next_status()
        receiver.record(self.path, {k.lower(): v for k, v in self.headers.items()}, body, status)
        self.send_response(status)
        self.send_header("content-length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        return


class _ReceiverServer(ThreadingHTTPServer):
    daemon_threads = True
    receiver: WebhookReceiver


class WebhookReceiver:
    """Records webhooks; answers with ``statuses`` in turn (the last one repeats)."""

    def __init__(self, statuses: list[int] | None = None, host: str = "127.0.0.1") -> None:
        self.statuses = list(statuses or [200])
        self.received: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        self._server = _ReceiverServer((host, 0), _ReceiverHandler)
        self._server.receiver = self
        self.url = f"http://{host}:{self._server.server_address[1]}/webhooks"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def next_status(self) -> int:
        with self._lock:
            return self.statuses.pop(0) if len(self.statuses) > 1 else self.statuses[0]

    def record(self, path: str, headers: dict[str, str], body: bytes, status: int) -> None:
        with self._lock:
            self.received.append({"path": path, "headers": headers, "body": body, "status": status})

    def wait_for(
        self,
        count: int,
        timeout: float = 10.0,
        where: Callable[[dict[str, Any]], bool] | None = None,
    ) -> list[dict[str, Any]]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                rows = [r for r in self.received if where is None or where(r)]
            if len(rows) >= count:
                return rows
            time.sleep(0.01)
        raise TimeoutError(f"expected {count} webhooks, got {len(self.received)}")

    def events(self) -> Iterator[dict[str, Any]]:
        with self._lock:
            rows = list(self.received)
        for row in rows:
            yield json.loads(row["body"])

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> WebhookReceiver:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
