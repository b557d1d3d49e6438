import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "saas_platform.settings.local")

django_application = get_wsgi_application()

# Imported once Django is set up. GHL's webhooks skip Django's request machinery (see receiver).
from integrations.ghl.receiver import WebhookFastPath  # noqa: E402

application = WebhookFastPath(django_application)
