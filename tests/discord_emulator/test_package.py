"""The emulator is a package of its own: it imports nothing from the bot (or from the tests),
and it works, data files included, in a process where `bot` cannot be imported at all.

Why both checks: the source scan also sees imports inside functions and under TYPE_CHECKING,
which importing every module does not run; the import check proves the package data
(`spec/openapi.json`, `page/*`) is found through the package, not through the bot's folder.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import discord_emulator
from tests.conftest import REPO

PACKAGE_DIR = Path(discord_emulator.__file__).resolve().parent
FOREIGN = ("bot", "tests")


def _imported_modules(path: Path) -> list[tuple[int, str]]:
    """(line, module) for every absolute import in a Python file, wherever it stands."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.extend((node.lineno, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.append((node.lineno, node.module))
    return found


def test_no_module_of_the_emulator_imports_the_bot_or_the_tests() -> None:
    sources = sorted(PACKAGE_DIR.rglob("*.py"))
    assert len(sources) > 20, "the emulator's modules were not found"
    offenders = [
        f"{path.relative_to(REPO)}:{line}: {module}"
        for path in sources
        for line, module in _imported_modules(path)
        if module.split(".")[0] in FOREIGN
    ]
    assert offenders == []


def test_the_emulator_and_its_data_load_where_the_bot_cannot_be_imported() -> None:
    script = """
import importlib, pkgutil, sys
from importlib import resources
sys.modules["bot"] = None  # any `import bot...` now raises ImportError
import discord_emulator
names = [m.name for m in pkgutil.walk_packages(discord_emulator.__path__, "discord_emulator.")]
for name in names:
    importlib.import_module(name)
from discord_emulator.validation import load_validator
load_validator()
root = resources.files("discord_emulator")
for name in ("index.html", "sandbox.js", "sandbox.css"):
    assert root.joinpath("page", name).read_bytes(), name
print(len(names), "modules")
"""
    done = subprocess.run(
        [sys.executable, "-c", script],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert int(done.stdout.split()[0]) > 20
