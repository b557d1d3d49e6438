"""Billing services: keyword-only, typed, `<entity>_<action>`; interfaces stay thin over them."""
