"""The summaries benchmark's comparison helpers (the benchmark itself is run by hand, never by CI:
it needs rouge-score, sumy and the evaluation file, none of which the tests have)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from bench.bench_summaries import summaries_at, tally

SUMMARIZER = "bot/corpus/summarizer.py"


def _summarizer_returning(words: str) -> str:
    return (
        "def summarize(text, *, title=None, max_sentences=3, max_chars=1000):\n"
        f"    return [{words!r}, str(max_sentences), text[:5]]\n"
    )


@pytest.mark.skipif(shutil.which("git") is None, reason="needs git")
def test_summaries_at_a_revision_come_from_its_code_not_the_working_tree(tmp_path: Path) -> None:
    repository = tmp_path / "repo"
    (repository / "bot" / "corpus").mkdir(parents=True)
    (repository / "bot" / "__init__.py").write_text("")
    (repository / "bot" / "corpus" / "__init__.py").write_text("")
    (repository / SUMMARIZER).write_text(_summarizer_returning("committed"))

    def git(*args: str) -> None:
        subprocess.run(
            ["git", "-c", "user.name=t", "-c", "user.email=t@example.invalid", *args],
            cwd=repository,
            check=True,
            capture_output=True,
        )

    git("init", "-q")
    git("add", ".")
    git("commit", "-q", "-m", "a summarizer")
    (repository / SUMMARIZER).write_text(_summarizer_returning("edited, not committed"))

    rows = [{"text": "First article."}, {"text": "Second one."}]
    summaries = summaries_at("HEAD", rows, repository=repository)

    # Neither the edited working file nor this project's own `bot` package (installed in the
    # test venv) answered: the committed code did, once per article, in order.
    assert summaries == [["committed", "3", "First"], ["committed", "3", "Secon"]]


def test_tally_counts_articles_better_worse_and_the_same() -> None:
    assert tally([0.5, 0.4, 0.3, 0.2], [0.4, 0.4, 0.35, 0.1]) == (2, 1, 1)
