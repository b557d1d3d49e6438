"""Reporting (#7): rollup tables kept fresh by the sync, dashboard selectors, CSV export and the
scheduled branded e-mail report (see docs/reporting.md)."""
