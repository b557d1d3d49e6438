"""HTTP interfaces of billing: the two Stripe webhook endpoints (platform host), and the client's
ways to Stripe's hosted Checkout and customer portal (agency domains)."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.views.decorators.http import require_GET, require_POST

from saas_platform.kernel.errors import ApplicationError, NotFound
from saas_platform.kernel.logging import get_logger
from saas_platform.kernel.machine import machine_endpoint
from tenants import selectors as tenant_selectors
from tenants.models import Location, User

from .models import Plan, StripeEvent
from .services.checkout import billing_page_path, checkout_start
from .services.subscriptions import subscription_portal_url
from .stripe_api import StripeCallError
from .webhooks import SIGNATURE_HEADER, receive

log = get_logger(__name__)


def _answer(request: HttpRequest, *, source: str, secrets: list[str]) -> HttpResponse:
    declared = request.META.get("CONTENT_LENGTH") or "0"
    if not declared.isdigit() or int(declared) > settings.STRIPE_WEBHOOK_MAX_BYTES:
        # Refused before the body is read into memory.
        return JsonResponse({"error": "bad or too large body"}, status=413)
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


# --- on agency domains ----------------------------------------------------------------------------


def _billable_location(request: HttpRequest, location_id: int) -> tuple[User, Location]:
    """The location, when the visitor may manage its billing on this agency's domain; else 404."""
    agency = getattr(request, "agency", None)
    user = request.user
    if agency is None or not isinstance(user, User):
        raise Http404
    try:
        location = tenant_selectors.location_get_for_user(
            user=user, agency=agency, location_id=location_id
        )
    except NotFound as exc:
        raise Http404 from exc
    if not tenant_selectors.may_manage_location_billing(user=user, location=location):
        raise Http404
    return user, location


@login_required
@require_POST
def checkout(request: HttpRequest, location_id: int, plan_id: int) -> HttpResponse:
    """Start paying for one of the agency's plans: 303 to Stripe's hosted Checkout."""
    user, location = _billable_location(request, location_id)
    plan: Plan | None = Plan.objects.for_agency(location.agency).filter(pk=plan_id).first()
    if plan is None:
        raise Http404
    try:
        url = checkout_start(location=location, plan=plan, acting_user=user)
    except StripeCallError as exc:
        log.warning("billing.checkout.unavailable", location_id=location.pk, error=exc.message)
        return HttpResponse("Payment cannot be started right now.", status=503)
    except ApplicationError as exc:
        return HttpResponse(exc.message, status=400, content_type="text/plain")
    response = HttpResponse(status=303)  # the POST becomes a GET of Stripe's page
    response["Location"] = url
    return response


@login_required
@require_GET
def payment_portal(request: HttpRequest, location_id: int) -> HttpResponse:
    """The link in payment reminders: straight to Stripe's customer portal for the client's
    subscription, for the client's admins and the agency's owners and admins only."""
    _, location = _billable_location(request, location_id)
    back = tenant_selectors.agency_portal_url(location.agency, billing_page_path(location))
    try:
        url = subscription_portal_url(location=location, return_url=back)
    except NotFound as exc:
        raise Http404 from exc
    except (ApplicationError, StripeCallError) as exc:
        log.warning("billing.portal.unavailable", location_id=location.pk, error=exc.message)
        return HttpResponse("Payment details cannot be opened right now.", status=503)
    return HttpResponseRedirect(url)
