"""The ``/_sandbox`` control API and status page (not part of GHL's surface)."""
