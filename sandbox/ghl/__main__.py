"""``python -m sandbox.ghl --host 127.0.0.1 --port 8010 [--config FILE] [--keys-dir DIR]
[--scenario demo] [--demo-traffic[=SECONDS]]``"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from sandbox.ghl.app import StandInApp
from sandbox.ghl.config import SandboxConfig
from sandbox.ghl.keys import load_or_create
from sandbox.ghl.server import run
from sandbox.ghl.spec import SpecSet, find_openapi_dir
from sandbox.ghl.state import SandboxState
from sandbox.ghl.traffic import DEFAULT_INTERVAL, DemoTraffic, check_interval

log = logging.getLogger("sandbox.ghl")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m sandbox.ghl", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8010)
    parser.add_argument("--config", type=Path, help="JSON config file (see docs/ghl-standin.md)")
    parser.add_argument(
        "--keys-dir",
        type=Path,
        default=Path(".run/ghl-standin/keys"),
        help="where the webhook signing keys live (created on first start)",
    )
    parser.add_argument("--scenario", help="'demo' or a path to a scenario JSON file")
    parser.add_argument(
        "--openapi-dir", help="GHL OpenAPI specs, upstream layout (default: sandbox/ghl/openapi)"
    )
    parser.add_argument("--webhook-url", help="override every app's default webhook URL")
    parser.add_argument("--time-factor", type=float, help="stand-in time runs N times faster")
    parser.add_argument("--unlimited", action="store_true", help="disable rate limiting")
    parser.add_argument(
        "--demo-traffic",
        nargs="?",
        const=DEFAULT_INTERVAL,
        type=check_interval,
        metavar="SECONDS",
        help="generate leads, messages, appointments and stage moves in installed locations "
        f"every SECONDS (default {DEFAULT_INTERVAL:g})",
    )
    parser.add_argument("--demo-traffic-seed", type=int, default=1, metavar="N")
    parser.add_argument("--log-level", default="warning")
    return parser.parse_args(argv)


def build(args: argparse.Namespace) -> StandInApp:
    config = SandboxConfig.load(args.config)
    if args.time_factor:
        config.time_factor = args.time_factor
    if args.unlimited:
        config.rate_limits.unlimited = True
    keys = load_or_create(args.keys_dir)
    spec_dir = find_openapi_dir(args.openapi_dir)
    spec = SpecSet(spec_dir) if spec_dir else None
    if spec is None:
        log.warning("GHL OpenAPI specs not found: request bodies will not be validated")
    state = SandboxState(config, keys, spec, scenario=args.scenario)
    if args.webhook_url:
        for app in config.apps.values():
            app.webhook_url = args.webhook_url
        state.snapshot_config()  # so /_sandbox/reset keeps the override
    traffic = DemoTraffic(
        state,
        interval=args.demo_traffic or DEFAULT_INTERVAL,
        seed=args.demo_traffic_seed,
        autostart=args.demo_traffic is not None,
    )
    return StandInApp(state, traffic)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(
        level=args.log_level.upper(),
        stream=sys.stderr,
        format="%(asctime)s %(name)s %(levelname)s %(message)s",
    )
    app = build(args)
    log.warning("GHL stand-in listening on http://%s:%s", args.host, args.port)
    if args.demo_traffic is not None:
        log.warning(
            "demo traffic every %gs in installed locations (GET /_sandbox/traffic)",
            args.demo_traffic,
        )
    run(app, args.host, args.port, args.log_level)
    return 0


if __name__ == "__main__":
    sys.exit(main())
