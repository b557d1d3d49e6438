"""Method: the platform's `/healthz` view (a bare Django view behind the full middleware stack,
no database query) under gunicorn with production settings — 4 workers x 2 threads (gthread),
the app preloaded, keep-alive — driven on loopback by bench.loadgen with 8 keep-alive
connections for 8 s after a 2 s warm-up. Every later web figure is divided by this one, measured
in the same run."""

from bench.harness import BenchContext, Figure
from bench.loadgen import load
from bench.servers import gunicorn

ORDER = 0
CONNECTIONS = 8
DURATION = 8.0


def run(ctx: BenchContext) -> list[Figure]:
    with gunicorn(ctx) as port:
        url = f"http://127.0.0.1:{port}/healthz"
        load(url, connections=CONNECTIONS, duration=2.0, headers={"Host": "localhost"})
        result = load(
            url, connections=CONNECTIONS, duration=DURATION, headers={"Host": "localhost"}
        )
    ok = result.statuses.get(200, 0)
    if ok != result.requests or result.errors:
        raise RuntimeError(f"baseline saw non-200 answers or errors: {result}")
    return [
        Figure("B0", "bare Django view, requests/s", result.rps, "req/s"),
        Figure("B0-p99", "bare Django view, p99 latency", result.p99_ms, "ms"),
    ]
