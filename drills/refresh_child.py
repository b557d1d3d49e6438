"""A child process of the token drills: `python -m drills.refresh_child <installation pk>
<point>`, with the drill's settings in the environment.

`before`, `after_answer`, `after_commit`: refresh the installation's token (ask for a token valid
two days: the stand-in's live one day, so the vault must rotate), stopping for good at that
point of the refresh — after writing the file named by DRILL_MARKER — so the drill can SIGKILL
the process there. The stops are wrappers put around the vault's collaborators in this process
only: product code has no test branch.

`check`: what a later task sees — one GHL call, a forced rotation, one more call — printed as
JSON. `refresh`: one rotation, printed as JSON (the scale-out drill runs several at once)."""

from __future__ import annotations

import json
import os
import sys
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import django

ROTATE = timedelta(days=2)


def _stop_here() -> None:
    Path(os.environ["DRILL_MARKER"]).write_text(str(os.getpid()))
    while True:  # the drill SIGKILLs us here
        time.sleep(60)


def _call(installation_pk: int) -> str:
    from integrations.ghl import operations as ops
    from integrations.ghl.client import GhlClient
    from integrations.ghl.errors import GhlError
    from integrations.ghl.models import GhlInstallation

    installation = GhlInstallation.objects.unscoped().get(pk=installation_pk)
    try:
        with GhlClient(installation) as ghl:
            ghl.run(ops.location_get(location_id=str(installation.ghl_location_id)))
    except GhlError as exc:
        return f"{type(exc).__name__}: {exc}"
    return "ok"


def _rotate(installation_pk: int) -> str:
    from integrations.ghl import vault
    from integrations.ghl.errors import GhlError

    try:
        vault.access_token(installation_pk, validity=ROTATE)
    except GhlError as exc:
        return f"{type(exc).__name__}: {exc}"
    return "ok"


def main(installation_pk: int, point: str) -> dict[str, Any]:
    django.setup()
    from integrations.ghl import oauth, vault

    if point == "check":
        return {"call": _call(installation_pk), "rotate": _rotate(installation_pk),
                "call_after": _call(installation_pk)}  # fmt: skip
    if point == "refresh":
        return {"rotate": _rotate(installation_pk)}
    real_refresh = oauth.refresh

    def refresh(**kwargs: Any) -> Any:
        if point == "before":
            _stop_here()
        grant = real_refresh(**kwargs)
        if point == "after_answer":  # GHL has rotated the pair; our row lock is still held
            _stop_here()
        return grant

    oauth.refresh = refresh
    outcome = _rotate(installation_pk)
    if point == "after_commit":
        vault.forget(installation_pk)
        _stop_here()
    return {"rotate": outcome}


if __name__ == "__main__":
    print(json.dumps(main(int(sys.argv[1]), sys.argv[2])))
