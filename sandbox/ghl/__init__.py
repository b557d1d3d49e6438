"""A faithful local GoHighLevel (GHL) API stand-in.

Runs as its own process (``python -m sandbox.ghl``) and speaks GHL's v2 wire protocol: Marketplace
OAuth, the REST endpoints the product uses, rate-limit headers, and signed webhooks. See
``docs/ghl-standin.md``.
"""
