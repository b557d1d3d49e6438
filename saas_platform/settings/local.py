"""`make run`: debug on, development-only defaults that production refuses."""

from .base import *  # noqa: F403
from .base import RUN_DIR, env

DEBUG = env.bool("DEBUG", default=True)
PUBLIC_SCHEME = env.str("PUBLIC_SCHEME", default="http")
PUBLIC_PORT = env.str("PUBLIC_PORT", default="8000")
# A fixed development key so `make run` works out of the box; production requires its own.
TOKEN_ENCRYPTION_KEYS = env.list(
    "TOKEN_ENCRYPTION_KEYS", default=["bG9jYWwtZGV2ZWxvcG1lbnQta2V5LW5vdC1pbi1wcmQ="]
)
WHITENOISE_USE_FINDERS = True

# The GHL stand-in (sandbox/ghl) started by `make run` plays GoHighLevel; its demo app's
# credentials are published sandbox values, and it writes its public keys under .run/ghl.
_GHL_STANDIN = env.str("GHL_STANDIN_URL", default="http://127.0.0.1:8010")
GHL_CLIENT_ID = env.str("GHL_CLIENT_ID", default="66d0a1b2c3d4e5f601234567-m0ck5t4n")
GHL_CLIENT_SECRET = env.str("GHL_CLIENT_SECRET", default="sandbox-only-client-secret")
GHL_API_BASE = env.str("GHL_API_BASE", default=_GHL_STANDIN)
GHL_MARKETPLACE_BASE = env.str("GHL_MARKETPLACE_BASE", default=_GHL_STANDIN)
GHL_WEBHOOK_ED25519_KEYS = env.list(
    "GHL_WEBHOOK_ED25519_KEYS", default=[str(RUN_DIR / "ghl" / "ed25519_public.pem")]
)
GHL_WEBHOOK_RSA_KEYS = env.list(
    "GHL_WEBHOOK_RSA_KEYS", default=[str(RUN_DIR / "ghl" / "rsa_public.pem")]
)
# Embedded SSO against the stand-in: its published sandbox secret, and its page may frame ours.
GHL_SSO_SHARED_SECRET = env.str("GHL_SSO_SHARED_SECRET", default="sandbox-only-sso-shared-secret")
GHL_SSO_FRAME_ANCESTORS = env.list("GHL_SSO_FRAME_ANCESTORS", default=[_GHL_STANDIN])
