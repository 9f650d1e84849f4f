"""SIGKILL at random points of a reload: the index holds exactly the old or exactly the new corpus.

Why this test exists: `CorpusService.reload` promises all-or-nothing (one SQLite write transaction
from the first batch to the commit). A unit test cannot check that promise against a real crash:
only a process killed with SIGKILL, leaving a hot WAL behind, can. So a subprocess (importing the
core only, never discord) reloads a generated corpus over an index of an OLD version of it, and is
killed at a random point, 20 times with a fixed seed: after a random number of the reload's
batches were written into its open transaction (the subprocess reports each one on stdout; the
code under test is unchanged), plus a random part of a batch's time, or around the commit. After each kill the index is opened as a
restarted bot would open it and must hold the old corpus or the new one, never a mix: the same set
of (id, content_hash), the full-text index agreeing with it (a word only the new version holds is
findable iff the new version is there, and FTS5's own integrity check passes), and
`PRAGMA integrity_check` is ok. Finally a normal reload brings the killed index to the new version.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import signal
import sqlite3
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from bench.generate_corpus import generate
from bot.corpus.service import CorpusService, ServiceSettings

REPO = Path(__file__).resolve().parents[2]
DOCS = 300
BATCH_FILES = 40
"""Small batches: the reload writes several batches into its one transaction before committing."""
KILLS = 20
SEED = 20260524
NEW_ONLY_WORD = "quokkaflux"
"""Appended to some documents of the new version only: findable iff the new version is indexed."""
NEW_ONLY_FILES = 20
REMOVED_FILES = 15

RELOAD_SCRIPT = """
import asyncio, sys
from pathlib import Path
from bot.corpus.service import CorpusService, ServiceSettings
from bot.corpus.store import CorpusStore

write_batch = CorpusStore.write_corpus_batch

async def reporting_write_batch(self, writer, batch):  # behaviour unchanged; tells the test where the reload is
    await write_batch(self, writer, batch)
    print("batch", flush=True)

CorpusStore.write_corpus_batch = reporting_write_batch

async def main() -> None:
    service = await CorpusService.open(ServiceSettings(
        db_path=Path(sys.argv[1]), corpus_dir=Path(sys.argv[2]), reload_batch_files=int(sys.argv[3])
    ))
    assert "discord" not in sys.modules, "the reload subprocess must import the core only"
    print("ready", flush=True)
    sys.stdin.readline()  # the go signal: imports and opening are done before the clock starts
    print("reloading", flush=True)
    await service.reload()
    await service.close()
    print("done", flush=True)

asyncio.run(main())
"""


@dataclass(frozen=True)
class Versions:
    old_db: Path
    new_corpus: Path
    old: frozenset[tuple[str, str]]
    new: frozenset[tuple[str, str]]
    reload_seconds: float
    """How long the subprocess's reload itself took (from 'reloading' to exit)."""
    batches: int
    """How many batches the reload writes before it commits."""


def corpus_rows(db: Path) -> frozenset[tuple[str, str]]:
    with contextlib.closing(sqlite3.connect(db)) as conn:
        rows = conn.execute(
            "SELECT id, content_hash FROM documents WHERE origin = 'corpus'"
        ).fetchall()
    return frozenset((doc_id, digest) for doc_id, digest in rows)


def copy_index(source: Path, target: Path) -> None:
    """A clean copy through SQLite's backup API (no WAL or SHM files carried over)."""
    for leftover in (
        target,
        target.with_name(target.name + "-wal"),
        target.with_name(target.name + "-shm"),
    ):
        leftover.unlink(missing_ok=True)
    with (
        contextlib.closing(sqlite3.connect(source)) as src,
        contextlib.closing(sqlite3.connect(target)) as dst,
    ):
        src.backup(dst)


