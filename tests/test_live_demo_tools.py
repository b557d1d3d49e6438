"""`make run`'s live demo switches (tools/run.py) and its outbound webhook receiver
(tools/webhook_sink.py)."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import httpx
import pytest

from tools import run
from tools.webhook_sink import Sink


@pytest.mark.parametrize(
    ("value", "seconds"),
    [("", None), ("0", None), ("off", None), ("1", 5.0), ("yes", 5.0), ("2.5", 2.5), ("0.1", 1.0)],
)
def test_demo_traffic_is_opt_in(
    monkeypatch: pytest.MonkeyPatch, value: str, seconds: float | None
) -> None:
    monkeypatch.setenv("DEMO_TRAFFIC", value)
    assert run.demo_traffic() == seconds


def test_with_demo_traffic_the_stand_in_gets_the_flag_and_the_receiver_runs(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("DEMO_TRAFFIC", "3")
    monkeypatch.setenv("CONNECTOR_ALLOWED_PRIVATE_TARGETS", "10.0.0.0/8:5432")
    procs = run.processes()
    assert "--demo-traffic=3" in procs["ghl"] and procs["sink"][2] == "tools.webhook_sink"
    allowed = run.environment()["CONNECTOR_ALLOWED_PRIVATE_TARGETS"].split(",")
    assert allowed == ["10.0.0.0/8:5432", f"127.0.0.1/32:{run.SINK_PORT}"]
    assert "Outbound webhooks" in run.banner()

    monkeypatch.delenv("DEMO_TRAFFIC")
    procs = run.processes()
    assert "sink" not in procs and not any(a.startswith("--demo-traffic") for a in procs["ghl"])
    assert run.environment()["CONNECTOR_ALLOWED_PRIVATE_TARGETS"] == "10.0.0.0/8:5432"


@pytest.fixture
def sink() -> Iterator[str]:
    server = Sink(("127.0.0.1", 0))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_the_receiver_records_and_lists_deliveries(
    sink: str, capsys: pytest.CaptureFixture[str]
) -> None:
    body = b'{"type":"lead.routed","data":{"lead":{"status":"assigned"}}}'
    headers = {
        "webhook-id": "evt_1",
        "webhook-signature": "v1,abc",
        "content-type": "application/json",
    }
    answer = httpx.post(f"{sink}/hooks", content=body, headers=headers, trust_env=False)
    assert answer.status_code == 204
    httpx.post(f"{sink}/hooks", content=b"not json", trust_env=False)

    rows = httpx.get(f"{sink}/deliveries.json", trust_env=False).json()
    assert [(r["type"], r["webhookId"], r["signed"]) for r in rows] == [
        ("?", "", False),
        ("lead.routed", "evt_1", True),
    ]
    page = httpx.get(f"{sink}/", trust_env=False).text
    assert "lead.routed" in page and "Outbound webhooks received (2)" in page
    assert "outbound webhook lead.routed evt_1" in capsys.readouterr().out
