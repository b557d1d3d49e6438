"""Browser tests: Debian's Chromium (never a downloaded browser) against pytest-django's live
server. Skipped, with the reason shown, where /usr/bin/chromium is missing (docs/development.md).

Agency portals answer on their own host names (``agency-a.localhost``, ``*.test`` custom domains):
Chromium maps every such name to the loopback address, so ``http://<domain>:<port>/`` reaches
the live server with the right Host header and the tenant middleware sees a real domain.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

# E2E_CHROMIUM points elsewhere (or at nothing, to see the skip) without editing this file.
CHROMIUM = Path(os.environ.get("E2E_CHROMIUM", "/usr/bin/chromium"))
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
# Playwright's sync API keeps an event loop in the test thread; Django refuses ORM calls from a
# thread with a running loop unless told it is safe (it is: the loop never runs our code).
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--headless",
    "--disable-gpu",
    # Without these Chromium keeps calling out to Google services (and failing: no network).
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--host-resolver-rules=MAP *.localhost 127.0.0.1, MAP *.test 127.0.0.1",
]


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    skip = pytest.mark.skip(
        reason=f"browser tests need Chromium at {CHROMIUM} (apt-get install -y chromium)"
    )
    for item in items:
        if here in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.browser)
            if not CHROMIUM.exists():
                item.add_marker(skip)


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict[str, Any]) -> dict[str, Any]:
    return {
        **browser_type_launch_args,
        "executable_path": str(CHROMIUM),
        "args": CHROMIUM_ARGS,
        "timeout": 20_000,
    }


@pytest.fixture
def browser_context_args(browser_context_args: dict[str, Any]) -> dict[str, Any]:
    return {**browser_context_args, "viewport": {"width": 1280, "height": 800}}


@pytest.fixture
def artifacts() -> Iterator[Path]:
    """Where screenshots go (git-ignored)."""
    ARTIFACTS.mkdir(exist_ok=True)
    yield ARTIFACTS


@pytest.fixture
def portal_url(live_server: Any) -> Any:
    """``portal_url(domain, path)``: that agency domain on the live server's port."""
    port = live_server.url.rsplit(":", 1)[1]

    def url(domain: str, path: str = "/") -> str:
        return f"http://{domain}:{port}{path}"

    return url
