"""Real storage faults for tests, shared by the core, CLI and Discord tests.

Each fault is made for real, so SQLite itself reports it with its own result code; nothing is
mocked:

- a damaged index: garbage bytes, or a real index cut short (`corrupt_index`);
- a lock: another connection holding `BEGIN EXCLUSIVE` (`write_lock_held`), with the store's
  busy timeout lowered so the wait is short (`short_busy_timeout`);
- a full disk: `PRAGMA max_page_count` on the store's own writer set to the pages the file
  already has (`disk_full`, `disk_full_on_open`). SQLite then answers SQLITE_FULL ("database or
  disk is full") to any write that would grow the file, exactly as when the disk has no block
  left, without root or a small filesystem. What it cannot reproduce, a full disk before SQLite
  could create the `-shm` file, is covered by the subprocess tests of tests/faults/
  test_storage_faults.py (a file-size limit, and a real tmpfs when the tests run as root).
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.corpus import store as store_module
from bot.corpus.store import CorpusStore


def corrupt_index(path: Path, how: str) -> None:
    """Damage the index file at `path`: "garbage" (not a database at all) or "truncated" (a real
    index cut after its first pages, so its tables point past the end of the file)."""
    if how == "garbage":
        path.write_bytes(b"these bytes are not an SQLite database\n" * 200)
    elif how == "truncated":
        with path.open("r+b") as handle:
            handle.truncate(3 * 4096)
    else:
        raise ValueError(how)


@contextlib.contextmanager
def write_lock_held(path: Path) -> Iterator[sqlite3.Connection]:
    """Another connection (as another process would) holds a write lock on the index."""
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        conn.execute("BEGIN EXCLUSIVE")
        yield conn
        conn.execute("ROLLBACK")
    finally:
        conn.close()


def short_busy_timeout(monkeypatch: pytest.MonkeyPatch, ms: int = 100) -> None:
    """Stores opened from now on give up waiting for a lock after `ms` milliseconds."""
    monkeypatch.setattr(store_module, "BUSY_TIMEOUT_MS", ms)


async def short_busy_timeout_of(
    store: CorpusStore, monkeypatch: pytest.MonkeyPatch, ms: int = 100
) -> None:
    """The same for a store already open (the bot's)."""
    short_busy_timeout(monkeypatch, ms)
    await store._writer.execute(f"PRAGMA busy_timeout = {ms:d}")  # noqa: SLF001 - per connection


async def disk_full(store: CorpusStore) -> None:
    """From now on, any write of `store` that needs a new page fails with SQLITE_FULL."""
    writer = store._writer  # noqa: SLF001 - the limit is per connection: it must be the store's own
    rows = await writer.execute_fetchall("PRAGMA main.page_count")
    await writer.execute(f"PRAGMA main.max_page_count = {int(rows[0][0]):d}")


def disk_full_on_open(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every store opened from now on (by the CLI, inside `main`) finds the disk full."""
    original = CorpusStore._open_read_write.__func__  # type: ignore[attr-defined]

    async def open_then_fill(cls: type[CorpusStore], path: Path) -> CorpusStore:
        opened = await original(cls, path)
        await disk_full(opened)
        return opened

    monkeypatch.setattr(CorpusStore, "_open_read_write", classmethod(open_then_fill))


def run_bot_process(db: Path, corpus_dir: Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    """`python -m bot run` on the index `db`, with Discord at a closed loopback port: what it
    says about the index happens before (or instead of) reaching Discord."""
    env = {
        **os.environ,
        "DISCORD_TOKEN": "never-used",
        "DISCORD_API_BASE": "http://127.0.0.1:9/api/v10",
    }
    return subprocess.run(
        [sys.executable, "-m", "bot", "--corpus", str(corpus_dir), "--db", str(db), "run"],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
