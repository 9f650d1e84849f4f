"""The SQLite index behind every answer: one file, WAL mode, a writer and two readers.

The writer applies a reload's diff in one transaction; the readers serve queries. With WAL,
readers keep seeing the last committed corpus while a reload is being written, so a reload is
atomic for everyone: the old corpus or the new one, never a mix. Each connection runs in a thread
of its own, so no query or write blocks the event loop: the writer is an aiosqlite connection,
the readers an `IndexReader` (aiosqlite has no public way to run a function of several statements
on its thread, which answers need for one snapshot). An answer's reads are one function of
`IndexReads` run by `CorpusStore.read`: one hop to a reader's thread per answer. Every value reaches SQL as a bound parameter;
nothing user-supplied is ever spliced into a statement.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import logging
import re
import sqlite3
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, Concatenate, ParamSpec, Protocol, TypeVar

import aiosqlite

from bot.corpus.ask import AskTuning, PassageCandidate
from bot.corpus.errors import StorageFault, storage_fault
from bot.corpus.loader import KnownFile, ListedFile
from bot.corpus.models import (
    HIGHLIGHT_CLOSE,
    HIGHLIGHT_OPEN,
    AuthorCount,
    AuthorName,
    Document,
    DocumentRef,
    Reason,
)
from bot.corpus.names import name_key, title_key
from bot.corpus.passages import (
    INSERT_PASSAGES,
    INSERT_PASSAGES_FTS,
    PASSAGES_PER_DOCUMENT,
    PassageRow,
    passage_params,
    passage_rows,
)
from bot.corpus.schema import SCHEMA_VERSION, migrate
from bot.corpus.search import SearchTuning, all_of, any_of, highlight_window
from bot.corpus.titles import display_title

T = TypeVar("T")
P = ParamSpec("P")
log = logging.getLogger(__name__)

BUSY_TIMEOUT_MS = 10_000
"""How long a statement waits for another process's lock before the index counts as locked
(a `StorageFault`); tests lower it."""

REF_COLUMNS = (
    "d.id AS id, d.display_title AS display_title, d.title_source AS title_source, "
    "d.author_names AS author_names, d.published AS published, d.url AS url, d.publisher AS publisher, "
    "d.kind AS kind, d.excerpt AS excerpt, d.subtitle AS subtitle"
)
"""A document's ref columns (see `ref_from_row`), named with AS: SQLite only promises the names
of result columns that have one, and rows are read by name."""
AUTHOR_SEPARATOR = "; "
"""Joins author names in `documents.authors`, the text the full-text index searches. Never split
on it: a name may hold it. Answers read `documents.author_names`, a JSON array (migration 6)."""
ID_PART = re.compile(r"[a-z0-9]+")
"""What one hyphen-separated part of a document id is made of (see the loader's id check)."""
BULK_WRITE_CACHE_KIB = 64 * 1024
"""The writer's page cache during a reload (see CorpusStore.bulk_write_cache)."""
RELOAD_TEMP_CACHE_KIB = 16 * 1024
"""The temp store's page cache during a reload: the listing and claimed ids of 100,000 files are
about 14 MB; with SQLite's default 2 MB, their inserts in random key order spill to disk."""
CORPUS_GENERATION = "corpus_generation"
"""The `meta` row counting the transactions that changed documents (see `CorpusGeneration`)."""
_BUMP_GENERATION = (
    "INSERT INTO meta (key, value) VALUES (?, '1') "
    "ON CONFLICT (key) DO UPDATE SET value = CAST(value AS INTEGER) + 1"
)


def ref_from_row(row: sqlite3.Row) -> DocumentRef:
    """Build a DocumentRef from a row selected with REF_COLUMNS (read by name)."""
    authors = tuple(json.loads(row["author_names"])) if row["author_names"] else ()
    return DocumentRef(
        id=row["id"],
        title=row["display_title"],
        title_source=row["title_source"],
        authors=authors,
        published=date.fromisoformat(row["published"]) if row["published"] else None,
        url=row["url"],
        publisher=row["publisher"],
        kind=row["kind"],
        excerpt=bool(row["excerpt"]),
        subtitle=row["subtitle"],
    )


class ColumnRow(Protocol):
    """A result row read by column name: sqlite3.Row here, an asyncpg Record on PostgreSQL."""

    def __getitem__(self, key: str, /) -> Any: ...


@dataclass(frozen=True, slots=True)
class StoredDocument:
    ref: DocumentRef
    body: str
    word_count: int
    annotations: dict[str, object]
    reasons: tuple[Reason, ...]
    content_hash: str
    origin: str

    @classmethod
    def from_row(cls, row: ColumnRow, ref: DocumentRef) -> StoredDocument:
        """From a row of the documents table read by column name (sqlite3.Row or an asyncpg
        Record: both stores keep these columns alike), with its ref already made."""
        return cls(
            ref=ref,
            body=row["body"],
            word_count=row["word_count"],
            annotations=json.loads(row["annotations"]),
            reasons=tuple(
                Reason(label, quote, paragraph)
                for label, quote, paragraph in json.loads(row["reasons"])
            ),
            content_hash=row["content_hash"],
            origin=row["origin"],
        )


def document_from_row(
    row: ColumnRow, affiliations: Mapping[int, str | None], published: date | None
) -> Document:
    """A whole `Document` back from a documents row read by column name (this index's or the
    shared PostgreSQL table's: the columns are alike), with its authors' affiliations by byline
    position and its date already decoded (text here, a date there)."""
    return Document(
        id=row["id"],
        title=row["title"],
        subtitle=row["subtitle"],
        authors=byline(json.loads(row["author_names"]), affiliations),
        published=published,
        url=row["url"],
        publisher=row["publisher"],
        kind=row["kind"],
        excerpt=bool(row["excerpt"]),
        body=row["body"],
        reasons=tuple(
            Reason(label, quote, paragraph)
            for label, quote, paragraph in json.loads(row["reasons"])
        ),
        annotations=json.loads(row["annotations"]),
        source_path=row["source_path"] or "",
        content_hash=row["content_hash"],
        origin=row["origin"],
    )


def _author_count(row: sqlite3.Row) -> AuthorCount:
    return AuthorCount(row["name"], row["key"], row["posts"])


def byline(names: Sequence[str], affiliations: Mapping[int, str | None]) -> tuple[AuthorName, ...]:
    """A document's authors as the loader made them, from what an index keeps: the names in
    byline order (`author_names`) and each linked position's affiliation. A name printed twice
    is linked once (its first position), so a repeat's affiliation is not kept: the index never
    shows it either. Keys are `name_key(name)`, as the loader and the feed make them."""
    return tuple(
        AuthorName(name=name, key=name_key(name), affiliation=affiliations.get(position))
        for position, name in enumerate(names)
    )


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _document_row(
    doc: Document, size: int | None, mtime_ns: int | None, stamp: str
) -> tuple[Any, ...]:
    shown, source = display_title(doc)
    return (
        doc.id,
        doc.origin,
        doc.source_path or None,
        doc.title,
        shown,
        source,
        title_key(shown),
        doc.subtitle,
        AUTHOR_SEPARATOR.join(a.name for a in doc.authors),
        json.dumps([a.name for a in doc.authors], ensure_ascii=False),
        doc.published.isoformat() if doc.published else None,
        doc.url,
        doc.publisher,
        doc.kind,
        int(doc.excerpt),
        doc.body,
        len(doc.body.split()),
        json.dumps(doc.annotations, ensure_ascii=False, sort_keys=True),
        json.dumps([[r.label, r.quote, r.paragraph] for r in doc.reasons], ensure_ascii=False),
        doc.content_hash,
        size,
        mtime_ns,
        stamp,
        stamp,
    )


_WHOLE_COLUMNS = (
    "id, origin, source_path, title, subtitle, author_names, published, url, publisher, kind, "
    "excerpt, body, annotations, reasons, content_hash"
)
"""What `IndexReads.whole_documents` reads of a document (with its document_authors rows)."""

_INSERT_DOCUMENT = """
INSERT INTO documents (id, origin, source_path, title, display_title, title_source, title_key,
    subtitle, authors, author_names, published, url, publisher, kind, excerpt, body, word_count,
    annotations, reasons, content_hash, file_size, file_mtime_ns, added_at, updated_at)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
"""


@dataclass(frozen=True, slots=True)
class FileChange:
    """A document to write, with the file facts the next reload compares against."""

    document: Document
    size: int | None
    mtime_ns: int | None
    passages: Sequence[PassageRow] | None = None
    """The document's passages when already split (a reload splits them in its parsing worker,
    beside the writer); None: `prepare_documents` splits them."""


@dataclass(frozen=True, slots=True)
class PreparedDocuments:
    """Documents turned into rows, ready for `executemany`.

    Made by `prepare_documents`, which is pure, so a reload builds the rows of one batch in a
    worker thread while the writer's thread inserts the previous batch.
    """

    rows: list[tuple[Any, ...]]
    authors: dict[str, str]
    """author key -> name as first printed"""
    links: list[tuple[str, int, str, str | None, str | None]]
    """(doc id, position, author key, affiliation, published) per byline entry"""
    passages: list[PassageRow] = field(default_factory=list)
    """each document's passages for `ask` (bot/corpus/passages.py), split here with the rest"""


@dataclass(frozen=True, slots=True)
class CorpusBatch:
    """What one batch of a reload writes (see `CorpusStore.write_corpus_batch`)."""

    documents: PreparedDocuments
    replaced_ids: list[str]
    """documents changed on disk: deleted before their new version is inserted"""
    touched: list[tuple[str, str, int, int]]
    """(id, path, size, mtime_ns) of unchanged documents whose file moved or was touched"""


def prepare_documents(changes: Sequence[FileChange], stamp: str) -> PreparedDocuments:
    rows: list[tuple[Any, ...]] = []
    authors: dict[str, str] = {}
    links: list[tuple[str, int, str, str | None, str | None]] = []
    passages: list[PassageRow] = []
    for change in changes:
        doc = change.document
        rows.append(_document_row(doc, change.size, change.mtime_ns, stamp))
        if change.passages is None:
            passages.extend(passage_rows(doc.id, display_title(doc)[0], doc.body))
        else:
            passages.extend(change.passages)
        published = doc.published.isoformat() if doc.published else None
        linked: set[str] = set()
        for position, author in enumerate(doc.authors):
            if author.key in linked:  # a byline naming someone twice is one post of theirs
                continue
            linked.add(author.key)
            authors.setdefault(author.key, author.name)
            links.append((doc.id, position, author.key, author.affiliation, published))
    return PreparedDocuments(rows, authors, links, passages)


class CorpusStore:
    """Storage behind an API: the service never writes SQL of its own."""

    def __init__(
        self, path: Path, writer: aiosqlite.Connection | None, reader: IndexReader
    ) -> None:
        self.path = path
        self._writer = writer
        self._reader = reader
        self._write_lock = asyncio.Lock()
        self.search_tuning = SearchTuning()
        """Bounds on the work of one search; tests lower them to exercise a large corpus's paths."""
        self.read_only: StorageFault | None = None
        """Why the index was opened read-only (see `open`); None when it can be written."""

    @classmethod
    async def open(cls, path: Path) -> CorpusStore:
        """Open (create, migrate) the index at `path`.

        Any fault of the file is a `StorageFault` naming it, here and in every later statement
        (see `_IndexSQLite`). When only writing fails (a full disk, a read-only one), an
        index that is already built and up to date is still opened, read-only (`read_only`):
        answers need no writes, and every write raises the fault that made it read-only.
        """
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise storage_fault(exc, path) or exc from exc
        try:
            return await cls._open_read_write(path)
        except StorageFault as fault:
            exists = await asyncio.to_thread(path.is_file)
            if fault.problem not in ("full", "unwritable") or not exists:
                raise
            store = await cls._open_read_only(path, fault)
            log.warning("the index is open read-only: %s", fault.message)
            return store

    @classmethod
    async def _open_read_write(cls, path: Path) -> CorpusStore:
        # The file is created, switched to WAL and migrated first, on a connection of its own in a
        # worker thread: any fault of the file surfaces there, so opening aiosqlite's connection
        # (whose failed connect leaves its thread to report to a loop the CLI may have closed)
        # does not fail in practice.
        await asyncio.to_thread(_prepare_index, path)
        writer = await aiosqlite.connect(path, factory=_IndexSQLite, isolation_level=None)
        try:
            await writer.execute("PRAGMA synchronous = NORMAL")
            await writer.execute("PRAGMA foreign_keys = ON")
            await writer.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS:d}")
            reader = await IndexReader.open(
                path,
                ("PRAGMA query_only = ON", f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS:d}"),
                connections=READER_CONNECTIONS,
            )
        except BaseException:
            await writer.close()
            raise
        return cls(path, writer, reader)

    @classmethod
    async def _open_read_only(cls, path: Path, fault: StorageFault) -> CorpusStore:
        """One query-only connection in exclusive locking mode, serving as reader and writer.

        Why exclusive: a WAL database is normally read through its `-shm` file, which SQLite
        creates and sizes on open; on a full disk that fails ("disk I/O error") and no reader can
        open the index at all. In exclusive locking mode SQLite keeps that index in its own memory
        and never touches `-shm` (https://sqlite.org/wal.html#noshm). The price, another process
        cannot use the file meanwhile, is paid only while the disk is full. An index that needs a
        migration cannot be served this way: the original fault is raised.
        """
        conn = await IndexReader.open(
            path,
            (
                "PRAGMA locking_mode = EXCLUSIVE",
                "PRAGMA query_only = ON",
                f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS:d}",
            ),
        )
        try:
            rows = await conn.execute_fetchall("PRAGMA user_version")
            if int(rows[0]["user_version"]) != SCHEMA_VERSION:
                raise fault
        except BaseException:
            await conn.close()
            raise
        # No writer: a second connection could not read the file past the exclusive lock, and
        # every write raises the fault that made the index read-only before it needs one.
        store = cls(path, None, conn)
        store.read_only = fault
        return store

    @contextlib.asynccontextmanager
    async def transaction(self) -> AsyncIterator[aiosqlite.Connection]:
        """The writer connection inside BEGIN IMMEDIATE … COMMIT (ROLLBACK on any error).

        For features that must write several tables atomically (the feed writes a new entry, its
        seen-set row and its announcement queue in one transaction). Writes are serialized: one
        transaction at a time.

        Safe against cancellation (a task stopped at shutdown): BEGIN, COMMIT and ROLLBACK always
        run to completion on the writer's thread, and a transaction left open is rolled back, so
        the next writer never finds itself "within a transaction".
        """
        writer = self._writable()
        async with self._write_lock:
            try:
                await _to_completion(writer.execute("BEGIN IMMEDIATE"))
                yield writer
                await _to_completion(writer.execute("COMMIT"))
            except BaseException:
                if writer.in_transaction:
                    await _to_completion(writer.execute("ROLLBACK"))
                raise

    def _writable(self) -> aiosqlite.Connection:
        """The writer, or the fault that made the index read-only (raised afresh: one exception
        raised twice keeps both tracebacks)."""
        if self.read_only is not None or self._writer is None:
            fault = self.read_only or StorageFault("unwritable", self.path, "opened read-only")
            raise StorageFault(fault.problem, self.path, fault.detail)
        return self._writer

    @contextlib.asynccontextmanager
    async def bulk_write_cache(self) -> AsyncIterator[None]:
        """A larger page cache for the writer while a reload writes, the usual one after.

        A full build inserts into several indexes in random key order (title keys, dates, each
        author's dated posts); at 100,000 documents they outgrow SQLite's default 2 MB cache and
        every insert pages in and spills: 177 s with 2 MB, 119 s with `BULK_WRITE_CACHE_KIB`. The
        cache is bounded (it does not grow with the corpus) and given back when the reload ends.
        """
        writer = self._writable()
        usual = [
            int(row["cache_size"])
            for schema in ("main", "temp")
            for row in await writer.execute_fetchall(f"PRAGMA {schema}.cache_size")
        ]
        await writer.execute(f"PRAGMA main.cache_size = {-BULK_WRITE_CACHE_KIB:d}")
        await writer.execute(f"PRAGMA temp.cache_size = {-RELOAD_TEMP_CACHE_KIB:d}")
        try:
            yield
        finally:
            await writer.execute(f"PRAGMA main.cache_size = {usual[0]:d}")
            await writer.execute(f"PRAGMA temp.cache_size = {usual[1]:d}")

    @property
    def reader(self) -> IndexReader:
        """The read-only connection (sees the last committed state)."""
        return self._reader

    async def close(self) -> None:
        """Close both connections; the WAL is checkpointed by SQLite on the last close."""
        await self._reader.close()
        if self._writer is not None:
            await self._writer.close()

    # --- reload ------------------------------------------------------------------------------

    async def start_reload_scan(self, writer: aiosqlite.Connection) -> int:
        """Inside a reload's `transaction()`: make the two temp tables that hold what a reload
        must remember about the whole folder (instead of Python dicts that grew by ~1 KB per
        file): the files listed and the document ids claimed so far. Temp tables live in
        SQLite's temp store, paged through its own bounded cache; made inside the transaction,
        a rollback takes them away too. Returns how many corpus documents the index holds."""
        for table, columns in (
            (
                "reload_files",
                "path TEXT PRIMARY KEY, size INTEGER NOT NULL, mtime_ns INTEGER NOT NULL",
            ),
            ("reload_ids", "id TEXT PRIMARY KEY, path TEXT NOT NULL"),
        ):
            await writer.execute(f"DROP TABLE IF EXISTS temp.{table}")
            await writer.execute(f"CREATE TEMP TABLE {table} ({columns}) WITHOUT ROWID")
        (row,) = await writer.execute_fetchall(
            "SELECT COUNT(*) AS n FROM documents WHERE origin = 'corpus'"
        )
        return int(row["n"])

    async def add_listed_files(
        self, writer: aiosqlite.Connection, files: Sequence[ListedFile]
    ) -> None:
        """Inside a reload: remember a chunk of the folder's listing."""
        await writer.executemany("INSERT OR IGNORE INTO temp.reload_files VALUES (?, ?, ?)", files)

    async def listed_files(
        self, writer: aiosqlite.Connection, *, after: str, limit: int
    ) -> list[tuple[ListedFile, KnownFile | None]]:
        """Inside a reload: the next listed files in path order after `after`, each with what the
        index knows of its path (None for a path no corpus document comes from)."""
        rows = await writer.execute_fetchall(
            "SELECT f.path AS path, f.size AS size, f.mtime_ns AS mtime_ns, d.id AS doc_id, d.file_size AS known_size, "
            "d.file_mtime_ns AS known_mtime, d.content_hash AS digest "
            "FROM temp.reload_files AS f LEFT JOIN documents AS d ON d.origin = 'corpus' AND d.source_path = f.path "
            "WHERE f.path > ? ORDER BY f.path LIMIT ?",
            (after, limit),
        )
        out: list[tuple[ListedFile, KnownFile | None]] = []
        for row in rows:
            path, doc_id = row["path"], row["doc_id"]
            if out and out[-1][0].path == path:
                continue  # two documents claiming one path (cannot be written by a reload): read it
            known = (
                None
                if doc_id is None
                else KnownFile(
                    doc_id, row["known_size"] or -1, row["known_mtime"] or -1, row["digest"]
                )
            )
            out.append((ListedFile(path, row["size"], row["mtime_ns"]), known))
        return out

    async def indexed_documents(
        self, writer: aiosqlite.Connection, ids: Sequence[str]
    ) -> dict[str, tuple[str, str]]:
        """Inside a reload: id -> (origin, content hash) of the given ids the index holds."""
        found: dict[str, tuple[str, str]] = {}
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            rows = await writer.execute_fetchall(
                f"SELECT id, origin, content_hash FROM documents WHERE id IN ({','.join('?' * len(chunk))})",  # noqa: S608 - only '?' marks
                chunk,
            )
            found.update((row["id"], (row["origin"], row["content_hash"])) for row in rows)
        return found

    async def claim_ids(
        self, writer: aiosqlite.Connection, claims: Sequence[tuple[str, str]]
    ) -> dict[str, str]:
        """Inside a reload: record (id, path) for the files of a batch. Returns id -> the path
        that claimed it first, for the ids some other path claimed before (duplicates): usually
        none, known without a second query (every row was inserted)."""
        cursor = await writer.executemany(
            "INSERT OR IGNORE INTO temp.reload_ids VALUES (?, ?)", claims
        )
        if cursor.rowcount == len(claims):
            return {}
        owners: dict[str, str] = {}
        ids = list(dict.fromkeys(doc_id for doc_id, _ in claims))
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            rows = await writer.execute_fetchall(
                f"SELECT id, path FROM temp.reload_ids WHERE id IN ({','.join('?' * len(chunk))})",  # noqa: S608 - only '?' marks
                chunk,
            )
            owners.update((row["id"], row["path"]) for row in rows)
        return {
            doc_id: owners[doc_id] for doc_id, path in claims if owners.get(doc_id, path) != path
        }

    async def finish_corpus_reload(
        self,
        writer: aiosqlite.Connection,
        *,
        stamp: str,
        removed: int,
        sample: int,
        authors_changed: bool,
    ) -> tuple[str, ...]:
        """Inside a reload's `transaction()`, after its batches: delete the `removed` documents
        whose files are gone (no file claimed their id), drop authors nobody cites any more,
        stamp the reload time. Returns the first `sample` removed ids, in id order."""
        removed_ids: tuple[str, ...] = ()
        unclaimed = (
            "FROM documents WHERE origin = 'corpus' AND id NOT IN (SELECT id FROM temp.reload_ids)"
        )
        if removed:
            rows = await writer.execute_fetchall(
                f"SELECT id {unclaimed} ORDER BY id LIMIT ?", (sample,)
            )  # noqa: S608 - constant text
            removed_ids = tuple(row["id"] for row in rows)
            await writer.execute(f"DELETE {unclaimed}")  # noqa: S608 - constant text
            await writer.execute(_BUMP_GENERATION, (CORPUS_GENERATION,))
        if removed or authors_changed:
            await writer.execute(
                "DELETE FROM authors WHERE id NOT IN (SELECT author_id FROM document_authors)"
            )
        await writer.execute(
            "INSERT INTO meta (key, value) VALUES ('last_reload', ?) "
            "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            (stamp,),
        )
        await writer.execute("DROP TABLE temp.reload_files")
        await writer.execute("DROP TABLE temp.reload_ids")
        return removed_ids

    async def write_corpus_batch(self, writer: aiosqlite.Connection, batch: CorpusBatch) -> None:
        """Inside a reload's `transaction()`: one batch of files. Changed documents are deleted
        and inserted anew; unchanged files moved or touched get their new path, size and mtime."""
        if batch.replaced_ids:
            await writer.executemany(
                "DELETE FROM documents WHERE id = ?", [(doc_id,) for doc_id in batch.replaced_ids]
            )
            await writer.execute(_BUMP_GENERATION, (CORPUS_GENERATION,))
        await self.insert_prepared(writer, batch.documents)
        if batch.touched:
            await writer.executemany(
                "UPDATE documents SET source_path = ?, file_size = ?, file_mtime_ns = ? WHERE id = ?",
                [(path, size, mtime, doc_id) for doc_id, path, size, mtime in batch.touched],
            )

    async def upsert_documents(self, documents: Sequence[Document]) -> None:
        """Insert or replace documents that do not come from corpus files (feed entries)."""
        async with self.transaction() as writer:
            await self.replace_documents(writer, documents)

    async def replace_documents(
        self, writer: aiosqlite.Connection, documents: Sequence[Document]
    ) -> None:
        """Inside a `transaction()`: insert documents, replacing any with the same id."""
        await writer.executemany("DELETE FROM documents WHERE id = ?", [(d.id,) for d in documents])
        await writer.execute(_BUMP_GENERATION, (CORPUS_GENERATION,))
        await self.insert_documents(
            writer, [FileChange(d, None, None) for d in documents], now_iso()
        )
        await writer.execute(
            "DELETE FROM authors WHERE id NOT IN (SELECT author_id FROM document_authors)"
        )

    async def insert_documents(
        self, writer: aiosqlite.Connection, changes: Sequence[FileChange], stamp: str
    ) -> None:
        """Inside a `transaction()`: insert new documents with their authors."""
        await self.insert_prepared(writer, prepare_documents(changes, stamp))

    async def insert_prepared(
        self, writer: aiosqlite.Connection, prepared: PreparedDocuments
    ) -> None:
        """Inside a `transaction()`: insert rows made by `prepare_documents` (in a worker thread)."""
        if not prepared.rows:
            return
        await writer.executemany(_INSERT_DOCUMENT, prepared.rows)
        await writer.execute(_BUMP_GENERATION, (CORPUS_GENERATION,))
        spans, texts = passage_params(prepared.passages)
        await writer.executemany(INSERT_PASSAGES, spans)
        await writer.executemany(INSERT_PASSAGES_FTS, texts)
        if not prepared.links:
            return
        await writer.executemany(
            "INSERT INTO authors (key, name) VALUES (?, ?) ON CONFLICT (key) DO NOTHING",
            list(prepared.authors.items()),
        )
        await writer.executemany(
            "INSERT INTO document_authors (doc_id, position, author_id, affiliation, published) "
            "VALUES (?, ?, (SELECT id FROM authors WHERE key = ?), ?, ?)",
            prepared.links,
        )

    # --- a replica of the shared database (bot/storage/postgres/replica.py) -----------------

    async def apply_pulled(
        self, writer: aiosqlite.Connection, prepared: PreparedDocuments, removed: Sequence[str]
    ) -> None:
        """Inside a `transaction()`: documents pulled from the shared database replace those of
        the same id (rows made by `prepare_documents` in a worker thread), the `removed` ids are
        deleted, and authors nobody cites any more are dropped."""
        gone = [(row[0],) for row in prepared.rows] + [(doc_id,) for doc_id in removed]
        deleted = 0
        if gone:
            cursor = await writer.executemany("DELETE FROM documents WHERE id = ?", gone)
            deleted = cursor.rowcount
            await writer.execute(_BUMP_GENERATION, (CORPUS_GENERATION,))
        await self.insert_prepared(writer, prepared)
        if deleted:
            await writer.execute(
                "DELETE FROM authors WHERE id NOT IN (SELECT author_id FROM document_authors)"
            )

    async def clear_documents(self, writer: aiosqlite.Connection) -> None:
        """Inside a `transaction()`: forget every document and author (a replica refilled from
        another database)."""
        await writer.execute("DELETE FROM documents")
        await writer.execute("DELETE FROM authors")
        await writer.execute(_BUMP_GENERATION, (CORPUS_GENERATION,))

    async def store_summaries(
        self, writer: aiosqlite.Connection, rows: Sequence[tuple[str, str, str, int | None]]
    ) -> None:
        """Inside a `transaction()`: cached summaries (content_hash, params, sentences as JSON
        text, total_sentences) computed elsewhere."""
        await writer.executemany(
            "INSERT INTO summaries (content_hash, params, sentences, total_sentences) "
            "VALUES (?, ?, ?, ?) ON CONFLICT (content_hash, params) DO UPDATE SET "
            "sentences = excluded.sentences, "
            "total_sentences = coalesce(excluded.total_sentences, summaries.total_sentences)",
            rows,
        )

    async def write_meta(self, writer: aiosqlite.Connection, values: Mapping[str, str]) -> None:
        """Inside a `transaction()`: set `meta` rows, with the writes they describe."""
        await writer.executemany(
            "INSERT INTO meta (key, value) VALUES (?, ?) "
            "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            list(values.items()),
        )

    # --- reading -----------------------------------------------------------------------------

    async def read(
        self, fn: Callable[Concatenate[IndexReads, P], T], *args: P.args, **kwargs: P.kwargs
    ) -> T:
        """Run `fn(reads, *args, **kwargs)` on the reader's thread, in one read transaction.

        The one way answers read the index. An answer that needs several reads (find a post, then
        fetch it and its cached summary) makes them all in one function: one hop to the reader's
        thread instead of one per read. In a burst every hop waits behind every other command's
        queued reads, so a command of two hops answered after all the one-hop commands of the
        burst. And every read of the function sees the same snapshot, even if a reload commits
        meanwhile (a post found is still there when it is fetched).
        """
        call = functools.partial(fn, **kwargs) if kwargs else fn
        return await self._reader.run(self._in_read_transaction, call, *args)

    def _in_read_transaction(self, conn: _IndexSQLite, fn: Callable[..., T], *args: Any) -> T:
        caches = conn.reader_caches
        if caches is None:  # each connection its own: they run at once, on threads of their own
            caches = conn.reader_caches = _ReaderCaches(_SearchState(), _AskState())
        reads = IndexReads(conn, self.search_tuning, caches.search, caches.ask)
        conn.execute("BEGIN")
        try:
            return fn(reads, *args)
        finally:
            conn.execute("COMMIT")

    async def fetch_refs(
        self, where: str, params: Sequence[Any] = (), *, limit: int = 25
    ) -> list[DocumentRef]:
        """Document refs matching a fixed WHERE clause written in this package (never user text)."""
        return await self.read(IndexReads.fetch_refs, where, params, limit=limit)

    async def document(self, doc_id: str) -> StoredDocument | None:
        return await self.read(IndexReads.document, doc_id)

    async def ref_by_id(self, doc_id: str) -> DocumentRef | None:
        return await self.read(IndexReads.ref_by_id, doc_id)

    async def refs_by_urls(self, urls: Sequence[str], *, limit: int = 26) -> list[DocumentRef]:
        return await self.read(IndexReads.refs_by_urls, urls, limit=limit)

    async def ids_with_words(self, words: Sequence[str], *, limit: int = 26) -> list[DocumentRef]:
        return await self.read(IndexReads.ids_with_words, words, limit=limit)

    async def titles_with_key(self, key: str, *, limit: int = 26) -> list[DocumentRef]:
        return await self.read(IndexReads.titles_with_key, key, limit=limit)

    async def titles_with_prefix(
        self, title_prefix: str, id_prefix: str, *, limit: int = 26
    ) -> list[DocumentRef]:
        return await self.read(IndexReads.titles_with_prefix, title_prefix, id_prefix, limit=limit)

    async def titles_matching(
        self, fts_query: str, *, limit: int = 26, ranked: bool = True
    ) -> list[DocumentRef]:
        return await self.read(IndexReads.titles_matching, fts_query, limit=limit, ranked=ranked)

    async def title_candidates(
        self, terms: Sequence[str], *, limit: int = 50
    ) -> list[tuple[str, str]]:
        return await self.read(IndexReads.title_candidates, terms, limit=limit)

    async def all_titles(self, *, limit: int) -> list[tuple[str, str]]:
        return await self.read(IndexReads.all_titles, limit=limit)

    async def has_more_documents_than(self, count: int) -> bool:
        return await self.read(IndexReads.has_more_documents_than, count)

    async def refs_by_ids(self, ids: Sequence[str]) -> list[DocumentRef]:
        return await self.read(IndexReads.refs_by_ids, ids)

    async def count_documents(self) -> int:
        return await self.read(IndexReads.count_documents)

    # authors

    async def author_by_key(self, key: str) -> AuthorCount | None:
        return await self.read(IndexReads.author_by_key, key)

    async def authors_matching(self, fts_query: str, *, limit: int = 26) -> list[AuthorCount]:
        return await self.read(IndexReads.authors_matching, fts_query, limit=limit)

    async def authors(self, *, limit: int = 10_000) -> list[AuthorCount]:
        return await self.read(IndexReads.authors, limit=limit)

    async def count_authors(self) -> int:
        return await self.read(IndexReads.count_authors)

    async def posts_of_author(
        self, key: str, *, limit: int = 1000, offset: int = 0
    ) -> list[DocumentRef]:
        return await self.read(IndexReads.posts_of_author, key, limit=limit, offset=offset)

    async def corpus_generation(self) -> str | None:
        return await self.read(IndexReads.corpus_generation)

    # reasons, search, ask

    async def documents_with_reasons(self) -> list[str]:
        return await self.read(IndexReads.documents_with_reasons)

    async def search_page(self, terms: Sequence[str], *, limit: int, offset: int = 0) -> SearchPage:
        return await self.read(IndexReads.search_page, terms, limit=limit, offset=offset)

    async def passage_hits(self, terms: Sequence[str], tuning: AskTuning) -> PassageHits:
        return await self.read(IndexReads.passage_hits, terms, tuning)

    # summaries and metadata

    async def cached_summary(self, digest: str, params: str) -> list[str] | None:
        entry = await self.cached_summary_entry(digest, params)
        return entry[0] if entry else None

    async def cached_summary_entry(
        self, digest: str, params: str
    ) -> tuple[list[str], int | None] | None:
        return await self.read(IndexReads.cached_summary_entry, digest, params)

    async def cache_summary(
        self, digest: str, params: str, sentences: list[str], total_sentences: int | None = None
    ) -> None:
        """Store a summary; `total_sentences` (how many sentences the whole text has) lets a
        cached answer say "3 of 412 sentences" without splitting the text again.

        A cache: when the index cannot be written (a full disk, a lock held too long), the summary
        is not kept, and the answer it belongs to is given all the same."""
        try:
            async with self.transaction() as writer:
                await writer.execute(
                    "INSERT OR REPLACE INTO summaries (content_hash, params, sentences, total_sentences) "
                    "VALUES (?, ?, ?, ?)",
                    (digest, params, json.dumps(sentences, ensure_ascii=False), total_sentences),
                )
        except StorageFault as fault:
            if not fault.blocks_writes_only:
                raise
            log.warning("summary not cached: %s", fault.message)

    async def meta(self, key: str) -> str | None:
        return await self.read(IndexReads.meta, key)

    async def set_meta(self, key: str, value: str) -> None:
        async with self.transaction() as writer:
            await writer.execute(
                "INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                (key, value),
            )

    async def schema_version(self) -> int:
        return await self.read(IndexReads.schema_version)


