"""Each process's SQLite replica of the corpus in PostgreSQL (bot/storage/postgres/replica.py),
against a real server: services with replicas of their own on one database, as separate
processes (or machines) would run them. No mock of either database."""

from __future__ import annotations

import asyncio
import dataclasses
import shutil
from collections.abc import AsyncIterator
from datetime import date
from pathlib import Path

import asyncpg
import pytest

from bot.corpus.errors import AnswerError, CorpusInvalid
from bot.corpus.models import AuthorName, Document, Reason
from bot.corpus.service import CorpusService, ServiceSettings
from bot.corpus.store import IndexReads
from bot.storage.postgres.documents import replace_documents
from bot.storage.postgres.replica import (
    APPLIED_SEQ,
    LISTENER_NAME,
    CorpusReplica,
    PublishFault,
    PullReport,
)
from tests.conftest import BUNDLED_CORPUS, HANG_GUARD_SECONDS, write_doc
from tests.storage.conftest import bundled_documents
from tests.storage.replicas import (
    FAST,
    MANUAL,
    TIMER_ONLY,
    caught_up,
    eventually,
    listening,
    replica_of,
    replicated,
    shared_pool,
)

QUERIES = ["media", "facial recognition", "algorithmic bias", "meltdown spectre", "zebras"]
NEW_FRONT = (
    "id: brand-new\ntitle: A Brand New Post\nauthors: [Zed Writer]\nkind: post\nexcerpt: false"
)


@pytest.fixture
async def pool(postgres_dsn: str) -> AsyncIterator[asyncpg.Pool]:
    async with shared_pool(postgres_dsn) as shared:
        yield shared


@pytest.fixture
def folder_a(tmp_path: Path) -> Path:
    """Process A's corpus folder: a copy of the bundled corpus it may edit."""
    target = tmp_path / "corpus-a"
    shutil.copytree(BUNDLED_CORPUS, target)
    return target


async def answers(service: CorpusService) -> dict[str, object]:
    """What commands answer from a service's index: searches, every post, every author."""
    out: dict[str, object] = {"stats": (await service.stats()).documents}
    for query in QUERIES:
        out[f"search {query}"] = await service.search(query)
    out["authors"] = await service.authors()
    for author in await service.authors():
        out[f"author {author.key}"] = await service.author(author.name)
    for doc_id in sorted(await service.store.read(_all_ids)):
        out[f"post {doc_id}"] = await service.post(doc_id)
    return out


def _all_ids(reads: IndexReads) -> list[str]:
    return [row["id"] for row in reads.conn.execute("SELECT id FROM documents")]


async def shared_ids(pool: asyncpg.Pool) -> dict[str, str]:
    """id -> content hash of every document PostgreSQL holds."""
    return {
        r["id"]: r["content_hash"]
        for r in await pool.fetch("SELECT id, content_hash FROM documents")
    }


async def write_directly(pool: asyncpg.Pool, documents: list[Document]) -> None:
    """What the feed's poller does: documents written to PostgreSQL by another writer."""
    async with pool.acquire() as conn, conn.transaction():
        await replace_documents(conn, documents)


def feed_entry(doc_id: str, words: str) -> Document:
    return Document(
        id=doc_id,
        title=f"Feed entry {doc_id}",
        subtitle=None,
        authors=(AuthorName("Fay Feeder", "fay feeder", "Example Wire"),),
        published=date(2026, 12, 1),
        url=f"https://example.org/{doc_id}",
        publisher="Example Wire",
        kind="article",
        excerpt=True,
        body=f"An entry of the feed about {words}.",
        annotations={"feed_source": "wire", "feed_key": doc_id},
        content_hash=f"hash-{doc_id}-{words}",
        origin="feed:wire",
    )


