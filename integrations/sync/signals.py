"""Signals of the mirror's webhook handling that features listen to."""

from django.dispatch import Signal

# sender=Location, location=<Location>, contact_ghl_ids=<list[str]>: contacts new to the
# location arrived by webhook (sent inside the transaction writing their mirror rows, so what a
# receiver writes commits with them). Lead routing starts from it.
lead_arrived = Signal()
