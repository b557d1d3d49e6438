"""Payments made through billing's automations, written back to GHL (a note on the contact and
the opportunity updated), from the outbox's "payment.succeeded"."""