async def test_documents_round_trip_through_postgresql_into_a_replica(
    pool: asyncpg.Pool, postgres_dsn: str, tmp_path: Path
) -> None:
    crafted = [
        feed_entry("wire-1", "tides"),
        Document(
            id="untitled-note",
            title=None,
            subtitle="A subtitle",
            authors=(
                AuthorName("Ann Author", "ann author", "Some Lab"),
                AuthorName("Bo Writer", "bo writer"),
            ),
            published=None,
            url=None,
            publisher=None,
            kind="note",
            excerpt=False,
            body="First paragraph.\n\nSecond paragraph, with “quotes” and ünïcode.",
            reasons=(Reason("A label", "Second paragraph", 2),),
            annotations={"note": "kept", "title_inferred": False, "n": 3, "nested": {"a": [1, 2]}},
            source_path="notes/untitled.md",
            content_hash="hash-untitled",
        ),
    ]
    documents = bundled_documents() + crafted
    await write_directly(pool, documents)
    async with replicated(tmp_path / "r", tmp_path / "no-corpus", pool, postgres_dsn) as service:
        pulled = await service.store.read(IndexReads.whole_documents, [d.id for d in documents])
    assert sorted(pulled, key=lambda d: d.id) == sorted(documents, key=lambda d: d.id)
    assert any(d.reasons for d in pulled) and any(d.excerpt for d in pulled)


async def test_a_reload_in_one_process_reaches_the_others_replica_by_notification(
    pool: asyncpg.Pool, postgres_dsn: str, tmp_path: Path, folder_a: Path
) -> None:
    async with (
        replicated(tmp_path / "a", folder_a, pool, postgres_dsn) as a,
        # B has no corpus folder at all: its replica fills from PostgreSQL alone, in pages of 3
        replicated(tmp_path / "b", tmp_path / "none", pool, postgres_dsn, page_rows=3) as b,
    ):
        await listening(b)
        first = await a.reload()
        assert first.added_count == 11
        await eventually(lambda: caught_up(b, pool))
        assert await answers(b) == await answers(a)

        write_doc(folder_a, "12-new.md", front=NEW_FRONT, body="Fresh words about zebras.")
        changed = folder_a / "01-lessons-from-meltdown-and-spectre.md"
        changed.write_text(changed.read_text(encoding="utf-8") + "\nA sentence added.\n", "utf-8")
        (folder_a / "07-labeling-manipulated-media.md").unlink()
        report = await a.reload()
        assert (report.added_count, report.changed_count, report.removed_count) == (1, 1, 1)

        await eventually(lambda: caught_up(b, pool))
        assert await answers(b) == await answers(a)
        assert (await b.search("zebras")).hits[0].ref.id == "brand-new"
        with pytest.raises(AnswerError):
            await b.post("labeling-manipulated-media")
        assert (await b.post("lessons-from-meltdown-and-spectre")).body.endswith(
            "A sentence added."
        )


async def test_a_missed_notification_is_caught_up_by_the_periodic_pull(
    pool: asyncpg.Pool, postgres_dsn: str, tmp_path: Path, folder_a: Path
) -> None:
    async with (
        replicated(tmp_path / "a", folder_a, pool, postgres_dsn) as a,
        replicated(tmp_path / "b", tmp_path / "none", pool, postgres_dsn, timing=TIMER_ONLY) as b,
    ):
        assert not replica_of(b).listening.is_set()  # it hears no notification at all
        await a.reload()
        await eventually(lambda: caught_up(b, pool))
        assert await answers(b) == await answers(a)


async def test_a_lost_listening_connection_reconnects_and_catches_up(
    pool: asyncpg.Pool, postgres_dsn: str, tmp_path: Path, folder_a: Path
) -> None:
    async with (
        replicated(tmp_path / "a", folder_a, pool, postgres_dsn) as a,
        replicated(tmp_path / "b", tmp_path / "none", pool, postgres_dsn) as b,
    ):
        await listening(b)
        ended = await pool.fetchval(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE datname = current_database() AND application_name = $1",
            LISTENER_NAME,
        )
        assert ended == 2  # A's and B's listeners: what a server restart or failover does
        await a.reload()  # committed while B may not be listening: its notification is lost
        await eventually(lambda: caught_up(b, pool))
        await listening(b)
        assert await answers(b) == await answers(a)


