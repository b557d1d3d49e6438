"""Industry packs: data (not code forks) that a location activates — custom fields created in
GHL, routing attributes over them, the pipelines expected, a report set (see `catalog`)."""
