"""mypy finds nothing in the bot and the emulator (issue #11: CI checks what it claims).

It runs in-process with the settings of pyproject.toml's [tool.mypy] (the packages to check,
untyped definitions refused, unused ignores reported), from the repository root as a developer
runs `.venv/bin/mypy`. Its cache (.mypy_cache/, not committed) keeps a warm run near a second;
a cold one, as in a fresh clone, takes a few. Without mypy (a plain install, not the test
extra) the test is skipped: it checks the source, not a behaviour of the bot.
"""

from __future__ import annotations

import pytest

from tests.conftest import REPO

mypy_api = pytest.importorskip(
    "mypy.api", reason="mypy is not installed (pip install -e '.[test]')"
)


def test_mypy_finds_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(REPO)  # mypy reads pyproject.toml and writes its cache in the working folder
    report, errors, status = mypy_api.run([])
    assert (status, errors) == (0, ""), f"mypy (exit {status}):\n{report}{errors}"
    assert report.startswith("Success: no issues found"), report
