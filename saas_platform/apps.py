from django.apps import AppConfig
from django.conf import settings


class SaasPlatformConfig(AppConfig):
    name = "saas_platform"
    verbose_name = "Platform"

    def ready(self) -> None:
        from saas_platform import checks  # noqa: F401 — registers the deploy checks
        from saas_platform.kernel.errors_reporting import configure_error_reporting
        from saas_platform.kernel.logging import configure_logging

        configure_logging(level=settings.LOG_LEVEL, json=settings.LOG_JSON)
        configure_error_reporting(
            dsn=settings.SENTRY_DSN,
            environment=settings.SENTRY_ENVIRONMENT,
            traces_sample_rate=settings.SENTRY_TRACES_SAMPLE_RATE,
        )
