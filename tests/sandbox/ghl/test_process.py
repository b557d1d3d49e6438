"""The stand-in as a process: CLI options, config file, persisted keys, health."""

from __future__ import annotations

from pathlib import Path

import httpx

from sandbox.ghl.testing import StandIn


def test_keys_survive_a_restart_and_config_file_applies(tmp_path: Path) -> None:
    config = {
        "rate_limits": {"burst_max": 7},
        "apps": [
            {
                "client_id": "0123456789abcdef01234567-extra",
                "client_secret": "s3",
                "redirect_uris": ["http://127.0.0.1:9/cb"],
                "scopes": ["contacts.readonly"],
            }
        ],
    }
    with StandIn(scenario=None, keys_dir=tmp_path, config=config, time_factor=10) as first:
        keys = first.keys()
        health = first.health()
        assert health["status"] == "ok" and health["spec"] is True
        assert health["timeFactor"] == 10.0 and health["scenario"] is None
        settings = first.config()
        assert settings["rate_limits"]["burst_max"] == 7
        assert settings["apps"]["0123456789abcdef01234567-extra"]["client_secret"] == "***"
        page = httpx.get(f"{first.base_url}/_sandbox/", timeout=5)
        assert page.status_code == 200 and "GHL stand-in" in page.text
    assert (tmp_path / "ed25519_public.pem").read_text() == keys["ed25519"]
    with StandIn(scenario="demo", keys_dir=tmp_path, unlimited=True) as second:
        assert second.keys() == keys
        assert second.config()["rate_limits"]["unlimited"] is True
        locations = second.health()["scenario"]
        assert locations == "demo"
