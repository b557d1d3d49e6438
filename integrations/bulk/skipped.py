"""The outcome of a bulk action that had nothing to do (apart so each action module raises it)."""

from __future__ import annotations


class Skipped(Exception):
    """Nothing to do for this location; the message says why."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message