class IndexReads:
    """Every read of the index, as plain methods of the reader's connection.

    Made by `CorpusStore.read` on the reader's thread for one function and one read transaction;
    never kept, never used from another thread. Answers compose these methods into one function
    (bot/corpus/lookup.py), so each answer costs one hop to the reader's thread whatever it reads.
    """

    __slots__ = ("_ask_state", "_search_state", "conn", "search_tuning")

    def __init__(
        self,
        conn: sqlite3.Connection,
        search_tuning: SearchTuning,
        search_state: _SearchState,
        ask_state: _AskState,
    ) -> None:
        self.conn = conn
        self.search_tuning = search_tuning
        self._search_state = search_state
        self._ask_state = ask_state

    def fetch_refs(
        self, where: str, params: Sequence[Any] = (), *, limit: int = 25
    ) -> list[DocumentRef]:
        """Document refs matching a fixed WHERE clause written in this package (never user text)."""
        rows = self.conn.execute(
            f"SELECT {REF_COLUMNS} FROM documents d WHERE {where} "  # noqa: S608 - clause is a constant
            # NULLs sort lowest, so DESC puts undated documents last; index documents_newest.
            "ORDER BY d.published DESC, d.display_title LIMIT ?",
            (*params, limit),
        )
        return [ref_from_row(row) for row in rows]

    def document(self, doc_id: str) -> StoredDocument | None:
        row = self.conn.execute(
            f"SELECT {REF_COLUMNS}, d.body AS body, d.word_count AS word_count, d.annotations AS annotations, "  # noqa: S608
            "d.reasons AS reasons, d.content_hash AS content_hash, d.origin AS origin "
            "FROM documents d WHERE d.id = ?",
            (doc_id,),
        ).fetchone()
        if row is None:
            return None
        return StoredDocument.from_row(row, ref_from_row(row))

    def ref_by_id(self, doc_id: str) -> DocumentRef | None:
        """The citation of one document, without reading its body."""
        refs = self.fetch_refs("d.id = ?", (doc_id,), limit=1)
        return refs[0] if refs else None

    def refs_by_urls(self, urls: Sequence[str], *, limit: int = 26) -> list[DocumentRef]:
        """Documents whose `url` is exactly one of `urls` (the caller passes every spelling it
        accepts: bot/corpus/links.py); bound parameters only."""
        if not urls:
            return []
        marks = ", ".join("?" for _ in urls)
        return self.fetch_refs(f"d.url IN ({marks})", tuple(urls), limit=limit)

    def ids_with_words(self, words: Sequence[str], *, limit: int = 26) -> list[DocumentRef]:
        """Documents whose id holds every word as a whole hyphen-separated part ("h5n1" is a part
        of "lessons-from-the-h5n1-controversy"): a lookup in the ids' own index (migration 9).
        Words that cannot be part of an id find nothing."""
        parts = [word for word in words if ID_PART.fullmatch(word)]
        if not parts or len(parts) != len(words):
            return []
        return self.fetch_refs(
            "d.pk IN (SELECT rowid FROM ids_fts WHERE ids_fts MATCH ? LIMIT ?)",
            (all_of(parts), limit),
            limit=limit,
        )

    def titles_with_key(self, key: str, *, limit: int = 26) -> list[DocumentRef]:
        return self.fetch_refs("d.title_key = ?", (key,), limit=limit)

    def titles_with_prefix(
        self, title_prefix: str, id_prefix: str, *, limit: int = 26
    ) -> list[DocumentRef]:
        """Titles or ids starting with the prefixes: the first `limit` of each in index order
        (title_key, id), newest first among those. Two range scans that stop at `limit` rows: one
        query with an OR, sorted by date, read every title under a one-letter prefix."""
        return _titles_with_prefix(self.conn, title_prefix, id_prefix, limit)

    def titles_matching(
        self, fts_query: str, *, limit: int = 26, ranked: bool = True
    ) -> list[DocumentRef]:
        """Documents whose shown title matches an FTS5 expression built by `search.py`.

        Searches titles_fts, which holds titles alone. `ranked`: best bm25 first among the newest
        `search_tuning.title_window` matching titles (ranking every title under a one-letter
        prefix took 100 ms at 100,000 documents); otherwise simply the newest matches.
        """
        return _titles_matching(
            self.conn, fts_query, limit, ranked, self.search_tuning.title_window
        )

    def title_candidates(self, terms: Sequence[str], *, limit: int = 50) -> list[tuple[str, str]]:
        """(id, title_key) of titles holding the input's known words, for fuzzy title matching.

        Words no title holds (the misspelled ones) are left out; the titles holding all the others
        come first. When none does (a typo that made another real word), titles holding all
        but one of the four rarest words. Bounded: counts stop at 200 (only rarer words need
        telling apart), lists at `limit`.
        """
        return _title_candidates(self.conn, list(terms), limit)

    def all_titles(self, *, limit: int) -> list[tuple[str, str]]:
        """(id, title_key) pairs, for fuzzy matching on small corpora."""
        rows = self.conn.execute(
            "SELECT id, title_key FROM documents ORDER BY pk LIMIT ?", (limit,)
        )
        return [(row["id"], row["title_key"]) for row in rows]

    def has_more_documents_than(self, count: int) -> bool:
        row = self.conn.execute("SELECT 1 FROM documents LIMIT 1 OFFSET ?", (count,)).fetchone()
        return row is not None

    def refs_by_ids(self, ids: Sequence[str]) -> list[DocumentRef]:
        """Refs of the given ids, in the order given (ids the index lacks are left out)."""
        if not ids:
            return []
        marks = ",".join("?" * len(ids))
        refs = self.fetch_refs(f"d.id IN ({marks})", ids, limit=len(ids))
        order = {doc_id: index for index, doc_id in enumerate(ids)}
        return sorted(refs, key=lambda ref: order[ref.id])

    def count_documents(self) -> int:
        (row,) = self.conn.execute("SELECT count(*) AS n FROM documents").fetchall()
        return int(row["n"])

    # authors (`authors.posts` is kept by triggers on document_authors, migration 3)

    def author_by_key(self, key: str) -> AuthorCount | None:
        row = self.conn.execute(
            "SELECT name, key, posts FROM authors WHERE key = ? AND posts > 0", (key,)
        ).fetchone()
        return _author_count(row) if row is not None else None

    def authors_matching(self, fts_query: str, *, limit: int = 26) -> list[AuthorCount]:
        rows = self.conn.execute(
            "SELECT a.name AS name, a.key AS key, a.posts AS posts FROM authors_fts JOIN authors a ON a.id = authors_fts.rowid "
            "WHERE authors_fts MATCH ? AND a.posts > 0 ORDER BY a.key LIMIT ?",
            (fts_query, limit),
        )
        return [_author_count(row) for row in rows]

    def authors(self, *, limit: int = 10_000) -> list[AuthorCount]:
        """Every author with their post count, most prolific first (index authors_most_posts)."""
        rows = self.conn.execute(
            "SELECT name, key, posts FROM authors WHERE posts > 0 ORDER BY posts DESC, key LIMIT ?",
            (limit,),
        )
        return [_author_count(row) for row in rows]

    def count_authors(self) -> int:
        (row,) = self.conn.execute("SELECT count(*) AS n FROM authors").fetchall()
        return int(row["n"])

    def posts_of_author(self, key: str, *, limit: int = 1000, offset: int = 0) -> list[DocumentRef]:
        """A page of an author's posts, newest first (undated last, then by id).

        Read in the order of the index document_authors_newest (author, published DESC, doc id):
        a page costs its own rows, not a sort of all of a prolific author's posts.
        """
        rows = self.conn.execute(
            f"SELECT {REF_COLUMNS} FROM document_authors da JOIN documents d ON d.id = da.doc_id "  # noqa: S608
            "WHERE da.author_id = (SELECT id FROM authors WHERE key = ?) "
            "ORDER BY da.published DESC, da.doc_id LIMIT ? OFFSET ?",
            (key, limit, offset),
        )
        return [ref_from_row(row) for row in rows]

    def corpus_generation(self) -> str | None:
        """Changes whenever documents are inserted or deleted (see `CorpusGeneration`): a key for
        caches of what the documents say (a summary written to the cache leaves it alone)."""
        return _generation(self.conn)

    # reasons, search, ask

    def documents_with_reasons(self) -> list[str]:
        rows = self.conn.execute(
            "SELECT id FROM documents WHERE reasons != '[]' ORDER BY published DESC, id"
        )
        return [row["id"] for row in rows]

    def search_page(self, terms: Sequence[str], *, limit: int, offset: int = 0) -> SearchPage:
        """Ranked hits for documents holding every term, or any term when none holds them all.
        How the work is bounded, and what that costs in ranking quality: `_search_page`."""
        return _search_page(
            self.conn, list(terms), limit, offset, self.search_tuning, self._search_state
        )

    def passage_hits(self, terms: Sequence[str], tuning: AskTuning) -> PassageHits:
        """Passages holding any of `terms`, best bm25 first, with what `ask.rank_passages` needs
        (see `_passage_hits`)."""
        return _passage_hits(self.conn, list(terms), tuning, self._ask_state)

    # what a replica compares and publishes (bot/storage/postgres/replica.py)

    def origins_and_hashes(self, ids: Sequence[str]) -> dict[str, tuple[str, str]]:
        """id -> (origin, content hash) of the given ids the index holds."""
        found: dict[str, tuple[str, str]] = {}
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            rows = self.conn.execute(
                f"SELECT id, origin, content_hash FROM documents WHERE id IN ({','.join('?' * len(chunk))})",  # noqa: S608 - only '?' marks
                chunk,
            )
            found.update((row["id"], (row["origin"], row["content_hash"])) for row in rows)
        return found

    def corpus_hashes(self, *, after: str, limit: int) -> list[tuple[str, str]]:
        """(id, content hash) of corpus-folder documents with ids after `after`, in id order (the
        covering index documents_corpus_ids)."""
        rows = self.conn.execute(
            "SELECT id, content_hash FROM documents WHERE origin = 'corpus' AND id > ? "
            "ORDER BY id LIMIT ?",
            (after, limit),
        )
        return [(row["id"], row["content_hash"]) for row in rows]

    def whole_documents(self, ids: Sequence[str]) -> list[Document]:
        """The documents of the given ids as the loader made them (ids the index lacks are left
        out): what a replica publishes of its corpus folder."""
        documents: list[Document] = []
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            marks = ",".join("?" * len(chunk))
            affiliations: dict[str, dict[int, str | None]] = {}
            for row in self.conn.execute(
                f"SELECT doc_id, position, affiliation FROM document_authors WHERE doc_id IN ({marks})",  # noqa: S608 - only '?' marks
                chunk,
            ):
                affiliations.setdefault(row["doc_id"], {})[row["position"]] = row["affiliation"]
            for row in self.conn.execute(
                f"SELECT {_WHOLE_COLUMNS} FROM documents WHERE id IN ({marks}) ORDER BY id",  # noqa: S608 - only '?' marks
                chunk,
            ):
                published = date.fromisoformat(row["published"]) if row["published"] else None
                documents.append(document_from_row(row, affiliations.get(row["id"], {}), published))
        return documents

    # summaries and metadata

    def cached_summary_entry(self, digest: str, params: str) -> tuple[list[str], int | None] | None:
        """The cached sentences and, when it was stored with them, the text's sentence count."""
        row = self.conn.execute(
            "SELECT sentences, total_sentences FROM summaries WHERE content_hash = ? AND params = ?",
            (digest, params),
        ).fetchone()
        return (json.loads(row["sentences"]), row["total_sentences"]) if row is not None else None

    def meta(self, key: str) -> str | None:
        row = self.conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return row["value"] if row is not None else None

    def schema_version(self) -> int:
        (row,) = self.conn.execute("PRAGMA user_version").fetchall()
        return int(row["user_version"])


