"""Encryption at rest with MultiFernet over the configured key list."""

import pytest
from cryptography.fernet import Fernet, InvalidToken
from django.core.exceptions import ImproperlyConfigured
from django.test import override_settings

from saas_platform.kernel import crypto


def test_round_trip_and_ciphertext_differs_each_time() -> None:
    first, second = crypto.encrypt("s3cret-token"), crypto.encrypt("s3cret-token")
    assert first != second and "s3cret" not in first
    assert crypto.decrypt(first) == "s3cret-token"


def test_values_under_an_older_key_stay_readable_and_rotate_to_the_newest() -> None:
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    with override_settings(TOKEN_ENCRYPTION_KEYS=[old]):
        legacy = crypto.encrypt("refresh-123")
    with override_settings(TOKEN_ENCRYPTION_KEYS=[new, old]):
        assert crypto.decrypt(legacy) == "refresh-123"
        rotated = crypto.rotate(legacy)
    with override_settings(TOKEN_ENCRYPTION_KEYS=[new]):
        assert crypto.decrypt(rotated) == "refresh-123"
        with pytest.raises(InvalidToken):
            crypto.decrypt(legacy)


def test_missing_or_malformed_keys_are_refused() -> None:
    with override_settings(TOKEN_ENCRYPTION_KEYS=[]), pytest.raises(ImproperlyConfigured):
        crypto.encrypt("x")
    with (
        override_settings(TOKEN_ENCRYPTION_KEYS=["not-a-key"]),
        pytest.raises(ImproperlyConfigured, match="Fernet"),
    ):
        crypto.encrypt("x")


def test_the_field_stores_ciphertext_and_reads_plaintext() -> None:
    field = crypto.EncryptedTextField()
    stored = field.get_prep_value("access-abc")
    assert stored != "access-abc"
    assert field.from_db_value(stored, None, None) == "access-abc"
    assert field.get_prep_value(None) is None
