"""Signals of the mirror writer, sent inside the writing transaction, so that a receiver's own
writes commit or roll back with the data (reporting marks what its rollups must refresh)."""

from django.dispatch import Signal

# sender=Location, location_id=<int>, kind=<str>, ghl_ids=<list[str]>: records of that kind are
# about to be written or removed (sent before every write, whether or not anything changes).
mirror_writing = Signal()

# Same arguments: rows among `ghl_ids` were inserted, changed or removed.
mirror_written = Signal()
