"""A corpus of hostile webhook deliveries, derived systematically from valid signed events.

Every valid event is turned into several deliveries that must be refused: its body tampered
with under the original signature, its signature forged, swapped, stripped or mangled, or a
validly signed body that is no acceptable event (another app, no id, not an object, too deep,
too big, not UTF-8) or is sent the wrong way (content type, method, host). Each delivery carries
the exact status the endpoint owes it, so a refusal for the wrong reason is caught too."""

from __future__ import annotations

import base64
import json
import random
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from tests.integrations.ghl.signing import APP_ID, Signer, compact, event

ED = "X-GHL-Signature"
RSA = "X-WH-Signature"
JSON = "application/json"
# The non-ASCII note makes "re-encoded without \\u escapes" a different byte string.
NOTE = "Grüße aus Zürich 🚀"


@dataclass(frozen=True)
class Delivery:
    kind: str
    body: bytes
    headers: dict[str, str]
    expected: int
    content_type: str = JSON
    method: str = "POST"
    host: str = "localhost"


def _shape(i: int, rng: random.Random) -> dict[str, Any]:
    """Payloads shaped like GHL's (REFERENCE §4.5): flat, nested, with lists and numbers."""
    ident = f"{rng.getrandbits(64):016x}"
    location = f"Loc{i % 7:017d}"
    shapes: list[dict[str, Any]] = [
        event("ContactCreate", locationId=location, id=ident, email=f"p{i}@example.com",
              tags=["new", f"t{i}"], customFields=[{"id": "cf1", "value": i}]),
        event("OpportunityStageUpdate", locationId=location, id=ident, monetaryValue=i * 10,
              pipelineStageId=str(uuid.UUID(int=rng.getrandbits(128)))),
        event("AppointmentCreate", locationId=location,
              appointment={"id": ident, "users": [ident, "u2"], "title": f"Meeting {i}"}),
        event("InboundMessage", locationId=location, contactId=ident, body=f"Hello {i}",
              attachments=[], direction="inbound"),
        event("INSTALL", companyId=f"Co{i:018d}", planId="p1",
              trial={"onTrial": True, "trialDuration": 10}, isWhitelabelCompany=False),
        event("IntegrationTestEvent", locationId=location, seq=i),
    ]  # fmt: skip
    payload = shapes[i % len(shapes)]
    payload["webhookId"] = str(uuid.UUID(int=rng.getrandbits(128)))
    payload["note"] = NOTE
    return payload


def valid_events(count: int, seed: int = 7) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    return [_shape(i, rng) for i in range(count)]


@dataclass
class _Source:
    signer: Signer
    stranger: Signer
    payloads: list[dict[str, Any]]
    bodies: list[bytes] = field(init=False)
    rng: random.Random = field(default_factory=lambda: random.Random(11))

    def __post_init__(self) -> None:
        self.bodies = [compact(p) for p in self.payloads]

    def ed(self, body: bytes) -> dict[str, str]:
        return {ED: self.signer.ed_sign(body)}

    def signed(self, kind: str, body: bytes, expected: int) -> Delivery:
        return Delivery(kind, body, self.ed(body), expected)


def _changed(original: bytes, mutated: bytes) -> bytes:
    if mutated == original:  # a mutation that changes nothing would be a valid delivery
        raise AssertionError("corpus generator produced an unchanged body")
    return mutated


Mutation = Callable[[_Source, int], Delivery]


def _tampered(kind: str, change: Callable[[_Source, int, bytes], bytes]) -> Mutation:
    """The body changed after signing; the original (valid) signature is sent."""

    def make(src: _Source, i: int) -> Delivery:
        body = src.bodies[i]
        return Delivery(kind, _changed(body, change(src, i, body)), src.ed(body), 401)

    return make


def _flip(src: _Source, i: int, body: bytes) -> bytes:
    at = src.rng.randrange(len(body))
    return body[:at] + bytes([body[at] ^ (1 << src.rng.randrange(8))]) + body[at + 1 :]


