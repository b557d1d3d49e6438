"""Settings shared by every environment. Every value that differs per deployment comes from the
environment (documented in `.env.example`)."""

from pathlib import Path

import django_stubs_ext
import environ
from csp.constants import NONCE, NONE, SELF

django_stubs_ext.monkeypatch()

BASE_DIR = Path(__file__).resolve().parent.parent.parent
RUN_DIR = BASE_DIR / ".run"

env = environ.Env()
# A developer's `.env`, then the URLs of the embedded engines started by `tools/engines.py`;
# variables already in the environment always win.
for env_file in (BASE_DIR / ".env", RUN_DIR / "engines.env"):
    if env_file.exists():
        env.read_env(env_file, overwrite=False)

INSECURE_SECRET_KEY = "insecure-development-key-never-use-in-production"  # noqa: S105
SECRET_KEY = env.str("SECRET_KEY", default=INSECURE_SECRET_KEY)
DEBUG = env.bool("DEBUG", default=False)

# Token-encryption keys (Fernet, url-safe base64 of 32 bytes), newest first. Rows encrypted under an
# older key stay readable until `rotate_token_keys` re-encrypts them under the newest one.
TOKEN_ENCRYPTION_KEYS: list[str] = env.list("TOKEN_ENCRYPTION_KEYS", default=[])

# --- hosts and tenancy ---------------------------------------------------------------------------
# Every agency serves its portal on a verified custom domain or on `<slug>.<PLATFORM_BASE_DOMAIN>`;
# the platform's own pages (staff admin, GHL callbacks and webhooks) live on PLATFORM_HOSTS.
# Host validation is the job of `tenants.middleware.TenantMiddleware` (unknown host → 404), which
# runs first; Django's ALLOWED_HOSTS cannot list customers' domains up front.
PLATFORM_BASE_DOMAIN = env.str("PLATFORM_BASE_DOMAIN", default="localhost")
PLATFORM_HOSTS: list[str] = env.list("PLATFORM_HOSTS", default=["localhost", "127.0.0.1"])
PLATFORM_NAME = env.str("PLATFORM_NAME", default="Leadwise Platform")
ALLOWED_HOSTS = ["*"]
# Port appended to the links we build for agency domains (development servers run on :8000).
PUBLIC_PORT = env.str("PUBLIC_PORT", default="")
PUBLIC_SCHEME = env.str("PUBLIC_SCHEME", default="https")

# --- applications --------------------------------------------------------------------------------
INSTALLED_APPS = [
    # The two admin sites are our own (saas_platform.admin_sites); no default site, no autodiscover.
    "django.contrib.admin.apps.SimpleAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.postgres",
    "django.contrib.humanize",
    "django_celery_beat",
    "django_htmx",
    "allauth",
    "allauth.account",
    "allauth.mfa",
    "allauth.usersessions",
    "saas_platform",
    "tenants",
    "integrations",
    "billing",
]

MIDDLEWARE = [
    # Outermost: request id, log context and latency cover everything below.
    "saas_platform.kernel.requestlog.RequestContextMiddleware",
    "tenants.middleware.TenantMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    # Sessions made by embedded SSO: cross-site cookies and framing by the CRM only (docs/sso.md).
    "integrations.ghl.embedding.EmbeddedSessionMiddleware",
    # Signed server-to-server POSTs (webhooks) skip the browser middleware below.
    "saas_platform.kernel.machine.MachineEndpointMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    # The language from Accept-Language (no URL prefixes: the tenant comes from the host alone).
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "tenants.middleware.RealmMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

# Agency domains get the portal and the agency admin; platform hosts get `urls_platform`.
ROOT_URLCONF = "saas_platform.urls"
PLATFORM_URLCONF = "saas_platform.urls_platform"
WSGI_APPLICATION = "saas_platform.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "tenants.context_processors.branding",
            ],
        },
    },
]

# --- data engines: PostgreSQL and Redis only -----------------------------------------------------
DATABASES = {"default": env.db_url("DATABASE_URL")}
DATABASES["default"]["CONN_MAX_AGE"] = env.int("DB_CONN_MAX_AGE", default=60)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
# Parameters travel apart from the SQL (bytes in binary): no quoting of webhook bodies in Python.
DATABASES["default"].setdefault("OPTIONS", {})["server_side_binding"] = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = env.str("REDIS_URL")
CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": REDIS_URL,
        "KEY_PREFIX": env.str("CACHE_KEY_PREFIX", default="saas"),
    }
}

SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"
# Cookies stay host-only (no SESSION_COOKIE_DOMAIN): a session made on one agency's domain is never
# sent to another's; RealmMiddleware also refuses a session whose user belongs to another agency.
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"

# --- auth ----------------------------------------------------------------------------------------
AUTH_USER_MODEL = "tenants.User"
AUTHENTICATION_BACKENDS = ["tenants.auth.RealmBackend"]
# Emails are unique per realm (an agency, or the platform), enforced by the User model's
# constraints and the realm backend, not by a global unique column.
SILENCED_SYSTEM_CHECKS = ["auth.W004"]
LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "portal:home"
LOGOUT_REDIRECT_URL = "portal:landing"

# --- portal accounts (django-allauth; docs/accounts.md) ------------------------------------------
# allauth serves sign-up, sign-in, verification, password reset, email change, MFA and the session
# list on agency domains only. The adapter keeps it inside the request's realm: users are created
# in the request's agency, emails carry its brand, and links are built on its primary domain.
ACCOUNT_ADAPTER = "tenants.accounts.adapter.PortalAccountAdapter"
MFA_ADAPTER = "tenants.accounts.adapter.PortalMFAAdapter"
ACCOUNT_FORMS = {
    "signup": "tenants.accounts.forms.PortalSignupForm",
    "add_email": "tenants.accounts.forms.PortalAddEmailForm",
    "reset_password": "tenants.accounts.forms.PortalResetPasswordForm",
    "user_token": "tenants.accounts.forms.PortalUserTokenForm",
}
ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*", "password2*"]
ACCOUNT_USER_MODEL_USERNAME_FIELD = None
ACCOUNT_EMAIL_VERIFICATION = "mandatory"
ACCOUNT_CONFIRM_EMAIL_ON_GET = False
ACCOUNT_CHANGE_EMAIL = True
ACCOUNT_LOGOUT_ON_PASSWORD_CHANGE = False
ACCOUNT_EMAIL_SUBJECT_PREFIX = ""
# Emails are unique per agency, not platform-wide: the same address on two agencies' portals is
# two people. The signup and add-email forms check uniqueness within the realm instead.
ACCOUNT_UNIQUE_EMAIL = False
ACCOUNT_PREVENT_ENUMERATION = False
# Counted in the Redis cache. `key` is the account (agency + email, see the adapter), `ip` the
# client address: both stop a password-guessing run.
ACCOUNT_RATE_LIMITS = {
    "login": "30/m/ip",
    "login_failed": "10/m/ip,5/5m/key",
    "signup": "20/m/ip",
    "reset_password": "20/m/ip,5/m/key",
    "reset_password_from_key": "20/m/ip",
    "confirm_email": "1/3m/key",
    "change_password": "5/m/user",
    "manage_email": "10/m/user",
}
MFA_SUPPORTED_TYPES = ["totp", "recovery_codes"]
MFA_TOTP_TOLERANCE = 1
# The session list records each sign-in (time, IP, browser). Tracking "last seen" would add a
# read and a write to every portal request, so it is off (and its middleware not installed).
USERSESSIONS_TRACK_ACTIVITY = False
# An invitation link is valid this long and once.
INVITATION_MAX_AGE_DAYS = 7
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# --- i18n, static ---------------------------------------------------------------------------------
LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
# Every user-facing string goes through gettext; English is the one catalog shipped (docs/i18n.md).
LANGUAGES = [("en", "English")]
LOCALE_PATHS = [BASE_DIR / "locale"]
USE_TZ = True
STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}

# Custom-domain verification looks up a TXT record. Empty: the system resolver (/etc/resolv.conf).
DNS_NAMESERVERS: list[str] = env.list("DNS_NAMESERVERS", default=[])
DNS_PORT = env.int("DNS_PORT", default=53)
DNS_TIMEOUT_SECONDS = env.float("DNS_TIMEOUT_SECONDS", default=3.0)

