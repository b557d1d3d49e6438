"""The image's HEALTHCHECK: GET /readyz from inside the web container, as a platform host.

The Host is the first of PLATFORM_HOSTS (the tenancy middleware answers 404 to any other name)
and the port is gunicorn's (WEB_BIND), so a deployment that sets either stays healthy. Standard
library only: it runs every 15 seconds and must not start Django.
"""

from __future__ import annotations

import os
import sys
import urllib.request
from collections.abc import Mapping


def probe_target(environ: Mapping[str, str]) -> tuple[str, str]:
    """(URL, Host header) of the readiness probe, from the settings' environment variables."""
    port = environ.get("WEB_BIND", "").rsplit(":", 1)[-1]
    host = (environ.get("PLATFORM_HOSTS") or "localhost").split(",")[0].strip()
    return f"http://127.0.0.1:{port if port.isdigit() else '8000'}/readyz", host


def main() -> int:
    url, host = probe_target(os.environ)
    request = urllib.request.Request(url, headers={"Host": host})  # noqa: S310 (loopback http)
    try:
        with urllib.request.urlopen(request, timeout=2) as response:  # noqa: S310
            return 0 if response.status == 200 else 1
    except OSError as exc:  # refused, timed out, or an HTTP error such as 503
        print(f"readyz as {host}: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    raise SystemExit(main())
