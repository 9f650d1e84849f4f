"""Hostile corpus entries: each is a problem naming the file (and line), read in bounded time and
memory, and never an exception, a hang or a read of something that is not a regular file."""

from __future__ import annotations

import os
import tracemalloc
from pathlib import Path
from typing import TypeVar

import pytest

from bot.corpus.errors import CorpusInvalid
from bot.corpus.loader import parse_document, scan_corpus
from bot.corpus.service import CorpusService
from bot.corpus.store import FileChange, prepare_documents
from tests.conftest import billion_laughs, finishes, release_fifo, write_doc

T = TypeVar("T")
GOOD_FRONT = "id: a-post\ntitle: A post\nauthors: [Ann Example]\nkind: post\nexcerpt: false"


def problems_of(text: str, name: str = "x.md") -> list[str]:
    doc, problems = parse_document(text.encode("utf-8"), name, max_bytes=1_000_000)
    assert doc is None
    return [str(p) for p in problems]


def test_a_fifo_is_a_problem_not_a_hang(tmp_path: Path) -> None:
    write_doc(tmp_path, "good.md", front=GOOD_FRONT)
    fifo = tmp_path / "x.md"
    os.mkfifo(fifo)
    try:
        scan = finishes(lambda: scan_corpus(tmp_path, max_bytes=1_000_000))
    finally:
        release_fifo(fifo)
    assert [str(p) for p in scan.problems] == [
        "x.md: is a FIFO (named pipe), not a regular file; only regular files are read"
    ]
    assert [f.path for f in scan.files] == ["good.md"]


def test_a_symlink_to_a_device_is_refused_without_reading_it(tmp_path: Path) -> None:
    (tmp_path / "zero.md").symlink_to("/dev/zero")
    tracemalloc.start()
    try:
        scan = finishes(lambda: scan_corpus(tmp_path, max_bytes=1_000_000))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    (problem,) = scan.problems
    assert (
        problem.where == "zero.md"
        and "symbolic link to a file outside the corpus folder" in problem.message
    )
    assert peak < 5_000_000


def test_a_symlink_inside_the_folder_is_followed_to_a_regular_file_only(tmp_path: Path) -> None:
    write_doc(tmp_path, "real.txt", front=GOOD_FRONT)  # not *.md: listed only through the link
    (tmp_path / "link.md").symlink_to("real.txt")
    os.mkfifo(tmp_path / "pipe")
    (tmp_path / "pipe.md").symlink_to("pipe")
    outside = tmp_path.parent / f"{tmp_path.name}-outside.md"
    write_doc(outside.parent, outside.name, front=GOOD_FRONT.replace("a-post", "b-post"))
    (tmp_path / "escape.md").symlink_to(outside)

    scan = finishes(lambda: scan_corpus(tmp_path, max_bytes=1_000_000))

    assert [f.path for f in scan.files] == ["link.md"]
    assert sorted((p.where, p.message) for p in scan.problems) == [
        (
            "escape.md",
            "is a symbolic link to a file outside the corpus folder; only files inside it are read",
        ),
        ("pipe.md", "is a FIFO (named pipe), not a regular file; only regular files are read"),
    ]


def test_a_large_file_is_refused_from_its_size_without_being_read(tmp_path: Path) -> None:
    big = tmp_path / "big.md"
    with big.open("wb") as handle:
        handle.truncate(50_000_000)  # sparse: 50 MB that cost no disk
    tracemalloc.start()
    try:
        scan = scan_corpus(tmp_path, max_bytes=10_000)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert [str(p) for p in scan.problems] == [
        "big.md: file is 50,000,000 bytes, over the 10,000-byte limit"
    ]
    assert peak < 1_000_000


def test_yaml_aliases_are_refused_with_their_line_in_bounded_memory() -> None:
    tracemalloc.start()
    try:
        problems = finishes(
            lambda: problems_of(f"---\n{GOOD_FRONT}\n{billion_laughs()}\n---\nbody\n")
        )
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert problems == [
        "x.md:7: front matter uses a YAML anchor or alias (&a); write each value out in full"
    ]
    assert peak < 5_000_000


def test_a_lone_alias_and_an_anchor_on_a_field_are_refused() -> None:
    assert problems_of(f"---\n{GOOD_FRONT}\nnote: *missing\n---\nbody\n")[0].startswith(
        "x.md:7: front matter"
    )
    (problem,) = problems_of(f"---\n{GOOD_FRONT}\nnote: &n text\nother: *n\n---\nbody\n")
    assert (
        problem
        == "x.md:7: front matter uses a YAML anchor or alias (&n); write each value out in full"
    )


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("note", "9" * 5000),
        ("published", "9" * 5000),
        ("id", "-" + "1" * 10_000),
        ("note", "0x" + "f" * 5000),
    ],
)
def test_a_number_with_too_many_digits_is_a_problem_at_its_line(field: str, value: str) -> None:
    (problem,) = problems_of(f"---\n{GOOD_FRONT}\n{field}: {value}\n---\nbody\n")
    assert problem.startswith("x.md:7: front matter is not valid YAML: the number ")
    assert problem.endswith("has too many digits (at most 100)") and len(problem) < 200


