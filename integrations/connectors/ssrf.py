"""The SSRF guard: no URL or host a user gives us may reach our own network.

Two moments are guarded. At save time `check_url` refuses what can never be safe: a scheme we do
not speak, a spelling parsers disagree on, a host resolving to a private address. At connect time,
the moment that matters since DNS answers change, `resolve_public_addresses` resolves the host
once and checks every address, and the caller connects to those exact addresses (a second lookup
could answer differently: DNS rebinding). `guarded_http_client` builds that into httpx, for every
connection of every hop, redirects included.

A refused target raises `ConnectorConfigError`. Messages may name the host, never the URL: its
user info may hold a password.

Operations can open chosen private targets (a client's database on a peered network) with the
CONNECTOR_ALLOWED_PRIVATE_TARGETS setting, entries "cidr:port" or "cidr:*". Cloud metadata
services and link-local addresses stay closed whatever it says."""

from __future__ import annotations

import ipaddress
import re
import socket
import unicodedata
from collections.abc import Collection, Iterable, Mapping
from urllib.parse import urlsplit

import anyio.to_thread
import httpcore
import httpx
import idna
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from .base import ConnectorConfigError, ConnectorUnavailable

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def _networks(*cidrs: str) -> tuple[Network, ...]:
    return tuple(ipaddress.ip_network(cidr) for cidr in cidrs)


# IPv4 ranges no one on the internet owns (IANA special-purpose registry), spelled out because
# `is_global` differs between Python releases (3.11.7 calls multicast and 192.0.0.0/24 global).
_NON_PUBLIC_V4 = _networks(
    "0.0.0.0/8", "10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16", "172.16.0.0/12",
    "192.0.0.0/24", "192.0.2.0/24", "192.88.99.0/24", "192.168.0.0/16", "198.18.0.0/15",
    "198.51.100.0/24", "203.0.113.0/24", "224.0.0.0/4", "240.0.0.0/4",
)  # fmt: skip
# IPv6 on the internet is 2000::/3; everything outside it (loopback, IPv4-compatible ::/96,
# IPv4-translated, ULA fc00::/7, link-local, multicast, 64:ff9b:1::/48) is refused, and so are
# these ranges inside it: IETF protocol assignments with Teredo, and the documentation ranges.
_GLOBAL_UNICAST_V6 = ipaddress.IPv6Network("2000::/3")
_NON_PUBLIC_V6 = _networks("2001::/23", "2001:db8::/32", "3fff::/20")
# IPv4-mapped and NAT64 (64:ff9b::/96) addresses carry an IPv4 address in their last 32 bits,
# 6to4 (2002::/16) in bits 16 to 48: each is exactly as public as the IPv4 address it reaches.
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
# Refused even when the allowlist covers them: no client system lives on a link-local address,
# and these answer with the platform's own cloud credentials.
_NEVER = _networks(
    "169.254.0.0/16",  # link-local; AWS, GCP, Azure metadata 169.254.169.254, AWS ECS 169.254.170.2
    "fe80::/10",  # link-local
    "fd00:ec2::/32",  # AWS metadata and DNS over IPv6 (fd00:ec2::254)
    "100.100.100.200/32",  # Alibaba Cloud metadata
    "168.63.129.16/32",  # Azure wire server (a public address, reachable from every Azure VM)
    "192.0.0.192/32",  # Oracle Cloud metadata
)


def _in(address: IPAddress, networks: Iterable[Network]) -> bool:
    return any(address.version == net.version and address in net for net in networks)


