"""``Idempotency-Key`` on POST: a retried request gets the first answer instead of acting twice.

The first request with a key claims it in Redis (``SET NX``, so concurrent requests with the
same key race for one claim and exactly one executes; the others get 409
``idempotency_key_in_use``).
Its response (status and body, any status below 500) is stored for 24 hours with a SHA-256 of the
request (method, path and body). A later request with the key and the same hash gets the stored
response replayed (header ``Idempotent-Replayed: true``); with another hash, 409
``idempotency_key_reused``. A 5xx releases the claim, so the client may retry.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response

from .errors import ApiError
from .throttle import redis_client

HEADER = "Idempotency-Key"
MAX_KEY_LENGTH = 255
RESULT_TTL_SECONDS = 24 * 3600
# A claim outlives any request (timeouts are far shorter); a crashed worker's claim expires.
CLAIM_TTL_SECONDS = 120
REPLAYED_HEADER = "Idempotent-Replayed"


@dataclass(frozen=True)
class Claim:
    redis_key: str
    request_hash: str


def _redis_key(owner: str, idempotency_key: str) -> str:
    prefix = str(getattr(settings, "API_IDEMPOTENCY_KEY_PREFIX", "api:idem"))
    digest = hashlib.sha256(idempotency_key.encode()).hexdigest()
    return f"{prefix}:{owner}:{digest}"


def _request_hash(request: Request) -> str:
    digest = hashlib.sha256()
    digest.update(f"{request.method} {request.path}\n".encode())
    digest.update(request._request.body)
    return digest.hexdigest()


class Replay(Exception):
    def __init__(self, response: Response) -> None:
        self.response = response


def idempotency_claim(*, request: Request, owner: str) -> Claim | None:
    """None when the request carries no key; raises `Replay` with the stored response, or a 409
    `ApiError`; otherwise the claim the response must be recorded under."""
    raw = request.headers.get(HEADER)
    if raw is None:
        return None
    if not raw.strip() or len(raw) > MAX_KEY_LENGTH:
        raise ApiError(
            f"{HEADER} must be 1 to {MAX_KEY_LENGTH} characters.", code="invalid_idempotency_key"
        )
    claim = Claim(_redis_key(owner, raw), _request_hash(request))
    client = redis_client(str(settings.REDIS_URL))
    pending = json.dumps({"state": "pending", "hash": claim.request_hash})
    if client.set(claim.redis_key, pending, nx=True, ex=CLAIM_TTL_SECONDS):
        return claim
    stored_raw = client.get(claim.redis_key)
    stored: dict[str, Any] = json.loads(stored_raw) if stored_raw else {}
    if stored.get("hash") != claim.request_hash:
        raise ApiError(
            f"This {HEADER} was used with a different request.",
            code="idempotency_key_reused",
            status_code=409,
        )
    if stored.get("state") != "done":
        raise ApiError(
            f"A request with this {HEADER} is still in progress; retry later.",
            code="idempotency_key_in_use",
            status_code=409,
            retry_after=1,
        )
    response = Response(stored["body"], status=int(stored["status"]))
    response[REPLAYED_HEADER] = "true"
    raise Replay(response)


def idempotency_record(*, claim: Claim, response: Response) -> None:
    client = redis_client(str(settings.REDIS_URL))
    if response.status_code >= 500:
        client.delete(claim.redis_key)
        return
    body = json.loads(JSONRenderer().render(response.data) or b"null")
    done = {"state": "done", "hash": claim.request_hash, "status": response.status_code}
    client.set(claim.redis_key, json.dumps({**done, "body": body}), ex=RESULT_TTL_SECONDS)