async def test_a_document_written_to_postgresql_directly_reaches_every_replica(
    pool: asyncpg.Pool, postgres_dsn: str, tmp_path: Path, folder_a: Path
) -> None:
    async with (
        replicated(tmp_path / "a", folder_a, pool, postgres_dsn) as a,
        replicated(tmp_path / "b", tmp_path / "none", pool, postgres_dsn) as b,
    ):
        await listening(a)
        await listening(b)
        await a.reload()
        await write_directly(pool, [feed_entry("wire-1", "tides")])
        for service in (a, b):
            await eventually(lambda s=service: caught_up(s, pool))
            hits = (await service.search("tides")).hits
            assert [h.ref.id for h in hits] == ["wire-1"]
        # A reload publishes the corpus folder only: the feed's entry stays in PostgreSQL.
        await a.reload()
        assert "wire-1" in await shared_ids(pool)
        # replaced, then deleted, by another writer: both replicas follow
        await write_directly(pool, [feed_entry("wire-1", "storms")])
        for service in (a, b):
            await eventually(lambda s=service: caught_up(s, pool))
            assert [h.ref.id for h in (await service.search("storms")).hits] == ["wire-1"]
        await pool.execute("DELETE FROM documents WHERE id = 'wire-1'")
        for service in (a, b):
            await eventually(lambda s=service: caught_up(s, pool))
            assert not await _holds(service, "wire-1")
        assert await answers(b) == await answers(a)


async def test_a_fresh_process_fills_its_replica_from_postgresql_alone(
    pool: asyncpg.Pool, postgres_dsn: str, tmp_path: Path, folder_a: Path
) -> None:
    async with replicated(tmp_path / "a", folder_a, pool, postgres_dsn) as a:
        await a.reload()
        expected = await answers(a)
        async with replicated(tmp_path / "c", tmp_path / "none", pool, postgres_dsn) as c:
            # filled by its start alone: no notification, no corpus folder, no reload
            assert await answers(c) == expected
            # /about's "last reload" is when the corpus it serves last changed: its first pull
            assert (await c.stats()).last_reload is not None
            with pytest.raises(CorpusInvalid, match="corpus folder not found"):
                await c.reload()  # a process without the folder publishes nothing
        assert len(await shared_ids(pool)) == 11


async def test_its_own_publish_comes_back_as_numbers_only(
    pool: asyncpg.Pool, postgres_dsn: str, tmp_path: Path, folder_a: Path
) -> None:
    async with replicated(tmp_path / "a", folder_a, pool, postgres_dsn) as a:
        await a.reload()
        report = await replica_of(a).pull()
        assert report.written == 0 and report.removed == 0 and report.applied_seq > 0
        assert int(await a.store.meta(APPLIED_SEQ) or 0) == report.applied_seq
        again = await a.reload()  # the files' fingerprints survived the pull: nothing is read
        assert again.reparsed == 0 and not again.changed_anything


async def test_a_publish_refused_midway_leaves_postgresql_as_it_was(
    pool: asyncpg.Pool, postgres_dsn: str, tmp_path: Path, folder_a: Path
) -> None:
    async with replicated(
        tmp_path / "a", folder_a, pool, postgres_dsn, page_rows=2, max_file_bytes=3_000_000
    ) as a:
        await a.reload()
        before = await shared_ids(pool)
        for n in range(6):
            write_doc(
                folder_a,
                f"20-extra-{n}.md",
                front=NEW_FRONT.replace("brand-new", f"extra-{n}"),
                body=f"Extra number {n}.",
            )
        # Sorted among them, so written after a few pages of the same transaction: more text
        # than PostgreSQL's full-text index takes (a tsvector holds at most 1 MiB).
        words = " ".join(f"w{i:07d}" for i in range(200_000))
        write_doc(
            folder_a,
            "20-extra-3-huge.md",
            front=NEW_FRONT.replace("brand-new", "extra-3-huge"),
            body=words,
        )
        with pytest.raises(CorpusInvalid, match="20-extra-3-huge.md") as refused:
            await a.reload()
        assert "full-text search" in str(refused.value)
        assert await shared_ids(pool) == before  # nothing of the first pages either
        # The huge file gone, the next reload publishes the rest (the whole replica is compared).
        (folder_a / "20-extra-3-huge.md").unlink()
        await a.reload()
        assert set(await shared_ids(pool)) == set(before) | {f"extra-{n}" for n in range(6)}


