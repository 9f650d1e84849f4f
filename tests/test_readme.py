"""README.md's quickstart must stay true: CI runs exactly its test command."""

from __future__ import annotations

import re

from tests.conftest import REPO


def quickstart_commands() -> list[str]:
    text = (REPO / "README.md").read_text(encoding="utf-8")
    quickstart = text.split("## Quickstart", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```sh\n(.+?)\n```", quickstart)


def test_quickstart_has_two_commands_and_ci_runs_the_second() -> None:
    run, test = quickstart_commands()
    assert "corpus-bot run" in run and "pytest" in test
    ci = (REPO / ".ci" / "run").read_text(encoding="utf-8")
    assert test in ci.splitlines()


def test_the_example_corpus_file_is_valid() -> None:
    """The corpus format section's complete example must load as it stands."""
    from bot.corpus.loader import parse_document

    text = (REPO / "README.md").read_text(encoding="utf-8")
    section = text.split("## The corpus", 1)[1].split("\n## ", 1)[0]
    (example,) = re.findall(r"```markdown\n(.+?)\n```", section, flags=re.DOTALL)
    document, problems = parse_document(example.encode(), "example.md", max_bytes=1_000_000)
    assert problems == [] and document is not None
    assert document.id == "example-open-letter" and [r.paragraph for r in document.reasons] == [2]
