from django.apps import AppConfig
from django.conf import settings


class SaasPlatformConfig(AppConfig):
    name = "saas_platform"
    verbose_name = "Platform"

    def ready(self) -> None:
        from saas_platform.kernel.logging import configure_logging

        configure_logging(level=settings.LOG_LEVEL, json=settings.LOG_JSON)
