"""The dependency direction of ARCHITECTURE.md, enforced by import-linter."""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("saas_platform", "tenants", "integrations", "billing", "sandbox", "drills")
LINT_IMPORTS = str(Path(sys.executable).with_name("lint-imports"))


def lint_imports(cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [LINT_IMPORTS, "--no-cache"], cwd=cwd, capture_output=True, text=True, timeout=120
    )


@pytest.fixture
def tree_copy(tmp_path: Path) -> Path:
    """The project's packages and contracts in a scratch folder, to break on purpose."""
    for package in PACKAGES:
        shutil.copytree(
            ROOT / package, tmp_path / package, ignore=shutil.ignore_patterns("__pycache__")
        )
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    return tmp_path


def test_the_contracts_hold() -> None:
    result = lint_imports(ROOT)
    assert result.returncode == 0, result.stdout
    assert "6 kept, 0 broken" in result.stdout


@pytest.mark.parametrize(
    ("module", "line", "contract"),
    [
        ("integrations/_probe.py", "import billing\n", "independent siblings"),
        ("billing/_probe.py", "import integrations\n", "independent siblings"),
        ("tenants/_probe.py", "from saas_platform import admin_sites\n", "only the kernel"),
        ("tenants/_probe.py", "import integrations\n", "only the kernel"),
        ("saas_platform/kernel/_probe.py", "import tenants\n", "kernel imports no app"),
        ("integrations/_probe.py", "import sandbox\n", "No product code imports the sandbox"),
        ("sandbox/_probe.py", "import tenants\n", "sandbox imports no product code"),
        ("integrations/_probe.py", "import drills\n", "No product code imports the drills"),
    ],
)
def test_a_forbidden_import_breaks_its_contract(
    tree_copy: Path, module: str, line: str, contract: str
) -> None:
    (tree_copy / module).write_text(line)
    result = lint_imports(tree_copy)
    assert result.returncode != 0
    broken = [row for row in result.stdout.splitlines() if " BROKEN" in row]
    assert any(contract in row for row in broken), result.stdout
