"""DRF plumbing shared by every app's API resources, knowing no app model: the error envelope,
cursor pagination with an ordering allow-list, query filters and sparse fields, the per-key
Redis throttle, Idempotency-Key replay and the request size limit (docs/api.md).

What it needs of the caller's API key it takes by duck typing (``request.auth.pk`` and
``request.auth.rate_limit_per_minute``), so the kernel stays free of tenants."""
