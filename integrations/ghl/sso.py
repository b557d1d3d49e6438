"""Embedded SSO: a GHL user opens our custom menu link and lands signed in (docs/sso.md).

GHL renders the link in an iframe. Our page asks the parent for the user context; GHL answers with
the context encrypted by crypto-js ``AES.encrypt(json, sharedSecret)``: OpenSSL's format,
``base64("Salted__" + salt[8] + AES-256-CBC(PKCS#7(json)))`` with key and IV from OpenSSL's
``EVP_BytesToKey`` (MD5, one round) over the secret and the salt. The page posts it here; we
decrypt with the app's Shared Secret, map the context to this domain's agency, one of its
locations and a user, and sign that user in.

The scheme has no MAC, no timestamp and no nonce. Therefore: every failure after base64 decoding
answers the same way (no padding oracle to forge payloads with), failures are rate limited per
client address, and an accepted payload is single use (crypto-js salts each encryption at random,
so a fresh payload never repeats).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from dataclasses import dataclass
from typing import Any

from cryptography.hazmat.primitives import padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from django.conf import settings
from django.core.cache import cache
from django.db import transaction

from saas_platform.kernel.logging import get_logger
from tenants import selectors
from tenants.models import Agency, Location, Membership, User
from tenants.services.people import membership_grant, user_create

log = get_logger(__name__)

OPENSSL_MAGIC = b"Salted__"
SALT_BYTES = 8
KEY_BYTES = 32
IV_BYTES = 16
MAX_PAYLOAD_CHARS = 8192  # a context is a few hundred bytes; refuse to decrypt megabytes
REPLAY_KEY = "ghl:sso:used:{digest}"
FAILURE_KEY = "ghl:sso:failures:{client}"


class SsoError(Exception):
    """A sign-in we refuse; ``status`` is the HTTP answer, ``message`` safe to show."""

    status = 401
    message = "We could not verify your sign-in. Reopen the page from your CRM."


class SsoPayloadInvalid(SsoError):
    """Not decryptable with our secret, or not a user context. Deliberately one class: callers
    must not be able to tell bad padding from bad JSON."""


class SsoMalformedRequest(SsoError):
    status = 400
    message = "The sign-in request was incomplete."


class SsoNotConfigured(SsoError):
    status = 503
    message = "Single sign-on is not set up yet."


class SsoWrongAgency(SsoError):
    status = 403
    message = "This sign-in belongs to another portal."


class SsoLocationUnknown(SsoError):
    status = 404
    message = "This account is not connected to the portal."


class SsoAccessRefused(SsoError):
    status = 403
    message = "Your account has no access here. Ask your administrator for an invitation."


class SsoReplayed(SsoError):
    message = "This sign-in link was already used. Reopen the page from your CRM."


class SsoRateLimited(SsoError):
    status = 429
    message = "Too many failed sign-in attempts. Try again in a few minutes."


@dataclass(frozen=True)
class SsoContext:
    """The decrypted user context (field names are GHL's, see REFERENCE §5.8)."""

    user_id: str
    company_id: str
    role: str
    type: str  # "agency" | "location"
    email: str
    user_name: str
    active_location: str | None


@dataclass(frozen=True)
class SsoSignIn:
    user: User
    location: Location | None
    created: bool


# --- crypto-js compatible AES ---------------------------------------------------------------------


def evp_bytes_to_key(*, secret: bytes, salt: bytes) -> tuple[bytes, bytes]:
    """OpenSSL's EVP_BytesToKey with MD5 and one iteration: the KDF crypto-js uses for a
    passphrase. MD5 here is GHL's wire format, not a choice of ours."""
    derived, block = b"", b""
    while len(derived) < KEY_BYTES + IV_BYTES:
        block = hashlib.md5(block + secret + salt, usedforsecurity=False).digest()
        derived += block
    return derived[:KEY_BYTES], derived[KEY_BYTES : KEY_BYTES + IV_BYTES]


def sso_payload_decrypt(*, payload: str, secret: str) -> bytes:
    """The plaintext of a crypto-js ``AES.encrypt(text, passphrase)`` string.

    Raises ``SsoMalformedRequest`` for something that is not even base64 of the OpenSSL format
    (no key touched it) and ``SsoPayloadInvalid`` for everything that fails once decryption
    started."""
    if not payload or len(payload) > MAX_PAYLOAD_CHARS:
        raise SsoMalformedRequest
    try:
        raw = base64.b64decode(payload.strip(), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise SsoMalformedRequest from exc
    header = len(OPENSSL_MAGIC) + SALT_BYTES
    body = raw[header:]
    if not raw.startswith(OPENSSL_MAGIC) or not body or len(body) % 16:
        raise SsoMalformedRequest
    key, iv = evp_bytes_to_key(secret=secret.encode(), salt=raw[len(OPENSSL_MAGIC) : header])
    decryptor = Cipher(algorithms.AES(key), modes.CBC(iv)).decryptor()
    padded = decryptor.update(body) + decryptor.finalize()
    unpadder = padding.PKCS7(128).unpadder()
    try:
        return unpadder.update(padded) + unpadder.finalize()
    except ValueError as exc:
        raise SsoPayloadInvalid from exc


def _text(data: dict[str, Any], key: str, *, required: bool = True) -> str | None:
    value = data.get(key)
    if value is None or value == "":
        if required:
            raise SsoPayloadInvalid
        return None
    if not isinstance(value, str) or len(value) > 254:
        raise SsoPayloadInvalid
    return value.strip()


def sso_context_parse(*, plaintext: bytes) -> SsoContext:
    try:
        data = json.loads(plaintext.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise SsoPayloadInvalid from exc
    if not isinstance(data, dict):
        raise SsoPayloadInvalid
    kind = _text(data, "type")
    active_location = _text(data, "activeLocation", required=kind == "location")
    email = _text(data, "email") or ""
    if kind not in ("agency", "location") or "@" not in email:
        raise SsoPayloadInvalid
    return SsoContext(
        user_id=_text(data, "userId") or "",
        company_id=_text(data, "companyId") or "",
        role=_text(data, "role", required=False) or "",
        type=kind,
        email=email,
        user_name=_text(data, "userName", required=False) or "",
        active_location=active_location,
    )


# --- abuse limits ---------------------------------------------------------------------------------


def sso_failures_check(*, client: str) -> None:
    if int(cache.get(FAILURE_KEY.format(client=client), 0)) >= settings.GHL_SSO_MAX_FAILURES:
        raise SsoRateLimited


def sso_failure_record(*, client: str) -> None:
    key = FAILURE_KEY.format(client=client)
    window = settings.GHL_SSO_FAILURE_WINDOW_SECONDS
    if not cache.add(key, 1, timeout=window):
        try:
            cache.incr(key)
        except ValueError:  # the window ended between the two calls: start a new one
            cache.set(key, 1, timeout=window)


def sso_payload_claim(*, payload: str) -> None:
    """Accept each encrypted payload once (GHL gives no timestamp to bound a replay with)."""
    digest = hashlib.sha256(payload.strip().encode()).hexdigest()
    if not cache.add(REPLAY_KEY.format(digest=digest), 1, timeout=settings.GHL_SSO_REPLAY_SECONDS):
        raise SsoReplayed


# --- mapping a context to our people --------------------------------------------------------------


def _agency_member(*, user: User, agency: Agency) -> bool:
    return selectors.membership_role_in_agency(user=user, agency=agency) is not None


def _location_member(*, user: User, location: Location) -> bool:
    return (
        Membership.objects.for_agency(location.agency)
        .filter(user=user, location=location, role__in=Membership.CLIENT_ROLES)
        .exists()
    )


def _join(
    *, agency: Agency, context: SsoContext, role: str, location: Location | None
) -> SsoSignIn:
    """A first visit from the CRM, where the agency lets CRM users join (``allow_sso_join``)."""
    if not agency.allow_sso_join:
        raise SsoAccessRefused
    user = user_create(
        agency=agency, email=context.email, full_name=context.user_name[:200], acting_user=None
    )
    membership_grant(user=user, role=role, location=location, acting_user=None)
    log.info(
        "ghl.sso.user_joined",
        agency_id=agency.pk,
        location_id=location.pk if location else None,
        user_id=user.pk,
        role=role,
    )
    return SsoSignIn(user=user, location=location, created=True)


@transaction.atomic
def sso_sign_in_resolve(*, agency: Agency, context: SsoContext) -> SsoSignIn:
    """Who this context signs in as on ``agency``'s domain (rules and reasons in docs/sso.md).

    * the context's company must be this domain's agency, else ``SsoWrongAgency``;
    * an agency context signs in an existing agency member with that e-mail;
    * a location context needs that GHL location under this agency, and signs in a user with a
      client membership there who holds no agency role (so a sub-account admin in GHL who adds a
      user with an agency person's address gets nothing);
    * an e-mail without an account joins (agency context: agency staff; location context: client
      member of that location) only where the agency allows it; an existing account is never
      given a membership it did not have.
    """
    if not agency.ghl_company_id or context.company_id != agency.ghl_company_id:
        raise SsoWrongAgency
    user = selectors.user_find(agency=agency, email=context.email)
    if user is not None and not user.is_active:
        raise SsoAccessRefused
    if context.type == "agency":
        if user is None:
            return _join(
                agency=agency, context=context, role=Membership.Role.AGENCY_STAFF, location=None
            )
        if not _agency_member(user=user, agency=agency):
            raise SsoAccessRefused
        return SsoSignIn(user=user, location=None, created=False)

    location = (
        Location.objects.for_agency(agency)
        .filter(ghl_location_id=context.active_location)
        .exclude(status=Location.Status.ARCHIVED)
        .first()
    )
    if location is None:
        raise SsoLocationUnknown
    if user is None:
        return _join(
            agency=agency, context=context, role=Membership.Role.CLIENT_MEMBER, location=location
        )
    if _agency_member(user=user, agency=agency) or not _location_member(
        user=user, location=location
    ):
        raise SsoAccessRefused
    return SsoSignIn(user=user, location=location, created=False)


def sso_sign_in_from_payload(*, agency: Agency, payload: str, client: str) -> SsoSignIn:
    """Decrypt, check and map a posted payload; failures are counted against ``client``."""
    secret = settings.GHL_SSO_SHARED_SECRET
    if not secret:
        raise SsoNotConfigured
    sso_failures_check(client=client)
    try:
        context = sso_context_parse(plaintext=sso_payload_decrypt(payload=payload, secret=secret))
        sso_payload_claim(payload=payload)
        return sso_sign_in_resolve(agency=agency, context=context)
    except SsoError as exc:
        # Only payloads we could not read count: a valid one refused by policy guesses nothing.
        if isinstance(exc, SsoPayloadInvalid | SsoMalformedRequest | SsoReplayed):
            sso_failure_record(client=client)
        log.warning("ghl.sso.refused", agency_id=agency.pk, reason=type(exc).__name__)
        raise
