"""Outbound network is blocked in tests: only loopback and Unix sockets may be reached, so a test
that would call a real service fails loudly instead of leaking out (or hanging)."""

import ipaddress
import socket
from typing import Any

_real_connect = socket.socket.connect
_real_connect_ex = socket.socket.connect_ex


class BlockedNetworkError(OSError):
    pass


def _is_allowed(address: Any) -> bool:
    if isinstance(address, str | bytes):  # AF_UNIX
        return True
    host = address[0]
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _guarded_connect(self: socket.socket, address: Any) -> None:
    if not _is_allowed(address):
        raise BlockedNetworkError(f"Tests may not reach {address!r}: outbound network is blocked.")
    _real_connect(self, address)


def _guarded_connect_ex(self: socket.socket, address: Any) -> int:
    if not _is_allowed(address):
        raise BlockedNetworkError(f"Tests may not reach {address!r}: outbound network is blocked.")
    return _real_connect_ex(self, address)


def block_outbound_network() -> None:
    socket.socket.connect = _guarded_connect  # type: ignore[method-assign]
    socket.socket.connect_ex = _guarded_connect_ex  # type: ignore[method-assign]