async def test_a_summary_computed_in_one_process_reaches_the_others_replica(
    pool: asyncpg.Pool, postgres_dsn: str, tmp_path: Path, folder_a: Path
) -> None:
    async with (
        replicated(tmp_path / "a", folder_a, pool, postgres_dsn) as a,
        replicated(tmp_path / "b", tmp_path / "none", pool, postgres_dsn) as b,
    ):
        await a.reload()
        summary = await a.summarize("access-now-resigns-from-pai", sentences=2)
        stored = await a.store.document("access-now-resigns-from-pai")
        assert stored is not None

        async def b_has_it() -> bool:
            await b.sync()
            entries = await b.store.read(_summaries)
            return any(h == stored.content_hash for h, _ in entries)

        await eventually(b_has_it)
        assert await b.summarize("access-now-resigns-from-pai", sentences=2) == summary


def _summaries(reads: IndexReads) -> list[tuple[str, str]]:
    return [(r["content_hash"], r["params"]) for r in reads.conn.execute("SELECT * FROM summaries")]


async def test_a_replica_of_another_database_is_refilled_not_mixed(
    pool: asyncpg.Pool, postgres_dsn: str, tmp_path: Path, folder_a: Path
) -> None:
    async with replicated(tmp_path / "a", folder_a, pool, postgres_dsn) as a:
        await a.reload()
    # The same replica.db, started against a database that was recreated (a new identity):
    await pool.execute("DELETE FROM documents")
    await pool.execute("UPDATE corpus_bot_identity SET id = gen_random_uuid()")
    await write_directly(pool, [feed_entry("wire-1", "tides")])
    async with replicated(tmp_path / "a", tmp_path / "none", pool, postgres_dsn) as again:
        assert (await again.stats()).documents == 1
        assert await _holds(again, "wire-1")


async def _holds(service: CorpusService, doc_id: str) -> bool:
    return await service.store.ref_by_id(doc_id) is not None


async def test_change_numbers_commit_in_order_so_a_pull_never_skips_one(
    pool: asyncpg.Pool, postgres_dsn: str, tmp_path: Path
) -> None:
    """Two writers at once: the first takes its number and commits late. A replica that pulled
    in between must still get the first's document (without the change lock, the second would
    commit a greater number first, the pull would record it, and the first would be skipped)."""
    first = await asyncpg.connect(postgres_dsn)
    second = await asyncpg.connect(postgres_dsn)
    try:
        async with replicated(
            tmp_path / "r", tmp_path / "none", pool, postgres_dsn, timing=MANUAL
        ) as service:
            slow = first.transaction()
            await slow.start()
            await replace_documents(first, [feed_entry("slow-1", "tides")])

            async def quick_writer() -> None:
                async with second.transaction():
                    # another author: the two writers share no row, only the change lock
                    quick_doc = dataclasses.replace(
                        feed_entry("quick-2", "storms"),
                        authors=(AuthorName("Quinn Quick", "quinn quick"),),
                    )
                    await replace_documents(second, [quick_doc])

            quick = asyncio.create_task(quick_writer())

            async def quick_waits_or_committed() -> bool:
                waiting = await pool.fetchval(
                    "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted"
                )
                return quick.done() or waiting > 0

            await eventually(quick_waits_or_committed)
            await service.sync()  # a pull while the slow writer is still open
            await slow.commit()
            await asyncio.wait_for(quick, HANG_GUARD_SECONDS)
            await service.sync()
            assert await _holds(service, "slow-1") and await _holds(service, "quick-2")
            numbers = dict(
                await pool.fetch("SELECT id, changed_seq FROM documents ORDER BY changed_seq")
            )
            assert numbers["slow-1"] < numbers["quick-2"]
    finally:
        await first.close()
        await second.close()