# --- titles (run in the reader's thread) ------------------------------------------------------

_TOP = "\U0010ffff"


def _titles_with_prefix(
    conn: sqlite3.Connection, title_prefix: str, id_prefix: str, limit: int
) -> list[DocumentRef]:
    found: dict[str, DocumentRef] = {}
    for column, prefix in (("title_key", title_prefix), ("id", id_prefix)):
        rows = conn.execute(
            f"SELECT {REF_COLUMNS} FROM documents d WHERE d.{column} >= ? AND d.{column} < ? "  # noqa: S608 - constants
            f"ORDER BY d.{column} LIMIT ?",
            (prefix, prefix + _TOP, limit),
        )
        for row in rows:
            found.setdefault(row["id"], ref_from_row(row))
    return sorted(found.values(), key=_newest_first)[:limit]


def _newest_first(ref: DocumentRef) -> tuple[bool, int, str]:
    return (ref.published is None, -(ref.published.toordinal() if ref.published else 0), ref.title)


def _titles_matching(
    conn: sqlite3.Connection, expression: str, limit: int, ranked: bool, window: int
) -> list[DocumentRef]:
    select = f"SELECT {REF_COLUMNS} FROM titles_fts JOIN documents d ON d.pk = titles_fts.rowid WHERE titles_fts MATCH ? "  # noqa: S608
    if not ranked:
        rows = conn.execute(select + "ORDER BY titles_fts.rowid DESC LIMIT ?", (expression, limit))
        return [ref_from_row(row) for row in rows]
    (floor,) = conn.execute(
        "SELECT min(rowid) FROM (SELECT rowid FROM titles_fts WHERE titles_fts MATCH ? ORDER BY rowid DESC LIMIT ?)",
        (expression, window),
    ).fetchone()
    if floor is None:
        return []
    rows = conn.execute(
        select + "AND titles_fts.rowid >= ? ORDER BY titles_fts.rank LIMIT ?",
        (expression, floor, limit),
    )
    return [ref_from_row(row) for row in rows]


