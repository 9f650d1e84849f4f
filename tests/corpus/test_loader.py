"""The loader: every problem reported with file and line, the bundled corpus valid and verbatim."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.corpus.loader import paragraphs, parse_document, scan_corpus
from tests.conftest import BUNDLED_CORPUS, SHARED_DIR, write_doc

SEEDS = SHARED_DIR / "seeds"
GOOD_FRONT = "id: a-post\ntitle: A post\nauthors: [Ann Example]\nkind: post\nexcerpt: false"


def parse(text: str, name: str = "x.md") -> tuple[object, list[str]]:
    doc, problems = parse_document(text.encode("utf-8"), name, max_bytes=100_000)
    return doc, [str(p) for p in problems]


def test_bundled_corpus_is_valid_and_complete() -> None:
    scan = scan_corpus(BUNDLED_CORPUS, max_bytes=1_000_000)
    assert scan.problems == ()
    assert len(scan.files) == 11
    docs = {f.document.id: f.document for f in scan.files if f.document}
    letter = docs["access-now-resigns-from-pai"]
    assert letter.kind == "letter" and letter.excerpt is False
    assert len(letter.reasons) == 7
    for reason in letter.reasons:
        assert reason.quote in paragraphs(letter.body)[reason.paragraph - 1]
    assert sum(d.excerpt for d in docs.values()) == 10


@pytest.mark.skipif(
    not SEEDS.is_dir(), reason="the team's shared seeds are not beside this checkout"
)
def test_bodies_are_verbatim_from_the_seeds() -> None:
    seeds = "".join(p.read_text(encoding="utf-8") for p in SEEDS.glob("*.txt"))
    scan = scan_corpus(BUNDLED_CORPUS, max_bytes=1_000_000)
    for file in scan.files:
        assert file.document is not None
        for paragraph in paragraphs(file.document.body):
            assert paragraph in seeds, f"{file.path}: paragraph not in the seeds: {paragraph[:60]}"


def test_unknown_facts_are_left_out_not_guessed() -> None:
    scan = scan_corpus(BUNDLED_CORPUS, max_bytes=1_000_000)
    docs = {f.document.id: f.document for f in scan.files if f.document}
    untitled = docs["facebook-removed-a-surprising-post"]
    assert untitled.title is None and untitled.url is None and untitled.published is None
    assert [a.name for a in untitled.authors] == [
        "Emily Saltz",
        "Claire Leibowicz",
        "Claire Wardle",
    ]
    media = docs["automated-categorization-of-manipulated-media"]
    assert [(a.name, a.affiliation) for a in media.authors][:2] == [
        ("Emily Saltz", "PAI"),
        ("Pedro Noel", "First Draft"),
    ]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("no front matter\n", "x.md:1: must start with a '---' line"),
        ("---\nid: a\n", "x.md:1: the front matter opened on line 1 is never closed"),
        ("---\nid: a\ntitle: [unclosed\n---\nbody\n", "x.md:4: front matter is not valid YAML"),
        ("---\n- a list\n---\nbody\n", "x.md:2: front matter must be a mapping"),
        (f"---\n{GOOD_FRONT}\n---\n\n", "the document has no body text"),
        (
            f"---\n{GOOD_FRONT.replace('id: a-post', 'id: Bad Id!')}\n---\nbody\n",
            "x.md:2: 'id' must be a slug",
        ),
        (
            f"---\n{GOOD_FRONT.replace('excerpt: false', 'excerpt: maybe')}\n---\nbody\n",
            "x.md:6: 'excerpt' must be true or false",
        ),
        (
            f"---\n{GOOD_FRONT}\npublished: 2020-13-45\n---\nbody\n",
            "x.md:7: 'published' must be a date",
        ),
        (
            f"---\n{GOOD_FRONT}\nurl: ftp://example.org\n---\nbody\n",
            "x.md:7: 'url' must be an http(s) address",
        ),
        (
            f"---\n{GOOD_FRONT.replace('authors: [Ann Example]', 'authors: Ann')}\n---\nbody\n",
            "x.md:4: 'authors' must be a list",
        ),
        ("---\ntitle: t\n---\nbody\n", "missing required field 'id'"),
    ],
)
def test_each_problem_names_file_and_line(text: str, expected: str) -> None:
    doc, problems = parse(text)
    assert doc is None
    assert any(expected in p for p in problems), problems


def test_all_problems_of_a_file_are_reported_at_once() -> None:
    _, problems = parse("---\nid: BAD\nauthors: 3\nkind: 7\nexcerpt: 1\n---\nbody\n")
    assert len(problems) == 4
    assert [p.split(":")[1] for p in problems] == ["2", "3", "4", "5"]


def test_a_reason_quote_must_be_verbatim() -> None:
    text = (
        f"---\n{GOOD_FRONT}\nreasons:\n  - label: L\n    quote: Not in the body.\n---\n"
        "The body says something else.\n"
    )
    _, problems = parse(text, "letter.md")
    assert problems == [
        "letter.md:9: reasons[0].quote does not occur verbatim in the body: 'Not in the body.'"
    ]


def test_encoding_size_and_nul_are_clear_errors() -> None:
    doc, problems = parse_document(b"---\nid: a\n---\n\xff\xfe body", "bin.md", max_bytes=1000)
    assert doc is None and "bin.md:4: not valid UTF-8" in str(problems[0])
    doc, problems = parse_document(b"x" * 2000, "big.md", max_bytes=1000)
    assert "over the 1,000-byte limit" in str(problems[0])


def test_duplicate_ids_across_files_name_both(tmp_path: Path) -> None:
    write_doc(tmp_path, "a.md", front=GOOD_FRONT)
    write_doc(tmp_path, "b.md", front=GOOD_FRONT)
    scan = scan_corpus(tmp_path, max_bytes=100_000)
    assert [str(p) for p in scan.problems] == [
        "b.md:2: id 'a-post' is already used by a.md; ids must be unique"
    ]


def test_annotations_are_kept_and_checked() -> None:
    doc, _ = parse(f"---\n{GOOD_FRONT}\nbyline: By Ann\nconfidence: confirmed\n---\nbody\n")
    assert doc.annotations == {"byline": "By Ann", "confidence": "confirmed"}
    _, problems = parse(f"---\n{GOOD_FRONT}\nnested: {{a: 1}}\n---\nbody\n")
    assert "annotation 'nested' must be text" in problems[0]


def test_listing_walks_folders_skips_hidden_and_sorts(tmp_path: Path) -> None:
    from bot.corpus.loader import list_corpus_files

    for rel in (
        "b.md",
        "a/z.md",
        "a/b/c.md",
        ".hidden.md",
        ".git/x.md",
        "notes.txt",
        "a/.draft.md",
    ):
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text("x", encoding="utf-8")
    outside = tmp_path.parent / f"{tmp_path.name}-outside"
    outside.mkdir()
    (outside / "linked.md").write_text("x", encoding="utf-8")
    (tmp_path / "link").symlink_to(outside, target_is_directory=True)
    listed = list_corpus_files(tmp_path)
    assert [f.path for f in listed] == ["a/b/c.md", "a/z.md", "b.md"]
    assert all(f.size == 1 and f.mtime_ns > 0 for f in listed)
