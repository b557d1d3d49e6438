"""Re-encrypting every encrypted column under the newest key, while the platform keeps running.

Each batch locks its rows, rotates their ciphertext with MultiFernet (decrypt with whichever key
fits, encrypt with the newest) and writes it back with plain SQL, so no `updated_at` moves and no
reader ever sees a value it cannot decrypt: until an old key leaves TOKEN_ENCRYPTION_KEYS, both
old and new ciphertexts read fine."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from cryptography.fernet import Fernet, InvalidToken
from django.apps import apps
from django.conf import settings
from django.db import connection, models, transaction

from .crypto import EncryptedTextField, rotate


@dataclass
class ColumnReport:
    table: str
    column: str
    rows: int = 0
    rotated: int = 0
    already_newest: int = 0


def encrypted_columns() -> Iterator[tuple[type[models.Model], list[str]]]:
    for model in apps.get_models():
        names = [f.column for f in model._meta.concrete_fields if isinstance(f, EncryptedTextField)]
        if names:
            yield model, names


def _under_newest(ciphertext: str, newest: Fernet) -> bool:
    try:
        newest.decrypt(ciphertext.encode())
    except InvalidToken:
        return False
    return True


def rotate_all(*, batch_size: int = 500, dry_run: bool = False) -> list[ColumnReport]:
    newest = Fernet(settings.TOKEN_ENCRYPTION_KEYS[0])
    reports = []
    quote = connection.ops.quote_name
    for model, columns in encrypted_columns():
        table, pk = model._meta.db_table, model._meta.pk.column
        for column in columns:
            report = ColumnReport(table, column)
            last = None
            while True:
                with transaction.atomic(), connection.cursor() as cursor:
                    after = "" if last is None else f"WHERE {quote(pk)} > %s "
                    cursor.execute(
                        f"SELECT {quote(pk)}, {quote(column)} FROM {quote(table)} {after}"  # noqa: S608
                        f"ORDER BY {quote(pk)} LIMIT %s FOR UPDATE",
                        ([last] if last is not None else []) + [batch_size],
                    )
                    rows = cursor.fetchall()
                    if not rows:
                        break
                    last = rows[-1][0]
                    report.rows += len(rows)
                    updates = []
                    for row_pk, ciphertext in rows:
                        if not ciphertext or _under_newest(ciphertext, newest):
                            report.already_newest += 1
                            continue
                        updates.append((rotate(ciphertext), row_pk))
                    report.rotated += len(updates)
                    if updates and not dry_run:
                        values = ", ".join(["(%s, %s)"] * len(updates))
                        cursor.execute(
                            f"UPDATE {quote(table)} AS t SET {quote(column)} = v.value "  # noqa: S608
                            f"FROM (VALUES {values}) AS v(value, key) "
                            f"WHERE t.{quote(pk)} = v.key",
                            [item for pair in updates for item in pair],
                        )
            reports.append(report)
    return reports
