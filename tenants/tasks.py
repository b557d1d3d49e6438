"""Background work of the tenancy core (queue: default). Tasks take ids and call services."""

from datetime import timedelta

from celery import shared_task
from django.utils import timezone

from .models import AgencyDomain

RECHECK_WINDOW = timedelta(days=7)


@shared_task
def agency_domain_check(domain_id: int) -> bool:
    from . import services

    domain = AgencyDomain.objects.unscoped().filter(pk=domain_id).select_related("agency").first()
    if domain is None:  # removed before the check ran
        return False
    return services.agency_domain_check(domain=domain)


@shared_task
def agency_domains_recheck() -> int:
    """Re-check custom domains still waiting for their DNS record (added within a week)."""
    pending = AgencyDomain.objects.unscoped().filter(
        kind=AgencyDomain.Kind.CUSTOM,
        verified_at__isnull=True,
        created_at__gte=timezone.now() - RECHECK_WINDOW,
    )
    ids = list(pending.values_list("pk", flat=True))
    for domain_id in ids:
        agency_domain_check.delay(domain_id)
    return len(ids)
