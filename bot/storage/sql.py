"""The seam between the feed's SQL and the database it runs on (issue #14, decision 5).

The feed's store (bot/feeds/store.py) keeps ONE implementation for both backends: its SQL is
written in the dialect SQLite and PostgreSQL share (``ON CONFLICT … DO UPDATE/NOTHING``,
``RETURNING``, ``coalesce``, ``?`` placeholders; no ``INSERT OR REPLACE``, no rowid, no scalar
``min``/``max``) and runs through the small protocols below, which both sqlite3/aiosqlite and an
asyncpg connection (bot/storage/postgres/sql.py) are given. Rows are read by column name:
``sqlite3.Row`` and ``asyncpg.Record`` both allow it. What the two dialects truly do differently
is a named fragment of :class:`Dialect`, never an ``if`` in the store.

This module holds the protocols and the SQLite implementation over today's CorpusStore (its
one writer in ``transaction()``, its read-only ``reader``), so with ``storage: sqlite`` the feed
runs exactly as before.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import aiosqlite

from bot.corpus.models import Document
from bot.corpus.store import CorpusStore, StoredDocument


class Row(Protocol):
    """A result row, read by column name (``sqlite3.Row``, ``asyncpg.Record``)."""

    def __getitem__(self, key: str, /) -> Any: ...


class Done(Protocol):
    """What a statement run for its effect reports: how many rows it changed."""

    @property
    def rowcount(self) -> int: ...


class Reader(Protocol):
    """What the feed reads with: one statement's rows."""

    async def execute_fetchall(self, sql: str, parameters: Sequence[Any] = ()) -> Sequence[Row]: ...


class Writer(Reader, Protocol):
    """A connection inside a transaction: what the feed writes with."""

    async def execute(self, sql: str, parameters: Sequence[Any] = ()) -> Done: ...

    async def executemany(self, sql: str, parameters: Iterable[Sequence[Any]]) -> None: ...


@dataclass(frozen=True, slots=True)
class Dialect:
    """The fragments of SQL that differ between the backends, by what they do."""

    lock_rows: str
    """Appended to a SELECT that claims the rows it returns for the rest of its transaction and
    passes over rows another transaction claimed: ``FOR UPDATE SKIP LOCKED`` on PostgreSQL (two
    processes may send at once during a lease takeover); nothing on SQLite, whose one writer
    already serialises every transaction of the one process that sends."""
    lock_row: str
    """Appended to a SELECT that reads rows its transaction then changes from what it read (a
    subscription's filters): ``FOR UPDATE`` on PostgreSQL, whose READ COMMITTED transactions
    would otherwise both read the old value and one edit be lost; nothing on SQLite, whose
    ``BEGIN IMMEDIATE`` already holds the whole file."""


class Transactions(Protocol):
    """Something that opens transactions: the database, or a claim (see ``FeedDatabase.claim``)."""

    def transaction(self) -> contextlib.AbstractAsyncContextManager[Writer]: ...


class FeedDatabase(Transactions, Protocol):
    """The database the feed keeps its state in (subscriptions, seen-sets, outbox, sources) and
    writes feed documents to, in the same transactions."""

    dialect: Dialect

    @property
    def reader(self) -> Reader:
        """Reads outside a transaction: the last committed state."""
        ...

    def claim(self) -> contextlib.AbstractAsyncContextManager[Transactions]:
        """A span in which rows selected with ``dialect.lock_rows`` stay claimed (on PostgreSQL,
        one transaction on a connection of its own, held until the span ends); writes inside it
        go through its ``transaction()`` (a savepoint there). On SQLite the database itself."""
        ...

    async def replace_documents(self, writer: Writer, documents: Sequence[Document]) -> None:
        """Inside a transaction: store documents, replacing those of the same id."""
        ...

    def refusal(self, document: Document) -> str | None:
        """Why this database cannot store ``document`` (None when it can), checked before a
        write, so the poller skips that one item with a warning instead of failing its whole
        feed at every poll."""
        ...

    async def document(self, doc_id: str) -> StoredDocument | None:
        """A document as its record holds it now (the announcer's read: on PostgreSQL the
        shared table, which a replica may not have pulled yet)."""
        ...


SQLITE = Dialect(lock_rows="", lock_row="")


@dataclass(frozen=True, slots=True)
class _SqliteDone:
    rowcount: int


class SqliteWriter:
    """The CorpusStore's writer inside one of its transactions, as a :class:`Writer`."""

    __slots__ = ("connection",)

    def __init__(self, connection: aiosqlite.Connection) -> None:
        self.connection = connection

    async def execute(self, sql: str, parameters: Sequence[Any] = ()) -> Done:
        cursor = await self.connection.execute(sql, parameters)
        try:
            return _SqliteDone(cursor.rowcount)
        finally:
            await cursor.close()

    async def executemany(self, sql: str, parameters: Iterable[Sequence[Any]]) -> None:
        cursor = await self.connection.executemany(sql, parameters)
        await cursor.close()

    async def execute_fetchall(self, sql: str, parameters: Sequence[Any] = ()) -> Sequence[Row]:
        return list(await self.connection.execute_fetchall(sql, parameters))


class SqliteFeedDatabase:
    """The feed in the corpus index's SQLite file (``storage: sqlite``, the default): one
    writer, serialised by the store; reads on its read-only connections."""

    dialect = SQLITE

    def __init__(self, store: CorpusStore) -> None:
        self.store = store

    @property
    def reader(self) -> Reader:
        return self.store.reader

    @contextlib.asynccontextmanager
    async def transaction(self) -> AsyncIterator[Writer]:
        async with self.store.transaction() as connection:
            yield SqliteWriter(connection)

    @contextlib.asynccontextmanager
    async def claim(self) -> AsyncIterator[Transactions]:
        # One process sends (with sqlite the feed's lease is always held) and the writer lock
        # serialises its transactions: nothing to hold between them.
        yield self

    async def replace_documents(self, writer: Writer, documents: Sequence[Document]) -> None:
        assert isinstance(writer, SqliteWriter)  # noqa: S101 - this database's own transaction
        await self.store.replace_documents(writer.connection, documents)

    def refusal(self, document: Document) -> str | None:
        return None  # SQLite text holds any string

    async def document(self, doc_id: str) -> StoredDocument | None:
        return await self.store.document(doc_id)