async def test_a_publish_killed_midway_leaves_postgresql_as_it_was(
    pool: asyncpg.Pool, postgres_dsn: str, tmp_path: Path, folder_a: Path
) -> None:
    async with replicated(tmp_path / "a", folder_a, pool, postgres_dsn, page_rows=2) as a:
        await a.reload()
        before = await shared_ids(pool)
        extras = {f"extra-{n}" for n in range(6)}
        for doc_id in sorted(extras):
            write_doc(folder_a, f"20-{doc_id}.md", front=NEW_FRONT.replace("brand-new", doc_id))
        last_front = NEW_FRONT.replace("brand-new", "zz-last").replace("Zed Writer", "Blocked One")
        write_doc(folder_a, "30-zz-last.md", front=last_front)
        # Another session holds the row the publish's last page needs (the author it inserts):
        # the publish writes its first pages, then waits there, and its session is ended.
        blocker = await asyncpg.connect(postgres_dsn)
        held = blocker.transaction()
        await held.start()
        await blocker.execute(
            "INSERT INTO authors (key, name) VALUES ('blocked one', 'Blocked One')"
        )
        try:
            reload = asyncio.create_task(a.reload())

            async def publisher_waits() -> bool:
                waiting = await pool.fetch(
                    "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
                    "AND wait_event_type = 'Lock' AND pid <> $1",
                    blocker.get_server_pid(),
                )
                return bool(waiting)

            await eventually(publisher_waits)
            ended = await pool.fetchval(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                "WHERE datname = current_database() AND wait_event_type = 'Lock'"
            )
            assert ended == 1
            with pytest.raises(PublishFault) as caught:
                await asyncio.wait_for(reload, HANG_GUARD_SECONDS)
        finally:
            await held.rollback()
            await blocker.close()
        assert "CORPUS_BOT_DATABASE_URL" in caught.value.message
        assert "other processes still serve the previous corpus" in caught.value.user_message
        assert await shared_ids(pool) == before  # the pages written before the kill: gone too
        assert await _holds(a, "zz-last")  # this process serves what its folder holds
        await a.reload()  # and its next reload publishes all of it
        assert set(await shared_ids(pool)) == set(before) | extras | {"zz-last"}


async def test_change_listeners_hear_what_others_changed_not_their_own_echo(
    pool: asyncpg.Pool, postgres_dsn: str, tmp_path: Path, folder_a: Path
) -> None:
    """What the feed's lease holder hooks corpus detection on (decision 7): a pull that brought
    another process's documents; a process's own publish, pulled back, brings nothing new."""
    heard: dict[str, list[PullReport]] = {"a": [], "b": []}
    async with (
        replicated(tmp_path / "a", folder_a, pool, postgres_dsn) as a,
        replicated(tmp_path / "b", tmp_path / "none", pool, postgres_dsn) as b,
    ):
        for name, service in (("a", a), ("b", b)):

            async def hear(report: PullReport, into: list[PullReport] = heard[name]) -> None:
                into.append(report)

            replica_of(service).listeners.append(hear)
        await a.reload()
        await a.sync()

        async def b_heard_everything() -> bool:  # listeners run once the pull committed
            return sum(r.written for r in heard["b"]) == 11

        await eventually(b_heard_everything)
        assert heard["a"] == []


async def test_a_reload_that_changed_nothing_publishes_nothing(
    pool: asyncpg.Pool, postgres_dsn: str, tmp_path: Path, folder_a: Path
) -> None:
    """The poll pass reloads every few minutes: with nothing new in the folder it must not
    write PostgreSQL, nor undo what another process published meanwhile."""
    async with replicated(tmp_path / "a", folder_a, pool, postgres_dsn, timing=MANUAL) as a:
        await a.reload()
        other = dataclasses.replace(
            (await a.store.read(IndexReads.whole_documents, ["labeling-manipulated-media"]))[0],
            body="Another machine's version of this post.",
            content_hash="published-elsewhere",
        )
        await write_directly(pool, [other])  # another process's publish, not pulled here yet
        newest = await pool.fetchval("SELECT max(changed_seq) FROM documents")
        report = await a.reload()
        assert not report.changed_anything
        assert await pool.fetchval("SELECT max(changed_seq) FROM documents") == newest
        assert (await shared_ids(pool))["labeling-manipulated-media"] == "published-elsewhere"


