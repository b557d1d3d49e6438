"""Test keys that sign webhook bodies the way GHL does (Ed25519 and RSA over the raw bytes)."""

from __future__ import annotations

import base64
import json
import uuid
from dataclasses import dataclass, field
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa
from cryptography.hazmat.primitives.asymmetric.padding import PKCS1v15
from cryptography.hazmat.primitives.hashes import SHA256

APP_ID = "66d0a1b2c3d4e5f601234567"


def _public_pem(key: Any) -> str:
    pem: bytes = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return pem.decode()


@dataclass
class Signer:
    ed: ed25519.Ed25519PrivateKey = field(default_factory=ed25519.Ed25519PrivateKey.generate)
    rsa_key: rsa.RSAPrivateKey = field(
        default_factory=lambda: rsa.generate_private_key(public_exponent=65537, key_size=2048)
    )

    @property
    def ed_public(self) -> str:
        return _public_pem(self.ed)

    @property
    def rsa_public(self) -> str:
        return _public_pem(self.rsa_key)

    def ed_sign(self, body: bytes) -> str:
        return base64.b64encode(self.ed.sign(body)).decode()

    def rsa_sign(self, body: bytes) -> str:
        return base64.b64encode(self.rsa_key.sign(body, PKCS1v15(), SHA256())).decode()

    def headers(self, body: bytes, *, ed: bool = True, rsa_too: bool = True) -> dict[str, str]:
        headers = {}
        if ed:
            headers["HTTP_X_GHL_SIGNATURE"] = self.ed_sign(body)
        if rsa_too:
            headers["HTTP_X_WH_SIGNATURE"] = self.rsa_sign(body)
        return headers


def event(kind: str, **fields: Any) -> dict[str, Any]:
    return {
        "type": kind,
        "appId": APP_ID,
        "webhookId": str(uuid.uuid4()),
        "timestamp": "2026-11-28T10:00:00.000Z",
        **fields,
    }


def compact(payload: dict[str, Any]) -> bytes:
    return json.dumps(payload, separators=(",", ":")).encode()
