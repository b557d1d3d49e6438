"""Fault injection per location (or company, or ``*`` for every resource).

Latency is real time (it is about the network, not about GHL's clock). A "timeout" holds the
request for ``timeout_hold_ms`` and then drops the connection without an answer; a "reset"
aborts the TCP connection at once.
"""

from __future__ import annotations

import random
from dataclasses import asdict, dataclass, field
from typing import Any

ACTIONS = ("error", "timeout", "reset")


@dataclass
class Latency:
    kind: str = "fixed"  # fixed | uniform | normal
    ms: float = 0.0
    min_ms: float = 0.0
    max_ms: float = 0.0
    mean_ms: float = 0.0
    stddev_ms: float = 0.0

    def sample(self, rng: random.Random) -> float:
        if self.kind == "uniform":
            return rng.uniform(self.min_ms, self.max_ms)
        if self.kind == "normal":
            return max(0.0, rng.gauss(self.mean_ms, self.stddev_ms))
        return self.ms


@dataclass
class FaultSpec:
    latency: Latency | None = None
    error_rate: float = 0.0
    error_status: int = 503
    timeout_rate: float = 0.0
    timeout_hold_ms: float = 30_000.0
    reset_rate: float = 0.0
    # Restrict to some paths (prefix match); empty means every API path.
    paths: list[str] = field(default_factory=list)
    # Restrict to some HTTP methods (e.g. ["POST"]); empty means every method.
    methods: list[str] = field(default_factory=list)
    # Let this many matching requests through untouched first (a failure "midway").
    after: int = 0

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> FaultSpec:
        data = dict(data)
        latency = data.pop("latency", None)
        known = {
            "error_rate",
            "error_status",
            "timeout_rate",
            "timeout_hold_ms",
            "reset_rate",
            "paths",
            "methods",
            "after",
        }
        unknown = set(data) - known
        if unknown:
            raise ValueError(f"unknown fault keys: {sorted(unknown)}")
        spec = cls(**data)
        if latency is not None:
            if isinstance(latency, (int, float)):
                spec.latency = Latency(ms=float(latency))
            else:
                spec.latency = Latency(**latency)
                if spec.latency.kind not in ("fixed", "uniform", "normal"):
                    raise ValueError("latency.kind must be fixed, uniform or normal")
        if spec.error_status < 500 or spec.error_status > 599:
            raise ValueError("error_status must be a 5xx status")
        if not isinstance(spec.after, int) or spec.after < 0:
            raise ValueError("after must be a whole number of requests")
        spec.methods = [str(m).upper() for m in spec.methods]
        return spec

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True, slots=True)
class Decision:
    delay_s: float
    action: str | None
    hold_s: float = 0.0
    status: int = 503


class Faults:
    def __init__(self, seed: int = 1) -> None:
        self.specs: dict[str, FaultSpec] = {}
        self.passed: dict[str, int] = {}  # matching requests let through, per spec (`after`)
        self.rng = random.Random(seed)

    def reset(self, seed: int) -> None:
        self.specs.clear()
        self.passed.clear()
        self.rng = random.Random(seed)

    def set(self, resource: str, spec: FaultSpec) -> None:
        self.specs[resource] = spec
        self.passed.pop(resource, None)

    def clear(self, resource: str | None = None) -> None:
        if resource is None:
            self.specs.clear()
            self.passed.clear()
        else:
            self.specs.pop(resource, None)
            self.passed.pop(resource, None)

    def decide(self, path: str, *resources: str | None, method: str = "") -> Decision | None:
        if not self.specs:
            return None
        spec, owner = None, ""
        for resource in (*resources, "*"):
            if resource and resource in self.specs:
                spec, owner = self.specs[resource], resource
                break
        if spec is None or (spec.paths and not any(path.startswith(p) for p in spec.paths)):
            return None
        if spec.methods and method.upper() not in spec.methods:
            return None
        if self.passed.get(owner, 0) < spec.after:
            self.passed[owner] = self.passed.get(owner, 0) + 1
            return None
        delay = spec.latency.sample(self.rng) / 1000 if spec.latency else 0.0
        roll = self.rng.random()
        action = None
        if roll < spec.reset_rate:
            action = "reset"
        elif roll < spec.reset_rate + spec.timeout_rate:
            action = "timeout"
        elif roll < spec.reset_rate + spec.timeout_rate + spec.error_rate:
            action = "error"
        return Decision(delay, action, spec.timeout_hold_ms / 1000, spec.error_status)