async def test_documents_cannot_be_truncated_behind_the_replicas_back(pool: asyncpg.Pool) -> None:
    """TRUNCATE fires no row trigger, so it would leave no removal for replicas to pull."""
    await write_directly(pool, [feed_entry("wire-1", "tides")])
    with pytest.raises(asyncpg.RaiseError, match="never truncated"):
        await pool.execute("TRUNCATE documents CASCADE")
    assert "wire-1" in await shared_ids(pool)


async def test_many_removals_and_changes_reach_a_replica_pulling_small_pages(
    pool: asyncpg.Pool, postgres_dsn: str, tmp_path: Path, folder_a: Path
) -> None:
    """Pages of 2: removals fill pages of their own, interleaved with changes by number, and a
    document removed then added back is present at the end."""
    async with (
        replicated(tmp_path / "a", folder_a, pool, postgres_dsn) as a,
        replicated(
            tmp_path / "b", tmp_path / "none", pool, postgres_dsn, timing=MANUAL, page_rows=2
        ) as b,
    ):
        await a.reload()
        await b.sync()
        files = corpus_files(folder_a)
        kept = files[0].read_text(encoding="utf-8")
        for path in files[:6]:
            path.unlink()
        await a.reload()  # six removed
        files[0].write_text(kept, encoding="utf-8")
        for n in range(3):
            write_doc(
                folder_a, f"20-extra-{n}.md", front=NEW_FRONT.replace("brand-new", f"extra-{n}")
            )
        await a.reload()  # one back, three added
        report = await replica_of(b).pull()
        # The first file, removed and added back with the same bytes, is neither removed nor
        # fetched: its removal left the log when it came back, and B holds that version.
        assert (report.written, report.removed) == (3, 5)
        assert await caught_up(b, pool)
        assert await answers(b) == await answers(a)
        assert (await b.stats()).documents == 11 - 6 + 1 + 3


def corpus_files(folder: Path) -> list[Path]:
    return sorted(folder.glob("*.md"))


async def test_a_database_out_of_reach_at_start_leaves_the_replica_serving_what_it_held(
    pool: asyncpg.Pool,
    postgres_dsn: str,
    tmp_path: Path,
    folder_a: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    async with replicated(tmp_path / "a", folder_a, pool, postgres_dsn) as a:
        await a.reload()
        expected = await answers(a)
    async with shared_pool(postgres_dsn) as gone:
        pass  # closed: every pull of the restarted process fails as with a server down
    async with replicated(
        tmp_path / "a", tmp_path / "none", gone, postgres_dsn, timing=MANUAL
    ) as again:
        assert await answers(again) == expected
    warned = [r.getMessage() for r in caplog.records if "the first pull failed" in r.getMessage()]
    assert len(warned) == 1 and "CORPUS_BOT_DATABASE_URL" in warned[0]
    assert all(r.exc_info is None for r in caplog.records if r.name.startswith("bot.storage"))


async def test_closing_ends_even_when_a_notification_wakes_the_puller_at_that_moment(
    pool: asyncpg.Pool, postgres_dsn: str, tmp_path: Path, folder_a: Path
) -> None:
    """The pull loop's wait for a notification must not lose the cancellation that closing
    sends when the notification lands in the same turn of the event loop (Python 3.11's
    asyncio.wait_for did: the loop went on pulling and close() never returned)."""
    for attempt in range(5):
        service = await CorpusService.open(
            ServiceSettings(db_path=tmp_path / f"p{attempt}" / "replica.db", corpus_dir=folder_a),
            shared=lambda store: CorpusReplica(store, pool, postgres_dsn, timing=FAST),
        )
        await asyncio.sleep(0)  # the pull loop is waiting for its wake-up
        replica_of(service)._wake.set()
        async with asyncio.timeout(HANG_GUARD_SECONDS):
            await service.close()
