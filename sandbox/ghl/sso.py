"""GHL's side of embedded SSO: the user context encrypted the way crypto-js
``AES.encrypt(JSON.stringify(context), sharedSecret)`` does (OpenSSL "Salted__" format, MD5
EVP_BytesToKey, AES-256-CBC, PKCS#7), and the parent page that frames a custom menu link.

Written independently of the product's decryptor, so the two check each other in tests."""

from __future__ import annotations

import base64
import hashlib
import json
import os
from html import escape
from typing import Any

from cryptography.hazmat.primitives import padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

CONTEXT_FIELDS = ("userId", "companyId", "role", "type", "activeLocation", "userName", "email")


def _openssl_key_iv(passphrase: bytes, salt: bytes) -> tuple[bytes, bytes]:
    material, previous = b"", b""
    while len(material) < 48:
        previous = hashlib.md5(previous + passphrase + salt, usedforsecurity=False).digest()
        material += previous
    return material[:32], material[32:48]


def encrypt(plaintext: str, passphrase: str, salt: bytes | None = None) -> str:
    salt = os.urandom(8) if salt is None else salt
    key, iv = _openssl_key_iv(passphrase.encode(), salt)
    padder = padding.PKCS7(128).padder()
    padded = padder.update(plaintext.encode()) + padder.finalize()
    encryptor = Cipher(algorithms.AES(key), modes.CBC(iv)).encryptor()
    sealed = encryptor.update(padded) + encryptor.finalize()
    return base64.b64encode(b"Salted__" + salt + sealed).decode()


def user_context(data: dict[str, Any]) -> dict[str, Any]:
    """The context GHL sends: its field names only; ``activeLocation`` only for a location."""
    context = {k: data[k] for k in CONTEXT_FIELDS if data.get(k) not in (None, "")}
    if context.get("type") != "location":
        context.pop("activeLocation", None)
    return context


def encrypted_context(data: dict[str, Any], passphrase: str) -> str:
    return encrypt(
        json.dumps(user_context(data), ensure_ascii=False, separators=(",", ":")), passphrase
    )


PARENT_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>CRM stand-in: custom menu link</title>
<style>body{{margin:0;font-family:sans-serif}}
header{{padding:8px 16px;background:#1f2937;color:#fff}}
iframe{{border:0;width:100%;height:calc(100vh - 40px)}}</style></head>
<body><header>CRM stand-in · custom menu link · signed in as {who}</header>
<iframe id="custom-page" title="Custom menu page" src="{url}"></iframe>
<script>
(function () {{
  var frame = document.getElementById("custom-page");
  var payload = {payload};
  var origin = new URL(frame.src).origin;
  window.addEventListener("message", function (event) {{
    if (event.source !== frame.contentWindow) {{ return; }}
    if (!event.data || event.data.message !== "REQUEST_USER_DATA") {{ return; }}
    frame.contentWindow.postMessage(
      {{ message: "REQUEST_USER_DATA_RESPONSE", payload: payload }}, origin);
  }});
}})();
</script></body></html>
"""


def parent_page(url: str, payload: str, who: str) -> str:
    """GHL's frame around a custom menu link: answers the page's REQUEST_USER_DATA."""
    return PARENT_PAGE.format(url=escape(url), payload=json.dumps(payload), who=escape(who))
