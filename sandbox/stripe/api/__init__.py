"""The ``/v1`` endpoints, one module per area; each exports ``ROUTES``."""
