"""Named queues, task routes and the periodic schedule: the one place they are declared.

Queues, by what waits on them:
- ``interactive``: a person is waiting (portal actions, lead routing);
- ``webhooks``: processing of inbound events;
- ``sync``: bulk data movement (backfills, incremental syncs, connectors);
- ``default``: everything else (mail, side effects of admin actions);
- ``maintenance``: housekeeping that may wait;
- ``webhooks_out``: deliveries to customers' endpoints (slow receivers wait here, not others).
"""

from celery.schedules import crontab

QUEUES = ("interactive", "webhooks", "sync", "default", "maintenance", "webhooks_out")

CELERY_TASK_ROUTES = {
    "tenants.tasks.*": {"queue": "default"},
    "saas_platform.tasks.*": {"queue": "maintenance"},
    "integrations.tasks.inbound_event_process": {"queue": "webhooks"},
    "integrations.tasks.inbound_events_drain": {"queue": "webhooks"},
    "integrations.tasks.sync_run_execute": {"queue": "sync"},
    "integrations.tasks.sync_runs_stalled": {"queue": "sync"},
    "integrations.tasks.external_connection_run": {"queue": "sync"},
    "integrations.tasks.contact_import_run": {"queue": "sync"},
    "integrations.tasks.ghl_location_install": {"queue": "interactive"},
    "integrations.tasks.routing_lead_assign": {"queue": "interactive"},
    "integrations.tasks.routing_leads_drain": {"queue": "interactive"},
    "integrations.tasks.ghl_company_locations_sync": {"queue": "default"},
    "integrations.tasks.ghl_reconnect_link_send": {"queue": "default"},
    "integrations.tasks.ghl_token_refresh": {"queue": "default"},
    "integrations.tasks.bulk_job_run": {"queue": "default"},
    "integrations.tasks.pack_activate_run": {"queue": "default"},
    "integrations.tasks.reporting_refresh_dirty": {"queue": "sync"},
    "integrations.tasks.reporting_location_rebuild": {"queue": "sync"},
    "integrations.tasks.report_schedules_send_due": {"queue": "default"},
    "integrations.tasks.report_email_send": {"queue": "default"},
    "integrations.tasks.webhook_events_dispatch": {"queue": "webhooks_out"},
    "integrations.tasks.webhook_deliveries_send": {"queue": "webhooks_out"},
    "integrations.tasks.payment_writebacks_run": {"queue": "webhooks"},
    "integrations.tasks.payment_writeback_run": {"queue": "webhooks"},
    "integrations.tasks.*": {"queue": "maintenance"},
    "billing.tasks.stripe_event_process": {"queue": "webhooks"},
    "billing.tasks.subscription_reminder_send": {"queue": "default"},
    "billing.tasks.payment_automations_run": {"queue": "default"},
    "billing.tasks.payment_request_send": {"queue": "default"},
    "billing.tasks.agency_subscription_reminder_send": {"queue": "default"},
    "billing.tasks.*": {"queue": "maintenance"},
}

CELERY_BEAT_SCHEDULE = {
    "ghl-tokens-refresh-due": {
        "task": "integrations.tasks.ghl_tokens_refresh_due",
        "schedule": crontab(minute="*/10"),
    },
    "sync-due-locations": {
        "task": "integrations.tasks.sync_due_locations",
        "schedule": crontab(minute="*"),
    },
    "sync-runs-stalled": {
        "task": "integrations.tasks.sync_runs_stalled",
        "schedule": crontab(minute="*/2"),
    },
    "contact-imports-stalled": {
        "task": "integrations.tasks.contact_imports_stalled_sweep",
        "schedule": crontab(minute="*/5"),
    },
    "external-connections-due": {
        "task": "integrations.tasks.external_connections_due",
        "schedule": crontab(minute="*"),
    },
    "sync-reconcile-all": {
        "task": "integrations.tasks.sync_reconcile_all",
        "schedule": crontab(minute=5, hour=1),
    },
    "reporting-refresh-dirty": {
        "task": "integrations.tasks.reporting_refresh_dirty",
        "schedule": crontab(minute="*"),
    },
    "report-schedules-send-due": {
        "task": "integrations.tasks.report_schedules_send_due",
        "schedule": crontab(minute="*/15"),
    },
    "inbound-events-sweep": {
        "task": "integrations.tasks.inbound_events_sweep",
        "schedule": crontab(minute="*"),
    },
    "ghl-companies-reconcile": {
        "task": "integrations.tasks.ghl_companies_reconcile",
        "schedule": crontab(minute=23, hour=2),
    },
    "inbound-events-prune": {
        "task": "integrations.tasks.inbound_events_prune",
        "schedule": crontab(minute=47, hour=4),
    },
    "ghl-call-log-prune": {
        "task": "integrations.tasks.ghl_call_log_prune",
        "schedule": crontab(minute=41, hour=4),
    },
    "domains-recheck": {
        "task": "tenants.tasks.agency_domains_recheck",
        "schedule": crontab(minute="*/15"),
    },
    "stripe-events-sweep": {
        "task": "billing.tasks.stripe_events_sweep",
        "schedule": crontab(minute="*/5"),
    },
    "stripe-events-prune": {
        "task": "billing.tasks.stripe_events_prune",
        "schedule": crontab(minute=53, hour=4),
    },
    "subscriptions-dunning": {
        "task": "billing.tasks.subscriptions_dunning_run",
        "schedule": crontab(minute=7),
    },
    "agency-subscriptions-dunning": {
        "task": "billing.tasks.agency_subscriptions_dunning_run",
        "schedule": crontab(minute=17),
    },
    "sessions-clear-expired": {
        "task": "saas_platform.tasks.sessions_clear_expired",
        "schedule": crontab(minute=17, hour=3),
    },
    "webhook-events-sweep": {
        "task": "integrations.tasks.webhook_events_dispatch",
        "schedule": crontab(minute="*"),
    },
    "webhook-events-prune": {
        "task": "integrations.tasks.webhook_events_prune",
        "schedule": crontab(minute=37, hour=4),
    },
    "payment-automations-run": {
        "task": "billing.tasks.payment_automations_run",
        "schedule": crontab(minute="*"),
    },
    "payment-writebacks-run": {
        "task": "integrations.tasks.payment_writebacks_run",
        "schedule": crontab(minute="*"),
    },
    "routing-leads-sweep": {
        "task": "integrations.tasks.routing_leads_sweep",
        "schedule": crontab(minute="*"),
    },
}
