"""What the PostgreSQL backend raises on purpose: each names what is wrong and where."""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from typing import Concatenate, ParamSpec, Protocol, TypeVar
from urllib.parse import parse_qs, urlsplit

import asyncpg

from bot.corpus.errors import Fault
from bot.corpus.schema import SchemaTooNew as IndexTooNew

P = ParamSpec("P")
R = TypeVar("R")

CONNECTION_ERRORS: tuple[type[BaseException], ...] = (
    OSError,
    TimeoutError,
    asyncpg.InterfaceError,  # among them: the connection was closed under us
    asyncpg.PostgresConnectionError,  # SQLSTATE class 08
    asyncpg.OperatorInterventionError,  # 57: the session was terminated, the server shuts down
    asyncpg.InsufficientResourcesError,  # 53: too many connections, disk full
    # A session the server ended while asyncpg was between two messages of a statement: seen as
    # "cannot switch to state 11; another operation is in progress" on the next statement.
    asyncpg.InternalClientError,
)
"""What means the server cannot be used, as opposed to a bug in a statement (left as it is)."""
CONNECT_ERRORS: tuple[type[BaseException], ...] = (*CONNECTION_ERRORS, asyncpg.PostgresError)
"""Connecting: also a refused login, an unknown database or role."""

USER_MESSAGE = (
    "The bot cannot reach its database right now, so nothing was changed: "
    "please try again in a minute. Its operator has been told."
)


def server_of(dsn: str) -> str:
    """Where a DSN points, for messages: host (or socket folder), port and database, never the
    user's password."""
    parts = urlsplit(dsn)
    host = parts.hostname or parse_qs(parts.query).get("host", [""])[0]
    try:
        port = f":{parts.port}" if parts.port else ""
    except ValueError:  # not a number: the driver will say so; the message need not
        port = ""
    return f"{host or 'localhost'}{port}{parts.path or '/'}"


class DatabaseFault(Fault):
    """The PostgreSQL server cannot be used: unreachable, refusing us, or gone mid-query."""

    def __init__(self, dsn: str, detail: str) -> None:
        super().__init__(
            f"the database at {server_of(dsn)} cannot be used ({detail}): check that PostgreSQL "
            "is running and that CORPUS_BOT_DATABASE_URL points to it, then try again",
            user_message=USER_MESSAGE,
        )


class SchemaTooNew(IndexTooNew):
    """The database was migrated by a newer corpus-bot: refused rather than guessed at. A kind
    of the SQLite index's own refusal, so every front end reports both alike (one line, exit 2)."""

    def __init__(self, found: int, known: int) -> None:
        super().__init__(
            f"the database's schema is version {found}, newer than this corpus-bot's {known}: "
            "upgrade corpus-bot on this machine"
        )


class DocumentNotStorable(ValueError):
    """A document holds what PostgreSQL text cannot: a NUL character, or more text than a
    tsvector may index (1 MiB of lexemes). Names the document and the field."""

    def __init__(self, doc_id: str, field: str, problem: str) -> None:
        super().__init__(f"document {doc_id!r}: {field} {problem}")
        self.doc_id = doc_id
        self.field = field
        self.problem = problem


class _HasDsn(Protocol):
    @property
    def dsn(self) -> str: ...


S = TypeVar("S", bound=_HasDsn)


def database_faults(
    method: Callable[Concatenate[S, P], Awaitable[R]],
) -> Callable[Concatenate[S, P], Awaitable[R]]:
    """A store method whose connection failures become one DatabaseFault naming the server
    (never a driver traceback); the pool replaces a dead connection on the next call."""

    @functools.wraps(method)
    async def guarded(self: S, /, *args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return await method(self, *args, **kwargs)
        except CONNECTION_ERRORS as exc:
            raise DatabaseFault(self.dsn, f"{type(exc).__name__}: {exc}") from exc

    return guarded