def _drop(src: _Source, i: int, body: bytes) -> bytes:
    at = src.rng.randrange(len(body))
    return body[:at] + body[at + 1 :]


def _reserialized(**options: Any) -> Callable[[_Source, int, bytes], bytes]:
    return lambda src, i, body: json.dumps(src.payloads[i], **options).encode()


def _reordered(src: _Source, i: int, body: bytes) -> bytes:
    return compact(dict(reversed(list(src.payloads[i].items()))))


def _edited(src: _Source, i: int, body: bytes) -> bytes:
    return compact({**src.payloads[i], "locationId": "AttackerLocation00001"})


def _signature(kind: str, headers: Callable[[_Source, int, bytes], dict[str, str]]) -> Mutation:
    """The body intact; the signature headers forged, mangled or missing."""

    def make(src: _Source, i: int) -> Delivery:
        body = src.bodies[i]
        return Delivery(kind, body, headers(src, i, body), 401)

    return make


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


def _stranger_rsa(src: _Source, i: int, body: bytes) -> dict[str, str]:
    return {RSA: src.stranger.rsa_sign(body)}


def _bad_ed_good_rsa(src: _Source, i: int, body: bytes) -> dict[str, str]:
    return {ED: src.stranger.ed_sign(body), RSA: src.signer.rsa_sign(body)}


SIGNATURE_MUTATIONS: list[Mutation] = [
    _signature("stranger's Ed25519 key", lambda s, i, b: {ED: s.stranger.ed_sign(b)}),
    _signature("stranger's RSA key", _stranger_rsa),
    _signature("wrong Ed25519 beside a valid RSA", _bad_ed_good_rsa),
    _signature("swapped with the next event's",
               lambda s, i, b: s.ed(s.bodies[(i + 1) % len(s.bodies)])),
    _signature("unsigned", lambda s, i, b: {}),
    _signature("N/A", lambda s, i, b: {ED: "N/A"}),
    _signature("N/A in both headers", lambda s, i, b: {ED: "N/A", RSA: "n/a"}),
    _signature("not base64", lambda s, i, b: {ED: "%%" + s.signer.ed_sign(b)[2:]}),
    _signature("base64 without padding", lambda s, i, b: {ED: s.signer.ed_sign(b).rstrip("=")}),
    _signature("prefixed like another vendor's",
               lambda s, i, b: {ED: "sha256=" + s.signer.ed_sign(b)}),
    _signature("signature cut short",
               lambda s, i, b: {ED: _b64(base64.b64decode(s.signer.ed_sign(b))[:63])}),
    _signature("signature of an empty body", lambda s, i, b: {ED: s.signer.ed_sign(b"")}),
    _signature("Ed25519 signature in the RSA header", lambda s, i, b: {RSA: s.signer.ed_sign(b)}),
    _signature("RSA signature in the Ed25519 header", lambda s, i, b: {ED: s.signer.rsa_sign(b)}),
]  # fmt: skip

BODY_MUTATIONS: list[Mutation] = [
    _tampered("flipped bit", _flip),
    _tampered("dropped byte", _drop),
    _tampered("truncated", lambda s, i, b: b[: s.rng.randrange(1, len(b))]),
    _tampered("trailing newline", lambda s, i, b: b + b"\n"),
    _tampered("re-serialized with spaces", _reserialized()),
    _tampered("re-serialized indented", _reserialized(indent=2)),
    _tampered("re-serialized without \\u escapes", _reserialized(ensure_ascii=False,
                                                                  separators=(",", ":"))),
    _tampered("keys reordered", _reordered),
    _tampered("field edited", _edited),
]  # fmt: skip


def _signed_payload(kind: str, change: Callable[[dict[str, Any]], Any], status: int) -> Mutation:
    """A validly signed body that is not an acceptable event."""

    def make(src: _Source, i: int) -> Delivery:
        return src.signed(kind, compact(change(dict(src.payloads[i]))), status)

    return make


