"""Marketplace OAuth: consent page, token endpoint, location tokens, installations."""
