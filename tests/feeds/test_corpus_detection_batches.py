"""Corpus detection walks the corpus a page at a time: memory bounded by the page, not the corpus.

Real SQLite files or a real PostgreSQL database, and the bundled corpus; the page size (``corpus_source.FACTS_BATCH``) is
lowered so a handful of documents spans many pages.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.config import FeedConfig
from bot.corpus.service import CorpusService
from bot.feeds import corpus_source
from bot.feeds.corpus_source import CorpusDetection
from bot.feeds.engine import FeedEngine
from bot.feeds.models import CORPUS_SOURCE, to_iso
from bot.storage.postgres.sql import PostgresWriter
from bot.storage.sql import FeedDatabase, SqliteWriter
from tests.conftest import write_doc
from tests.feeds.feed_world import T0, FakeDiscord, FeedBackend

PAGE = 3
NEW_DOCS = 10


def new_doc(corpus_dir: Path, n: int, *, title: str | None = None) -> str:
    doc_id = f"batch-new-{n:02d}"
    write_doc(
        corpus_dir,
        f"{doc_id}.md",
        front=f"id: {doc_id}\ntitle: {title or f'Batch New {n}'}\n"
        "authors: [Ada Example]\nkind: post\nexcerpt: false",
        body=f"Words of post {n}. More words.",
    )
    return doc_id


async def subscribe_everything(engine: FeedEngine, channel_id: int) -> None:
    await engine.feeds.subscribe(
        guild_id=1,
        channel_id=channel_id,
        source=None,
        author=None,
        keyword=None,
        mention_role_id=None,
        mode="instant",
        digest_minute=None,
        created_by=7,
        now=T0,
    )


async def corpus_ids(database: FeedDatabase) -> list[str]:
    rows = await database.reader.execute_fetchall(
        "SELECT id FROM documents WHERE origin = 'corpus' ORDER BY id"
    )
    return [row[0] for row in rows]


async def seen_hashes(database: FeedDatabase) -> dict[str, str]:
    rows = await database.reader.execute_fetchall(
        "SELECT item_key, content_hash FROM feed_seen WHERE source = ?", (CORPUS_SOURCE,)
    )
    return {row[0]: row[1] for row in rows}


async def document_hashes(database: FeedDatabase) -> dict[str, str]:
    rows = await database.reader.execute_fetchall(
        "SELECT id, content_hash FROM documents WHERE origin = 'corpus'"
    )
    return {row[0]: row[1] for row in rows}


async def test_new_and_changed_documents_over_many_pages_are_each_handled_exactly_once(
    backend: FeedBackend, service: CorpusService, corpus_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(corpus_source, "FACTS_BATCH", PAGE)
    fake = FakeDiscord()
    engine = FeedEngine(service, FeedConfig(), fake, database=await backend.database(service))
    for n in (1, 4, 7):  # known before the baseline; changed below
        new_doc(corpus_dir, n + 100)
    await engine.check_corpus(T0, reload=True)
    await subscribe_everything(engine, 100)
    await subscribe_everything(engine, 200)
    await engine.send(T0)
    old_ids = ["batch-new-101", "batch-new-104", "batch-new-107"]
    # Pretend those three were posted earlier, so a change has posts to edit.
    async with engine.database.transaction() as writer:
        for channel_sub in await engine.feeds.guild_subscriptions(1):
            for doc_id in old_ids:
                await writer.execute(
                    "INSERT INTO feed_outbox (subscription_id, entry_id, source, state, created_at, message_id) "
                    "VALUES (?, ?, ?, 'sent', ?, 1)",
                    (channel_sub.subscription.id, doc_id, CORPUS_SOURCE, to_iso(T0)),
                )
    fresh_ids = [new_doc(corpus_dir, n) for n in range(NEW_DOCS)]
    for doc_id, n in zip(old_ids, (101, 104, 107), strict=True):
        new_doc(corpus_dir, n, title=f"Revised {doc_id}")

    found = await engine.check_corpus(T0 + timedelta(minutes=1), reload=True)

    assert found.new_count == NEW_DOCS and found.new_entries == tuple(fresh_ids)
    assert found.changed_count == 3 and found.changed_entries == tuple(old_ids)
    assert found.queued == 2 * NEW_DOCS
    outbox = await engine.database.reader.execute_fetchall(
        "SELECT entry_id, count(*) FROM feed_outbox WHERE state = 'pending' GROUP BY entry_id ORDER BY min(id)"
    )
    assert [tuple(row) for row in outbox] == [
        (doc_id, 2) for doc_id in fresh_ids
    ]  # each once per channel, in id order
    flagged = await engine.database.reader.execute_fetchall(
        "SELECT DISTINCT entry_id FROM feed_outbox WHERE needs_edit = 1 ORDER BY entry_id"
    )
    assert [row[0] for row in flagged] == old_ids
    assert await seen_hashes(engine.database) == await document_hashes(engine.database)

    again = await engine.check_corpus(T0 + timedelta(minutes=2), reload=False)
    assert (again.new_count, again.changed_count, again.queued) == (0, 0, 0)


async def test_the_baseline_records_every_document_and_queues_nothing(
    backend: FeedBackend, service: CorpusService, corpus_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(corpus_source, "FACTS_BATCH", PAGE)
    monkeypatch.setattr(corpus_source, "SAMPLE_SIZE", 4)
    for n in range(NEW_DOCS):
        new_doc(corpus_dir, n)
    await service.reload()
    engine = FeedEngine(
        service, FeedConfig(), FakeDiscord(), database=await backend.database(service)
    )
    await subscribe_everything(
        engine, 100
    )  # even with a subscriber, the baseline announces nothing

    first = await engine.check_corpus(T0, reload=False)

    everything = await corpus_ids(engine.database)
    assert len(everything) > NEW_DOCS
    assert first.baseline and first.queued == 0
    assert first.new_count == len(everything) and first.new_entries == tuple(everything[:4])
    assert first.changed_count == 0 and first.changed_entries == ()
    assert await seen_hashes(engine.database) == await document_hashes(engine.database)
    assert await engine.feeds.outbox_counts() == {}
    state = await engine.feeds.source_state(CORPUS_SOURCE)
    assert state.baseline_at == T0 and state.last_new_item_at is None


async def test_no_fetch_during_detection_returns_more_than_one_page(
    backend: FeedBackend, service: CorpusService, corpus_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The structural form of "memory does not grow with the corpus": every row set the
    detection reads or writes through the database is at most one page long, whatever the corpus size
    (here several times the page). The named sample is a constant too, kept below the page here."""
    monkeypatch.setattr(corpus_source, "FACTS_BATCH", PAGE)
    monkeypatch.setattr(corpus_source, "SAMPLE_SIZE", 2)
    engine = FeedEngine(
        service, FeedConfig(), FakeDiscord(), database=await backend.database(service)
    )
    await subscribe_everything(engine, 100)
    for n in range(NEW_DOCS):
        new_doc(corpus_dir, n)
    await service.reload()
    sizes: list[int] = []
    spied = SqliteWriter if backend.name == "sqlite" else PostgresWriter  # its statements
    real_fetchall = spied.execute_fetchall
    real_executemany = spied.executemany

    async def fetchall(self: Any, sql: str, parameters: Any = ()) -> Any:
        rows = list(await real_fetchall(self, sql, parameters))
        sizes.append(len(rows))
        return rows

    async def executemany(self: Any, sql: str, parameters: Iterable[Any]) -> Any:
        rows = list(parameters)
        sizes.append(len(rows))
        return await real_executemany(self, sql, rows)

    async def spy(check: Callable[[], Awaitable[CorpusDetection]]) -> CorpusDetection:
        monkeypatch.setattr(spied, "execute_fetchall", fetchall)
        monkeypatch.setattr(spied, "executemany", executemany)
        try:
            return await check()
        finally:
            monkeypatch.setattr(spied, "execute_fetchall", real_fetchall)
            monkeypatch.setattr(spied, "executemany", real_executemany)

    baseline = await spy(lambda: engine.check_corpus(T0, reload=False))
    assert baseline.new_count == len(await corpus_ids(engine.database)) > 3 * PAGE
    for n in range(NEW_DOCS, 3 * NEW_DOCS):
        new_doc(corpus_dir, n)
    await service.reload()
    found = await spy(lambda: engine.check_corpus(T0 + timedelta(minutes=1), reload=False))

    assert found.new_count == 2 * NEW_DOCS and found.queued == 2 * NEW_DOCS
    assert sizes and max(sizes) <= PAGE, sizes


