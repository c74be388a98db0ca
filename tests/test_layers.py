"""The import contracts (pyproject.toml [tool.importlinter]) hold, and scripts/test.sh fails when one breaks.

Each check runs on a copy of the code with one import added, so a contract that names a module
wrongly (and so guards nothing) fails here instead of passing quietly.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
VENV = ROOT / ".venv"
LINT_IMPORTS = Path(sys.executable).parent / "lint-imports"

# contract id -> crossings it must refuse: (module given the import, the import)
VIOLATIONS: dict[str, list[tuple[str, str]]] = {
    "cli-leaves": [("bot/cli/keys.py", "import bot.cli")],
    "services-below-the-app": [("bot/services/dates.py", "import bot.runtime"),
                               ("bot/services/dates.py", "import flask"),
                               ("bot/services/events.py", "import bot.background.jobs.events"),
                               ("bot/services/yesno.py", "import bot.chat.context")],
    "models-bottom": [("bot/models/reports.py", "import bot.services.dates")],
    "infra-below-the-features": [("bot/infra/db.py", "import handlers.report"),
                                 ("bot/infra/metrics.py", "import bot.runtime")],
    "handlers-no-orm": [("handlers/quiz.py", "import sqlalchemy")],
    "layers": [("bot/services/dates.py", "import handlers.report")],
}
CROSSINGS = [(contract, *crossing) for contract, crossings in VIOLATIONS.items() for crossing in crossings]


def copy_of_code(into: Path) -> Path:
    """The Python files of bot/ and handlers/ and the contracts: all lint-imports reads."""
    def not_python(folder: str, names: list[str]) -> list[str]:
        return [n for n in names if n == "__pycache__" or not (n.endswith(".py") or (Path(folder) / n).is_dir())]

    for package in ("bot", "handlers"):
        shutil.copytree(ROOT / package, into / package, ignore=not_python)
    shutil.copy(ROOT / "pyproject.toml", into)
    return into


def add_import(tree: Path, module: str, statement: str) -> None:
    path = tree / module
    path.write_text(path.read_text(encoding="utf-8") + f"\n{statement}  # noqa: E402,F401\n", encoding="utf-8")


def lint_imports(cwd: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(LINT_IMPORTS), "--no-logo", "--no-cache", *args], cwd=cwd, capture_output=True,
                          text=True, timeout=120)


def test_the_contracts_hold_on_the_code_as_it_is():
    result = lint_imports(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_contract_is_checked_here():
    import tomllib

    contracts = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["importlinter"]["contracts"]
    assert sorted(c["id"] for c in contracts) == sorted(VIOLATIONS)


@pytest.mark.parametrize(("contract", "module", "statement"), CROSSINGS, ids=[f"{c}:{s}" for c, _, s in CROSSINGS])
def test_one_import_across_a_layer_breaks_its_contract(tmp_path, contract, module, statement):
    tree = copy_of_code(tmp_path)
    add_import(tree, module, statement)
    result = lint_imports(tree, "--contract", contract)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "BROKEN" in result.stdout


def shared_venv(tree: Path) -> None:
    """.venv in the copy is this one's, with the requirements stamp of the copy so nothing is installed."""
    (tree / ".venv").mkdir()
    for entry in VENV.iterdir():
        if entry.name != ".requirements.sha256":
            (tree / ".venv" / entry.name).symlink_to(entry)
    stamp = hashlib.sha256((tree / "requirements.txt").read_bytes()).hexdigest()
    (tree / ".venv" / ".requirements.sha256").write_text(stamp + "\n", encoding="utf-8")


def test_scripts_test_sh_stops_before_pytest_when_a_layer_is_broken(tmp_path):
    tree = copy_of_code(tmp_path)
    shutil.copytree(ROOT / "scripts", tree / "scripts")
    shutil.copy(ROOT / "requirements.txt", tree)
    shared_venv(tree)
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")}

    def test_sh() -> subprocess.CompletedProcess:
        # pytest --version: the test command's last step, cheap, and it says it ran.
        return subprocess.run(["bash", "scripts/test.sh", "--version"], cwd=tree, env=env, capture_output=True,
                              text=True, timeout=300)

    intact = test_sh()
    assert intact.returncode == 0, intact.stdout + intact.stderr
    assert "pytest" in intact.stdout + intact.stderr

    [(module, statement)] = VIOLATIONS["models-bottom"]
    add_import(tree, module, statement)
    broken = test_sh()
    assert broken.returncode != 0
    assert "BROKEN" in broken.stdout
    assert "pytest" not in broken.stdout + broken.stderr
