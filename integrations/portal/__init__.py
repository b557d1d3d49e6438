"""The client workspace pages of the branded portal built on GHL data: dashboard, contacts,
pipeline, appointments, routing and sync (mounted under ``/app/l/<location_id>/``)."""
