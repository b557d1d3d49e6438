"""The live demo's outbound webhook receiver: `python -m tools.webhook_sink --port 8030`.

It stands in for a customer's server: it answers every POST with 204, prints one line per
delivery (event type, webhook-id, size) into `make run`'s output, and lists the latest
deliveries at `GET /` (a page) and `GET /deliveries.json`. It keeps nothing on disk and does not
check signatures (docs/webhooks.md shows how a real receiver does).
"""

from __future__ import annotations

import argparse
import json
import sys
import threading
from collections import deque
from datetime import UTC, datetime
from html import escape
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

KEEP = 100
MAX_BODY = 1_000_000


class Sink(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int]) -> None:
        super().__init__(address, Handler)
        self.lock = threading.Lock()
        self.deliveries: deque[dict[str, Any]] = deque(maxlen=KEEP)

    def record(self, path: str, headers: dict[str, str], body: bytes) -> dict[str, Any]:
        try:
            event = json.loads(body)
        except ValueError:
            event = {}
        kind = event.get("type") if isinstance(event, dict) else None
        entry = {
            "receivedAt": datetime.now(UTC).isoformat(timespec="seconds"),
            "path": path,
            "type": str(kind or "?"),
            "webhookId": headers.get("webhook-id", ""),
            "signed": "webhook-signature" in headers,
            "bytes": len(body),
            "body": body.decode("utf-8", "replace"),
        }
        with self.lock:
            self.deliveries.append(entry)
        return entry

    def latest(self) -> list[dict[str, Any]]:
        with self.lock:
            return list(reversed(self.deliveries))


class Handler(BaseHTTPRequestHandler):
    server: Sink

    def do_POST(self) -> None:
        length = int(self.headers.get("content-length") or 0)
        if length > MAX_BODY:
            self._answer(413, b"", "text/plain")
            return
        body = self.rfile.read(length)
        headers = {k.lower(): v for k, v in self.headers.items()}
        entry = self.server.record(self.path, headers, body)
        print(
            f"outbound webhook {entry['type']} {entry['webhookId']} ({entry['bytes']} bytes)",
            flush=True,
        )
        self._answer(204, b"", "text/plain")

    def do_GET(self) -> None:
        rows = self.server.latest()
        if self.path.startswith("/deliveries.json"):
            self._answer(200, json.dumps(rows).encode(), "application/json")
            return
        items = "".join(
            f"<tr><td>{escape(r['receivedAt'])}</td><td>{escape(r['type'])}</td>"
            f"<td><code>{escape(r['webhookId'])}</code></td><td>{r['bytes']}</td>"
            f"<td><code>{escape(r['body'][:300])}</code></td></tr>"
            for r in rows
        )
        page = (
            "<!doctype html><html><head><meta charset='utf-8'><meta http-equiv='refresh' "
            "content='5'><title>Outbound webhooks</title></head><body>"
            f"<h1>Outbound webhooks received ({len(rows)})</h1><table border='1'>"
            "<tr><th>at</th><th>type</th><th>webhook-id</th><th>bytes</th><th>body</th></tr>"
            f"{items}</table></body></html>"
        )
        self._answer(200, page.encode(), "text/html; charset=utf-8")

    def _answer(self, status: int, body: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("content-type", content_type)
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        return  # one line per delivery is printed by do_POST


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.webhook_sink", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8030)
    args = parser.parse_args(argv)
    sink = Sink((args.host, args.port))
    print(f"outbound webhook receiver on http://{args.host}:{args.port}/", flush=True)
    try:
        sink.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        sink.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
