"""HTTP interfaces of billing on the platform host: the two Stripe webhook endpoints."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.http import require_POST

from saas_platform.kernel.logging import get_logger
from saas_platform.kernel.machine import machine_endpoint

from .models import StripeEvent
from .webhooks import SIGNATURE_HEADER, receive

log = get_logger(__name__)


def _answer(request: HttpRequest, *, source: str, secrets: list[str]) -> HttpResponse:
    try:
        answer = receive(
            source=source,
            body=request.body,
            signature=request.headers.get(SIGNATURE_HEADER, ""),
            secrets=secrets,
            tolerance=settings.STRIPE_WEBHOOK_TOLERANCE_SECONDS,
            max_bytes=settings.STRIPE_WEBHOOK_MAX_BYTES,
        )
    except Exception:  # a bug must not lose the event: Stripe retries what it is not given a 2xx
        log.exception("billing.webhook.crashed", source=source)
        response = JsonResponse({"error": "temporarily unable to take the event"}, status=429)
        response["Retry-After"] = "60"
        return response
    return JsonResponse(answer.body, status=answer.status)


@machine_endpoint
@require_POST
def platform_webhook(request: HttpRequest) -> HttpResponse:
    return _answer(
        request, source=StripeEvent.Source.PLATFORM, secrets=settings.STRIPE_WEBHOOK_SECRETS
    )


@machine_endpoint
@require_POST
def connect_webhook(request: HttpRequest) -> HttpResponse:
    return _answer(
        request, source=StripeEvent.Source.CONNECT, secrets=settings.STRIPE_CONNECT_WEBHOOK_SECRETS
    )
