"""Typed access to the GHL app's settings (client credentials, hosts, webhook keys)."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey
from cryptography.hazmat.primitives.serialization import load_pem_public_key
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured


@dataclass(frozen=True)
class GhlApp:
    client_id: str
    client_secret: str
    api_base: str
    marketplace_base: str
    scopes: tuple[str, ...]
    timeout: float

    @property
    def app_id(self) -> str:
        """GHL's app id is the part of the client id before the first dash."""
        return self.client_id.split("-", 1)[0]


def ghl_app() -> GhlApp:
    if not settings.GHL_CLIENT_ID or not settings.GHL_CLIENT_SECRET:
        raise ImproperlyConfigured("GHL_CLIENT_ID and GHL_CLIENT_SECRET must be set.")
    return GhlApp(
        client_id=settings.GHL_CLIENT_ID,
        client_secret=settings.GHL_CLIENT_SECRET,
        api_base=settings.GHL_API_BASE.rstrip("/"),
        marketplace_base=settings.GHL_MARKETPLACE_BASE.rstrip("/"),
        scopes=tuple(settings.GHL_SCOPES),
        timeout=float(settings.GHL_HTTP_TIMEOUT_SECONDS),
    )


def _pem(value: str) -> bytes:
    """A key given inline (PEM text) or as the path of a PEM file."""
    text = value.strip()
    if text.startswith("-----BEGIN"):
        return text.encode()
    path = Path(text)
    if not path.is_file():
        raise ImproperlyConfigured(f"GHL webhook key {text!r} is neither PEM text nor a file.")
    return path.read_bytes()


@lru_cache(maxsize=8)
def _load_keys(
    ed25519: tuple[str, ...], rsa: tuple[str, ...]
) -> tuple[tuple[Ed25519PublicKey, ...], tuple[RSAPublicKey, ...]]:
    ed_keys, rsa_keys = [], []
    for value in ed25519:
        key = load_pem_public_key(_pem(value))
        if not isinstance(key, Ed25519PublicKey):
            raise ImproperlyConfigured("A GHL_WEBHOOK_ED25519_KEYS entry is not an Ed25519 key.")
        ed_keys.append(key)
    for value in rsa:
        key = load_pem_public_key(_pem(value))
        if not isinstance(key, RSAPublicKey):
            raise ImproperlyConfigured("A GHL_WEBHOOK_RSA_KEYS entry is not an RSA key.")
        rsa_keys.append(key)
    return tuple(ed_keys), tuple(rsa_keys)


def webhook_keys() -> tuple[tuple[Ed25519PublicKey, ...], tuple[RSAPublicKey, ...]]:
    """The configured verification keys (up to two of each during a key change)."""
    return _load_keys(
        tuple(settings.GHL_WEBHOOK_ED25519_KEYS), tuple(settings.GHL_WEBHOOK_RSA_KEYS)
    )
