"""ruff finds nothing and the tree is formatted (issue #11: CI checks what it claims).

The suite is what CI runs (`.ci/run` runs README's test command), so the style checks run in it,
as mypy does in test_typing.py: a developer's `pytest` and CI check the same things. ruff is the
test extra's; without it the tests are skipped.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO


def _ruff() -> list[str]:
    beside = Path(sys.executable).with_name("ruff")  # the venv's own, whatever PATH says
    found = str(beside) if beside.exists() else shutil.which("ruff")
    if found is None:
        pytest.skip("ruff is not installed (pip install -e '.[test]')")
    return [found]


@pytest.mark.parametrize(
    "check", [["check", "."], ["format", "--check", "."]], ids=["ruff check", "ruff format --check"]
)
def test_ruff_finds_nothing(check: list[str]) -> None:
    done = subprocess.run([*_ruff(), *check], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, f"ruff {' '.join(check)}:\n{done.stdout}{done.stderr}"
