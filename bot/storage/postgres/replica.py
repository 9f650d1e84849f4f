"""Each process's SQLite replica of the shared corpus in PostgreSQL, and what it publishes there.

Commands (/search, /ask, /post, /author, /summarize, autocomplete) read a local SQLite index
(data_dir/replica.db: the same `CorpusStore` and schema as with `storage: sqlite`), because
PostgreSQL's search measured 5-8x slower (bench/bench_postgres.py) and a replica answers exactly
as the SQLite backend does. PostgreSQL is the record; this module keeps the replica equal to it:

- Pull. PostgreSQL's document change log (migration 3 of bot/storage/postgres/schema.py):
  every inserted or updated document carries a `changed_seq`, every deleted id a row of
  `document_removals`, numbered in commit order. A pull asks for what is numbered after the
  last number applied (kept in the replica's `meta`, written in the same SQLite transaction as
  the documents), a page at a time (`page_rows` ids, bodies fetched `CHUNK_BYTES` at a time):
  memory stays bounded whatever the corpus size. Only documents whose (origin, content_hash)
  differ from the replica's are fetched and written, so a process pulling back what it just
  published, or refilling after a restart, transfers ids and hashes, not bodies.
- When. A LISTEN on `corpus_changed` on a connection of its own (reconnected with backoff; each
  reconnection pulls, since a notification sent while disconnected is lost), plus a pull every
  `ReplicaTiming.pull_every_s` whatever happens.
- Publish. After a reload of the corpus folder into the replica (`CorpusService.reload`), the
  corpus-folder documents that differ from PostgreSQL's (by content_hash) are written there and
  the ones the folder no longer has are deleted, in ONE PostgreSQL transaction: a crash or a
  refused document leaves PostgreSQL as it was, and every process is notified at the commit.
  The whole replica is compared, not the reload's report, so a publish that failed is made by
  the next reload. Feed entries are never published from here (the poller writes them to
  PostgreSQL itself). File fingerprints (size, mtime) stay in the replica: they describe this
  machine's files.
- Summaries. One computed here is stored in PostgreSQL too (in the background: the answer does
  not wait), and pulls bring the others', so /summarize still reads only the replica.

Build it with `CorpusService.open(settings, shared=lambda store: CorpusReplica(store, pool, dsn))`
(settings.db_path the replica's file; the pool the process's one on the shared database, already
migrated): the service starts it (a first pull, then the listener
and the timer) and stops it on close; `reload()` publishes; `sync()` pulls.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass

import aiosqlite
import asyncpg

from bot.corpus.errors import CorpusInvalid, Fault
from bot.corpus.models import Document, Problem
from bot.corpus.store import (
    CorpusStore,
    FileChange,
    IndexReads,
    PreparedDocuments,
    document_from_row,
    now_iso,
    prepare_documents,
)
from bot.storage.postgres.documents import replace_documents
from bot.storage.postgres.errors import (
    CONNECT_ERRORS,
    CONNECTION_ERRORS,
    DatabaseFault,
    DocumentNotStorable,
    database_faults,
)
from bot.storage.postgres.lease import KEEPALIVE_SETTINGS
from bot.storage.postgres.schema import CHANGE_LOCK, CHANGES_CHANNEL, Connection

log = logging.getLogger(__name__)

PAGE_ROWS = 500
"""Changed ids (and removed ids, and summaries) read per page of a pull, and ids compared per
page of a publish."""
CHUNK_BYTES = 16 * 1024 * 1024
"""Bodies fetched (and written) at once during a pull: at most this much text, or one document
when a single body is larger, so a page of 500 long documents does not sit in memory at once."""
REPLICA_OF = "replica_of"
"""The replica's `meta` row naming the database it copies (corpus_bot_identity.id)."""
APPLIED_SEQ = "replica_applied_seq"
"""The replica's `meta` row: the last document change number applied."""
SUMMARY_SEQ = "replica_summary_seq"
"""The replica's `meta` row: the last summary change number applied."""
LISTENER_NAME = "corpus-bot replica listener"
"""The listening session's application_name: what an operator sees in pg_stat_activity."""
MAX_SHARING = 8
"""Summaries being written to PostgreSQL at once; more are not shared (a cache: each process
can compute its own), so a database that hangs cannot pile up tasks."""