def _title_candidates(
    conn: sqlite3.Connection, terms: list[str], limit: int
) -> list[tuple[str, str]]:
    counts: dict[str, int] = {}
    for term in terms:
        (counts[term],) = conn.execute(
            "SELECT count(*) FROM (SELECT 1 FROM titles_fts WHERE titles_fts MATCH ? LIMIT 200)",
            (all_of([term]),),
        ).fetchone()
    known = sorted((t for t in terms if counts[t]), key=lambda t: counts[t])
    if not known:
        return []
    expressions = [all_of(known)]
    if len(known) > 1:
        rarest = known[:4]
        expressions.append(
            " OR ".join(f"({all_of([t for t in rarest if t != left_out])})" for left_out in rarest)
        )
    for expression in expressions:
        rows = conn.execute(
            "SELECT d.id AS id, d.title_key AS title_key FROM titles_fts JOIN documents d ON d.pk = titles_fts.rowid "
            "WHERE titles_fts MATCH ? ORDER BY titles_fts.rowid DESC LIMIT ?",
            (expression, limit),
        ).fetchall()
        if rows:
            return [(row["id"], row["title_key"]) for row in rows]
    return []


# --- search (runs in the reader's thread, see CorpusStore.search_page) ------------------------


@dataclass(frozen=True, slots=True)
class SearchPage:
    hits: list[tuple[DocumentRef, str, float]]
    """(document, snippet, score) best first"""
    total: int
    total_is_lower_bound: bool
    """True when more documents match than the search counted (see SearchTuning.rank_window)."""
    ranked: bool
    """False when every word is common: hits are then the newest matches, each scored 0."""


