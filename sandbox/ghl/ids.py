"""Identifier formats GHL uses (REFERENCE §2.2)."""

from __future__ import annotations

import random
import secrets
import string
import uuid

ALNUM = string.ascii_letters + string.digits
# Maps every byte onto the alphabet; the slight modulo bias does not matter for sandbox ids.
_BYTE_TO_ALNUM = bytes(ord(ALNUM[i % len(ALNUM)]) for i in range(256))


def new_id(rng: random.Random | None = None) -> str:
    """20-char alphanumeric id (locations, contacts, users, opportunities, calendars, ...)."""
    if rng is not None:
        return rng.randbytes(20).translate(_BYTE_TO_ALNUM).decode("ascii")
    return "".join(secrets.choice(ALNUM) for _ in range(20))


def new_hex24(rng: random.Random | None = None) -> str:
    """24-hex id (appId, versionId, planId)."""
    if rng is not None:
        return f"{rng.getrandbits(96):024x}"
    return secrets.token_hex(12)


def new_uuid(rng: random.Random | None = None) -> str:
    """UUID v4 (pipeline stage ids)."""
    if rng is not None:
        return str(uuid.UUID(int=rng.getrandbits(128), version=4))
    return str(uuid.uuid4())


def trace_id() -> str:
    return str(uuid.uuid4())
