"""Property tests: whatever a corpus entry holds or is, reading it gives a valid document or
problems naming that file, in bounded memory, without hanging and without an exception.

Generated: front matter built from hostile YAML pieces (anchors and aliases, numbers of
thousands of digits, deep nesting, !!binary, !!set, timestamps, .nan, odd keys, tags PyYAML
refuses), bodies with NUL bytes and bad UTF-8, and folders of special entries (FIFOs, sockets,
symlinks to devices, loops, dangling links, folders named like files). Each example runs under the
hang guard and tracemalloc; a valid document must also turn into index rows (its annotations
must be JSON).
"""

from __future__ import annotations

import os
import socket
import tempfile
import tracemalloc
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.corpus.loader import KNOWN_FIELDS, MAX_FILE_PROBLEMS, parse_document, scan_corpus
from bot.corpus.store import FileChange, prepare_documents
from tests.conftest import billion_laughs, finishes, release_fifo

MAX_BYTES = 200_000
PEAK_BYTES = 40_000_000
"""What parsing one file of at most MAX_BYTES may allocate at its peak (it is a few MB)."""
MAX_PROBLEM_CHARS = 600
"""A problem line quotes a short prefix of a value, never the value."""

HOSTILE_VALUES = (
    "9" * 5000,
    "-" + "1" * 4400,
    "0x" + "f" * 5000,
    "0b" + "1" * 20_000,
    "0o" + "7" * 3000,
    "1:2:3:4:5:6:7:8:9:10:11:12:13:14:15:16:17:18:19:20",
    "190:20:30.15",
    ".nan",
    "-.inf",
    "!!float 1e400",
    "!!float nan",
    "!!binary aGVsbG8gd29ybGQ=",
    "!!binary '!!!'",
    "!!set {a, b, c}",
    "!!omap [a: 1, b: 2]",
    "!!pairs [a: 1, a: 2]",
    "!!timestamp 2001-12-14t21:59:43.10-05:00",
    "2001-12-14 21:59:43.10 -5",
    "2020-13-45",
    "2020-02-30",
    "0000-01-01",
    "9999-12-31T23:59:59.999999999Z",
    "[2020-01-01, 2021-02-03]",
    "!!python/object/apply:os.system ['true']",
    "!!python/name:os.system",
    "!custom thing",
    "!!str",
    "!!int x",
    "!!null ''",
    "~",
    "&anchor value",
    "*undefined",
    "[*undefined]",
    "{<<: {a: 1}}",
    '"\\x00 nul"',
    '"\\ud800 lone surrogate"',
    '"\\U0010FFFF"',
    "'" + "x" * 100_000 + "'",
    "[" * 3000 + "]" * 3000,
    "{a: " * 3000 + "1" + "}" * 3000,
    "[" * 19 + "1" + "]" * 19,
    "? complex\n: key",
    "|\n  block\n  text",
    ">-\n  folded",
    "[[a, b], {c: d}]",
    "true",
    "no",
    "!!bool yes",
    "-1",
    "0",
    "1.5e10",
    "''",
    "'  '",
    "https://example.org/" + "a" * 3000,
    "javascript:alert(1)",
    "[a, 1, 2.5, true, null, 2020-01-01]",
)
ODD_KEYS = (
    "? [a, b]\n",
    "? {a: 1}\n",
    "1",
    "1.5",
    "null",
    "true",
    "2020-01-01",
    ".nan",
    "''",
    "'" + "k" * 500 + "'",
    "<<",
    "!!binary aGk=",
    "Upper_Case",
    "with space",
    "ünïcode",
    "_under",
    "reasons",
    "authors",
)
KNOWN = tuple(sorted(KNOWN_FIELDS))  # the loader's own fields, in a fixed order for hypothesis
GOOD_FRONT = (
    "id: a-post",
    "title: A post",
    "authors: [Ann Example]",
    "kind: post",
    "excerpt: false",
)

values = st.one_of(
    st.sampled_from(HOSTILE_VALUES), st.text(max_size=40).map(repr), st.integers().map(str)
)
keys = st.one_of(
    st.sampled_from(KNOWN),
    st.sampled_from(ODD_KEYS),
    st.from_regex(r"[a-z_][a-z0-9_]{0,10}", fullmatch=True),
)


@st.composite
def front_matters(draw: st.DrawFn) -> str:
    lines = list(draw(st.lists(st.sampled_from(GOOD_FRONT), max_size=5, unique=True)))
    # "? [a, b]\n: value" is a complex key; the others are "key: value"
    lines += [
        f"{key}: {value}" for key, value in draw(st.lists(st.tuples(keys, values), max_size=6))
    ]
    if draw(st.booleans()):
        lines.append(billion_laughs())
    if draw(st.booleans()):
        lines = draw(st.permutations(lines))
    return "\n".join(lines)