_CHANGES = (
    "SELECT id, origin, content_hash, changed_seq, octet_length(body) AS bytes FROM documents "
    "WHERE changed_seq > $1 ORDER BY changed_seq LIMIT $2"
)
_REMOVALS = (
    "SELECT id, removed_seq FROM document_removals WHERE removed_seq > $1 "
    "ORDER BY removed_seq LIMIT $2"
)
_SUMMARIES = (
    "SELECT content_hash, params, sentences, total_sentences, changed_seq FROM summaries "
    "WHERE changed_seq > $1 ORDER BY changed_seq LIMIT $2"
)
_DOCUMENTS = """
SELECT d.id, d.origin, d.source_path, d.title, d.subtitle, d.author_names, d.published, d.url,
    d.publisher, d.kind, d.excerpt, d.body, d.annotations, d.reasons, d.content_hash,
    (SELECT coalesce(jsonb_object_agg(da.position::text, da.affiliation), '{}'::jsonb)
     FROM document_authors da WHERE da.doc_pk = d.pk) AS affiliations
FROM documents d WHERE d.id = ANY($1::text[])
"""
_SHARED_CORPUS = (
    "SELECT id, content_hash FROM documents WHERE origin = 'corpus' AND id COLLATE \"C\" > $1 "
    'ORDER BY id COLLATE "C" LIMIT $2'
)
"""Byte order (collation "C", index documents_origin_ids), as SQLite and Python order ids."""
_SHARE_SUMMARY = """
INSERT INTO summaries (content_hash, params, sentences, total_sentences) VALUES ($1, $2, $3, $4)
ON CONFLICT (content_hash, params) DO UPDATE SET
    sentences = excluded.sentences,
    total_sentences = coalesce(excluded.total_sentences, summaries.total_sentences),
    changed_seq = nextval('summary_changes')
WHERE (summaries.sentences, summaries.total_sentences)
    IS DISTINCT FROM (excluded.sentences, coalesce(excluded.total_sentences, summaries.total_sentences))
"""
"""A summary shared; written again only when it says something new (each write is pulled by
every replica)."""


@dataclass(frozen=True, slots=True)
class ReplicaTiming:
    pull_every_s: float = 30.0
    """A pull at least this often: a notification sent while the listener was disconnected is
    lost, and this bounds how stale a replica can be then."""
    reconnect_s: float = 1.0
    """First wait before the listener connects again; doubled on each failure up to
    `reconnect_max_s`."""
    reconnect_max_s: float = 30.0
    check_s: float = 5.0
    """How often the listener checks its session (a half-open TCP connection says nothing)."""
    listen: bool = True
    """False: pull on the timer only (tests of a lost notification)."""


@dataclass(frozen=True, slots=True)
class PullReport:
    """What one pull applied to the replica."""

    written: int = 0
    """documents inserted or replaced (those that differed from the replica's)"""
    removed: int = 0
    """documents deleted (that the replica held)"""
    summaries: int = 0
    applied_seq: int = 0
    """the last change number now applied"""

    @property
    def changed_anything(self) -> bool:
        return bool(self.written or self.removed)


@dataclass(frozen=True, slots=True)
class PublishReport:
    """What one publish changed in PostgreSQL."""

    written: int = 0
    removed: int = 0


class PublishFault(DatabaseFault):
    """The corpus folder was re-read into this process's replica, but PostgreSQL could not take
    it: this process serves the new corpus, the others the previous one until a reload here
    publishes again (it compares everything, so nothing is lost)."""

    def __init__(self, dsn: str, detail: str) -> None:
        super().__init__(dsn, detail)
        self.user_message = (
            "The corpus was re-read, but the shared database cannot be reached, so the bot's "
            "other processes still serve the previous corpus: please run /reload again in a "
            "minute. Its operator has been told."
        )


ChangeListener = Callable[[PullReport], Awaitable[None]]


@dataclass(slots=True)
class _Applied:
    identity: str | None
    seq: int
    summary_seq: int


@dataclass(slots=True)
class _Tally:
    written: int = 0
    removed: int = 0
    summaries: int = 0
    bulk: bool = False
    """whether the pull writes with `CorpusStore.bulk_write_cache` (from its second page)"""


