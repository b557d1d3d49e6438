"""The `data` of the events integrations publish (kept small: ids, statuses, a few figures).
docs/webhooks.md shows each one; change both together."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from integrations.routing.models import RoutingDecision
    from integrations.sync.models import SyncRun


def _time(value: datetime | None) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value else None


def lead_routed_data(decision: RoutingDecision) -> dict[str, Any]:
    return {
        "lead": {
            "contact_id": decision.contact_ghl_id,
            "status": decision.status,
            "agent_id": decision.agent_ghl_id or None,
            "rule": decision.rule_name or None,
            "summary": decision.summary,
            "routed_at": _time(decision.created_at),
        }
    }


def sync_run_data(run: SyncRun) -> dict[str, Any]:
    return {
        "sync": {
            "id": run.pk,
            "kind": run.kind,
            "status": run.status,
            "rows": run.rows,
            "started_at": _time(run.started_at),
            "finished_at": _time(run.finished_at),
            "error": run.error[:300] or None,
        }
    }
