"""Embedded PostgreSQL and Redis for machines without servers: started, reused, stopped."""

import os
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest
import redis

ROOT = Path(__file__).resolve().parent.parent


def engines(command: str, run_dir: Path, **env: str) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL"}}
    return subprocess.run(
        [sys.executable, "tools/engines.py", command],
        cwd=ROOT,
        env={**base, "ENGINES_RUN_DIR": str(run_dir), **env},
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )


def exported(output: str) -> dict[str, str]:
    pairs = (line.removeprefix("export ").split("=", 1) for line in output.splitlines())
    return {key: value.strip("'") for key, value in pairs}


@pytest.fixture
def run_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    # A short path: PostgreSQL's socket path must stay under ~100 bytes.
    path = Path(f"/tmp/eng-{os.getpid()}")  # noqa: S108
    yield path
    engines("down", path)
    subprocess.run(["rm", "-rf", str(path)], check=False)


def test_up_starts_real_engines_reuses_them_and_down_stops_them(run_dir: Path) -> None:
    first = exported(engines("up", run_dir).stdout)
    with psycopg.connect(first["DATABASE_URL"].replace("postgres://", "postgresql://")) as conn:
        assert conn.execute("SELECT current_database()").fetchone() == ("saas",)
    assert redis.Redis.from_url(first["REDIS_URL"]).ping()

    status = engines("status", run_dir).stdout
    again = exported(engines("up", run_dir).stdout)
    assert again == first
    assert engines("status", run_dir).stdout == status  # same processes, not new ones
    assert len((run_dir / "engines.env").read_text().splitlines()) == 2

    engines("down", run_dir)
    assert engines("status", run_dir).stdout.count("stopped") == 2
    with pytest.raises(redis.ConnectionError):
        redis.Redis.from_url(first["REDIS_URL"], socket_connect_timeout=1).ping()


def test_given_servers_are_used_and_nothing_is_started(run_dir: Path) -> None:
    result = engines(
        "up",
        run_dir,
        DATABASE_URL="postgres://somewhere/db",
        REDIS_URL="redis://somewhere:6379/0",
    )
    assert result.stdout == ""
    assert not run_dir.exists()
