"""A Stripe stand-in: its own process speaking Stripe's wire protocol (see docs/stripe-standin.md).

Never imported by product code; it imports none either (import-linter contracts).
"""
