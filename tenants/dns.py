"""The DNS look-up behind custom-domain verification."""

import dns.exception
import dns.resolver
from django.conf import settings

VERIFY_PREFIX = "_portal-verify"


def verification_record_name(domain: str) -> str:
    return f"{VERIFY_PREFIX}.{domain}"


def txt_values(name: str) -> set[str]:
    """Every TXT string published at `name`; empty when there is none or DNS cannot answer."""
    resolver = dns.resolver.Resolver(configure=not settings.DNS_NAMESERVERS)
    if settings.DNS_NAMESERVERS:
        resolver.nameservers = list(settings.DNS_NAMESERVERS)
        resolver.port = settings.DNS_PORT
    resolver.lifetime = settings.DNS_TIMEOUT_SECONDS
    try:
        answer = resolver.resolve(name, "TXT")
    except (dns.exception.DNSException, OSError):
        return set()
    return {b"".join(rdata.strings).decode(errors="replace") for rdata in answer}