EMAIL_BACKEND = env.str("EMAIL_BACKEND", default="django.core.mail.backends.console.EmailBackend")
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="no-reply@localhost")

# --- Celery: Redis broker, named queues, one schedule --------------------------------------------
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default=REDIS_URL)
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_DEFAULT_QUEUE = "default"
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600}
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
CELERY_TIMEZONE = "UTC"
# Celery's Django fixup otherwise closes the database connection before and after every task: a
# new PostgreSQL backend per task (a lead's routing task paid more for it than for its queries).
# Connections now live as between web requests (CONN_MAX_AGE, health checks; see
# saas_platform/celery.py).
CELERY_DB_REUSE_MAX = env.int("CELERY_DB_REUSE_MAX", default=1000)

# --- GoHighLevel (the marketplace app) -----------------------------------------------------------
GHL_CLIENT_ID = env.str("GHL_CLIENT_ID", default="")
GHL_CLIENT_SECRET = env.str("GHL_CLIENT_SECRET", default="")
GHL_API_BASE = env.str("GHL_API_BASE", default="https://services.leadconnectorhq.com")
# The white-label consent host keeps GHL's brand away from agencies' clients.
GHL_MARKETPLACE_BASE = env.str(
    "GHL_MARKETPLACE_BASE", default="https://marketplace.leadconnectorhq.com"
)
GHL_SCOPES: list[str] = env.list(
    "GHL_SCOPES",
    default=[
        "contacts.readonly", "contacts.write", "opportunities.readonly", "opportunities.write",
        "calendars.readonly", "calendars.write", "calendars/events.readonly",
        "calendars/events.write", "conversations.readonly", "conversations.write",
        "conversations/message.readonly", "conversations/message.write", "locations.readonly",
        "locations/customFields.readonly", "locations/customFields.write",
        "locations/tags.readonly", "locations/tags.write", "users.readonly", "oauth.readonly",
        "oauth.write", "marketplace-installer-details.readonly",
    ],
)  # fmt: skip
# Public keys that sign GHL webhooks (PEM files or inline PEM), two allowed during a key change.
GHL_WEBHOOK_ED25519_KEYS: list[str] = env.list("GHL_WEBHOOK_ED25519_KEYS", default=[])
GHL_WEBHOOK_RSA_KEYS: list[str] = env.list("GHL_WEBHOOK_RSA_KEYS", default=[])
GHL_WEBHOOK_MAX_BYTES = env.int("GHL_WEBHOOK_MAX_BYTES", default=256 * 1024)
GHL_HTTP_TIMEOUT_SECONDS = env.float("GHL_HTTP_TIMEOUT_SECONDS", default=20.0)
# The periodic task rotates tokens that expire within this margin (plus jitter), so calls rarely
# wait for a refresh; a call itself refreshes when less than the minimum validity is left.
GHL_REFRESH_MARGIN_SECONDS = env.int("GHL_REFRESH_MARGIN_SECONDS", default=3600)
GHL_TOKEN_MIN_VALIDITY_SECONDS = env.int("GHL_TOKEN_MIN_VALIDITY_SECONDS", default=60)
GHL_REDIRECT_URI = env.str(
    "GHL_REDIRECT_URI", default="http://localhost:8000/integrations/ghl/oauth/callback"
)
GHL_CALL_LOG_RETENTION_DAYS = env.int("GHL_CALL_LOG_RETENTION_DAYS", default=14)
# Processed webhook bodies are kept this long (for replay), then deleted.
INBOX_RETENTION_DAYS = env.int("INBOX_RETENTION_DAYS", default=14)
# The rate governor (integrations/ghl/governor.py, docs/ghl-governor.md): GHL's limits per app and
# location (or company), read as a strict sliding window, shared by every process through Redis.
GHL_RATE_BURST_LIMIT = env.int("GHL_RATE_BURST_LIMIT", default=100)
GHL_RATE_WINDOW_MS = env.int("GHL_RATE_WINDOW_MS", default=10_000)
GHL_RATE_DAILY_LIMIT = env.int("GHL_RATE_DAILY_LIMIT", default=200_000)
GHL_RATE_SAFETY_MS = env.int("GHL_RATE_SAFETY_MS", default=100)
GHL_RATE_INTERACTIVE_RESERVE = env.int("GHL_RATE_INTERACTIVE_RESERVE", default=10)
GHL_DAILY_BULK_RESERVE = env.float("GHL_DAILY_BULK_RESERVE", default=0.1)
GHL_RATE_KEY_PREFIX = env.str("GHL_RATE_KEY_PREFIX", default="ghl:rl")

