"""Services that change tenants. Each one validates, writes in one transaction, records an audit
entry, and schedules side effects for after the commit."""

from .agencies import (
    AGENCY_EDITABLE,
    BRANDING_EDITABLE,
    agency_create,
    agency_domain_add,
    agency_domain_check,
    agency_domain_check_later,
    agency_domain_make_primary,
    agency_domain_remove,
    agency_domain_verify,
    agency_link_ghl_company,
    agency_onboard_from_ghl,
    agency_update,
    branding_update,
    normalize_domain,
    platform_subdomain,
)
from .agency_entitlements import (
    AGENCY_ENTITLEMENT_KEYS,
    agency_entitlements_set,
    agency_entitlements_validate,
    agency_location_capacity_check,
)
from .common import audit_record
from .entitlements import ENTITLEMENT_KEYS, entitlements_validate, location_entitlements_set
from .locations import (
    LOCATION_EDITABLE,
    location_create,
    location_ensure_for_ghl,
    location_update,
)
from .onboarding import (
    invitation_accept,
    invitation_create,
    invitation_from_token,
    invitation_url,
    location_request_approve,
    location_request_create,
    location_request_decline,
)
from .people import USER_EDITABLE, membership_grant, membership_revoke, user_create, user_update
from .revenue import location_revenue_record

__all__ = [
    "AGENCY_EDITABLE",
    "AGENCY_ENTITLEMENT_KEYS",
    "BRANDING_EDITABLE",
    "ENTITLEMENT_KEYS",
    "LOCATION_EDITABLE",
    "USER_EDITABLE",
    "agency_create",
    "agency_domain_add",
    "agency_domain_check",
    "agency_domain_check_later",
    "agency_domain_make_primary",
    "agency_domain_remove",
    "agency_domain_verify",
    "agency_entitlements_set",
    "agency_entitlements_validate",
    "agency_link_ghl_company",
    "agency_location_capacity_check",
    "agency_onboard_from_ghl",
    "agency_update",
    "audit_record",
    "branding_update",
    "entitlements_validate",
    "invitation_accept",
    "invitation_create",
    "invitation_from_token",
    "invitation_url",
    "location_create",
    "location_ensure_for_ghl",
    "location_entitlements_set",
    "location_request_approve",
    "location_request_create",
    "location_request_decline",
    "location_revenue_record",
    "location_update",
    "membership_grant",
    "membership_revoke",
    "normalize_domain",
    "platform_subdomain",
    "user_create",
    "user_update",
]
