"""Models of the integrations app, defined next to the code that uses them."""

from integrations.ghl.models import GhlCallLog, GhlInstallation, GhlOAuthState, GhlToken
from integrations.inbox.models import InboundEvent

__all__ = ["GhlCallLog", "GhlInstallation", "GhlOAuthState", "GhlToken", "InboundEvent"]