# Embedded SSO (docs/sso.md): the app's Shared Secret decrypts the user context GHL hands our
# custom menu page. From the environment only; never logged, never shown.
GHL_SSO_SHARED_SECRET = env.str("GHL_SSO_SHARED_SECRET", default="")
# Origins allowed to frame the SSO page and embedded sessions (CSP frame-ancestors). An agency on
# a white-label CRM domain needs that domain added here.
GHL_SSO_FRAME_ANCESTORS: list[str] = env.list(
    "GHL_SSO_FRAME_ANCESTORS",
    default=[
        "https://app.gohighlevel.com",
        "https://*.gohighlevel.com",
        "https://*.leadconnectorhq.com",
    ],
)
GHL_SSO_REPLAY_SECONDS = env.int("GHL_SSO_REPLAY_SECONDS", default=30 * 86400)
GHL_SSO_MAX_FAILURES = env.int("GHL_SSO_MAX_FAILURES", default=20)
GHL_SSO_FAILURE_WINDOW_SECONDS = env.int("GHL_SSO_FAILURE_WINDOW_SECONDS", default=600)

# --- billing (Stripe) ----------------------------------------------------------------------------
# The platform's Stripe account; agencies' accounts are Connect accounts reached through it.
STRIPE_SECRET_KEY = env.str("STRIPE_SECRET_KEY", default="")
# Where the SDK sends requests: Stripe itself, or the local stand-in (sandbox/stripe).
STRIPE_API_BASE = env.str("STRIPE_API_BASE", default="https://api.stripe.com")
STRIPE_HTTP_TIMEOUT_SECONDS = env.float("STRIPE_HTTP_TIMEOUT_SECONDS", default=20.0)
# Signing secrets of the two webhook endpoints (two allowed while one is rolled).
STRIPE_WEBHOOK_SECRETS: list[str] = env.list("STRIPE_WEBHOOK_SECRETS", default=[])
STRIPE_CONNECT_WEBHOOK_SECRETS: list[str] = env.list("STRIPE_CONNECT_WEBHOOK_SECRETS", default=[])
# How old a signed delivery may be (Stripe's libraries default to 300 s).
STRIPE_WEBHOOK_TOLERANCE_SECONDS = env.int("STRIPE_WEBHOOK_TOLERANCE_SECONDS", default=300)
STRIPE_WEBHOOK_MAX_BYTES = env.int("STRIPE_WEBHOOK_MAX_BYTES", default=512 * 1024)
# The platform's cut of every client subscription on an agency's connected account, in percent.
BILLING_PLATFORM_FEE_PERCENT = env.float("BILLING_PLATFORM_FEE_PERCENT", default=10.0)
# Days a past-due subscription keeps its features (with reminders) before they are paused.
BILLING_GRACE_DAYS = env.int("BILLING_GRACE_DAYS", default=7)
BILLING_EVENT_RETENTION_DAYS = env.int("BILLING_EVENT_RETENTION_DAYS", default=30)

# --- connectors (Sheets, Airtable, SQL, HTTPS) ---------------------------------------------------
# Private targets the SSRF guard (integrations/connectors/ssrf.py) lets connectors reach, such as a
# client's database on a peered network: "cidr:port" or "cidr:*". Cloud metadata stays closed.
CONNECTOR_ALLOWED_PRIVATE_TARGETS: list[str] = env.list(
    "CONNECTOR_ALLOWED_PRIVATE_TARGETS", default=[]
)
# The services' API addresses (settings, never a user's input: a key file's own `token_uri` is
# ignored so that no pasted credential chooses where our servers send requests).
GOOGLE_SHEETS_API_BASE = env.str("GOOGLE_SHEETS_API_BASE", default="https://sheets.googleapis.com")
GOOGLE_OAUTH_TOKEN_URL = env.str(
    "GOOGLE_OAUTH_TOKEN_URL", default="https://oauth2.googleapis.com/token"
)
AIRTABLE_API_BASE = env.str("AIRTABLE_API_BASE", default="https://api.airtable.com")