def spawn_reload(db: Path, corpus: Path) -> subprocess.Popen[str]:
    """Start the reload subprocess; it imports and opens the index, then waits for `go`.

    Spawned ahead of time, so the next kill's interpreter start overlaps this one's reload."""
    return subprocess.Popen(  # noqa: S603 - our own interpreter and a constant script
        [sys.executable, "-c", RELOAD_SCRIPT, str(db), str(corpus), str(BATCH_FILES)],
        cwd=REPO,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def expect_line(proc: subprocess.Popen[str], wanted: str) -> None:
    assert proc.stdout is not None
    line = proc.stdout.readline()
    if line.strip() != wanted:
        proc.kill()
        _, err = proc.communicate(timeout=10)
        raise AssertionError(f"the reload subprocess said {line!r}, not {wanted!r}: {err}")


def go(proc: subprocess.Popen[str]) -> None:
    """Let a spawned subprocess start its reload; returns once it has."""
    expect_line(proc, "ready")
    assert proc.stdin is not None
    proc.stdin.write("go\n")
    proc.stdin.flush()
    expect_line(proc, "reloading")


def start_reload(db: Path, corpus: Path) -> subprocess.Popen[str]:
    proc = spawn_reload(db, corpus)
    go(proc)
    return proc


def generate_small(out: Path, seed: int) -> None:
    """A generated corpus without its two long documents (25,000 words would dominate the reload)."""
    generate(out, count=DOCS, seed=seed, words_mean=40, jobs=1)
    for long_document in out.glob("*-long-*.md"):
        long_document.unlink()


def build_new_version(old_corpus: Path, new_corpus: Path) -> None:
    """Every document rewritten (another seed), some removed, some holding NEW_ONLY_WORD."""
    generate_small(new_corpus, seed=2)
    files = sorted(new_corpus.glob("*.md"))
    for path in files[:NEW_ONLY_FILES]:
        path.write_text(
            path.read_text(encoding="utf-8") + f"\n\nThe {NEW_ONLY_WORD} paragraph.\n",
            encoding="utf-8",
        )
    for path in files[-REMOVED_FILES:]:
        path.unlink()

    assert NEW_ONLY_WORD not in "".join(
        p.read_text(encoding="utf-8") for p in old_corpus.glob("*.md")
    )


@pytest.fixture(scope="module")
def versions(tmp_path_factory: pytest.TempPathFactory) -> Versions:
    root = tmp_path_factory.mktemp("kill-reload")
    old_corpus, new_corpus = root / "old", root / "new"
    generate_small(old_corpus, seed=1)
    build_new_version(old_corpus, new_corpus)
    old_db = root / "old.db"

    async def index_old() -> None:
        service = await CorpusService.open(ServiceSettings(db_path=old_db, corpus_dir=old_corpus))
        await service.reload()
        await service.close()

    asyncio.run(index_old())
    new_db = root / "new.db"
    copy_index(old_db, new_db)
    proc = start_reload(new_db, new_corpus)
    started = time.perf_counter()
    out, err = proc.communicate(timeout=60)
    batches = out.split().count("batch")
    reload_seconds = time.perf_counter() - started
    assert proc.returncode == 0 and "done" in out, err
    old, new = corpus_rows(old_db), corpus_rows(new_db)
    assert old and new and not old & new, "every document changes between the versions"
    assert batches == -(-len(list(new_corpus.glob("*.md"))) // BATCH_FILES)
    return Versions(old_db, new_corpus, old, new, reload_seconds, batches)


def check_whole_version(db: Path, versions: Versions) -> str:
    """Open the index as a restarted bot would; return 'old' or 'new', failing on any mix."""
    with contextlib.closing(sqlite3.connect(db)) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        conn.execute(
            "INSERT INTO documents_fts (documents_fts) VALUES ('integrity-check')"
        )  # raises if out of sync
        rows = frozenset(
            conn.execute(
                "SELECT id, content_hash FROM documents WHERE origin = 'corpus'"
            ).fetchall()
        )
        with_word = conn.execute(
            "SELECT count(*) FROM documents_fts WHERE documents_fts MATCH ?", (NEW_ONLY_WORD,)
        ).fetchone()[0]
        orphans = conn.execute(
            "SELECT count(*) FROM document_authors WHERE doc_id NOT IN (SELECT id FROM documents)"
        ).fetchone()[0]
    assert orphans == 0
    if rows == versions.old:
        assert with_word == 0, "the old corpus is indexed but the new version's word is findable"
        return "old"
    assert rows == versions.new, (
        f"a mix: {len(rows & versions.old)} old rows, {len(rows & versions.new)} new rows, "
        f"{len(rows - versions.old - versions.new)} neither"
    )
    assert with_word == NEW_ONLY_FILES, "the new corpus is indexed but its FTS index disagrees"
    return "new"


def test_sigkill_during_reload_leaves_old_or_new_never_a_mix(
    versions: Versions, tmp_path: Path
) -> None:
    chooser = random.Random(SEED)
    outcomes: list[tuple[int, str]] = []
    dbs = [tmp_path / f"work{i}.db" for i in range(KILLS)]
    copy_index(versions.old_db, dbs[0])
    upcoming = [spawn_reload(dbs[0], versions.new_corpus)]
    try:
        for i, db in enumerate(dbs):
            proc = upcoming.pop()
            go(proc)
            if i + 1 < KILLS:
                copy_index(versions.old_db, dbs[i + 1])
                upcoming.append(spawn_reload(dbs[i + 1], versions.new_corpus))
            # A random point: after a random number of batches written into the open
            # transaction, then a random part of a batch's time (after the last batch: the
            # finishing deletes, the commit, the close, or after the commit).
            batches = chooser.randint(0, versions.batches)
            for _ in range(batches):
                expect_line(proc, "batch")
            window = versions.reload_seconds / versions.batches
            if batches == versions.batches:  # the finish: wide enough to land after the commit too
                window = versions.reload_seconds / 2
            try:
                proc.wait(timeout=chooser.uniform(0.0, window))
            except subprocess.TimeoutExpired:
                proc.send_signal(signal.SIGKILL)
            proc.communicate(timeout=30)
            outcomes.append((batches, check_whole_version(db, versions)))
    finally:
        for spare in upcoming:
            spare.kill()
            spare.communicate(timeout=30)
    print(
        f"reload {versions.reload_seconds:.2f} s; (batches written, index) after each kill: {outcomes}"
    )
    assert any(batches and seen == "old" for batches, seen in outcomes), (
        "no kill rolled back written batches"
    )

    async def finish() -> None:
        service = await CorpusService.open(
            ServiceSettings(db_path=db, corpus_dir=versions.new_corpus)
        )
        await service.reload()
        await service.close()

    copy_index(versions.old_db, db)
    proc = start_reload(db, versions.new_corpus)
    proc.send_signal(signal.SIGKILL)
    proc.communicate(timeout=30)
    assert check_whole_version(db, versions) == "old"  # killed at once: nothing written
    asyncio.run(finish())
    assert check_whole_version(db, versions) == "new"
