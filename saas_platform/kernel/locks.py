"""PostgreSQL advisory locks: held by a worker for the length of a job, or until a transaction
ends.

A session-level lock belongs to the database connection, so PostgreSQL releases it the moment a
worker dies and its connection drops: "is anyone still doing this job?" is answered by the engine,
not by a timer that guesses."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from django.db import connection


@contextmanager
def session_lock(namespace: int, key: int) -> Iterator[bool]:
    """Try to take the `(namespace, key)` lock without waiting; yields whether it was taken, and
    releases it on the way out."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s, %s)", [namespace, key])
        (locked,) = cursor.fetchone()
    try:
        yield bool(locked)
    finally:
        if locked:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_unlock(%s, %s)", [namespace, key])


def transaction_lock(key: str) -> None:
    """Wait for the lock named `key` and hold it until the current transaction ends: work on one
    object (a Stripe subscription, a tenant's entitlements) runs one transaction at a time, and
    the next holder's READ COMMITTED queries see what the previous one committed."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))", [key])