# --- security headers (production.py adds HSTS and secure cookies) ------------------------------
# Scripts only from our own origin or carrying this response's nonce; styles may be inline (the
# brand's colours are CSS custom properties written into each page, and progress bars use style
# attributes); images may be an agency's logo on any https host. No page may be framed except by
# our own, unless a view says otherwise (the embedded GHL SSO page).
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF, NONCE],
        "style-src": [SELF, "'unsafe-inline'"],
        "img-src": [SELF, "https:", "data:"],
        "font-src": [SELF, "data:"],
        "connect-src": [SELF],
        "frame-ancestors": [SELF],
        "base-uri": [SELF],
        "object-src": [NONE],
    }
}
SECURE_REFERRER_POLICY = "strict-origin-when-cross-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_HTTPONLY = True
# Cookies are host-only (no SESSION_COOKIE_DOMAIN): a cookie set on one agency's domain is never
# sent to another's, nor to the platform's hosts.
SESSION_COOKIE_DOMAIN = None
CSRF_COOKIE_DOMAIN = None

# --- operations ----------------------------------------------------------------------------------
# /metrics on the platform's hosts answers only with this bearer token; empty: no /metrics page.
METRICS_TOKEN = env.str("METRICS_TOKEN", default="")
# Optional error reporting: set SENTRY_DSN to turn it on (saas_platform.apps).
SENTRY_DSN = env.str("SENTRY_DSN", default="")
SENTRY_ENVIRONMENT = env.str("SENTRY_ENVIRONMENT", default="production")
SENTRY_TRACES_SAMPLE_RATE = env.float("SENTRY_TRACES_SAMPLE_RATE", default=0.0)

# --- logging -------------------------------------------------------------------------------------
LOG_LEVEL = env.str("LOG_LEVEL", default="INFO")
LOG_JSON = env.bool("LOG_JSON", default=False)
# structlog and the stdlib are configured together by kernel.logging, from SaasPlatformConfig.ready.
LOGGING_CONFIG = None

from saas_platform.schedule import CELERY_BEAT_SCHEDULE, CELERY_TASK_ROUTES  # noqa: E402, F401

# --- REST API (/api/v1/, docs/api.md) ------------------------------------------------------------
INSTALLED_APPS += ["rest_framework", "drf_spectacular", "drf_spectacular_sidecar"]
REST_FRAMEWORK = {
    "EXCEPTION_HANDLER": "saas_platform.kernel.api.errors.api_exception_handler",
    "DEFAULT_SCHEMA_CLASS": "saas_platform.kernel.api.schema.ApiAutoSchema",
    # Each API view names its own classes (tenants.api.viewsets); nothing is open by default.
    "DEFAULT_AUTHENTICATION_CLASSES": [],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "UNAUTHENTICATED_USER": None,
}
SPECTACULAR_SETTINGS = {
    # White-label: the schema names no platform; the docs pages put the agency's brand on it.
    "TITLE": "REST API",
    "DESCRIPTION": (
        "Read and change your business data. Authenticate with `Authorization: Bearer <key>`; "
        'every error is `{"error": {"code", "message", "details"?}}`. '
        "See the guide for scopes, pagination, idempotency and rate limits."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PUBLIC": True,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.AllowAny"],
    "SERVE_AUTHENTICATION": [],
    "SCHEMA_PATH_PREFIX": r"/api/v1",
    "COMPONENT_SPLIT_REQUEST": True,
    "ENUM_NAME_OVERRIDES": {},
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}
API_MAX_BODY_BYTES = env.int("API_MAX_BODY_BYTES", default=64 * 1024)
API_RATE_KEY_PREFIX = env.str("API_RATE_KEY_PREFIX", default="api:rl")
API_IDEMPOTENCY_KEY_PREFIX = env.str("API_IDEMPOTENCY_KEY_PREFIX", default="api:idem")
# How long each process keeps the API's tenant lookups (Host → agency, key, location): a
# revocation or suspension made elsewhere lands within this time (tenants/caches.py).
TENANT_CACHE_SECONDS = env.float("TENANT_CACHE_SECONDS", default=1.0)
