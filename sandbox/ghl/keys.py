"""Webhook signing keys: generated on first start, persisted so restarts keep them.

``keys_dir`` holds the private keys (mode 0600) and the public halves as ``ed25519_public.pem``
and ``rsa_public.pem`` for the platform's settings to read.
"""

from __future__ import annotations

import base64
import os
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, padding, rsa

ED25519_PRIVATE = "ed25519_private.pem"
RSA_PRIVATE = "rsa_private.pem"
ED25519_PUBLIC = "ed25519_public.pem"
RSA_PUBLIC = "rsa_public.pem"
RSA_BITS = 2048


@dataclass(frozen=True)
class SigningKeys:
    ed25519: ed25519.Ed25519PrivateKey
    rsa: rsa.RSAPrivateKey

    def sign_ed25519(self, body: bytes) -> str:
        return base64.b64encode(self.ed25519.sign(body)).decode("ascii")

    def sign_rsa(self, body: bytes) -> str:
        signature = self.rsa.sign(body, padding.PKCS1v15(), hashes.SHA256())
        return base64.b64encode(signature).decode("ascii")

    def public_pems(self) -> dict[str, str]:
        return {
            "ed25519": _public_pem(self.ed25519.public_key()),
            "rsa": _public_pem(self.rsa.public_key()),
        }


def _public_pem(key: ed25519.Ed25519PublicKey | rsa.RSAPublicKey) -> str:
    return key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode("ascii")


def _private_pem(key: ed25519.Ed25519PrivateKey | rsa.RSAPrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def _write_private(path: Path, data: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)


def load_or_create(keys_dir: Path) -> SigningKeys:
    keys_dir.mkdir(parents=True, exist_ok=True)
    ed_path, rsa_path = keys_dir / ED25519_PRIVATE, keys_dir / RSA_PRIVATE

    if ed_path.exists():
        ed_key = serialization.load_pem_private_key(ed_path.read_bytes(), password=None)
        if not isinstance(ed_key, ed25519.Ed25519PrivateKey):
            raise ValueError(f"{ed_path} is not an Ed25519 key")
    else:
        ed_key = ed25519.Ed25519PrivateKey.generate()
        _write_private(ed_path, _private_pem(ed_key))

    if rsa_path.exists():
        rsa_key = serialization.load_pem_private_key(rsa_path.read_bytes(), password=None)
        if not isinstance(rsa_key, rsa.RSAPrivateKey):
            raise ValueError(f"{rsa_path} is not an RSA key")
    else:
        rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=RSA_BITS)
        _write_private(rsa_path, _private_pem(rsa_key))

    keys = SigningKeys(ed25519=ed_key, rsa=rsa_key)
    pems = keys.public_pems()
    # Public halves are rewritten every start so they always match the private keys.
    (keys_dir / ED25519_PUBLIC).write_text(pems["ed25519"], encoding="ascii")
    (keys_dir / RSA_PUBLIC).write_text(pems["rsa"], encoding="ascii")
    return keys
