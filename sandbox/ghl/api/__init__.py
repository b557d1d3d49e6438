"""GHL API handlers, one module per resource, and the route table (:mod:`.routes`)."""