_EMPTY_PAGE = SearchPage([], 0, False, True)
_BM25 = "bm25(documents_fts, 10.0, 5.0, 5.0, 1.0)"
"""FTS5's bm25 with column weights: title, subtitle and authors weigh more than the body."""


class CorpusGeneration:
    """Whether the documents changed since the last look, for what the reader's thread keeps
    about them (word shares, the passage count, the service's author list).

    `PRAGMA data_version` alone changes on every commit of another connection, and most commits
    are not about documents: each uncached /summarize stores its summary, so in a burst every
    /ask counted all passages again (9 ms) and every /search re-measured its words. The store
    bumps the `corpus_generation` row of `meta` in every transaction that inserts or deletes
    documents (`_BUMP_GENERATION`); it is read only when data_version says something committed.
    """

    __slots__ = ("data_version", "generation", "seen")

    def __init__(self) -> None:
        self.data_version: int | None = None
        self.generation: str | None = None
        self.seen = False

    def changed(self, conn: sqlite3.Connection) -> bool:
        (version,) = conn.execute("PRAGMA data_version").fetchone()
        if self.seen and version == self.data_version:
            return False
        self.data_version = version
        generation = _generation(conn)
        if self.seen and generation == self.generation:
            return False
        self.generation, self.seen = generation, True
        return True


