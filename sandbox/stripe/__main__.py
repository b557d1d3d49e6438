"""``python -m sandbox.stripe --host 127.0.0.1 --port 8020 [--api-key sk_test_…]
[--webhook-url URL] [--webhook-secret whsec_…] [--time-factor N]``"""

from __future__ import annotations

import argparse
import logging
import sys

import uvicorn

from sandbox.stripe.app import build_app
from sandbox.stripe.state import DEFAULT_API_KEY, DEFAULT_WEBHOOK_SECRET, Config, StripeState

log = logging.getLogger("sandbox.stripe")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m sandbox.stripe", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8020)
    parser.add_argument("--public-url", help="base of hosted page URLs (default: http://host:port)")
    parser.add_argument(
        "--api-key", action="append", help=f"accepted secret key(s) (default {DEFAULT_API_KEY})"
    )
    parser.add_argument(
        "--webhook-url", help="default webhook endpoint (platform and Connect events)"
    )
    parser.add_argument("--webhook-secret", default=DEFAULT_WEBHOOK_SECRET)
    parser.add_argument("--platform-name", default="Stand-in Platform")
    parser.add_argument(
        "--time-factor", type=float, default=1.0, help="stand-in time runs Nx faster"
    )
    parser.add_argument("--log-level", default="warning")
    return parser.parse_args(argv)


def build_state(args: argparse.Namespace) -> StripeState:
    config = Config(
        public_url=args.public_url or f"http://{args.host}:{args.port}",
        api_keys=args.api_key or [DEFAULT_API_KEY],
        platform_name=args.platform_name,
        webhook_url=args.webhook_url,
        webhook_secret=args.webhook_secret,
    )
    return StripeState(config, args.time_factor)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(
        level=args.log_level.upper(),
        stream=sys.stderr,
        format="%(asctime)s %(name)s %(levelname)s %(message)s",
    )
    app = build_app(build_state(args))
    log.warning("Stripe stand-in listening on http://%s:%s", args.host, args.port)
    uvicorn.run(app, host=args.host, port=args.port, log_level=args.log_level, access_log=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
