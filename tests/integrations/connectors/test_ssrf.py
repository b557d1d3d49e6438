"""The SSRF guard against real sockets: a corpus of inward URLs `check_url` must refuse, and a
canary (a real HTTP server on loopback counting the connections it accepts) the guarded clients
must never reach, directly or through a redirect.

A refusal is a ConnectorConfigError raised out of the httpx call as it is. The tests insist on
that type: the test network block (tests/network.py) would also stop some of these connections,
but as an httpx.ConnectError, so a pass here is the guard's doing."""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import socket
import socketserver
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from typing import Any

import httpx
import pytest
import respx
from django.core.exceptions import ImproperlyConfigured

from integrations.connectors.base import ConnectorConfigError
from integrations.connectors.ssrf import (
    check_url,
    guarded_async_http_client,
    guarded_http_client,
    is_public,
    resolve_public,
)

PUBLIC_IP = "93.184.215.14"  # example.com; IP literals need no DNS, and nothing connects to it

# URLs no connection may follow. "{port}" marks the ones that would reach a listener on this
# machine; the canary tests aim those at its port.
CORPUS = [
    # loopback, spelled every way resolvers accept
    "https://127.0.0.1:{port}/",
    "https://127.0.1:{port}/",
    "https://127.1:{port}/",
    "https://127.255.255.254:{port}/",
    "https://127.000.000.001:{port}/",
    "https://2130706433:{port}/",
    "https://017700000001:{port}/",
    "https://0x7f000001:{port}/",
    "https://0x7f.0x0.0x0.0x1:{port}/",
    "https://0x7f.1:{port}/",
    "https://0177.0.0.1:{port}/",
    "https://0177.1:{port}/",
    "https://localhost:{port}/",
    "https://LOCALHOST:{port}/",
    "https://localhost.:{port}/",
    "https://LocalHost.:{port}/",
    "https://api.localhost:{port}/",
    "https://[::1]:{port}/",
    "https://[0:0:0:0:0:0:0:1]:{port}/",
    "https://[::ffff:127.0.0.1]:{port}/",
    "https://[::ffff:7f00:1]:{port}/",
    "https://[::127.0.0.1]:{port}/",  # IPv4-compatible
    "https://[::ffff:0:127.0.0.1]:{port}/",  # IPv4-translated
    "https://[2002:7f00:1::]:{port}/",  # 6to4 around 127.0.0.1
    "https://[64:ff9b::127.0.0.1]:{port}/",  # NAT64 around 127.0.0.1
    "https://\uff11\uff12\uff17.\uff10.\uff10.\uff11:{port}/",  # full-width digits
    "https://127\u30020\u30020\u30021:{port}/",  # ideographic full stops
    # this machine through the unspecified address
    "https://0.0.0.0:{port}/",
    "https://0:{port}/",
    "https://[::]:{port}/",
    # user info in front of an inward host
    "https://example.com@127.0.0.1:{port}/",
    f"https://{PUBLIC_IP}@127.0.0.1:{{port}}/",
    "https://user:pass@127.0.0.1:{port}/",
    "https://user:pass@localhost:{port}/",
    # private networks
    "https://10.0.0.1/",
    "https://10.255.255.255:8443/",
    "https://172.16.0.1/",
    "https://172.31.255.254/",
    "https://192.168.0.1/",
    "https://192.168.1.1:8080/",
    "https://[2002:c0a8:101::]/",  # 6to4 around 192.168.1.1
    "https://[64:ff9b::10.0.0.1]/",  # NAT64 around 10.0.0.1
    "https://[64:ff9b:1::a00:1]/",  # local-use NAT64
    "https://[fc00::1]/",
    "https://[fd12:3456:789a::1]/",
    # carrier-grade NAT
    "https://100.64.0.1/",
    "https://100.127.255.254/",
    # cloud metadata and link-local
    "https://169.254.169.254/latest/meta-data/",
    "https://169.254.170.2/v2/credentials",
    "https://2852039166/latest/meta-data/",  # 169.254.169.254 as one number
    "https://[::ffff:169.254.169.254]/",
    "https://[::ffff:a9fe:a9fe]/",
    "https://[fd00:ec2::254]/latest/meta-data/",
    "https://100.100.100.200/latest/meta-data/",
    "https://168.63.129.16/machine",
    "https://192.0.0.192/opc/v2/instance/",
    "https://[fe80::1]/",
    "https://[fe80::1%25eth0]/",
    # multicast, broadcast, reserved, documentation, protocol ranges
    "https://224.0.0.1/",
    "https://239.255.255.250/",
    "https://[ff02::1]/",
    "https://255.255.255.255/",
    "https://240.0.0.1/",
    "https://192.0.2.1/",
    "https://198.18.0.1/",
    "https://[2001:db8::1]/",
    "https://[2001::1]/",  # Teredo
    "https://[100::1]/",
    # schemes other than https, even to a public address
    f"http://{PUBLIC_IP}/",
    "file:///etc/passwd",
    "gopher://127.0.0.1:6379/_INFO",
    f"ftp://{PUBLIC_IP}/",
    "dict://127.0.0.1:11211/stat",
    "ldap://127.0.0.1/",
    "data:text/plain,hello",
    "javascript:alert(1)",
    f"//{PUBLIC_IP}/",
    PUBLIC_IP,
    # spellings parsers disagree on
    f"https://a@b@{PUBLIC_IP}/",
    f"https://{PUBLIC_IP}\\@127.0.0.1/",
    f"https://{PUBLIC_IP} @127.0.0.1/",
    "https://127.0.0.1\t/",
    f"https://{PUBLIC_IP}\n.127.0.0.1/",
    f"\x00https://{PUBLIC_IP}/",
    f"https://{PUBLIC_IP}\u200b/",
    "https://127%2E0%2E0%2E1/",
    "https://[127.0.0.1]/",
    "https://[::1/",
    # no host, bad ports, unknown names
    "https:///etc/passwd",
    "https://:443/",
    f"https://{PUBLIC_IP}:0/",
    f"https://{PUBLIC_IP}:99999/",
    f"https://{PUBLIC_IP}:+443/",
    "https://nonexistent.invalid/",
]
LOCAL = [url for url in CORPUS if "{port}" in url]


