"""The REST API's tenancy half: API keys (model, services, authentication, scope permission) and
the tenant-scoped base viewset every resource builds on, plus the tenancy core's own resources
(locations, audit log). The DRF plumbing that needs no model lives in saas_platform.kernel.api."""
