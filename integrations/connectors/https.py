"""The generic HTTPS connector: any endpoint that speaks the small JSON contract below.

Push (`upsert`, `delete`): a POST to `push_url` of one JSON batch, signed per Standard Webhooks
(https://www.standardwebhooks.com/) with the connection's `whsec_` secret:

    {"type": "contacts.upsert", "timestamp": "<iso>", "data": [{"<key_field>": "<key>", ...}]}
    {"type": "contacts.delete", "timestamp": "<iso>", "data": {"keys": ["<key>", ...]}}

headers `webhook-id` (one per batch, the same on every retry of it: dedupe on it),
`webhook-timestamp` (Unix seconds of the attempt) and `webhook-signature`
(`v1,<base64 HMAC-SHA256 of "{id}.{timestamp}.{body}">` keyed with the base64-decoded part of
the secret). New records get a `uuid4().hex` key made here; the receiver stores it. `check()`
posts `{"type": "ping", ...}` the same way. Redirects are not followed.

Pull (`changes`): GET `pull_url?cursor=<cursor>&limit=<n>` (no cursor on the first call), with
`Authorization: Bearer <bearer_token>` when a token is set, answering

    {"records": [{"<key_field>": "...", "<modified_field>": "<iso with zone>" | null, ...}],
     "next_cursor": "..." | null, "has_more": true | false, "deleted": ["<key>", ...]?}

Field values are JSON scalars. Anything else is refused as a configuration problem."""

from __future__ import annotations

import base64
import binascii
import ipaddress
import json
import random
import re
import secrets
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any, ClassVar
from urllib.parse import urlsplit

import httpx
import structlog
from standardwebhooks import Webhook

from . import ssrf
from .base import (
    ChangePage,
    Connector,
    ConnectorAuthError,
    ConnectorConfigError,
    ConnectorError,
    ConnectorSettings,
    ConnectorUnavailable,
    ExternalRecord,
    OutboundRecord,
    Value,
    register,
)

log = structlog.get_logger(__name__)

SECRET_PREFIX = "whsec_"  # noqa: S105 (the Standard Webhooks prefix, not a secret)
SHAPE_ERROR = "The endpoint answered something other than the documented JSON"
_PUSH = "push URL"
_PULL = "pull URL"
_EXCERPT_CHARS = 200
_PUSH_ANSWER_BYTES = 64 * 1024  # a push answer is only read for an error excerpt
_jitter = random.SystemRandom()


@dataclass(frozen=True)
class _Answer:
    status: int
    headers: httpx.Headers
    body: bytes


def _shape(detail: str) -> ConnectorConfigError:
    return ConnectorConfigError(f"{SHAPE_ERROR}: {detail}.")


def _short(text: object, limit: int = 60) -> str:
    text = str(text)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _secret_bytes(secret: object) -> bytes:
    if not isinstance(secret, str) or not secret.startswith(SECRET_PREFIX):
        raise ConnectorConfigError(f"The signing secret must be a string starting {SECRET_PREFIX}.")
    try:
        raw = base64.b64decode(secret[len(SECRET_PREFIX) :], validate=True)
    except (binascii.Error, ValueError):
        raise ConnectorConfigError("The signing secret is not valid base64 after whsec_.") from None
    if len(raw) < 24:
        raise ConnectorConfigError("The signing secret is too short (at least 24 bytes).")
    return raw


def _check_url(name: str, url: object) -> None:
    if not isinstance(url, str) or not url.strip():
        raise ConnectorConfigError(f"The {name} must be a URL.")
    try:
        parts = urlsplit(url.strip())
        host = parts.hostname
    except ValueError:
        raise ConnectorConfigError(f"The {name} is not a valid URL.") from None
    if parts.scheme.lower() != "https":
        raise ConnectorConfigError(
            f"The {name} must start with https:// (plain http would expose the records)."
        )
    if not host:
        raise ConnectorConfigError(f"The {name} has no host name.")
    if parts.username or parts.password:
        raise ConnectorConfigError(
            f"The {name} must not carry a user name or password; use the bearer token instead."
        )
    check_url = getattr(ssrf, "check_url", None)
    if check_url is not None:
        check_url(url.strip(), schemes=("https",))
        return
    # Until the full guard lands: refuse at least literal private addresses and localhost.
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        if host == "localhost" or host.endswith(".localhost"):
            raise ConnectorConfigError(
                f"The {name} points to a private address, which connections may not reach."
            ) from None
        return
    if not ssrf.is_public(address):
        raise ConnectorConfigError(
            f"The {name} points to a private or reserved address, which connections may not reach."
        )


def _is_scalar(value: object) -> bool:
    return value is None or isinstance(value, str | int | float | bool)


