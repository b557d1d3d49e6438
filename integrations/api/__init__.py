"""The REST API's resources built on the GHL mirror (contacts first); mounted by
saas_platform/api_urls.py on the tenant-scoped base viewset of tenants.api."""