@dataclass(slots=True)
class _Page:
    """The changes of one page of a pull, up to `seq` (ids and hashes; bodies come later)."""

    changes: list[asyncpg.Record]
    removals: list[str]
    summaries: list[asyncpg.Record]
    seq: int
    summary_seq: int
    complete: bool


class CorpusReplica:
    """Keeps `store` (this process's SQLite index) equal to the shared database's documents, and
    publishes its corpus folder there. The pool is the caller's (it outlives this object)."""

    def __init__(
        self,
        store: CorpusStore,
        pool: asyncpg.Pool,
        dsn: str,
        *,
        timing: ReplicaTiming | None = None,
        page_rows: int = PAGE_ROWS,
        chunk_bytes: int = CHUNK_BYTES,
    ) -> None:
        self.store = store
        self.dsn = dsn
        self.timing = timing or ReplicaTiming()
        self.page_rows = page_rows
        self.chunk_bytes = chunk_bytes
        self.listeners: list[ChangeListener] = []
        """Called after each pull that wrote or removed documents (the feed's lease holder runs
        corpus detection then, so an entry published by another process is announced once)."""
        self.listening = asyncio.Event()
        """Set while the LISTEN connection is up."""
        self._pool = pool
        self._lock = asyncio.Lock()
        self._wake = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._sharing: set[asyncio.Task[None]] = set()
        self._published = False
        """Whether this process's last publish succeeded (none yet: the next one compares)."""

    # --- lifecycle ---------------------------------------------------------------------------

    async def start(self) -> None:
        """A first pull (an empty replica fills here), then the listener and the timer. A
        database out of reach is logged, and the replica serves what it holds meanwhile."""
        try:
            await self.pull()
        except DatabaseFault as fault:
            log.warning("replica: the first pull failed; serving what it holds: %s", fault.message)
        self._tasks.append(asyncio.create_task(self._pull_loop(), name="replica pulls"))
        if self.timing.listen:
            self._tasks.append(asyncio.create_task(self._listen_loop(), name="replica listener"))

    async def close(self) -> None:
        """Stop listening and pulling; summaries being shared get a few seconds to finish."""
        tasks, self._tasks = self._tasks, []
        for task in tasks:
            task.cancel()
        if tasks:  # asyncio.wait: a cancellation of close() itself still goes through
            await asyncio.wait(tasks)
        if self._sharing:
            await asyncio.wait(list(self._sharing), timeout=self.timing.check_s)
            for task in list(self._sharing):
                task.cancel()

    @contextlib.asynccontextmanager
    async def exclusive(self) -> AsyncIterator[None]:
        """No pull runs meanwhile: the service holds this around a reload and its publish, so a
        pull cannot put PostgreSQL's older version of a file between the two."""
        async with self._lock:
            yield

    # --- pull --------------------------------------------------------------------------------

    async def pull(self) -> PullReport:
        """Apply every change PostgreSQL committed since the last pull, then tell `listeners`."""
        async with self._lock:
            report = await self._pull()
        if report.changed_anything:
            for listener in list(self.listeners):
                try:
                    await listener(report)
                except Exception:
                    log.exception("replica: a change listener failed")
        return report

    @database_faults
    async def _pull(self) -> PullReport:
        applied = await self._applied()
        identity = str(await self._pool.fetchval("SELECT id FROM corpus_bot_identity"))
        if applied.identity != identity:
            if applied.identity is not None:
                log.warning("replica: %s copies another database; refilling it", self.store.path)
            async with self.store.transaction() as writer:
                await self.store.clear_documents(writer)
                await self.store.write_meta(
                    writer, {REPLICA_OF: identity, APPLIED_SEQ: "0", SUMMARY_SEQ: "0"}
                )
            applied = _Applied(identity, 0, 0)
            self._published = False  # that database may lack this folder's documents
        tally = _Tally()
        async with contextlib.AsyncExitStack() as bulk:
            while True:
                async with (
                    self._pool.acquire() as conn,
                    conn.transaction(isolation="repeatable_read", readonly=True),
                ):
                    page = await self._page(conn, applied)
                    await self._apply(conn, page, tally)
                applied = _Applied(identity, page.seq, page.summary_seq)
                if page.complete:
                    break
                if not tally.bulk:  # more than a page (a first fill): a reload's larger cache
                    await bulk.enter_async_context(self.store.bulk_write_cache())
                    tally.bulk = True
        return PullReport(tally.written, tally.removed, tally.summaries, applied.seq)

    async def _applied(self) -> _Applied:
        identity = await self.store.meta(REPLICA_OF)
        seq = await self.store.meta(APPLIED_SEQ)
        summary_seq = await self.store.meta(SUMMARY_SEQ)
        return _Applied(identity, int(seq or 0), int(summary_seq or 0))

    async def _page(self, conn: Connection, applied: _Applied) -> _Page:
        """The next page of changes after `applied`, in one snapshot. Documents and removals are
        cut at the same change number: if either filled its page, at the lower of their last
        numbers; otherwise everything committed is in, and the page is the last."""
        limit = self.page_rows
        changes = await conn.fetch(_CHANGES, applied.seq, limit)
        removals = await conn.fetch(_REMOVALS, applied.seq, limit)
        summaries = await conn.fetch(_SUMMARIES, applied.summary_seq, limit)
        bounds = [
            rows[-1][column]
            for rows, column in ((changes, "changed_seq"), (removals, "removed_seq"))
            if len(rows) == limit
        ]
        if bounds:
            upto = min(bounds)
        else:
            seen = [r["changed_seq"] for r in changes] + [r["removed_seq"] for r in removals]
            upto = max([applied.seq, *seen])
        summary_seq = summaries[-1]["changed_seq"] if summaries else applied.summary_seq
        return _Page(
            changes=[r for r in changes if r["changed_seq"] <= upto],
            removals=[r["id"] for r in removals if r["removed_seq"] <= upto],
            summaries=list(summaries),
            seq=int(upto),
            summary_seq=int(summary_seq),
            complete=not bounds and len(summaries) < limit,
        )

    async def _apply(self, conn: Connection, page: _Page, tally: _Tally) -> None:
        """Write one page into the replica: the documents that differ from the replica's, in
        chunks of at most `chunk_bytes` of text, then the removals, the summaries and the change
        numbers reached, with the last chunk (a crash re-applies the page: every write is keyed
        by id)."""
        held = await self.store.read(
            IndexReads.origins_and_hashes, [r["id"] for r in page.changes] + page.removals
        )
        wanted = [r for r in page.changes if held.get(r["id"]) != (r["origin"], r["content_hash"])]
        removed = [doc_id for doc_id in page.removals if doc_id in held]
        chunks: list[list[str]] = []
        size = 0
        for row in wanted:
            if not chunks or (size + row["bytes"] > self.chunk_bytes and chunks[-1]):
                chunks.append([])
                size = 0
            chunks[-1].append(row["id"])
            size += row["bytes"]
        if not chunks and not removed and not page.summaries:
            if page.changes or page.removals:  # only numbers moved (an echo of our publish)
                async with self.store.transaction() as writer:
                    await self._write_applied(writer, page)
            return
        for index, ids in enumerate(chunks or [[]]):
            records = await conn.fetch(_DOCUMENTS, list(ids)) if ids else []
            # Decoded (JSON fields) and prepared (passages split) in a worker thread: a chunk
            # holds up to CHUNK_BYTES of text, too much to parse on the event loop.
            prepared = await asyncio.to_thread(_prepared_from_records, records, now_iso())
            last = index == max(len(chunks) - 1, 0)
            async with self.store.transaction() as writer:
                await self.store.apply_pulled(writer, prepared, removed if last else ())
                if records or (last and removed):
                    # What /about calls the last reload: when the corpus this process serves
                    # last changed, here by another process's reload or the feed's poller.
                    await self.store.write_meta(writer, {"last_reload": now_iso()})
                if last:
                    await self.store.store_summaries(
                        writer,
                        [
                            (r["content_hash"], r["params"], r["sentences"], r["total_sentences"])
                            for r in page.summaries
                        ],
                    )
                    await self._write_applied(writer, page)
            tally.written += len(records)
        tally.removed += len(removed)
        tally.summaries += len(page.summaries)

    async def _write_applied(self, writer: aiosqlite.Connection, page: _Page) -> None:
        await self.store.write_meta(
            writer, {APPLIED_SEQ: str(page.seq), SUMMARY_SEQ: str(page.summary_seq)}
        )

    async def _pull_loop(self) -> None:
        while True:
            # asyncio.timeout, not wait_for: Python 3.11's wait_for loses a cancellation that
            # arrives as the event is set (a notification at close), and this loop then never
            # ends, nor does the close that awaits it.
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.timing.pull_every_s):
                    await self._wake.wait()
            self._wake.clear()
            try:
                await self.pull()
            except Fault as fault:  # the database or the replica's file: one line, not a trace
                log.warning("replica: a pull failed; trying again later: %s", fault.message)
            except Exception:
                log.exception("replica: a pull failed; trying again later")

    async def _listen_loop(self) -> None:
        delay = self.timing.reconnect_s
        while True:
            try:
                await self._listen()
                delay = self.timing.reconnect_s
            except CONNECT_ERRORS as exc:
                log.warning(
                    "replica: listening for corpus changes failed (%s); again in %.0f s",
                    type(exc).__name__,
                    delay,
                )
            except Exception:  # never leave the process deaf: the timer alone is 30 s behind
                log.exception("replica: the listener failed; again in %.0f s", delay)
            await asyncio.sleep(delay)
            delay = min(delay * 2, self.timing.reconnect_max_s)

    async def _listen(self) -> None:
        """LISTEN on a connection of its own until it is lost. Each (re)connection wakes a pull:
        what was committed while not listening was notified to nobody."""
        conn = await asyncpg.connect(
            self.dsn, server_settings={**KEEPALIVE_SETTINGS, "application_name": LISTENER_NAME}
        )
        lost = asyncio.Event()
        try:
            conn.add_termination_listener(lambda _conn: lost.set())
            await conn.add_listener(CHANGES_CHANNEL, lambda *_args: self._wake.set())
            self.listening.set()
            self._wake.set()
            while not lost.is_set():
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(self.timing.check_s):  # see _pull_loop
                        await lost.wait()
                if not lost.is_set():
                    await conn.fetchval("SELECT 1", timeout=self.timing.check_s)
            log.warning("replica: the listening connection was lost; reconnecting")
        finally:
            self.listening.clear()
            conn.terminate()

    # --- publish -----------------------------------------------------------------------------

    async def publish(self, *, changed: bool = True) -> PublishReport:
        """Make PostgreSQL's corpus-folder documents equal the replica's, in one transaction.

        Call it inside `exclusive()`, right after a reload of the folder into the replica;
        `changed`: whether that reload changed anything. A reload that changed nothing publishes
        nothing once a publish of this process succeeded (the poll pass re-reads the folder
        every few minutes: it then costs PostgreSQL nothing, and does not undo what another
        process published since). Otherwise the two id-ordered lists of (id, content_hash) are
        walked side by side a page at a time: an id only the replica has, or with another hash,
        is written; one only PostgreSQL has is deleted. Under CHANGE_LOCK from the start, so
        the comparison sees no other writer. Every process's folder is the corpus: machines
        whose folders differ undo each other's reloads (the last reload wins), so give them the
        same folder (shared, or copied before a reload).

        Raises `CorpusInvalid` (naming the file) for a document PostgreSQL cannot hold or whose
        id a feed entry holds there, `PublishFault` when the database cannot be used: either
        way nothing was written, and the next reload compares everything again.
        """
        if not changed and self._published:
            return PublishReport()
        self._published = False
        try:
            report = await self._publish()
        except CONNECTION_ERRORS as exc:
            raise PublishFault(self.dsn, f"{type(exc).__name__}: {exc}") from exc
        self._published = True
        return report

    async def _publish(self) -> PublishReport:
        written = removed = 0
        async with self._pool.acquire() as conn, conn.transaction():
            await conn.execute("SELECT pg_advisory_xact_lock($1)", CHANGE_LOCK)
            to_write: list[str] = []
            to_remove: list[str] = []
            async for doc_id, local, shared in _side_by_side(
                self._replica_corpus(), _shared_corpus(conn, self.page_rows)
            ):
                if local is not None and local != shared:
                    to_write.append(doc_id)
                elif local is None:
                    to_remove.append(doc_id)
                if len(to_write) >= self.page_rows:
                    written += await self._write(conn, to_write)
                    to_write = []
                if len(to_remove) >= self.page_rows:
                    removed += await _remove(conn, to_remove)
                    to_remove = []
            written += await self._write(conn, to_write)
            removed += await _remove(conn, to_remove)
        return PublishReport(written, removed)

    async def _replica_corpus(self) -> AsyncIterator[tuple[str, str]]:
        after = ""
        while page := await self.store.read(
            IndexReads.corpus_hashes, after=after, limit=self.page_rows
        ):
            for item in page:
                yield item
            after = page[-1][0]

    async def _write(self, conn: Connection, ids: Sequence[str]) -> int:
        """Write the replica's documents of `ids` into PostgreSQL (this transaction)."""
        if not ids:
            return 0
        documents = await self.store.read(IndexReads.whole_documents, ids)
        taken = await conn.fetch(
            "SELECT id, origin FROM documents WHERE id = ANY($1::text[]) AND origin <> 'corpus'",
            [doc.id for doc in documents],
        )
        if taken:
            paths = {doc.id: doc.source_path for doc in documents}
            raise CorpusInvalid(
                [
                    Problem(
                        paths[row["id"]], None, f"id '{row['id']}' is already used by a feed entry"
                    )
                    for row in taken
                ]
            )
        try:
            await replace_documents(conn, documents)
        except DocumentNotStorable as exc:
            path = next(doc.source_path for doc in documents if doc.id == exc.doc_id)
            raise CorpusInvalid(
                [Problem(path, None, f"cannot be shared through PostgreSQL: {exc}")]
            ) from exc
        return len(documents)

    # --- summaries ---------------------------------------------------------------------------

    def share_summary(
        self, digest: str, params: str, sentences: Sequence[str], total_sentences: int | None
    ) -> None:
        """Store a summary computed here in PostgreSQL too, in the background (the answer does
        not wait); the next pull of every other replica brings it."""
        if len(self._sharing) >= MAX_SHARING:
            log.info("replica: %d summaries being shared already; this one is not", MAX_SHARING)
            return
        task = asyncio.create_task(
            self._share(
                digest, params, json.dumps(list(sentences), ensure_ascii=False), total_sentences
            )
        )
        self._sharing.add(task)
        task.add_done_callback(self._sharing.discard)

    async def _share(
        self, digest: str, params: str, sentences: str, total_sentences: int | None
    ) -> None:
        try:
            await self._pool.execute(_SHARE_SUMMARY, digest, params, sentences, total_sentences)
        except CONNECTION_ERRORS as exc:
            log.warning("replica: a summary was not shared (%s: %s)", type(exc).__name__, exc)


