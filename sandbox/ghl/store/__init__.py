"""In-memory GHL data, one :class:`~sandbox.ghl.store.world.LocationData` per location."""
