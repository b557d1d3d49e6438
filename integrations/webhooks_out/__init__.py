"""Outbound webhooks: customers' endpoints subscribed to tenant events, deliveries signed per
Standard Webhooks, retried with backoff, logged and replayable. docs/webhooks.md has the
customer's side."""
