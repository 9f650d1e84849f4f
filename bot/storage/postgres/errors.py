"""What the PostgreSQL backend raises on purpose: each names what is wrong and where."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

from bot.corpus.errors import Fault

USER_MESSAGE = (
    "The bot cannot reach its database right now, so nothing was changed: "
    "please try again in a minute. Its operator has been told."
)


def server_of(dsn: str) -> str:
    """Where a DSN points, for messages: host (or socket folder), port and database, never the
    user's password."""
    parts = urlsplit(dsn)
    host = parts.hostname or parse_qs(parts.query).get("host", [""])[0]
    port = f":{parts.port}" if parts.port else ""
    return f"{host or 'localhost'}{port}{parts.path or '/'}"


class DatabaseFault(Fault):
    """The PostgreSQL server cannot be used: unreachable, refusing us, or gone mid-query."""

    def __init__(self, dsn: str, detail: str) -> None:
        super().__init__(
            f"the database at {server_of(dsn)} cannot be used ({detail}): check that PostgreSQL "
            "is running and that CORPUS_BOT_DATABASE_URL points to it, then try again",
            user_message=USER_MESSAGE,
        )


class SchemaTooNew(Exception):
    """The database was migrated by a newer corpus-bot: refused rather than guessed at."""

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