@pytest.mark.parametrize(
    ("nested", "line"),
    [
        ("[" * 900 + "]" * 900, 7),  # under libyaml's own limit of 1,000: PyYAML recursed too deep
        ("[" * 10_000 + "]" * 10_000, 7),
        ("{a: " * 900 + "1" + "}" * 900, 7),
        ("\n  " + "- " * 900 + "x", 8),
    ],
    ids=["flow-lists-900", "flow-lists-10000", "flow-mappings-900", "block-lists-900"],
)
def test_deep_nesting_is_a_problem_at_its_line_not_a_recursion_error(
    nested: str, line: int
) -> None:
    (problem,) = problems_of(f"---\n{GOOD_FRONT}\nnote: {nested}\n---\nbody\n")
    assert problem.startswith(f"x.md:{line}: front matter")
    assert "nest" in problem and len(problem) < 200


def test_problem_messages_quote_a_short_prefix_of_a_long_value() -> None:
    long_url = "ftp://" + "x" * 500_000
    (problem,) = problems_of(f"---\n{GOOD_FRONT}\nurl: {long_url}\n---\nbody\n")
    assert problem.startswith("x.md:7: 'url' must be an http(s) address, got 'ftp://xxx")
    assert len(problem) < 200


def test_a_file_with_thousands_of_problems_lists_twenty_and_counts_the_rest() -> None:
    reasons = "\n".join(f"  - {{label: r{i}, quote: not in the body {i}}}" for i in range(3000))
    problems = problems_of(f"---\n{GOOD_FRONT}\nreasons:\n{reasons}\n---\nbody\n")
    assert len(problems) == 21
    assert problems[-1] == "x.md: …and 2,980 more problems in this file"


def test_dates_in_an_annotation_list_are_stored_as_text() -> None:
    doc, problems = parse_document(
        f"---\n{GOOD_FRONT}\nseen_on: [2020-01-01, 2021-02-03]\n---\nbody\n".encode(),
        "x.md",
        max_bytes=10_000,
    )
    assert problems == [] and doc is not None
    assert doc.annotations == {"seen_on": ["2020-01-01", "2021-02-03"]}
    (row,) = prepare_documents([FileChange(doc, 1, 1)], "2024-01-01T00:00:00+00:00").rows
    assert '{"seen_on": ["2020-01-01", "2021-02-03"]}' in row


async def test_a_reload_reports_hostile_files_and_keeps_serving_the_last_good_index(
    service: CorpusService,
) -> None:
    corpus_dir = service.settings.corpus_dir
    before = (await service.stats()).documents
    write_doc(corpus_dir, "90-big-number.md", front=f"{GOOD_FRONT}\nnote: {'9' * 5000}")
    write_doc(
        corpus_dir,
        "91-deep.md",
        front=f"{GOOD_FRONT.replace('a-post', 'b-post')}\nnote: {'[' * 10_000}{']' * 10_000}",
    )
    write_doc(
        corpus_dir,
        "92-laughs.md",
        front=f"{GOOD_FRONT.replace('a-post', 'c-post')}\n{billion_laughs()}",
    )
    os.mkfifo(corpus_dir / "93-pipe.md")

    with pytest.raises(CorpusInvalid) as caught:
        await service.reload()

    assert sorted(p.where for p in caught.value.problems) == [
        "90-big-number.md",
        "91-deep.md",
        "92-laughs.md",
        "93-pipe.md",
    ]
    assert service.corpus_problems == tuple(caught.value.problems)
    assert (await service.stats()).documents == before
    assert (await service.post("meltdown")).ref.id == "lessons-from-meltdown-and-spectre"


def test_a_special_file_is_not_even_opened(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Opening some devices does something (a terminal, a tape that rewinds): the name is stat-ed
    first. Only the regular file is opened."""
    from bot.corpus import files

    os.mkfifo(tmp_path / "pipe.md")
    write_doc(tmp_path, "good.md", front=GOOD_FRONT)
    opened: list[str] = []
    real_open = os.open

    def recording_open(path: str, flags: int, *args: int) -> int:
        opened.append(os.path.basename(path))
        return real_open(path, flags, *args)

    monkeypatch.setattr(files.os, "open", recording_open)
    scan = finishes(lambda: scan_corpus(tmp_path, max_bytes=1_000_000))
    assert [p.where for p in scan.problems] == ["pipe.md"]
    assert opened == ["good.md"]