def _generation(conn: sqlite3.Connection) -> str | None:
    row = conn.execute("SELECT value FROM meta WHERE key = ?", (CORPUS_GENERATION,)).fetchone()
    return None if row is None else str(row[0])


class _SearchState:
    """What searches keep between calls, in the reader's thread (only `_search_page` uses it).

    Which share of recent documents holds each word, forgotten whenever the documents change
    (`CorpusGeneration`), so the figures never outlive the corpus they were measured on.
    """

    MAX_WORDS = 20_000

    def __init__(self) -> None:
        self.corpus = CorpusGeneration()
        self.documents = 0
        self.sample_floor = 0
        self.sample_size = 0
        self.shares: dict[str, float] = {}

    def common_terms(
        self, conn: sqlite3.Connection, terms: Sequence[str], tuning: SearchTuning
    ) -> set[str]:
        if self.corpus.changed(conn):
            self.shares.clear()
            # From the highest rowid, in O(log n): counting rows, or stepping back through them,
            # reads the table's leaf pages, about one per document (bodies fill them): 2-4 ms on
            # each change of the index. Rowids are dense near the top (changed documents are
            # re-inserted there), so the newest `sample_documents` rowids are about as many
            # documents, and the highest rowid bounds the count from above.
            (top,) = conn.execute("SELECT max(pk) FROM documents").fetchone()
            self.documents = top or 0
            self.sample_floor = max(1, self.documents - tuning.sample_documents + 1)
            self.sample_size = max(0, self.documents - self.sample_floor + 1)
        if self.documents < tuning.common_min_documents or not self.sample_size:
            return set()
        if len(self.shares) > self.MAX_WORDS:
            self.shares.clear()
        common: set[str] = set()
        for term in terms:
            if term not in self.shares:
                (holding,) = conn.execute(
                    "SELECT count(*) FROM documents_fts WHERE documents_fts MATCH ? AND rowid >= ?",
                    (all_of([term]), self.sample_floor),
                ).fetchone()
                self.shares[term] = holding / self.sample_size
            if self.shares[term] > tuning.common_share:
                common.add(term)
        return common


def _search_page(
    conn: sqlite3.Connection,
    terms: list[str],
    limit: int,
    offset: int,
    tuning: SearchTuning,
    state: _SearchState,
) -> SearchPage:
    """Documents holding every term (or, when none does, any term), best first.

    What bounds the work, and its price:

    - Common words (in more than `common_share` of documents, on corpora of at least
      `common_min_documents`) are left out of ranking and of the snippet's highlighting. Their
      idf is small (FTS5 clamps it to 1e-6 above half), so they hardly change a ranking, yet
      computing it reads each one's whole posting list (16 ms for "the" at 100,000 documents),
      and snippet() scores every occurrence against every other (4 ms a document for "the").
      They still filter: "the policy" finds the documents holding both. In the any-term fallback
      a common word is dropped when a rarer one is present.
    - At most `rank_window` matches are ranked: the most recently indexed ones (rowids are
      assigned in insertion order, so the newest corpus files and feed entries). A word in 20,000
      documents is ranked among its newest 500 matches; an older document that would rank first
      overall is not shown. `total` then counts those (a lower bound, and says so).
    - When every word is common there is nothing to rank by: the newest matches are listed,
      each scored 0, with a snippet made in Python around the first occurrence.

    On a corpus smaller than both bounds this is exactly bm25 over every match.
    """
    common = state.common_terms(conn, terms, tuning)
    page = _search_terms(conn, terms, all_of, common, limit, offset, tuning)
    if page.total == 0 and len(terms) > 1:
        page = _search_terms(conn, terms, any_of, common, limit, offset, tuning)
    return page


def _search_terms(
    conn: sqlite3.Connection,
    terms: list[str],
    join: Callable[[list[str]], str],
    common: set[str],
    limit: int,
    offset: int,
    tuning: SearchTuning,
) -> SearchPage:
    rare = [t for t in terms if t not in common]
    if join is any_of and rare:
        terms = rare
    matching = join(terms)
    window = tuning.rank_window
    if not rare:
        count, _ = _newest_window(conn, matching, window)
        return SearchPage(
            _newest_hits(conn, matching, terms, limit, offset, tuning),
            count,
            count == window,
            False,
        )
    ranking = join(rare)
    if ranking == matching:
        count, page = _ranked_window(conn, ranking, window, limit, offset)
        if not count:
            return _EMPTY_PAGE
        return SearchPage(_ranked_hits(conn, ranking, page, tuning), count, count == window, True)
    # Rank by the rarer words, keep only the documents that hold the common ones too (most do).
    in_window, count, page = _ranked_members(conn, ranking, matching, window, limit, offset)
    if not in_window:
        return _EMPTY_PAGE
    hits = _ranked_hits(conn, ranking, page, tuning)
    return SearchPage(hits, count, in_window == window, True)


