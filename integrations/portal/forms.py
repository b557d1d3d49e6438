"""What the workspace forms share: a service's refusal placed next to the field it is about."""

from __future__ import annotations

import re
from collections.abc import Sequence

from django import forms

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
