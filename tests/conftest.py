"""Shared fixtures: real SQLite files in temporary folders, a copy of the bundled corpus."""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from bot.corpus.service import CorpusService, ServiceSettings

REPO = Path(__file__).resolve().parent.parent
BUNDLED_CORPUS = REPO / "corpus"


@pytest.fixture
def corpus_dir(tmp_path: Path) -> Path:
    """A private copy of the bundled corpus that a test may edit."""
    target = tmp_path / "corpus"
    shutil.copytree(BUNDLED_CORPUS, target)
    return target


@pytest.fixture
def settings(tmp_path: Path, corpus_dir: Path) -> ServiceSettings:
    return ServiceSettings(db_path=tmp_path / "data" / "corpus.db", corpus_dir=corpus_dir)


@pytest.fixture
async def service(settings: ServiceSettings) -> AsyncIterator[CorpusService]:
    """The core service over a freshly built index of the bundled corpus."""
    svc = await CorpusService.open(settings)
    await svc.reload()
    try:
        yield svc
    finally:
        await svc.close()


@pytest.fixture
def cli(
    tmp_path: Path,
    corpus_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> Callable[..., tuple[int, str, str]]:
    """`corpus-bot` run in this process over a copy of the corpus and the index `tmp_path/i.db`:
    `cli("ask", "post", "x")` -> (exit status, stdout, stderr)."""
    monkeypatch.chdir(tmp_path)  # no ./config.yaml here: defaults apply

    def run(*args: str) -> tuple[int, str, str]:
        from bot.cli import main

        code = main(["--corpus", str(corpus_dir), "--db", str(tmp_path / "i.db"), *args])
        out, err = capsys.readouterr()
        return code, out, err

    return run


def write_doc(folder: Path, name: str, *, front: str, body: str = "Some body text.") -> Path:
    """Write a corpus file from front-matter lines and a body."""
    path = folder / name
    path.write_text(f"---\n{front.strip()}\n---\n{body}\n", encoding="utf-8")
    return path
