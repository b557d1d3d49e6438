"""Signals of the mirror's webhook handling that features listen to."""

from django.dispatch import Signal

# sender=Location, location=<Location>, contact_ghl_id=<str>: a contact new to the location
# arrived by webhook (sent once its mirror row is committed). Lead routing starts from it.
lead_arrived = Signal()
