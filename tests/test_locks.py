"""The image installs requirements-production.lock: exactly what the project's own dependencies
pull in, at the pins and hashes of requirements.lock (which the tests run on), nothing from the
dev extra. `make lock` writes both."""

from __future__ import annotations

import re
import tomllib
from importlib import metadata
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parent.parent
# `uv pip compile --python-version 3.11` resolves for 3.11.0 (redis: async-timeout below 3.11.3).
PYTHON = {"python_version": "3.11", "python_full_version": "3.11.0"}
PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==(\S+)")


def _pins(lock: str) -> dict[str, tuple[str, frozenset[str]]]:
    """name -> (version, hashes) of a uv-compiled, hash-pinned lock file."""
    pins: dict[str, tuple[str, set[str]]] = {}
    current = ""
    for line in (ROOT / lock).read_text().splitlines():
        if match := PIN.match(line):
            current = canonicalize_name(match[1])
            pins[current] = (match[2], set())
        pins.get(current, ("", set()))[1].update(re.findall(r"--hash=(sha256:[0-9a-f]+)", line))
    return {name: (version, frozenset(hashes)) for name, (version, hashes) in pins.items()}


def _runtime_closure() -> set[str]:
    """Every distribution [project].dependencies needs, read from the installed metadata."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    todo = [(Requirement(spec), "") for spec in project["dependencies"]]
    needed: set[str] = set()
    seen: set[tuple[str, str]] = set()  # (distribution, extra) whose requirements were read
    while todo:
        requirement, extra = todo.pop()
        if requirement.marker and not requirement.marker.evaluate({**PYTHON, "extra": extra}):
            continue
        name = canonicalize_name(requirement.name)
        for wanted in {""} | requirement.extras:
            if (name, wanted) in seen:
                continue
            seen.add((name, wanted))
            todo += [(Requirement(spec), wanted) for spec in metadata.requires(name) or []]
        needed.add(name)
    return needed


def test_production_lock_pins_what_the_dev_lock_pins() -> None:
    dev, production = _pins("requirements.lock"), _pins("requirements-production.lock")
    assert production, "no pins read: the test would pass vacuously"
    assert all(hashes for _, hashes in production.values())
    assert {name: pin for name, pin in production.items() if dev.get(name) != pin} == {}


def test_production_lock_is_exactly_the_runtime_dependencies() -> None:
    production = set(_pins("requirements-production.lock"))
    closure = _runtime_closure()
    assert {"django", "celery", "gunicorn"} <= closure
    assert sorted(closure - production) == [], "missing: run make lock"
    assert sorted(production - closure) == [], "not needed at run time"
