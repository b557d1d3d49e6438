"""A client's own PostgreSQL database, for the connections that sync with one."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from psycopg import sql

SERVER = "postgresql://postgres@127.0.0.1:5432"


@pytest.fixture
def client_db(settings: Any) -> Iterator[str]:
    """A scratch database on this machine's PostgreSQL (dropped after), its URL; the SSRF guard
    is told to let connections reach that server, as an operator would for an on-site one."""
    settings.CONNECTOR_ALLOWED_PRIVATE_TARGETS = ["127.0.0.1/32:5432"]
    name = f"client_db_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(f"{SERVER}/postgres", autocommit=True) as admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield f"{SERVER}/{name}"
    finally:
        with psycopg.connect(f"{SERVER}/postgres", autocommit=True) as admin:
            admin.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )
