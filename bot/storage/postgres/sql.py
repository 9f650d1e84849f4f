"""The feed's database seam (bot/storage/sql.py) over an asyncpg pool: ``storage: postgres``.

The feed's SQL is written once with SQLite's ``?`` placeholders; each text is turned into
PostgreSQL's ``$1, $2, …`` once (cached), skipping quoted literals and identifiers, so a ``?``
inside ``'…'`` stays a character. Every value is still a bound parameter. Failures that mean the
server cannot be used (gone, unreachable, a session terminated, a deadlock or a lock wait
given up) become one :class:`~bot.storage.postgres.errors.DatabaseFault` naming the server,
never the password, as the SQLite path turns a locked or damaged file into a ``StorageFault``:
the feed's callers handle a ``Fault`` the same way whichever backend raised it.

Transactions are READ COMMITTED. Where the feed reads a row to change it (a subscription's
filters), the read locks it (``Dialect.lock_row``), as SQLite's ``BEGIN IMMEDIATE`` does for the
whole file; the sender's claims use ``FOR UPDATE SKIP LOCKED`` (``Dialect.lock_rows``).
"""

from __future__ import annotations

import contextlib
import functools
import re
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import asyncpg

from bot.corpus.models import Document
from bot.corpus.store import StoredDocument
from bot.storage.postgres.documents import (
    check_storable,
    replace_documents,
    stored_document,
)
from bot.storage.postgres.errors import (
    CONNECTION_ERRORS,
    DatabaseFault,
    DocumentNotStorable,
)
from bot.storage.postgres.pool import open_shared_pool
from bot.storage.postgres.schema import Connection
from bot.storage.sql import Dialect, Done, Row, Transactions, Writer

T = TypeVar("T")

POSTGRES = Dialect(lock_rows=" FOR UPDATE SKIP LOCKED", lock_row=" FOR UPDATE")

FAULTS: tuple[type[BaseException], ...] = (
    *CONNECTION_ERRORS,
    asyncpg.TransactionRollbackError,  # 40001 serialization failure, 40P01 deadlock detected
    asyncpg.LockNotAvailableError,  # 55P03: a lock timeout ran out
)
"""What makes a statement fail through no fault of its own: the server, or another session."""

_TOKENS = re.compile(r"'(?:[^']|'')*'|\"(?:[^\"]|\"\")*\"|\?")
"""A quoted literal, a quoted identifier (kept whole), or a placeholder."""
_COUNT = re.compile(r"\s(\d+)$")


@functools.lru_cache(maxsize=4096)
def numbered(sql: str) -> str:
    """``sql`` with each ``?`` placeholder outside quotes made ``$1``, ``$2``, … in order."""
    counter = 0

    def number(match: re.Match[str]) -> str:
        nonlocal counter
        if match.group() != "?":
            return match.group()
        counter += 1
        return f"${counter}"

    return _TOKENS.sub(number, sql)


def rowcount(status: str) -> int:
    """Rows a command changed, from its status ("UPDATE 3", "INSERT 0 5", "DELETE 1")."""
    match = _COUNT.search(status)
    return int(match.group(1)) if match else 0


@dataclass(frozen=True, slots=True)
class _Done:
    rowcount: int


class PostgresWriter:
    """An asyncpg connection (in a transaction, or a pool for reads) as the seam's Writer."""

    __slots__ = ("connection", "dsn")

    def __init__(self, connection: Connection | asyncpg.Pool, dsn: str) -> None:
        self.connection = connection
        self.dsn = dsn

    async def execute(self, sql: str, parameters: Sequence[Any] = ()) -> Done:
        status = await self.guarded(lambda: self.connection.execute(numbered(sql), *parameters))
        return _Done(rowcount(status))

    async def executemany(self, sql: str, parameters: Iterable[Sequence[Any]]) -> None:
        args = [tuple(p) for p in parameters]
        if args:
            await self.guarded(lambda: self.connection.executemany(numbered(sql), args))

    async def execute_fetchall(self, sql: str, parameters: Sequence[Any] = ()) -> Sequence[Row]:
        rows: list[asyncpg.Record] = await self.guarded(
            lambda: self.connection.fetch(numbered(sql), *parameters)
        )
        return rows

    async def guarded(self, statement: Callable[[], Awaitable[T]]) -> T:
        """Run ``statement`` (made inside the guard: a pool's proxy whose session ended
        refuses the call itself) with its faults as a DatabaseFault."""
        try:
            return await statement()
        except FAULTS as exc:
            raise DatabaseFault(self.dsn, f"{type(exc).__name__}: {exc}") from exc