async def _remove(conn: Connection, ids: Sequence[str]) -> int:
    if not ids:
        return 0
    status = await conn.execute(
        "DELETE FROM documents WHERE origin = 'corpus' AND id = ANY($1::text[])", list(ids)
    )
    return int(status.split()[-1])


async def _shared_corpus(conn: Connection, page_rows: int) -> AsyncIterator[tuple[str, str]]:
    after = ""
    while page := await conn.fetch(_SHARED_CORPUS, after, page_rows):
        for row in page:
            yield row["id"], row["content_hash"]
        after = page[-1]["id"]


async def _side_by_side(
    local: AsyncIterator[tuple[str, str]], shared: AsyncIterator[tuple[str, str]]
) -> AsyncIterator[tuple[str, str | None, str | None]]:
    """Merge two id-ordered (id, hash) streams: (id, local hash or None, shared hash or None)."""
    mine = await anext(local, None)
    theirs = await anext(shared, None)
    while mine is not None or theirs is not None:
        if theirs is None or (mine is not None and mine[0] < theirs[0]):
            assert mine is not None
            yield mine[0], mine[1], None
            mine = await anext(local, None)
        elif mine is None or theirs[0] < mine[0]:
            yield theirs[0], None, theirs[1]
            theirs = await anext(shared, None)
        else:
            yield mine[0], mine[1], theirs[1]
            mine, theirs = await anext(local, None), await anext(shared, None)


def _prepared_from_records(records: Sequence[asyncpg.Record], now: str) -> PreparedDocuments:
    """Pulled rows as the index's writer takes them (runs in a worker thread)."""
    return prepare_documents(
        [FileChange(document_from_record(row), None, None) for row in records], now
    )


def document_from_record(row: asyncpg.Record) -> Document:
    """A `Document` from a row of `_DOCUMENTS` (read by name), as the loader or the feed made it."""
    affiliations = {int(k): v for k, v in json.loads(row["affiliations"]).items()}
    return document_from_row(row, affiliations, row["published"])
