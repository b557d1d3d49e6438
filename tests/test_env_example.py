"""`.env.example` documents every variable the settings read."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
READ = re.compile(r"env(?:\.\w+)?\(\s*\"([A-Z][A-Z0-9_]+)\"")


def test_every_environment_variable_is_documented() -> None:
    read: set[str] = set()
    for path in (ROOT / "saas_platform" / "settings").glob("*.py"):
        read |= set(READ.findall(path.read_text()))
    read |= set(
        re.findall(r"os\.environ\.get\(\"([A-Z_]+)\"", (ROOT / "tools/engines.py").read_text())
    )
    documented = set(
        re.findall(r"^#?\s*([A-Z][A-Z0-9_]+)=", (ROOT / ".env.example").read_text(), re.M)
    )
    assert read, "the pattern found no variables: the test would pass vacuously"
    assert read - documented == set()