def _newest_window(conn: sqlite3.Connection, expression: str, window: int) -> tuple[int, int]:
    """How many of the newest `window` documents match, and the lowest rowid among them."""
    count, floor = conn.execute(
        "SELECT count(*), min(rowid) FROM (SELECT rowid FROM documents_fts WHERE documents_fts MATCH ? "
        "ORDER BY rowid DESC LIMIT ?)",
        (expression, window),
    ).fetchone()
    return int(count), int(floor or 0)


def _ranked_window(
    conn: sqlite3.Connection, expression: str, window: int, limit: int, offset: int
) -> tuple[int, list[tuple[int, float]]]:
    """How many of the newest `window` documents match, and the page `offset:offset + limit` of
    them as (rowid, bm25), best first (ties by rowid, the order FTS5's sorter kept): one walk
    down from the newest match, bm25 and its idf computed once, sorted by SQLite.

    This replaced a count of the window, then FTS5's `rank MATCH … ORDER BY rank` over it, which
    walked the matches twice more: a nested sorter query ranks every match, and the outer cursor
    reads each phrase's whole posting list again for its idf. SQLite sorts, not Python: stepping
    the window's 500 rows into Python releases the GIL at each row, 10x slower beside a busy
    event loop. Only a page past the last match counts the window again.
    """
    rows = conn.execute(
        "SELECT rowid, score, count(*) OVER () AS matches FROM ("  # noqa: S608 - constants
        f"SELECT rowid, {_BM25} AS score FROM documents_fts WHERE documents_fts MATCH ? "
        "ORDER BY rowid DESC LIMIT ?) ORDER BY score, rowid LIMIT ? OFFSET ?",
        (expression, window, limit, offset),
    ).fetchall()
    if not rows:  # no match at all, or a page past the last one
        return (_newest_window(conn, expression, window)[0] if offset else 0), []
    return int(rows[0]["matches"]), [(row["rowid"], row["score"]) for row in rows]


def _ranked_members(
    conn: sqlite3.Connection,
    ranking: str,
    matching: str,
    window: int,
    limit: int,
    offset: int,
) -> tuple[int, int, list[tuple[int, float]]]:
    """For a search with common words: how many of the newest `window` documents match its
    rarer words (`ranking`), how many of those hold every word (`matching`), and the page of the
    latter as (rowid, bm25 by the rarer words), best first, ties by rowid.

    One statement, like `_ranked_window`: the window is ranked once and filtered and sorted by
    SQLite, so its rows never step into Python one by one (slow beside a busy event loop).
    """
    rows = conn.execute(
        "WITH win AS MATERIALIZED ("  # noqa: S608 - constants
        f"SELECT rowid, {_BM25} AS score FROM documents_fts WHERE documents_fts MATCH ?1 "
        "ORDER BY rowid DESC LIMIT ?3), "
        "kept AS (SELECT win.rowid, win.score FROM win WHERE win.rowid IN ("
        "SELECT rowid FROM documents_fts WHERE documents_fts MATCH ?2 "
        "AND rowid >= (SELECT min(rowid) FROM win))) "
        "SELECT (SELECT count(*) FROM win) AS in_window, (SELECT count(*) FROM kept) AS matches, "
        "page.rowid, page.score FROM (SELECT 1) LEFT JOIN "
        "(SELECT rowid, score FROM kept ORDER BY score, rowid LIMIT ?4 OFFSET ?5) AS page",
        (ranking, matching, window, limit, offset),
    ).fetchall()
    page = [(row["rowid"], row["score"]) for row in rows if row["rowid"] is not None]
    return int(rows[0]["in_window"]), int(rows[0]["matches"]), page


def _ranked_hits(
    conn: sqlite3.Connection,
    expression: str,
    page: list[tuple[int, float]],
    tuning: SearchTuning,
) -> list[tuple[DocumentRef, str, float]]:
    """The documents of `page` ((rowid, bm25) best first) with refs and snippets, in its order.

    snippet() (the costly part) needs a cursor on the match, so the page's rows are matched again
    in one statement: FTS5 walks the matches between the page's lowest and highest rowid, and
    `+rowid IN (…)` lets only the page's rows reach snippet(). The `+` keeps the IN list from
    the planner, which would otherwise loop over it and have FTS5 open the match once per rowid
    (one statement per row measured 25% slower than FTS5's `ORDER BY rank`).
    """
    if not page:
        return []
    scores = dict(page)
    marks = ", ".join("?" * len(page))
    rows = {
        row["rowid"]: row
        for row in conn.execute(
            f"SELECT documents_fts.rowid AS rowid, {REF_COLUMNS}, {_snippet(tuning)} AS snippet "  # noqa: S608 - constants
            "FROM documents_fts JOIN documents d ON d.pk = documents_fts.rowid "
            "WHERE documents_fts MATCH ? AND documents_fts.rowid BETWEEN ? AND ? "
            f"AND +documents_fts.rowid IN ({marks})",
            (expression, min(scores), max(scores), *scores),
        )
    }
    return [
        (ref_from_row(rows[rowid]), rows[rowid]["snippet"], -float(score))
        for rowid, score in page
        if rowid in rows
    ]


def _newest_hits(
    conn: sqlite3.Connection,
    expression: str,
    terms: Sequence[str],
    limit: int,
    offset: int,
    tuning: SearchTuning,
) -> list[tuple[DocumentRef, str, float]]:
    """The newest matches, unranked, with a snippet made in Python (see `highlight_window`)."""
    rows = conn.execute(
        f"SELECT {REF_COLUMNS}, substr(d.body, 1, 4000) AS opening FROM documents_fts "  # noqa: S608 - constants
        "JOIN documents d ON d.pk = documents_fts.rowid WHERE documents_fts MATCH ? "
        "ORDER BY documents_fts.rowid DESC LIMIT ? OFFSET ?",
        (expression, limit, offset),
    ).fetchall()
    return [
        (
            ref_from_row(row),
            highlight_window(row["opening"], terms, tokens=tuning.snippet_tokens),
            0.0,
        )
        for row in rows
    ]


def _snippet(tuning: SearchTuning) -> str:
    return f"snippet(documents_fts, -1, '{HIGHLIGHT_OPEN}', '{HIGHLIGHT_CLOSE}', '…', {tuning.snippet_tokens:d})"


# --- ask (runs in the reader's thread, see CorpusStore.passage_hits) --------------------------


@dataclass(frozen=True, slots=True)
class PassageHits:
    total: int
    """Passages in the index."""
    holding: dict[str, int]
    """term -> passages holding it (counted up to `AskTuning.common_passages`)"""
    candidates: list[PassageCandidate]
    """best bm25 first"""


class _AskState:
    """How many passages the index holds, and how many hold each word asked about, counted again
    only when the documents changed (`CorpusGeneration`): counting all passages reads the whole
    table (9 ms at 100,000 documents), and a word's count reads up to `common_passages` entries
    of its posting list (~0.5 ms each, the same words asked about again and again)."""

    MAX_WORDS = 20_000

    def __init__(self) -> None:
        self.corpus = CorpusGeneration()
        self.total = 0
        self.holding: dict[tuple[str, int], int] = {}
        """(word, the bound it was counted up to) -> passages holding it"""

    def passages(self, conn: sqlite3.Connection) -> int:
        if self.corpus.changed(conn):
            (self.total,) = conn.execute("SELECT count(*) FROM passages").fetchone()
            self.holding.clear()
        return self.total

    def holding_word(self, conn: sqlite3.Connection, term: str, bound: int) -> int:
        """Passages holding `term`, counted up to `bound`; call `passages` first (it forgets
        the counts of a corpus that changed)."""
        key = (term, bound)
        count = self.holding.get(key)
        if count is None:
            (count,) = conn.execute(
                "SELECT count(*) FROM (SELECT 1 FROM passages_fts WHERE passages_fts MATCH ? LIMIT ?)",
                (all_of([term]), bound),
            ).fetchone()
            if len(self.holding) >= self.MAX_WORDS:
                self.holding.clear()
            self.holding[key] = count
        return count


def _passage_hits(
    conn: sqlite3.Connection, terms: list[str], tuning: AskTuning, state: _AskState
) -> PassageHits:
    """Candidates for `ask`: passages holding any term, ranked by bm25 (title column weighted
    `tuning.title_weight`) among the newest `tuning.rank_window` matches.

    Words in `tuning.common_passages` passages or more are left out of the match when a rarer
    word is there: their idf is small and ranking them reads their whole posting list. Each
    word's count stops at that bound, so counting costs at most that many rowids a word."""
    total = state.passages(conn)
    holding = {term: state.holding_word(conn, term, tuning.common_passages) for term in terms}
    present = [t for t in terms if holding[t]]
    rare = [t for t in present if holding[t] < tuning.common_passages] or present
    if not rare:
        return PassageHits(total, holding, [])
    expression = any_of(rare)
    (floor,) = conn.execute(
        "SELECT min(rowid) FROM (SELECT rowid FROM passages_fts WHERE passages_fts MATCH ? "
        "ORDER BY rowid DESC LIMIT ?)",
        (expression, tuning.rank_window),
    ).fetchone()
    # bm25() ordered by SQLite, not FTS5's `rank MATCH … ORDER BY rank`: that one runs a nested
    # sorter query which ranks the matches a second time (reading every phrase's posting list
    # again for its idf), twice the cost at 100,000 documents for the same order.
    ranked = conn.execute(
        "SELECT rowid, bm25(passages_fts, ?, 1.0) AS score "
        "FROM passages_fts WHERE passages_fts MATCH ? AND rowid >= ? "
        "ORDER BY score, rowid LIMIT ?",
        (tuning.title_weight, expression, floor or 0, tuning.candidates),
    ).fetchall()
    candidates: list[PassageCandidate] = []
    cursor = conn.cursor()
    cursor.row_factory = sqlite3.Row  # by name; REF_COLUMNS stay first, for ref_from_row
    for rowid, rank in ranked:
        row = cursor.execute(
            f"SELECT {REF_COLUMNS}, p.paragraph AS paragraph, p.start AS start, "  # noqa: S608 - constants
            "substr(d.body, p.start + 1, p.length) AS text "
            f"FROM passages p JOIN documents d ON d.pk = p.id / {PASSAGES_PER_DOCUMENT:d} WHERE p.id = ?",
            (rowid,),
        ).fetchone()
        if row is not None:
            candidates.append(
                PassageCandidate(
                    ref_from_row(row), row["paragraph"], row["start"], row["text"], -float(rank)
                )
            )
    return PassageHits(total, holding, candidates)


