"""Everything the stand-in holds, and the operations shared by the API and the control API."""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sandbox.ghl.clock import Clock
from sandbox.ghl.config import SandboxConfig
from sandbox.ghl.faults import Faults
from sandbox.ghl.keys import SigningKeys
from sandbox.ghl.metrics import Metrics
from sandbox.ghl.oauth.tokens import Installation, TokenRegistry
from sandbox.ghl.ratelimit import RateLimiter
from sandbox.ghl.spec import SpecSet
from sandbox.ghl.store.world import World
from sandbox.ghl.webhooks import EVENT_SCOPES, Delivery, WebhookDispatcher

SCENARIO_DIR = Path(__file__).parent / "scenarios"


class SandboxState:
    def __init__(
        self,
        config: SandboxConfig,
        keys: SigningKeys,
        spec: SpecSet | None,
        scenario: str | None = None,
    ) -> None:
        self.config = config
        self._startup_config = copy.deepcopy(config.to_dict())
        self.keys = keys
        self.spec = spec
        self.scenario = scenario
        self.clock = Clock(config.time_factor)
        self.metrics = Metrics(config.request_log_size)
        self.limiter = RateLimiter(config.rate_limits, self.clock)
        self.faults = Faults(config.fault_seed)
        self.webhooks = WebhookDispatcher(config.webhooks, keys, self.clock, self.metrics)
        self.world = World()
        self.tokens = TokenRegistry(self.clock)
        # Called after every reset (e.g. demo traffic goes back to its startup settings).
        self.reset_hooks: list[Callable[[], None]] = []
        self.load_scenario(scenario)

    # -- lifecycle -----------------------------------------------------------------------
    def snapshot_config(self) -> None:
        """Make the current configuration the one ``reset`` restores."""
        self._startup_config = copy.deepcopy(self.config.to_dict())

    def reset(self, scenario: str | None = None, *, keep_config: bool = False) -> None:
        """Forget all data, tokens, counters, faults and deliveries; reload a scenario."""
        if not keep_config:
            self.config.apps.clear()
            startup = copy.deepcopy(self._startup_config)
            for app in startup["apps"].values():
                app.pop("app_id", None)
            self.config.update(startup)
            self.clock.set_factor(self.config.time_factor)
        self.world = World()
        self.tokens = TokenRegistry(self.clock)
        self.metrics.reset(self.config.request_log_size)
        self.limiter.reset()
        self.faults.reset(self.config.fault_seed)
        self.webhooks.reset()
        if scenario is not None:
            self.scenario = None if scenario == "empty" else scenario
        self.load_scenario(self.scenario)
        for hook in self.reset_hooks:
            hook()

    def load_scenario(self, name: str | None) -> None:
        if not name:
            return
        from sandbox.ghl.seed.scenario import load_scenario

        path = Path(name) if name.endswith(".json") else SCENARIO_DIR / f"{name}.json"
        load_scenario(self, path)

    def apply_config(self, data: dict[str, Any]) -> None:
        self.config.update(data)
        self.clock.set_factor(self.config.time_factor)

    # -- webhooks ------------------------------------------------------------------------
    def emit_location_event(
        self, location_id: str, event_type: str, payload: dict[str, Any]
    ) -> list[Delivery]:
        """Send an event to every app installed on the location whose scopes unlock it."""
        location = self.world.locations.get(location_id)
        if location is None:
            return []
        needed = EVENT_SCOPES.get(event_type)
        out = []
        for installation in self.tokens.installs_for_location(location_id, location.company_id):
            app = self.config.apps.get(installation.client_id)
            if app is None or (needed and needed not in installation.scopes):
                continue
            out.append(self.webhooks.emit(app, event_type, payload, location_id))
        return out

    def emit_install(
        self, installation: Installation, event_type: str = "INSTALL"
    ) -> list[Delivery]:
        """INSTALL/UNINSTALL for an installation (one per approved location on agency installs)."""
        app = self.config.apps.get(installation.client_id)
        company = self.world.companies.get(installation.company_id)
        if app is None:
            return []
        base: dict[str, Any] = {"appId": app.app_id, "companyId": installation.company_id}
        if event_type == "INSTALL":
            base |= {
                "versionId": app.version_id,
                "installType": installation.user_type,
                "userId": installation.user_id,
                "companyName": company.name if company else "",
                "isWhitelabelCompany": bool(company and company.is_whitelabel),
                "whitelabelDetails": {
                    "domain": company.whitelabel_domain if company else "",
                    "logoUrl": company.logo_url if company else "",
                },
                "planId": installation.plan_id or app.plan_id or "",
                "trial": {},
            }
        targets: list[str | None] = [installation.location_id]
        if installation.location_id is None and event_type == "INSTALL":
            targets += list(installation.approved_locations)
        deliveries = []
        for location_id in targets:
            payload = dict(base)
            if location_id:
                payload["locationId"] = location_id
            resource = location_id or installation.company_id
            deliveries.append(self.webhooks.emit(app, event_type, payload, resource))
        return deliveries
