"""Optional error reporting to Sentry (on when ``SENTRY_DSN`` is set). Nothing personal or secret
leaves: no default PII, request bodies and cookies dropped, and the log redaction keys scrubbed from
every event's extra data as a second line of defence."""

from __future__ import annotations

from typing import Any

from .logging import SECRET_KEYS

SCRUBBED = "[redacted]"


def scrub(event: dict[str, Any], _hint: Any = None) -> dict[str, Any]:
    request = event.get("request") or {}
    for key in ("cookies", "data"):
        request.pop(key, None)
    headers = request.get("headers") or {}
    for name in list(headers):
        if name.lower() in {"authorization", "cookie", "x-ghl-signature", "x-wh-signature",
                            "stripe-signature"}:  # fmt: skip
            headers[name] = SCRUBBED
    for section in ("extra", "contexts"):
        _scrub_mapping(event.get(section) or {})
    return event


def _scrub_mapping(mapping: dict[str, Any]) -> None:
    for key, value in list(mapping.items()):
        if key.lower() in SECRET_KEYS:
            mapping[key] = SCRUBBED
        elif isinstance(value, dict):
            _scrub_mapping(value)


def configure_error_reporting(*, dsn: str, environment: str, traces_sample_rate: float) -> bool:
    if not dsn:
        return False
    import sentry_sdk
    from sentry_sdk.integrations.celery import CeleryIntegration
    from sentry_sdk.integrations.django import DjangoIntegration

    sentry_sdk.init(
        dsn=dsn,
        environment=environment,
        send_default_pii=False,
        traces_sample_rate=traces_sample_rate,
        integrations=[DjangoIntegration(), CeleryIntegration()],
        before_send=scrub,  # type: ignore[arg-type]
    )
    return True