@dataclass(frozen=True, slots=True)
class _ReaderCaches:
    search: _SearchState
    ask: _AskState


class _FaultsOf:
    """A context that turns SQLite's errors that are faults of the file (damaged, locked, full,
    unwritable) into the `StorageFault` naming the index; other errors (a constraint, a
    statement) pass as they are. A class, not a generator: it wraps every statement."""

    __slots__ = ("path",)

    def __init__(self, path: Path) -> None:
        self.path = path

    def __enter__(self) -> None:
        return None

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: object
    ) -> None:
        if isinstance(exc, sqlite3.Error) and (fault := _fault_of(exc, self.path)) is not None:
            raise fault from exc


class _IndexCursor(sqlite3.Cursor):
    """A cursor of `_IndexSQLite`: each statement and fetch maps the file's faults."""

    connection: _IndexSQLite

    def execute(self, sql: str, parameters: Any = (), /) -> _IndexCursor:
        with self.connection.faults:
            return super().execute(sql, parameters)

    def executemany(self, sql: str, parameters: Iterable[Any], /) -> _IndexCursor:
        with self.connection.faults:
            return super().executemany(sql, parameters)

    def executescript(self, script: str, /) -> sqlite3.Cursor:
        with self.connection.faults:
            return super().executescript(script)

    def fetchone(self) -> Any:
        with self.connection.faults:
            return super().fetchone()

    def fetchmany(self, size: int | None = None) -> list[Any]:
        with self.connection.faults:
            return super().fetchmany(self.arraysize if size is None else size)

    def fetchall(self) -> list[Any]:
        with self.connection.faults:
            return super().fetchall()


class _IndexSQLite(sqlite3.Connection):
    """A connection to the index (the `factory` of `sqlite3.connect`): rows are `sqlite3.Row`,
    read by column name, and SQLite's errors that are faults of the file come out as a
    `StorageFault` naming it.

    The one place they are mapped: every statement of the store runs on such a connection (the
    aiosqlite writer's, the reader's, the migration's), so no caller catches raw sqlite3 errors,
    and each front end has a single message per fault. `sqlite3.Row` is implemented in C and
    costs little over a tuple; it still indexes by position, so a single row may be unpacked.
    """

    def __init__(self, database: str | Path, *args: Any, **kwargs: Any) -> None:
        self.faults = _FaultsOf(Path(database))
        self.reader_caches: _ReaderCaches | None = None
        """What answers keep between reads on this connection (a reader's, made on first use)."""
        with self.faults:
            super().__init__(database, *args, **kwargs)
        self.row_factory = sqlite3.Row

    # ignore[override]: typeshed overloads cursor() on `factory: None`, which CPython refuses
    # ("'NoneType' object is not callable"); this default is the index's cursor instead.
    def cursor(self, factory: Callable[..., sqlite3.Cursor] = _IndexCursor) -> sqlite3.Cursor:  # type: ignore[override]
        return super().cursor(factory)

    def execute(self, sql: str, parameters: Any = (), /) -> sqlite3.Cursor:
        return self.cursor().execute(sql, parameters)

    def executemany(self, sql: str, parameters: Iterable[Any], /) -> sqlite3.Cursor:
        return self.cursor().executemany(sql, parameters)

    def executescript(self, script: str, /) -> sqlite3.Cursor:
        return self.cursor().executescript(script)


def _connect(path: Path) -> _IndexSQLite:
    return sqlite3.connect(path, isolation_level=None, factory=_IndexSQLite)


def _prepare_index(path: Path) -> None:
    """Create the index if needed, switch it to WAL (persistent) and migrate it, on a short-lived
    connection of its own (in a worker thread). Raises `StorageFault` for a fault of the file."""
    conn = _connect(path)
    try:
        conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS:d}")
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA foreign_keys = ON")
        with conn.faults:  # a migration's statements fault like any other
            migrate(conn)
    finally:
        conn.close()


READER_CONNECTIONS = 2
"""Read-only connections serving answers, each on a thread of its own. WAL lets readers run at
once, and SQLite lets go of the GIL while it steps through a statement, so a second connection
answers a quick /post while the first ranks an /ask's 2,000 passages (20-30 ms at 100,000
documents): with one, every read of a burst queued behind every /ask before it."""


@dataclass
class _ReaderLane:
    """One read-only connection and the one thread that uses it."""

    executor: ThreadPoolExecutor
    conn: _IndexSQLite
    pending: int = 0
    """Functions sent to this lane and not finished (counted on the event loop: no lock)."""


class IndexReader:
    """The index's read-only connections, each on one thread of its own.

    Answers that take several statements run as one function in one read transaction (one hop to
    a reader's thread, one snapshot even if a reload commits meanwhile): aiosqlite offers no
    public way to run a function on its connection's thread, so each reader is a plain sqlite3
    connection with a single-thread executor (the thread that opened it is the only one that uses
    it). A function goes to the connection with the fewest functions pending, so a quick read
    does not wait behind a slow one while another connection is free."""

    def __init__(self, lanes: Sequence[_ReaderLane]) -> None:
        self._lanes = list(lanes)
        self._closed = False

    @classmethod
    async def open(cls, path: Path, pragmas: Sequence[str], *, connections: int = 1) -> IndexReader:
        lanes: list[_ReaderLane] = []
        try:
            for _ in range(connections):
                lanes.append(await _open_lane(path, pragmas))
        except BaseException:
            await cls(lanes).close()
            raise
        return cls(lanes)

    async def run(self, fn: Callable[..., T], *args: Any) -> T:
        """`fn(connection, *args)` on a reader's thread; faults of the file as `StorageFault`."""
        lane = min(self._lanes, key=_pending)
        lane.pending += 1
        try:
            return await asyncio.get_running_loop().run_in_executor(
                lane.executor, functools.partial(self._call, lane.conn, fn, *args)
            )
        finally:
            lane.pending -= 1

    def _call(self, conn: _IndexSQLite, fn: Callable[..., T], *args: Any) -> T:
        with conn.faults:  # also what a function's own row iteration raises
            return fn(conn, *args)

    async def execute_fetchall(
        self, sql: str, parameters: Sequence[Any] | None = None
    ) -> list[sqlite3.Row]:
        """One statement's rows, as `aiosqlite.Connection.execute_fetchall` returns them."""
        return await self.run(_fetchall, sql, () if parameters is None else parameters)

    async def close(self) -> None:
        """Close each connection on its thread, then let the threads end; closing twice is a
        no-op (as aiosqlite's close is: a store may be closed by its owner and again at
        teardown)."""
        if self._closed:
            return
        self._closed = True
        loop = asyncio.get_running_loop()
        for lane in self._lanes:
            try:
                await loop.run_in_executor(lane.executor, lane.conn.close)
            finally:
                lane.executor.shutdown(wait=False)


def _pending(lane: _ReaderLane) -> int:
    return lane.pending


async def _open_lane(path: Path, pragmas: Sequence[str]) -> _ReaderLane:
    executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="corpus-index-reader")

    def connect() -> _IndexSQLite:
        conn = _connect(path)
        try:
            for pragma in pragmas:
                conn.execute(pragma)
        except BaseException:
            conn.close()
            raise
        return conn

    try:
        conn = await asyncio.get_running_loop().run_in_executor(executor, connect)
    except BaseException:
        executor.shutdown(wait=False)
        raise
    return _ReaderLane(executor, conn)


def _fetchall(conn: sqlite3.Connection, sql: str, parameters: Sequence[Any]) -> list[sqlite3.Row]:
    return conn.execute(sql, parameters).fetchall()


def _fault_of(exc: sqlite3.Error, path: Path) -> StorageFault | None:
    return storage_fault(exc, path, busy_timeout_s=BUSY_TIMEOUT_MS / 1000)


async def _to_completion(statement: Awaitable[Any]) -> Any:
    """Await a statement; if the caller is cancelled meanwhile, let the statement finish first,
    then pass the cancellation on (so the connection's transaction state is always known)."""
    task = asyncio.ensure_future(statement)
    try:
        return await asyncio.shield(task)
    except asyncio.CancelledError:
        with contextlib.suppress(Exception, asyncio.CancelledError):
            await task
        raise
