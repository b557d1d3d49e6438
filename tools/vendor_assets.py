"""Fetch the browser libraries the portal loads, pinned by version and checksum.

They are dependencies, not our code, so they are not committed: `make install` puts them under
`saas_platform/static/vendor/` (git-ignored). The portal works without them (every form is a
plain POST); htmx only turns full-page round trips into partial updates and live progress.
"""

from __future__ import annotations

import hashlib
import io
import sys
import tarfile
import urllib.request
from pathlib import Path

VENDOR = Path(__file__).resolve().parent.parent / "saas_platform" / "static" / "vendor"

# (npm tarball, its sha256, member to extract, file name under static/vendor/)
ASSETS = [
    (
        "https://registry.npmjs.org/htmx.org/-/htmx.org-2.0.11.tgz",
        "165a2655073e9e6e55e307a7c74e8ebcdb76afb7701f9c16cfd106a13add408e",
        "package/dist/htmx.min.js",
        "htmx.min.js",
    ),
    # Only the accessibility browser test loads axe (injected there, never by a portal page).
    (
        "https://registry.npmjs.org/axe-core/-/axe-core-4.14.1.tgz",
        "e6b0ce02b84d892e2e33e403485e7f3d6c29e2be6df65daf44d89ba564139745",
        "package/axe.min.js",
        "axe.min.js",
    ),
]


def fetch(url: str, sha256: str, member: str, name: str) -> None:
    target = VENDOR / name
    if target.exists():
        return
    with urllib.request.urlopen(url, timeout=30) as response:  # noqa: S310 (a pinned https URL)
        payload = response.read()
    digest = hashlib.sha256(payload).hexdigest()
    if digest != sha256:
        raise SystemExit(f"{url}: checksum {digest} is not the pinned {sha256}")
    with tarfile.open(fileobj=io.BytesIO(payload), mode="r:gz") as archive:
        extracted = archive.extractfile(member)
        if extracted is None:
            raise SystemExit(f"{url}: no {member} inside")
        VENDOR.mkdir(parents=True, exist_ok=True)
        target.write_bytes(extracted.read())


def main() -> int:
    for asset in ASSETS:
        try:
            fetch(*asset)
        except OSError as exc:  # offline: the portal still works, without partial updates
            print(f"vendor_assets: could not fetch {asset[0]}: {exc}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
