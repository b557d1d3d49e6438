"""Installations, authorization codes, and access/refresh tokens.

Access tokens are JWT-shaped (HS256 over GHL-like claims) but are checked by lookup, so a forged
or tampered token is simply unknown. Refresh tokens are single use: each refresh consumes the
old token and issues a new pair.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field

from sandbox.ghl.clock import Clock, now_iso


@dataclass
class Installation:
    client_id: str
    company_id: str
    location_id: str | None  # None for an agency (Company) install
    user_id: str
    scopes: tuple[str, ...]
    approved_locations: list[str] = field(default_factory=list)
    approve_all: bool = False
    future: bool = False
    is_bulk: bool = False
    plan_id: str | None = None
    installed_at: str = field(default_factory=now_iso)

    @property
    def target_id(self) -> str:
        return self.location_id or self.company_id

    @property
    def user_type(self) -> str:
        return "Location" if self.location_id else "Company"


@dataclass
class AuthCode:
    code: str
    client_id: str
    redirect_uri: str
    install_key: tuple[str, str]
    expires_at: float
    used: bool = False


@dataclass(slots=True)
class AccessToken:
    token: str
    client_id: str
    user_type: str
    company_id: str
    location_id: str | None
    scopes: frozenset[str]
    expires_at: float
    install_key: tuple[str, str]
    revoked: bool = False

    @property
    def resource_id(self) -> str:
        return self.location_id or self.company_id


@dataclass
class RefreshToken:
    token: str
    client_id: str
    user_type: str
    company_id: str
    location_id: str | None
    scopes: tuple[str, ...]
    expires_at: float
    install_key: tuple[str, str]
    used: bool = False
    revoked: bool = False


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


class TokenRegistry:
    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self._secret = secrets.token_bytes(32)
        self.installs: dict[tuple[str, str], Installation] = {}
        self.codes: dict[str, AuthCode] = {}
        self.access: dict[str, AccessToken] = {}
        self.refresh: dict[str, RefreshToken] = {}

    # -- installations -------------------------------------------------------------------
    def install(self, installation: Installation) -> Installation:
        self.installs[(installation.client_id, installation.target_id)] = installation
        return installation

    def installation(self, client_id: str, target_id: str) -> Installation | None:
        return self.installs.get((client_id, target_id))

    def is_installed(self, client_id: str, location_id: str, company_id: str) -> bool:
        if (client_id, location_id) in self.installs:
            return True
        agency = self.installs.get((client_id, company_id))
        return agency is not None and (
            agency.approve_all or location_id in agency.approved_locations
        )

    def installs_for_location(self, location_id: str, company_id: str) -> list[Installation]:
        """Installations whose app should hear about this location's events."""
        out = []
        for (client_id, _), inst in self.installs.items():
            if inst.location_id == location_id or (
                inst.location_id is None
                and self.is_installed(client_id, location_id, company_id)
                and (client_id, location_id) not in self.installs
            ):
                out.append(inst)
        return out

    def uninstall(self, client_id: str, target_id: str) -> Installation | None:
        removed = self.installs.pop((client_id, target_id), None)
        if removed is not None:
            self.revoke(
                lambda t: (
                    t.client_id == client_id
                    and (
                        t.location_id == target_id
                        or (removed.location_id is None and t.company_id == removed.company_id)
                    )
                )
            )
        return removed

    # -- codes ---------------------------------------------------------------------------
    def issue_code(self, installation: Installation, redirect_uri: str, ttl_s: float) -> str:
        code = secrets.token_hex(20)
        self.codes[code] = AuthCode(
            code=code,
            client_id=installation.client_id,
            redirect_uri=redirect_uri,
            install_key=(installation.client_id, installation.target_id),
            expires_at=self.clock.now() + ttl_s,
        )
        return code

    # -- tokens --------------------------------------------------------------------------
    def _jwt(self, claims: dict[str, object]) -> str:
        header = _b64(b'{"alg":"HS256","typ":"JWT"}')
        payload = _b64(json.dumps(claims, separators=(",", ":")).encode())
        signature = hmac.new(self._secret, f"{header}.{payload}".encode(), hashlib.sha256)
        return f"{header}.{payload}.{_b64(signature.digest())}"

    def mint(
        self,
        installation: Installation,
        location_id: str | None,
        access_ttl_s: float,
        refresh_ttl_s: float,
        version_id: str,
    ) -> tuple[AccessToken, RefreshToken]:
        """Issue a pair for the installation (a Location pair when ``location_id`` is set)."""
        now = self.clock.now()
        user_type = "Location" if location_id else "Company"
        auth_id = location_id or installation.company_id
        claims: dict[str, object] = {
            "authClass": user_type,
            "authClassId": auth_id,
            "source": "INTEGRATION",
            "sourceId": installation.client_id,
            "channel": "OAUTH",
            "primaryAuthClassId": auth_id,
            "oauthMeta": {
                "scopes": list(installation.scopes),
                "client": installation.client_id.split("-", 1)[0],
                "clientKey": installation.client_id,
                "versionId": version_id,
            },
            "iat": int(now),
            "exp": int(now + access_ttl_s),
        }
        access = AccessToken(
            token=self._jwt(claims | {"jti": secrets.token_hex(12)}),
            client_id=installation.client_id,
            user_type=user_type,
            company_id=installation.company_id,
            location_id=location_id,
            scopes=frozenset(installation.scopes),
            expires_at=now + access_ttl_s,
            install_key=(installation.client_id, installation.target_id),
        )
        refresh = RefreshToken(
            token=self._jwt(
                claims
                | {"jti": secrets.token_hex(12), "refresh": True, "exp": int(now + refresh_ttl_s)}
            ),
            client_id=installation.client_id,
            user_type=user_type,
            company_id=installation.company_id,
            location_id=location_id,
            scopes=installation.scopes,
            expires_at=now + refresh_ttl_s,
            install_key=access.install_key,
        )
        self.access[access.token] = access
        self.refresh[refresh.token] = refresh
        return access, refresh

    def lookup(self, token: str) -> AccessToken | None:
        access = self.access.get(token)
        if access is None or access.revoked or access.expires_at <= self.clock.now():
            return None
        return access

    def expire(self, token: str) -> bool:
        access = self.access.get(token)
        if access is None:
            return False
        access.expires_at = self.clock.now()
        return True

    def revoke(self, predicate: Callable[[AccessToken | RefreshToken], bool]) -> int:
        """Revoke every access and refresh token matching ``predicate``."""
        count = 0
        tokens: list[AccessToken | RefreshToken] = [*self.access.values(), *self.refresh.values()]
        for token in tokens:
            if not token.revoked and predicate(token):
                token.revoked = True
                count += 1
        return count