@st.composite
def corpus_files(draw: st.DrawFn) -> bytes:
    """Bytes of a corpus file: hostile front matter and body, then maybe corrupted."""
    body = draw(st.text(max_size=200))
    text = f"---\n{draw(front_matters())}\n---\n{body}\n"
    if draw(st.booleans()):
        text = text.replace("\n", "\r\n")
    raw = text.encode("utf-8", errors="surrogatepass")
    if draw(st.booleans()):
        raw = b"\xef\xbb\xbf" + raw
    for _ in range(draw(st.integers(0, 3))):
        at = draw(st.integers(0, len(raw)))
        junk = draw(
            st.sampled_from(
                [b"\x00", b"\xff", b"\xc3", b"\xed\xa0\x80", b"\x1b[2J", b"\r", b"---\n"]
            )
        )
        raw = raw[:at] + junk + raw[at:]
    return raw


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(raw=corpus_files())
def test_any_file_is_a_document_or_problems_naming_it_in_bounded_memory(raw: bytes) -> None:
    tracemalloc.start()
    try:
        document, problems = finishes(lambda: parse_document(raw, "dir/x.md", max_bytes=MAX_BYTES))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < PEAK_BYTES
    assert (document is None) == bool(problems)
    assert len(problems) <= MAX_FILE_PROBLEMS + 1
    for problem in problems:
        assert problem.where == "dir/x.md"
        assert problem.line is None or problem.line >= 1
        assert len(str(problem)) < MAX_PROBLEM_CHARS, str(problem)[:200]
    if document is not None:
        prepare_documents([FileChange(document, len(raw), 1)], "2024-01-01T00:00:00+00:00")


# --- special entries of the corpus folder -----------------------------------------------------

SPECIAL_KINDS = (
    "fifo",
    "socket",
    "link-to-dev-zero",
    "link-to-fifo-inside",
    "link-to-file-inside",
    "link-outside",
    "dangling-link",
    "link-loop",
    "folder-named-md",
    "sparse-huge",
    "empty",
)


def _make(folder: Path, name: str, kind: str, keep: list[socket.socket]) -> str | None:
    """Create one special entry; return the name its problem must carry (None: no problem)."""
    path = folder / name
    if kind == "fifo":
        os.mkfifo(path)
    elif kind == "socket":
        server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        server.bind(str(path))
        keep.append(server)
    elif kind == "link-to-dev-zero":
        path.symlink_to("/dev/zero")
    elif kind == "link-to-fifo-inside":
        os.mkfifo(folder / f"{name}.pipe")
        path.symlink_to(f"{name}.pipe")
    elif kind == "link-to-file-inside":
        (folder / f"{name}.txt").write_text(
            "---\nid: linked\nauthors: []\nkind: post\nexcerpt: false\n---\nText.\n"
        )
        path.symlink_to(f"{name}.txt")
        return None
    elif kind == "link-outside":
        path.symlink_to("/etc/hostname")
    elif kind == "dangling-link":
        path.symlink_to(f"{name}.missing")
        return None  # listed as gone, like a file deleted while the folder is read
    elif kind == "link-loop":
        path.symlink_to(f"{name}.loop")
        (folder / f"{name}.loop").symlink_to(name)
        return None  # cannot be stat-ed: skipped like a dangling link
    elif kind == "folder-named-md":
        path.mkdir()
        (path / "inner.md").write_text(
            "---\nid: inner\nauthors: []\nkind: post\nexcerpt: false\n---\nText.\n"
        )
        return None  # a folder is walked: its files are corpus files
    elif kind == "sparse-huge":
        with path.open("wb") as handle:
            handle.truncate(10 * MAX_BYTES)
    elif kind == "empty":
        path.write_bytes(b"")
    return name


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(kinds=st.lists(st.sampled_from(SPECIAL_KINDS), min_size=1, max_size=4, unique=True))
def test_special_entries_are_problems_naming_them_never_a_hang_or_a_big_read(
    kinds: list[str],
) -> None:
    keep: list[socket.socket] = []
    with tempfile.TemporaryDirectory() as temporary:
        folder = Path(temporary)
        expected = {
            name
            for index, kind in enumerate(kinds)
            if (name := _make(folder, f"e{index}.md", kind, keep))
        }
        tracemalloc.start()
        try:
            scan = finishes(lambda: scan_corpus(folder, max_bytes=MAX_BYTES))
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
            for pipe in folder.glob("*.md*"):
                if pipe.is_fifo():
                    release_fifo(pipe)
            for server in keep:
                server.close()
    assert peak < PEAK_BYTES
    assert {problem.where for problem in scan.problems} == expected
    assert all(len(str(problem)) < MAX_PROBLEM_CHARS for problem in scan.problems)
    documents = {file.document.id for file in scan.files if file.document}
    assert documents == {
        doc_id
        for kind, doc_id in (("link-to-file-inside", "linked"), ("folder-named-md", "inner"))
        if kind in kinds
    }