class _Handler(BaseHTTPRequestHandler):
    server: _CountingServer

    def do_GET(self) -> None:
        owner = self.server.owner
        owner.hosts.append(self.headers.get("Host", ""))
        self.send_response(owner.status)
        if owner.location:
            self.send_header("Location", owner.location)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 (the base's name)
        pass


class _CountingServer(socketserver.ThreadingTCPServer):
    daemon_threads = True

    def __init__(self, owner: LocalServer, family: socket.AddressFamily, address: Any) -> None:
        self.owner, self.address_family = owner, family
        super().__init__(address, _Handler)

    def verify_request(self, request: Any, client_address: Any) -> bool:
        self.owner.count()
        return True


class LocalServer:
    """A real HTTP server on 127.0.0.1 and on ::1 (same port) that counts the TCP connections
    it accepts and answers every GET with `status` and, when set, a `location` header."""

    def __init__(self) -> None:
        self.status, self.location = 200, ""
        self.hosts: list[str] = []
        self._connections, self._lock, self._stopped = 0, threading.Lock(), False
        self._servers = [_CountingServer(self, socket.AF_INET, ("127.0.0.1", 0))]
        self.port: int = self._servers[0].server_address[1]
        with contextlib.suppress(OSError):  # without IPv6 here, nothing reaches [::1] anyway
            self._servers.append(_CountingServer(self, socket.AF_INET6, ("::1", self.port)))
        for server in self._servers:
            # A short poll interval: `stop` waits for it.
            threading.Thread(target=server.serve_forever, args=(0.02,), daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/"

    def count(self) -> None:
        with self._lock:
            self._connections += 1

    @property
    def connections(self) -> int:
        """Connections accepted so far (exact once a response came back over them)."""
        return self._connections

    def stop(self) -> int:
        """Every connection ever made: also those still waiting in the listen backlog, which a
        client sees as connected before the server thread accepts them."""
        if not self._stopped:
            self._stopped = True
            for server in self._servers:
                server.shutdown()
                server.socket.setblocking(False)
                while True:
                    try:
                        connection, _ = server.socket.accept()
                    except BlockingIOError:
                        break
                    connection.close()
                    self.count()
                server.server_close()
        return self._connections


@pytest.fixture
def canary() -> Iterator[LocalServer]:
    server = LocalServer()
    yield server
    server.stop()


@pytest.fixture
def redirector() -> Iterator[LocalServer]:
    server = LocalServer()
    server.status = 302
    yield server
    server.stop()


def _expected_refusal(url: str) -> type[Exception]:
    """ConnectorConfigError, unless httpx cannot even parse the URL (it then connects nowhere)."""
    try:
        httpx.URL(url)
    except httpx.InvalidURL:
        return httpx.InvalidURL
    return ConnectorConfigError


# --- save time -----------------------------------------------------------------------------------


def test_the_corpus_is_broad() -> None:
    assert len(CORPUS) >= 50
    assert len(LOCAL) >= 30


@pytest.mark.parametrize("url", CORPUS)
def test_check_url_refuses_every_inward_or_ambiguous_url(url: str) -> None:
    with pytest.raises(ConnectorConfigError):
        check_url(url.format(port=8443))


@pytest.mark.parametrize(
    ("url", "schemes"),
    [
        (f"https://{PUBLIC_IP}/", ("https",)),
        (f"HTTPS://{PUBLIC_IP}:8443/path?q=1#top", ("https",)),
        (f"https://user:secret@{PUBLIC_IP}/", ("https",)),
        ("https://[2606:2800:21f:cb07:6820:80da:af6b:8b2c]/", ("https",)),
        (f"https://[::ffff:{PUBLIC_IP}]/", ("https",)),
        (f"https://[64:ff9b::{PUBLIC_IP}]/", ("https",)),  # NAT64 around a public address
        ("https://[2002:5db8:d70e::1]/", ("https",)),  # 6to4 around the same
        (f"http://{PUBLIC_IP}/", ("http", "https")),
        (f"postgresql://sync:pw@{PUBLIC_IP}/crm", ("postgresql",)),
        (f"mysql://sync:pw@{PUBLIC_IP}:3307/crm", ("mysql",)),
    ],
)
def test_check_url_accepts_a_public_address(url: str, schemes: tuple[str, ...]) -> None:
    check_url(url, schemes=schemes)


def test_check_url_needs_a_port_where_the_scheme_has_no_default() -> None:
    with pytest.raises(ConnectorConfigError, match="port"):
        check_url(f"mssql://{PUBLIC_IP}/crm", schemes=("mssql",))
    check_url(f"mssql://{PUBLIC_IP}:1433/crm", schemes=("mssql",))


def test_a_name_resolving_to_this_machine_is_refused() -> None:
    """The real resolver: this machine's own name (from /etc/hosts or DNS) points inward."""
    name = socket.gethostname()
    try:
        addresses = {info[4][0] for info in socket.getaddrinfo(name, 443)}
    except socket.gaierror:
        pytest.skip(f"{name!r} does not resolve here")
    if any(is_public(ipaddress.ip_address(str(address))) for address in addresses):
        pytest.skip(f"{name!r} resolves to a public address here")
    with pytest.raises(ConnectorConfigError, match="private or reserved"):
        check_url(f"https://{name}/")


@pytest.mark.parametrize(
    "url",
    [
        "https://admin:hunter2@127.0.0.1/",
        "https://admin:hunter2@10.0.0.1:5432/",
        "https://admin:hunter2@0177.0.0.1/",
        "https://admin:hunter2@localhost/",
        "https://admin:hunter2@nonexistent.invalid/",
        "https://admin:hunter2@[::1/",
        "https://admin:hunter2@@93.184.215.14/",
        f"https://admin:hunter2@{PUBLIC_IP}:0/",
        f"ftp://admin:hunter2@{PUBLIC_IP}/",
        f"https://admin:hunter2@{PUBLIC_IP}/\\x",
    ],
)
def test_messages_never_repeat_the_user_info(url: str) -> None:
    with pytest.raises(ConnectorConfigError) as refused:
        check_url(url)
    assert "hunter2" not in str(refused.value)
    assert "admin" not in str(refused.value)


@pytest.mark.parametrize(
    ("address", "public"),
    [
        (PUBLIC_IP, True),
        ("8.8.8.8", True),
        ("2606:4700::1111", True),
        (f"::ffff:{PUBLIC_IP}", True),
        (f"64:ff9b::{PUBLIC_IP}", True),
        ("127.0.0.1", False),
        ("0.0.0.0", False),  # noqa: S104 (an address under test, nothing binds it)
        ("10.1.2.3", False),
        ("100.64.0.1", False),
        ("169.254.169.254", False),
        ("168.63.129.16", False),  # public, but Azure's wire server
        ("192.0.0.192", False),  # Python 3.11 calls it global; Oracle's metadata
        ("224.0.0.251", False),  # Python 3.11 calls multicast global
        ("::1", False),
        ("::", False),
        ("::7f00:1", False),  # IPv4-compatible, global to Python 3.11
        ("::ffff:0:7f00:1", False),  # IPv4-translated, global to Python 3.11
        ("2002:7f00:1::", False),  # 6to4 around loopback, global to Python 3.11
        ("64:ff9b::a9fe:a9fe", False),  # NAT64 around 169.254.169.254
        ("64:ff9b:1::1", False),
        ("fd00:ec2::254", False),
        ("fe80::1", False),
        ("ff02::1", False),
        ("2001:db8::1", False),
    ],
)
def test_is_public(address: str, public: bool) -> None:
    assert is_public(ipaddress.ip_address(address)) is public


# --- the allowlist -------------------------------------------------------------------------------


def test_the_allowlist_opens_exactly_the_listed_network_and_port(settings: Any) -> None:
    settings.CONNECTOR_ALLOWED_PRIVATE_TARGETS = [
        "10.20.0.0/16:5432",
        "[fd00:1::/64]:3306",
        "192.168.7.7:*",
    ]
    assert resolve_public("10.20.1.2", 5432) == "10.20.1.2"
    assert resolve_public("[fd00:1::9]", 3306) == "fd00:1::9"
    assert resolve_public("192.168.7.7", 6543) == "192.168.7.7"
    assert resolve_public("::ffff:10.20.1.2", 5432) == "::ffff:a14:102"
    check_url("postgresql://sync:pw@10.20.1.2/crm", schemes=("postgresql",))  # default port


@pytest.mark.parametrize(
    ("host", "port"),
    [
        ("10.20.1.2", 5433),  # the network, another port
        ("10.21.0.1", 5432),  # the port, another network
        ("fd00:1::9", 5432),
        ("fd00:2::9", 3306),
        ("192.168.7.8", 6543),
        ("127.0.0.1", 5432),
        ("localhost", 5432),
    ],
)
def test_the_allowlist_opens_nothing_else(settings: Any, host: str, port: int) -> None:
    settings.CONNECTOR_ALLOWED_PRIVATE_TARGETS = [
        "10.20.0.0/16:5432",
        "[fd00:1::/64]:3306",
        "192.168.7.7:*",
    ]
    with pytest.raises(ConnectorConfigError):
        resolve_public(host, port)


@pytest.mark.parametrize(
    "host",
    [
        "169.254.169.254",
        "169.254.170.2",
        "::ffff:169.254.169.254",
        "64:ff9b::169.254.169.254",
        "fd00:ec2::254",
        "fe80::1",
        "100.100.100.200",
        "168.63.129.16",
        "192.0.0.192",
    ],
)
def test_the_allowlist_never_opens_cloud_metadata(settings: Any, host: str) -> None:
    settings.CONNECTOR_ALLOWED_PRIVATE_TARGETS = ["0.0.0.0/0:*", "::/0:*"]
    assert resolve_public("10.0.0.1", 80) == "10.0.0.1"  # the allowlist is in force
    with pytest.raises(ConnectorConfigError):
        resolve_public(host, 80)


@pytest.mark.parametrize(
    "entry",
    [
        "10.0.0.0/8",  # no port
        "10.0.0.7/8:5432",  # host bits set: a typo, not a /8
        "10.0.0.0/8:http",
        "10.0.0.0/8:0",
        "10.0.0.0/8:70000",
        "db:*",
    ],
)
def test_a_malformed_allowlist_entry_is_a_configuration_error(settings: Any, entry: str) -> None:
    settings.CONNECTOR_ALLOWED_PRIVATE_TARGETS = [entry]
    with pytest.raises(ImproperlyConfigured, match="CONNECTOR_ALLOWED_PRIVATE_TARGETS"):
        resolve_public("10.0.0.1", 5432)


# --- connect time: the canary --------------------------------------------------------------------


@pytest.mark.parametrize("scheme", ["https", "http"])
@pytest.mark.parametrize("url", LOCAL)
def test_the_guarded_client_never_reaches_the_canary(
    canary: LocalServer, url: str, scheme: str
) -> None:
    target = url.format(port=canary.port).replace("https://", f"{scheme}://", 1)
    with (
        guarded_http_client(schemes=("http", "https")) as client,
        pytest.raises(_expected_refusal(target)),
    ):
        client.get(target)
    assert canary.stop() == 0


def test_the_canary_counts_what_the_allowlist_lets_through(
    canary: LocalServer, settings: Any
) -> None:
    """The control: the canary would have seen a connection the guard let through."""
    settings.CONNECTOR_ALLOWED_PRIVATE_TARGETS = [f"127.0.0.1/32:{canary.port}"]
    with guarded_http_client(schemes=("http",)) as client:
        assert client.get(canary.url).status_code == 200
    assert canary.stop() == 1


def test_refusals_name_no_password(canary: LocalServer) -> None:
    with guarded_http_client() as client, pytest.raises(ConnectorConfigError) as refused:
        client.get(f"https://admin:hunter2@127.0.0.1:{canary.port}/")
    assert "hunter2" not in str(refused.value)
    assert canary.stop() == 0


@pytest.mark.parametrize(
    "location",
    [
        "http://127.0.0.1:{canary}/",
        "http://localhost:{canary}/",
        "http://[::1]:{canary}/",
        "http://[::ffff:127.0.0.1]:{canary}/",
        "http://2130706433:{canary}/",
        "http://0.0.0.0:{canary}/",
        "gopher://127.0.0.1:{canary}/_INFO",
        "http://169.254.169.254/latest/meta-data/iam/security-credentials/",
        "http://[fd00:ec2::254]/latest/meta-data/",
        "http://10.0.0.1/",
    ],
)
def test_a_redirect_inward_is_refused(
    canary: LocalServer, redirector: LocalServer, settings: Any, location: str
) -> None:
    """The first server is allowed (by its port), so the redirect is what the guard must stop."""
    settings.CONNECTOR_ALLOWED_PRIVATE_TARGETS = [f"127.0.0.1/32:{redirector.port}"]
    redirector.location = location.format(canary=canary.port)
    with (
        guarded_http_client(schemes=("http", "https")) as client,
        pytest.raises(ConnectorConfigError),
    ):
        client.get(redirector.url)
    assert redirector.connections == 1  # the first hop did go out
    assert canary.stop() == 0


def test_redirects_are_bounded(redirector: LocalServer, settings: Any) -> None:
    settings.CONNECTOR_ALLOWED_PRIVATE_TARGETS = [f"127.0.0.1/32:{redirector.port}"]
    redirector.location = redirector.url
    with (
        guarded_http_client(schemes=("http",), max_redirects=3) as client,
        pytest.raises(httpx.TooManyRedirects),
    ):
        client.get(redirector.url)
    assert redirector.stop() == 4


def test_each_connection_goes_to_the_address_its_one_lookup_checked(
    redirector: LocalServer, settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """DNS rebinding: a name that answers an allowed address, then an inward one. The client
    looks it up once per connection and connects to that answer; the Host header keeps the
    name."""
    server = redirector
    server.status = 200
    settings.CONNECTOR_ALLOWED_PRIVATE_TARGETS = [f"127.0.0.1/32:{server.port}"]
    real_getaddrinfo, lookups = socket.getaddrinfo, []

    def rebinding(host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
        if host != "rebinding.test":
            return real_getaddrinfo(host, port, *args, **kwargs)
        lookups.append(host)
        answer = "127.0.0.1" if len(lookups) == 1 else "10.0.0.1"
        return real_getaddrinfo(answer, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", rebinding)
    with guarded_http_client(schemes=("http",)) as client:
        assert client.get(f"http://rebinding.test:{server.port}/").status_code == 200
    assert lookups == ["rebinding.test"]
    assert server.hosts == [f"rebinding.test:{server.port}"]
    assert server.stop() == 1


def test_the_async_client_is_guarded_too(canary: LocalServer, settings: Any) -> None:
    async def fetch(url: str) -> int:
        async with guarded_async_http_client(schemes=("http",)) as client:
            return (await client.get(url)).status_code

    with pytest.raises(ConnectorConfigError):
        asyncio.run(fetch(canary.url))
    with pytest.raises(ConnectorConfigError):
        asyncio.run(fetch(f"http://localhost:{canary.port}/"))
    assert canary.connections == 0
    settings.CONNECTOR_ALLOWED_PRIVATE_TARGETS = [f"127.0.0.1/32:{canary.port}"]
    assert asyncio.run(fetch(canary.url)) == 200
    assert canary.stop() == 1


# --- respx: other tests mock the guarded client --------------------------------------------------


def test_respx_mocks_the_guarded_client() -> None:
    """respx patches httpcore's connection pool, above the guarded backend: connector tests mock
    public APIs by name, with no DNS and no socket."""
    with respx.mock(assert_all_called=True) as mock:
        mock.get("https://api.airtable.com/v0/meta/whoami").respond(json={"id": "usr1"})
        with guarded_http_client() as client:
            assert client.get("https://api.airtable.com/v0/meta/whoami").json() == {"id": "usr1"}


def test_a_redirect_may_not_leave_https() -> None:
    with respx.mock(assert_all_called=False) as mock:
        start = mock.get("https://api.example.com/start").respond(
            302, headers={"Location": "http://api.example.com/next"}
        )
        downgraded = mock.get("http://api.example.com/next").respond(200)
        with (
            guarded_http_client() as client,
            pytest.raises(ConnectorConfigError, match="https://"),
        ):
            client.get("https://api.example.com/start")
    assert start.called
    assert not downgraded.called
