"""Structured logging: dotted event names (``tenants.domain.added``), tenant and request ids bound
from context, JSON in production, readable lines in development. Never pass a token to a logger:
``redact`` scrubs the keys that could hold one, as a second line of defence."""

import logging
import logging.config
from collections.abc import MutableMapping
from typing import Any

import structlog

SECRET_KEYS = frozenset(
    {
        "access_token",
        "refresh_token",
        "token",
        "password",
        "secret",
        "client_secret",
        "authorization",
        "api_key",
        "code",
    }
)


def redact(
    _logger: Any, _method: str, event_dict: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    for key in list(event_dict):
        if key.lower() in SECRET_KEYS:
            event_dict[key] = "[redacted]"
    return event_dict


def configure_logging(*, level: str, json: bool) -> None:
    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        redact,
    ]
    renderer: Any = (
        structlog.processors.JSONRenderer() if json else structlog.dev.ConsoleRenderer(colors=False)
    )
    structlog.configure(
        # Dropped below the level before any processor runs: a filtered line costs next to nothing.
        processors=[
            structlog.stdlib.filter_by_level,
            *shared,
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    logging.config.dictConfig(
        {
            "version": 1,
            "disable_existing_loggers": False,
            "formatters": {
                "structured": {
                    "()": structlog.stdlib.ProcessorFormatter,
                    "processors": [
                        structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                        renderer,
                    ],
                    "foreign_pre_chain": shared,
                }
            },
            "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "structured"}},
            "root": {"handlers": ["console"], "level": level},
            "loggers": {
                "django.db.backends": {"level": "WARNING"},
                "httpx": {"level": "WARNING"},
            },
        }
    )


def get_logger(name: str) -> Any:
    return structlog.stdlib.get_logger(name)