@register("https", "HTTPS endpoint (JSON)")
class HttpsConnector(Connector):
    """Pushes signed JSON batches to `push_url` and pulls pages from `pull_url`."""

    attempts: ClassVar[int] = 4  # tries per request, first one included
    backoff: ClassVar[float] = 1.0  # the first retry waits about this long, then doubling
    max_backoff: ClassVar[float] = 20.0
    max_retry_after: ClassVar[float] = 60.0  # a longer Retry-After fails the run (retryable)
    timeout: ClassVar[float] = 30.0
    max_redirects: ClassVar[int] = 5
    max_response_bytes: ClassVar[int] = 10 * 1024 * 1024
    # Waits between retries; tests swap it for a recorder.
    sleep: ClassVar[Callable[[float], None]] = time.sleep

    def __init__(self, settings: ConnectorSettings) -> None:
        super().__init__(settings)
        config = settings.config
        self.push_url: str | None = (config.get("push_url") or "").strip() or None
        self.pull_url: str | None = (config.get("pull_url") or "").strip() or None
        self.key_field: str = config.get("key_field") or "id"
        self.modified_field: str = config.get("modified_field") or "updated_at"
        self._client: httpx.Client | None = None

    # -- settings -------------------------------------------------------------------------

    @classmethod
    def new_secret(cls) -> str:
        """A fresh Standard Webhooks signing secret (`whsec_` + base64 of 32 random bytes)."""
        return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()

    @classmethod
    def prepare_credentials(cls, credentials: Mapping[str, Any]) -> dict[str, Any]:
        return cls.with_secret(credentials)

    @classmethod
    def with_secret(cls, credentials: Mapping[str, Any]) -> dict[str, Any]:
        """The credentials, with a new signing secret when they hold none (call before saving)."""
        return {
            **credentials,
            "signing_secret": credentials.get("signing_secret") or cls.new_secret(),
        }

    @classmethod
    def validate(cls, config: Mapping[str, Any], credentials: Mapping[str, Any]) -> None:
        push, pull = config.get("push_url"), config.get("pull_url")
        if not push and not pull:
            raise ConnectorConfigError("Enter a push URL, a pull URL or both.")
        if push:
            _check_url(_PUSH, push)
        if pull:
            _check_url(_PULL, pull)
        names = []
        for name, default in (("key_field", "id"), ("modified_field", "updated_at")):
            value = config.get(name, default)
            if not isinstance(value, str) or not value.strip():
                raise ConnectorConfigError(f"The {name.replace('_', ' ')} must be a field name.")
            names.append(value)
        if names[0] == names[1]:
            raise ConnectorConfigError("The key field and the modified field must differ.")
        if credentials.get("signing_secret") is not None:
            _secret_bytes(credentials["signing_secret"])
        token = credentials.get("bearer_token")
        if token is not None and not (
            isinstance(token, str) and token and token.isascii() and token.isprintable()
        ):
            raise ConnectorConfigError("The bearer token must be printable ASCII text.")

    # -- the interface --------------------------------------------------------------------

    def check(self) -> None:
        if self.pull_url:
            self.changes(None, limit=1)
        if self.push_url:
            self._push("ping", [])

    def changes(self, cursor: str | None, *, limit: int = 500) -> ChangePage:
        if not self.pull_url:  # a push-only connection has nothing to pull
            return ChangePage(records=[], cursor=cursor)
        params = (
            {"cursor": cursor, "limit": str(limit)} if cursor is not None else {"limit": str(limit)}
        )
        headers = {}
        if token := self.settings.credentials.get("bearer_token"):
            headers["Authorization"] = f"Bearer {token}"
        answer = self._send("GET", self.pull_url, _PULL, params=params, headers=headers)
        return self._page(answer.body, cursor)

    def upsert(self, records: Sequence[OutboundRecord]) -> list[str]:
        if not records:
            return []
        keys, data = [], []
        for record in records:
            key = record.key or uuid.uuid4().hex
            keys.append(key)
            fields = {k: v for k, v in record.fields.items() if k != self.key_field}
            data.append({self.key_field: key, **fields})
        self._push("contacts.upsert", data)
        return keys

    def delete(self, keys: Sequence[str]) -> None:
        if keys:
            self._push("contacts.delete", {"keys": list(keys)})

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None

    # -- push -----------------------------------------------------------------------------

    def _push(self, kind: str, data: object) -> None:
        if not self.push_url:
            raise ConnectorConfigError("This connection has no push URL, so it cannot write.")
        secret = self.settings.credentials.get("signing_secret")
        if not secret:
            raise ConnectorConfigError(
                "This connection has no signing secret; save its settings to make one."
            )
        webhook = Webhook(_secret_bytes(secret))
        stamp = datetime.now(UTC).isoformat(timespec="seconds")
        try:
            body = json.dumps(
                {"type": kind, "timestamp": stamp, "data": data},
                separators=(",", ":"),
                ensure_ascii=False,
                allow_nan=False,
            )
        except ValueError:
            raise ConnectorError(
                "A record holds a number JSON cannot carry (NaN or infinity)."
            ) from None
        # One id per batch, kept across retries so the receiver can drop a repeat.
        msg_id = f"msg_{uuid.uuid4().hex}"

        def signed() -> dict[str, str]:
            now = int(time.time())
            return {
                "Content-Type": "application/json",
                "webhook-id": msg_id,
                "webhook-timestamp": str(now),
                "webhook-signature": webhook.sign(msg_id, datetime.fromtimestamp(now, UTC), body),
            }

        self._send("POST", self.push_url, _PUSH, content=body.encode(), sign=signed)

    # -- pull -----------------------------------------------------------------------------

    def _page(self, body: bytes, cursor: str | None) -> ChangePage:
        def no_constants(name: str) -> None:
            raise ValueError(name)

        try:
            payload = json.loads(body.decode("utf-8"), parse_constant=no_constants)
        except (ValueError, RecursionError):
            raise _shape("the answer is not valid JSON") from None
        if not isinstance(payload, dict):
            raise _shape("the answer is not a JSON object")
        records, has_more = payload.get("records"), payload.get("has_more")
        if not isinstance(records, list):
            raise _shape('"records" is missing or not a list')
        if not isinstance(has_more, bool):
            raise _shape('"has_more" is missing or not true/false')
        if "next_cursor" not in payload:
            raise _shape('"next_cursor" is missing (use null when there is none)')
        next_cursor = payload["next_cursor"]
        if next_cursor is not None and not isinstance(next_cursor, str):
            raise _shape('"next_cursor" is neither a string nor null')
        if has_more and (not next_cursor or next_cursor == cursor):
            raise _shape('"has_more" is true but "next_cursor" does not move on')
        deleted = payload.get("deleted", [])
        if not isinstance(deleted, list) or not all(self._is_key(k) for k in deleted):
            raise _shape('"deleted" is not a list of keys')
        return ChangePage(
            records=[self._record(index, item) for index, item in enumerate(records, 1)],
            cursor=next_cursor if next_cursor is not None else cursor,
            more=has_more,
            deleted=[str(k) for k in deleted],
        )

    @staticmethod
    def _is_key(value: object) -> bool:
        return isinstance(value, str | int) and not isinstance(value, bool) and value != ""

    def _record(self, index: int, item: object) -> ExternalRecord:
        if not isinstance(item, dict):
            raise _shape(f"record {index} is not an object")
        key = item.get(self.key_field)
        if not self._is_key(key):
            raise _shape(f'record {index} has no "{_short(self.key_field)}" (a string or integer)')
        fields: dict[str, Value] = {}
        for name, value in item.items():
            if name in (self.key_field, self.modified_field):
                continue
            if not _is_scalar(value):
                raise _shape(
                    f'record {index}\'s "{_short(name)}" is not a string, number, '
                    "true/false or null"
                )
            fields[name] = value
        return ExternalRecord(
            key=str(key),
            fields=fields,
            modified_at=self._modified(index, item.get(self.modified_field)),
        )

    def _modified(self, index: int, value: object) -> datetime | None:
        if value is None:
            return None
        name = _short(self.modified_field)
        if not isinstance(value, str):
            raise _shape(f'record {index}\'s "{name}" is not an ISO 8601 date-time string')
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            raise _shape(f'record {index}\'s "{name}" is not an ISO 8601 date-time') from None
        if moment.tzinfo is None or moment.utcoffset() is None:
            raise _shape(f'record {index}\'s "{name}" has no time zone (add Z or +00:00)')
        return moment

    # -- the wire -------------------------------------------------------------------------

    def _http(self) -> httpx.Client:
        if self._client is None:
            headers = {"Accept": "application/json"}
            guarded = getattr(ssrf, "guarded_http_client", None)
            if guarded is not None:
                self._client = guarded(
                    timeout=self.timeout, headers=headers, max_redirects=self.max_redirects
                )
            else:
                self._client = httpx.Client(timeout=self.timeout, headers=headers)
        return self._client

    def _send(
        self,
        method: str,
        url: str,
        label: str,
        *,
        params: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
        content: bytes | None = None,
        sign: Callable[[], dict[str, str]] | None = None,
    ) -> _Answer:
        """One request with bounded, jittered retries on timeouts, 408, 429 and 5xx."""
        if getattr(ssrf, "guarded_http_client", None) is None:
            _check_url(label, url)  # no connect-time guard yet: at least the literal checks
        problem = ""
        for attempt in range(1, self.attempts + 1):
            request_headers = {**(headers or {}), **(sign() if sign else {})}
            wait = self._backoff(attempt)
            try:
                answer = self._exchange(method, url, params, request_headers, content, label)
            except httpx.TimeoutException:
                problem, status = "did not answer in time", None
            except httpx.RequestError as exc:  # refused, reset, TLS, broken encoding
                problem, status = f"could not be reached ({_short(exc, 120)})", None
            else:
                status = answer.status
                if 200 <= status < 300:
                    return answer
                if status not in (408, 429) and status < 500:
                    raise self._refusal(label, answer)
                problem = f"answered HTTP {status}"
                retry_after = self._retry_after(answer.headers.get("retry-after"))
                if retry_after is not None:
                    if retry_after > self.max_retry_after:
                        raise ConnectorUnavailable(
                            f"The {label} {problem} and asked to wait {int(retry_after)} seconds; "
                            "the run will be tried again later."
                        )
                    wait = retry_after + _jitter.uniform(0, 0.5)
            if attempt == self.attempts:
                break
            log.warning(
                "connectors.https.retry", target=label, attempt=attempt, status=status, wait=wait
            )
            type(self).sleep(wait)
        raise ConnectorUnavailable(
            f"The {label} {problem} after {self.attempts} attempts; "
            "the run will be tried again later."
        )

    def _exchange(
        self,
        method: str,
        url: str,
        params: Mapping[str, str] | None,
        headers: Mapping[str, str],
        content: bytes | None,
        label: str,
    ) -> _Answer:
        # A push answer is read only for an error excerpt; a pull answer is refused past the cap.
        cap, strict = (
            (_PUSH_ANSWER_BYTES, False) if method == "POST" else (self.max_response_bytes, True)
        )
        too_big = ConnectorConfigError(
            f"The {label} answered more than {self.max_response_bytes // (1024 * 1024)} MB; "
            "answer smaller pages."
        )
        deadline = time.monotonic() + 4 * self.timeout
        # Merged by hand: httpx would replace a query the URL already has.
        target = httpx.URL(url).copy_merge_params(params) if params else httpx.URL(url)
        with self._http().stream(
            method, target, headers=headers, content=content, follow_redirects=False
        ) as response:
            declared = response.headers.get("content-length", "")
            if strict and declared.isdigit() and int(declared) > cap:
                raise too_big
            chunks, size = [], 0
            for chunk in response.iter_bytes():
                size += len(chunk)
                if size > cap:
                    if strict:
                        raise too_big
                    break
                chunks.append(chunk)
                if time.monotonic() > deadline:
                    raise httpx.ReadTimeout("The answer took too long to arrive.")
            return _Answer(response.status_code, response.headers, b"".join(chunks))

    def _backoff(self, attempt: int) -> float:
        ceiling = min(self.max_backoff, self.backoff * 2 ** (attempt - 1))
        return _jitter.uniform(ceiling / 2, ceiling)

    @staticmethod
    def _retry_after(value: str | None) -> float | None:
        if not value:
            return None
        value = value.strip()
        if value.isdigit():
            return float(value)
        try:
            moment = parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        return max(0.0, (moment - datetime.now(UTC)).total_seconds())

    def _refusal(self, label: str, answer: _Answer) -> ConnectorError:
        status, excerpt = answer.status, self._excerpt(answer.body)
        detail = f": {excerpt}" if excerpt else ""
        if 300 <= status < 400:
            return ConnectorConfigError(
                f"The {label} answered with a redirect (HTTP {status}); enter the final address, "
                "redirects are not followed."
            )
        if status in (401, 403):
            what = "the signature" if label == _PUSH else "the bearer token"
            return ConnectorAuthError(f"The {label} refused {what} (HTTP {status}){detail}")
        return ConnectorError(f"The {label} refused the request (HTTP {status}){detail}")

    def _excerpt(self, body: bytes) -> str:
        """The start of an error answer, one line, with any secret of ours blanked out."""
        text = body[:_PUSH_ANSWER_BYTES].decode("utf-8", errors="replace")
        credentials = self.settings.credentials
        for secret in (credentials.get("signing_secret"), credentials.get("bearer_token")):
            if isinstance(secret, str) and len(secret) >= 4:
                text = text.replace(secret, "[redacted]")
                if secret.startswith(SECRET_PREFIX):
                    text = text.replace(secret[len(SECRET_PREFIX) :], "[redacted]")
        text = re.sub(r"\s+", " ", "".join(c if c.isprintable() else " " for c in text)).strip()
        return _short(text, _EXCERPT_CHARS)
