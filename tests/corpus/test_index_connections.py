"""The index's connections: rows read by column name, and faults of the file mapped on every
connection, including inside a function of several statements run on the reader's thread (the
reader and the migration use sqlite3 directly: aiosqlite's private `_execute` is not used)."""

from __future__ import annotations

import asyncio
import sqlite3
import threading

import pytest

from bot.corpus.errors import StorageFault
from bot.corpus.service import CorpusService, ServiceSettings
from tests.conftest import HANG_GUARD_SECONDS


async def test_rows_are_read_by_column_name_on_the_reader_and_the_writer(
    service: CorpusService,
) -> None:
    (read,) = await service.store.reader.execute_fetchall(
        "SELECT id, title_key FROM documents ORDER BY id LIMIT 1"
    )
    async with service.store.transaction() as writer:
        (written,) = await writer.execute_fetchall(
            "SELECT id, title_key FROM documents ORDER BY id LIMIT 1"
        )
    for row in (read, written):
        assert row.keys() == ["id", "title_key"]
        assert row["id"] == row[0] and row["title_key"] == row[1]


async def test_a_fault_inside_a_read_function_is_a_storage_fault_naming_the_index(
    service: CorpusService, settings: ServiceSettings
) -> None:
    """A read of several statements may fail while iterating its rows, past any cursor method:
    the mapping wraps the whole function, on the reader's own thread."""

    def damaged_mid_read(conn: sqlite3.Connection) -> None:
        for _row in conn.execute("SELECT id FROM documents"):
            error = sqlite3.DatabaseError("database disk image is malformed")
            error.sqlite_errorcode = 11  # SQLITE_CORRUPT, as the module sets it
            raise error

    with pytest.raises(StorageFault) as caught:
        await service.store.reader.run(damaged_mid_read)
    assert caught.value.problem == "corrupt" and caught.value.path == settings.db_path


async def test_a_statement_error_that_is_not_the_files_fault_passes_through_the_reader(
    service: CorpusService,
) -> None:
    with pytest.raises(sqlite3.OperationalError, match="no such table") as caught:
        await service.store.reader.execute_fetchall("SELECT * FROM no_such_table")
    assert caught.value.__cause__ is None


async def test_a_store_closed_twice_is_closed_once(settings: ServiceSettings) -> None:
    svc = await CorpusService.open(settings)
    await svc.close()
    await svc.close()


async def test_a_quick_read_does_not_wait_behind_a_slow_one(service: CorpusService) -> None:
    """Two read-only connections (WAL lets readers run at once): while one ranks a slow /ask,
    a /post is answered by the other. With one, it queued behind the slow read (issue #11)."""
    started, release, slow_finished = threading.Event(), threading.Event(), threading.Event()

    def slow_read(conn: sqlite3.Connection) -> None:
        conn.execute("SELECT count(*) FROM documents").fetchone()
        started.set()
        release.wait(timeout=HANG_GUARD_SECONDS)  # held until the quick read has its answer
        slow_finished.set()

    slow = asyncio.ensure_future(service.store.reader.run(slow_read))
    try:
        assert await asyncio.to_thread(started.wait, HANG_GUARD_SECONDS)
        post = await service.post("lessons-from-meltdown-and-spectre")
        assert post.ref.id == "lessons-from-meltdown-and-spectre"
        assert not slow_finished.is_set()
    finally:
        release.set()
        await slow
