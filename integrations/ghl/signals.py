"""Signals other parts of the product listen to (the sync of #5 cancels its work on uninstall)."""

from django.dispatch import Signal

# sender=GhlInstallation, installation=<GhlInstallation>: its tokens are gone and its scheduled
# work must stop.
installation_uninstalled = Signal()

# sender=GhlInstallation, installation=<GhlInstallation>, first=<bool>: the installation has a
# fresh token pair (a new install, a reinstall or a reconnect); `first` when it was not healthy.
installation_connected = Signal()
