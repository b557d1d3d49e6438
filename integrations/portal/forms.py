"""What the workspace forms share: a service's refusal placed next to the field it is about."""

from __future__ import annotations

import re
from collections.abc import Collection, Sequence
from typing import Any

from django import forms
from django.http import QueryDict

# The portal is white-label: the services' messages name the CRM they sync with, the portal
# says "CRM" instead.
_VENDOR = re.compile(r"\bGHL\b")


def unbranded(text: str) -> str:
    return _VENDOR.sub("CRM", text)


def place_error(form: forms.Form, message: str, routes: Sequence[tuple[str, str]]) -> None:
    """Add `message` to the first field whose marker the message contains (case-insensitive),
    or to the form as a whole: the services explain problems in words, not field names."""
    message = unbranded(message)
    lowered = message.casefold()
    for marker, field in routes:
        if marker.casefold() in lowered and field in form.fields:
            form.add_error(field, message)
            return
    form.add_error(None, message)


MORE_ROWS = "more_rows"  # the submit button that asks for more rows instead of saving
ROWS_ADDED = 3


def wants_more_rows(post: QueryDict) -> bool:
    return MORE_ROWS in post


def initial_from_post(
    post: QueryDict, *, lists: Collection[str], drop: Collection[str] = ()
) -> dict[str, Any]:
    """What was typed, as a form's initial values: the form comes back with more empty rows,
    unvalidated (no errors shown yet). `drop`: fields never rendered back (credentials)."""
    return {
        key: post.getlist(key) if key in lists else post.get(key)
        for key in post
        if key not in drop and key != "csrfmiddlewaretoken"
    }
