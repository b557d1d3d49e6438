"""Lead routing: agent profiles, ordered rules with conditions, strategies under caps, hours and
availability, and an explainable decision stored for every lead (see `engine.route_lead`)."""
