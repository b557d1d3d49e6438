"""Signals of the mirror writer."""

from django.dispatch import Signal

# sender=Location, location_id=<int>, kind=<str>: rows of that kind were inserted, changed or
# removed in the location's mirror. Sent inside the writing transaction, so a receiver's own
# writes commit or roll back with the data (reporting marks the location's rollups stale).
mirror_written = Signal()
