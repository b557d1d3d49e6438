"""Encryption at rest for secrets we must be able to read back (GHL tokens, connector credentials).

MultiFernet over ``settings.TOKEN_ENCRYPTION_KEYS`` (newest first): new values are encrypted under
the newest key, values under any listed key decrypt, and ``rotate`` re-encrypts under the newest.
"""

from functools import cache
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.signals import setting_changed
from django.db import models
from django.dispatch import receiver

__all__ = ["EncryptedTextField", "InvalidToken", "decrypt", "encrypt", "rotate"]


@cache
def _cipher() -> MultiFernet:
    keys = settings.TOKEN_ENCRYPTION_KEYS
    if not keys:
        raise ImproperlyConfigured("TOKEN_ENCRYPTION_KEYS is empty: secrets cannot be stored.")
    try:
        return MultiFernet([Fernet(key) for key in keys])
    except (ValueError, TypeError) as exc:
        raise ImproperlyConfigured(
            "TOKEN_ENCRYPTION_KEYS must be Fernet keys (url-safe base64 of 32 bytes)."
        ) from exc


@receiver(setting_changed)
def _reset_cipher(*, setting: str, **_: Any) -> None:
    if setting == "TOKEN_ENCRYPTION_KEYS":
        _cipher.cache_clear()


def encrypt(plaintext: str) -> str:
    return _cipher().encrypt(plaintext.encode()).decode()


def decrypt(ciphertext: str) -> str:
    return _cipher().decrypt(ciphertext.encode()).decode()


def rotate(ciphertext: str) -> str:
    """The same secret, re-encrypted under the newest key."""
    return _cipher().rotate(ciphertext.encode()).decode()


class EncryptedTextField(models.TextField):  # type: ignore[type-arg]
    """Stores Fernet ciphertext; Python code sees the plaintext. Not searchable by value."""

    def from_db_value(self, value: str | None, *_: Any) -> str | None:
        return None if value is None else decrypt(value)

    def get_prep_value(self, value: Any) -> Any:
        value = super().get_prep_value(value)
        return None if value is None else encrypt(str(value))