class CrashMidWalk(Exception):
    """Stands for a crash after some pages were queued and marked seen."""


async def test_a_crash_on_a_later_page_leaves_nothing_done_and_the_retry_does_it_all_once(
    backend: FeedBackend, service: CorpusService, corpus_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(corpus_source, "FACTS_BATCH", PAGE)
    engine = FeedEngine(
        service, FeedConfig(), FakeDiscord(), database=await backend.database(service)
    )
    await engine.check_corpus(T0, reload=False)
    await subscribe_everything(engine, 100)
    seen_before = await seen_hashes(engine.database)
    fresh_ids = [new_doc(corpus_dir, n) for n in range(NEW_DOCS)]
    await service.reload()
    real = corpus_source._facts_of_rows
    pages: list[int] = []

    def crash_on_third_page(rows: Iterable[Any]) -> Any:
        rows = list(rows)
        pages.append(len(rows))
        if len(pages) == 3:
            raise CrashMidWalk
        return real(rows)

    monkeypatch.setattr(corpus_source, "_facts_of_rows", crash_on_third_page)
    with pytest.raises(CrashMidWalk):
        await engine.check_corpus(T0 + timedelta(minutes=1), reload=False)

    assert pages == [PAGE, PAGE, PAGE]
    assert await seen_hashes(engine.database) == seen_before
    assert await engine.feeds.outbox_counts() == {}
    monkeypatch.setattr(corpus_source, "_facts_of_rows", real)
    found = await engine.check_corpus(T0 + timedelta(minutes=2), reload=False)
    assert found.new_entries == tuple(fresh_ids) and found.queued == NEW_DOCS
    assert await engine.feeds.outbox_counts() == {"pending": NEW_DOCS}