async def _guard(dsn: str, statement: Awaitable[T]) -> T:
    try:
        return await statement
    except FAULTS as exc:
        raise DatabaseFault(dsn, f"{type(exc).__name__}: {exc}") from exc


@contextlib.asynccontextmanager
async def _transaction(connection: Connection, dsn: str) -> AsyncIterator[None]:
    """A transaction (a savepoint inside another) whose BEGIN and COMMIT failures are
    DatabaseFaults. What the body raises passes as it is: a claim's body posts to Discord,
    whose network errors are no fault of the database's."""
    transaction = connection.transaction()
    await _guard(dsn, transaction.start())
    try:
        yield
    except BaseException:
        with contextlib.suppress(*FAULTS):  # a session gone took its transaction with it
            await transaction.rollback()
        raise
    await _guard(dsn, transaction.commit())


class _HeldClaim:
    """A claim's transaction on a connection of its own: writes in it are savepoints, the rows
    it locked stay locked until the claim ends (then its work is committed)."""

    def __init__(self, connection: Connection, dsn: str) -> None:
        self._connection = connection
        self._dsn = dsn

    @contextlib.asynccontextmanager
    async def transaction(self) -> AsyncIterator[Writer]:
        async with _transaction(self._connection, self._dsn):
            yield PostgresWriter(self._connection, self._dsn)


class PostgresFeedDatabase:
    """The feed's tables in the shared PostgreSQL database, through an asyncpg pool.

    A claim keeps one of the pool's connections for as long as its post to Discord takes, so
    the pool needs the sender's concurrency (4) on top of what the other passes and commands
    use at once: the default 10 leaves 6.
    """

    dialect = POSTGRES

    def __init__(self, pool: asyncpg.Pool, dsn: str) -> None:
        self.pool = pool
        self.dsn = dsn
        self._reader = PostgresWriter(pool, dsn)

    @classmethod
    async def open(cls, dsn: str, *, min_size: int = 1, max_size: int = 10) -> PostgresFeedDatabase:
        """Connect a pool to ``dsn`` and bring the schema up to date (the feed's own pool; the
        composition root may instead pass a pool it shares, with ``PostgresFeedDatabase(pool,
        dsn)``, once migrated)."""
        return cls(await open_shared_pool(dsn, min_size=min_size, max_size=max_size), dsn)

    async def close(self) -> None:
        await self.pool.close()

    @property
    def reader(self) -> PostgresWriter:
        return self._reader

    @contextlib.asynccontextmanager
    async def _connection(self) -> AsyncIterator[Connection]:
        """A connection of the pool (a failure to get one is a DatabaseFault; what the body
        raises passes as it is), given back after."""
        conn = await _guard(self.dsn, self.pool.acquire())
        try:
            yield conn
        finally:
            await self.pool.release(conn)

    @contextlib.asynccontextmanager
    async def transaction(self) -> AsyncIterator[Writer]:
        async with self._connection() as conn, _transaction(conn, self.dsn):
            yield PostgresWriter(conn, self.dsn)

    @contextlib.asynccontextmanager
    async def claim(self) -> AsyncIterator[Transactions]:
        async with self._connection() as conn, _transaction(conn, self.dsn):
            yield _HeldClaim(conn, self.dsn)

    async def replace_documents(self, writer: Writer, documents: Sequence[Document]) -> None:
        assert isinstance(writer, PostgresWriter)  # noqa: S101 - this database's own transaction
        connection = writer.connection
        assert not isinstance(connection, asyncpg.Pool)  # noqa: S101 - a transaction's connection
        await writer.guarded(lambda: replace_documents(connection, documents))

    def refusal(self, document: Document) -> str | None:
        try:
            check_storable(document)
        except DocumentNotStorable as refused:
            return f"{refused.field} {refused.problem}"
        return None

    async def document(self, doc_id: str) -> StoredDocument | None:
        async with self._connection() as conn:
            return await self._reader.guarded(lambda: stored_document(conn, doc_id))