def _carried_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address a packet to `address` ends up at, for the forms that embed one."""
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address in _NAT64:
        return ipaddress.IPv4Address(int(address) & 0xFFFF_FFFF)
    return None


def _never(address: IPAddress) -> bool:
    carried = _carried_ipv4(address) if isinstance(address, ipaddress.IPv6Address) else None
    return _in(address, _NEVER) or (carried is not None and _in(carried, _NEVER))


def is_public(address: IPAddress) -> bool:
    """Whether `address` belongs to someone on the internet (and is no cloud metadata service)."""
    if _never(address):
        return False
    if isinstance(address, ipaddress.IPv6Address):
        carried = _carried_ipv4(address)
        if carried is not None:
            return is_public(carried)
        return (
            address in _GLOBAL_UNICAST_V6 and address.is_global and not _in(address, _NON_PUBLIC_V6)
        )
    return address.is_global and not _in(address, _NON_PUBLIC_V4)


def _allowed_target(entry: str) -> tuple[Network, int | None]:
    """One CONNECTOR_ALLOWED_PRIVATE_TARGETS entry: (network, port, or None for any port)."""
    cidr, _, port = entry.strip().rpartition(":")
    try:
        # strict: "10.0.0.7/8" is a typo to report, not a /8 to open silently.
        network = ipaddress.ip_network(cidr.removeprefix("[").removesuffix("]"), strict=True)
        number = None if port == "*" else int(port)
        if number is not None and not 0 < number < 65536:
            raise ValueError(port)
    except ValueError:
        raise ImproperlyConfigured(
            f"CONNECTOR_ALLOWED_PRIVATE_TARGETS: {entry!r} is not 'cidr:port' or 'cidr:*'."
        ) from None
    return network, number


def _permitted(address: IPAddress, port: int) -> bool:
    if _never(address):
        return False
    if is_public(address):
        return True
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped  # what the socket reaches, so what ops listed
    targets = getattr(settings, "CONNECTOR_ALLOWED_PRIVATE_TARGETS", [])
    return any(
        _in(address, [network]) and allowed in (None, port)
        for network, allowed in map(_allowed_target, targets)
    )


# A host name as DNS knows it (underscores occur in real records), with an optional final dot.
_HOST_NAME = re.compile(r"[a-z0-9_-]{1,63}(?:\.[a-z0-9_-]{1,63})*\.?")
# A last label like these makes resolvers read the whole host as an IPv4 address.
_NUMERIC_LABEL = re.compile(r"0x[0-9a-f]*|[0-9]+")


def _normalize_host(host: str) -> str:
    """`host` as ASCII to resolve, refusing the spellings that resolvers read differently."""
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    if not host:
        raise ConnectorConfigError("The address must name a host.")
    if ":" in host:  # only an IPv6 address has a colon here
        if "%" in host:  # a zone (fe80::1%eth0) names one of our own interfaces
            raise ConnectorConfigError("IPv6 addresses with a zone (%) are not accepted.")
        try:
            return str(ipaddress.IPv6Address(host))
        except ValueError:
            raise ConnectorConfigError(f"{host!r} is not a valid IPv6 address.") from None
    if not host.isascii():
        try:
            # UTS #46 maps what browsers map (full-width digits, the ideographic full stop), so a
            # full-width 127.0.0.1 becomes the 127.0.0.1 it would reach and is checked as such.
            host = idna.encode(host, uts46=True).decode("ascii")
        except UnicodeError:  # idna.IDNAError included
            raise ConnectorConfigError(f"{host!r} is not a valid domain name.") from None
    host = host.lower()
    if len(host) > 254 or not _HOST_NAME.fullmatch(host):
        raise ConnectorConfigError(f"{host!r} is not a valid host name.")
    bare = host.removesuffix(".")
    if _NUMERIC_LABEL.fullmatch(bare.rpartition(".")[2]):
        # 2130706433, 0x7f000001, 0177.0.0.1 and 127.1 are all 127.0.0.1 to glibc, but other
        # parsers read some of them differently: accept only the one unambiguous spelling.
        try:
            return str(ipaddress.IPv4Address(host))
        except ValueError:
            raise ConnectorConfigError(
                f"Write the IP address {host!r} as four decimal numbers, like 203.0.113.7."
            ) from None
    if bare == "localhost" or bare.endswith(".localhost"):  # RFC 6761: always this machine
        raise ConnectorConfigError(f"{host!r} is this machine, which connections may not reach.")
    return host


def _lookup(name: str, port: int, shown: str) -> list[IPAddress]:
    try:
        infos = socket.getaddrinfo(name, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        if exc.errno == socket.EAI_AGAIN:  # the resolver failed, not the name
            raise ConnectorUnavailable(
                f"The host {shown!r} could not be resolved just now."
            ) from exc
        raise ConnectorConfigError(f"The host {shown!r} cannot be resolved.") from exc
    # Kept in the resolver's order (RFC 6724 preference), duplicates (one per protocol) dropped.
    addresses = (ipaddress.ip_address(str(info[4][0]).partition("%")[0]) for info in infos)
    return list(dict.fromkeys(addresses))


def resolve_public_addresses(host: str, port: int) -> list[str]:
    """Every address `host` resolves to, each checked public (or allowed for `port` by
    CONNECTOR_ALLOWED_PRIVATE_TARGETS). Connect to these and no others.

    Raises ConnectorConfigError for a refused or unknown host, ConnectorUnavailable when the
    resolver itself fails (retryable)."""
    name, shown = _normalize_host(host), host.removeprefix("[").removesuffix("]")
    if not 0 < port < 65536:
        raise ConnectorConfigError("The port must be a number from 1 to 65535.")
    try:
        addresses: list[IPAddress] = [ipaddress.ip_address(name)]
    except ValueError:
        addresses = _lookup(name, port, shown)
    if not addresses or not all(_permitted(address, port) for address in addresses):
        # Any inward answer refuses the host rather than being skipped: such a name is an attack
        # (or a mistake), and a driver handed the name instead of our address would choose its own.
        raise ConnectorConfigError(
            f"The host {shown!r} points to a private or reserved address, which connections may "
            "not reach."
        )
    return [str(address) for address in addresses]


def resolve_public(host: str, port: int) -> str:
    """The address to connect to for `host` (the first of `resolve_public_addresses`)."""
    return resolve_public_addresses(host, port)[0]


_DEFAULT_PORTS = {
    "https": 443, "http": 80, "postgres": 5432, "postgresql": 5432, "mysql": 3306, "mariadb": 3306,
}  # fmt: skip
_MAX_URL_LENGTH = 2048
_PORT = re.compile(r"[0-9]{1,5}")


def _hidden(char: str) -> bool:
    # Spaces, controls, format characters (zero-width, bidirectional overrides), unassigned: each
    # is stripped, kept or split on differently by the parsers a URL passes through.
    return char.isspace() or unicodedata.category(char) in {"Cc", "Cf", "Cn", "Co", "Cs"}


def _schemes_text(schemes: Collection[str]) -> str:
    return " or ".join(f"{scheme}://" for scheme in sorted(schemes))


def check_url(url: str, *, schemes: Collection[str] = ("https",)) -> None:
    """Refuse, with a message for the person who typed it, a URL connections may not use.

    Resolves the host (blocking, as DNS does) and checks every address; the connection must still
    go through `resolve_public_addresses` or `guarded_http_client`, as DNS answers change."""
    allowed = {scheme.lower() for scheme in schemes}
    if len(url) > _MAX_URL_LENGTH:
        raise ConnectorConfigError(f"The address is longer than {_MAX_URL_LENGTH} characters.")
    if "\\" in url or any(_hidden(char) for char in url):
        raise ConnectorConfigError(
            "The address contains spaces, backslashes or invisible characters; remove them."
        )
    try:
        parts = urlsplit(url)
    except ValueError:
        raise ConnectorConfigError("The address is not a valid URL.") from None
    scheme = parts.scheme.lower()
    if scheme not in allowed:
        raise ConnectorConfigError(f"Only {_schemes_text(allowed)} addresses are accepted.")
    userinfo, _, authority = parts.netloc.rpartition("@")
    if "@" in userinfo:
        raise ConnectorConfigError(
            "The address has more than one '@': write an '@' in a user name or password as %40."
        )
    if authority.startswith("["):
        host, bracket, after = authority[1:].partition("]")
        if not bracket or ":" not in host or (after and not after.startswith(":")):
            raise ConnectorConfigError("The address has a malformed [IPv6] host.")
        port_text = after[1:]
    else:
        host, _, port_text = authority.partition(":")
    if not host:
        raise ConnectorConfigError("The address must name a host.")
    if port_text:
        if not _PORT.fullmatch(port_text) or not 0 < int(port_text) < 65536:
            raise ConnectorConfigError("The port must be a number from 1 to 65535.")
        port = int(port_text)
    elif scheme in _DEFAULT_PORTS:
        port = _DEFAULT_PORTS[scheme]
    else:
        raise ConnectorConfigError("The address must include a port.")
    try:
        resolve_public_addresses(host, port)
    except ConnectorUnavailable as exc:  # at save time, a failed lookup is the user's to retry
        raise ConnectorConfigError(f"{exc.message} Check the name and try again.") from exc


# --- httpx: the guard as httpcore's network backend ----------------------------------------------
#
# httpcore opens every TCP connection through its network backend, handing it the URL's host,
# which it keeps for TLS (SNI, certificate check) while httpx sends it in the Host header. The
# guarded backend resolves and checks that host and connects to the checked address itself, so
# no path (a redirect, a new keep-alive connection, a retry) connects unchecked. respx patches
# httpcore's connection pool above the backend, so tests still mock these clients.

_LIMITS = httpx.Limits(max_connections=10, max_keepalive_connections=5, keepalive_expiry=5.0)


def _refuse_scheme(request: httpx.Request, schemes: frozenset[str]) -> None:
    if request.url.scheme not in schemes:
        raise ConnectorConfigError(
            f"Connections may only use {_schemes_text(schemes)} addresses, redirects included."
        )


class _GuardedBackend(httpcore.NetworkBackend):
    def __init__(self) -> None:
        self._backend = httpcore.SyncBackend()

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.NetworkStream:
        *others, last = resolve_public_addresses(host, port)
        for address in others:  # where an address is unreachable, try the next checked one
            try:
                return self._backend.connect_tcp(
                    address, port, timeout, local_address, socket_options
                )
            except httpcore.ConnectError:
                continue
        return self._backend.connect_tcp(last, port, timeout, local_address, socket_options)

    def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.NetworkStream:
        raise ConnectorConfigError("Connections may not use local sockets.")

    def sleep(self, seconds: float) -> None:
        self._backend.sleep(seconds)


class _AsyncGuardedBackend(httpcore.AsyncNetworkBackend):
    def __init__(self) -> None:
        self._backend = httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        # getaddrinfo blocks: resolve in a worker thread, as anyio's own connect does.
        *others, last = await anyio.to_thread.run_sync(resolve_public_addresses, host, port)
        for address in others:
            try:
                return await self._backend.connect_tcp(
                    address, port, timeout, local_address, socket_options
                )
            except httpcore.ConnectError:
                continue
        return await self._backend.connect_tcp(last, port, timeout, local_address, socket_options)

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        raise ConnectorConfigError("Connections may not use local sockets.")

    async def sleep(self, seconds: float) -> None:
        await self._backend.sleep(seconds)


class _GuardedTransport(httpx.HTTPTransport):
    def __init__(self, schemes: Collection[str]) -> None:
        super().__init__(trust_env=False)
        self._schemes = frozenset(scheme.lower() for scheme in schemes)
        # httpx takes no network backend, so its pool (not yet connected) is swapped for the same
        # pool over the guarded backend.
        self._pool.close()
        self._pool = httpcore.ConnectionPool(
            ssl_context=httpx.create_ssl_context(),
            max_connections=_LIMITS.max_connections,
            max_keepalive_connections=_LIMITS.max_keepalive_connections,
            keepalive_expiry=_LIMITS.keepalive_expiry,
            network_backend=_GuardedBackend(),
        )

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        _refuse_scheme(request, self._schemes)  # every hop passes here, redirects included
        return super().handle_request(request)


class _AsyncGuardedTransport(httpx.AsyncHTTPTransport):
    def __init__(self, schemes: Collection[str]) -> None:
        super().__init__(trust_env=False)
        self._schemes = frozenset(scheme.lower() for scheme in schemes)
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=httpx.create_ssl_context(),
            max_connections=_LIMITS.max_connections,
            max_keepalive_connections=_LIMITS.max_keepalive_connections,
            keepalive_expiry=_LIMITS.keepalive_expiry,
            network_backend=_AsyncGuardedBackend(),
        )

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        _refuse_scheme(request, self._schemes)
        return await super().handle_async_request(request)


def guarded_http_client(
    *,
    timeout: float = 30.0,
    headers: Mapping[str, str] | None = None,
    max_redirects: int = 5,
    schemes: Collection[str] = ("https",),
) -> httpx.Client:
    """An httpx client for URLs users give us: each connection of each hop (redirects, at most
    `max_redirects`, included) goes to an address `resolve_public_addresses` checked, and only
    over `schemes`. A refusal raises ConnectorConfigError out of the call, unwrapped by httpx;
    the client never uses a proxy (one would connect where the guard cannot look)."""
    return httpx.Client(
        transport=_GuardedTransport(schemes),
        headers=headers,
        timeout=timeout,
        follow_redirects=True,
        max_redirects=max_redirects,
        trust_env=False,
    )


def guarded_async_http_client(
    *,
    timeout: float = 30.0,
    headers: Mapping[str, str] | None = None,
    max_redirects: int = 5,
    schemes: Collection[str] = ("https",),
) -> httpx.AsyncClient:
    """`guarded_http_client` for asyncio (and trio): an httpx.AsyncClient."""
    return httpx.AsyncClient(
        transport=_AsyncGuardedTransport(schemes),
        headers=headers,
        timeout=timeout,
        follow_redirects=True,
        max_redirects=max_redirects,
        trust_env=False,
    )
