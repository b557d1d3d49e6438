"""Shared building blocks that know no app: base models, errors, scoped querysets, encryption,
logging."""
