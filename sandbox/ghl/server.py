"""Running the app under uvicorn, with the connection transport exposed for fault injection.

ASGI gives an application no handle on its TCP connection, but "drop the connection" and
"reset the connection" faults need one; a thin subclass of uvicorn's httptools protocol puts
the transport into ``scope["extensions"]``.
"""

from __future__ import annotations

import asyncio
from typing import Any

import uvicorn
from starlette.types import ASGIApp

from sandbox.ghl.pipeline import TRANSPORT_KEY


def _protocol_class() -> Any:
    try:
        from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
    except ImportError:  # pragma: no cover - httptools is part of uvicorn[standard]
        return "auto"

    class TransportExposingProtocol(HttpToolsProtocol):
        def on_message_begin(self) -> None:
            super().on_message_begin()
            self.scope["extensions"] = {TRANSPORT_KEY: {"transport": self.transport}}

    return TransportExposingProtocol


def run(app: ASGIApp, host: str, port: int, log_level: str = "warning") -> None:
    try:
        import uvloop  # noqa: F401

        loop = "uvloop"
    except ImportError:  # pragma: no cover
        loop = "asyncio"
    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        http=_protocol_class(),
        loop=loop,
        log_level=log_level,
        access_log=False,
        lifespan="on",
        backlog=4096,
        timeout_keep_alive=30,
    )
    server = uvicorn.Server(config)
    asyncio.run(server.serve()) if loop == "asyncio" else server.run()