def _without(key: str) -> Callable[[dict[str, Any]], dict[str, Any]]:
    return lambda p: {k: v for k, v in p.items() if k != key}


def _nested(depth: int) -> Callable[[_Source, int], Delivery]:
    def make(src: _Source, i: int) -> Delivery:
        head = compact(src.payloads[i])[:-1] + b',"deep":'
        body = head + b"[" * depth + b"]" * depth + b"}"
        return src.signed(f"signed, nested {depth} deep", body, 400)

    return make


def _invalid_utf8(src: _Source, i: int) -> Delivery:
    body = compact(src.payloads[i])[:-1] + b',"name":"Gr\xfc\xdfe \xff\xfe"}'
    return src.signed("signed, invalid UTF-8", body, 400)


def _truncated_signed(src: _Source, i: int) -> Delivery:
    body = compact(src.payloads[i])
    return src.signed("truncated, then signed", body[: src.rng.randrange(1, len(body) - 1)], 400)


def _oversized(src: _Source, i: int) -> Delivery:
    body = compact({**src.payloads[i], "padding": "x" * (256 * 1024)})
    return src.signed("signed, over the size cap", body, 413)


def _wrong_way(kind: str, status: int, **how: str) -> Mutation:
    """Validly signed and well formed, but sent the wrong way."""

    def make(src: _Source, i: int) -> Delivery:
        body = src.bodies[i]
        return Delivery(kind, body, src.ed(body), status, **how)

    return make


PAYLOAD_MUTATIONS: list[Mutation] = [
    _signed_payload("signed, another app", lambda p: {**p, "appId": "5f00000000000000000000ab"},
                    403),
    _signed_payload("signed, full client id as appId",
                    lambda p: {**p, "appId": f"{APP_ID}-m0ck5t4n"}, 403),
    _signed_payload("signed, numeric appId", lambda p: {**p, "appId": 66}, 403),
    _signed_payload("signed, no webhookId", _without("webhookId"), 400),
    _signed_payload("signed, empty webhookId", lambda p: {**p, "webhookId": ""}, 400),
    _signed_payload("signed, numeric webhookId", lambda p: {**p, "webhookId": 12345}, 400),
    _signed_payload("signed, webhookId too long", lambda p: {**p, "webhookId": "w" * 129}, 400),
    _signed_payload("signed, no type", _without("type"), 400),
    _signed_payload("signed, type not a string", lambda p: {**p, "type": ["ContactCreate"]}, 400),
    _signed_payload("signed, a list", lambda p: [p], 400),
    _signed_payload("signed, a string", lambda p: json.dumps(p), 400),
    _nested(10_000),
    _nested(40),  # over the depth limit (32), far below the parser's recursion limit
    _invalid_utf8,
    _truncated_signed,
    _wrong_way("signed, text/plain", 415, content_type="text/plain"),
    _wrong_way("signed, form-encoded", 415, content_type="application/x-www-form-urlencoded"),
    _wrong_way("signed, no content type", 415, content_type=""),
    _wrong_way("signed, GET", 405, method="GET"),
    _wrong_way("signed, PUT", 405, method="PUT"),
    _wrong_way("signed, unknown host", 404, host="attacker.example"),
]  # fmt: skip

RARE: list[tuple[Mutation, int]] = [(_oversized, 10)]  # few: each is a quarter megabyte


def hostile_deliveries(
    signer: Signer, payloads: list[dict[str, Any]], per_event: int = 5
) -> Iterator[Delivery]:
    """`per_event` deliveries per valid event, dealt round-robin over every mutation so each
    kind is applied to many different events (and every event to several kinds)."""
    src = _Source(signer=signer, stranger=Signer(), payloads=payloads)
    mutations = SIGNATURE_MUTATIONS + BODY_MUTATIONS + PAYLOAD_MUTATIONS
    turn = 0
    for i in range(len(payloads)):
        for _ in range(per_event):
            yield mutations[turn % len(mutations)](src, i)
            turn += 1
    for mutation, count in RARE:
        for i in range(count):
            yield mutation(src, i)
