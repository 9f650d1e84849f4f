"""The one pool a process opens on the shared database, with its schema brought up to date.

Every part that keeps shared state there (the replica's pulls and publishes, the feed's store)
borrows connections from this pool, so a process holds one set of connections however many
parts it runs; only the lease keeps a connection of its own (its lock belongs to its session).
"""

from __future__ import annotations

import asyncpg

from bot.storage.postgres.errors import CONNECT_ERRORS, CONNECTION_ERRORS, DatabaseFault
from bot.storage.postgres.schema import migrate

SERVER_SETTINGS = {"plan_cache_mode": "force_custom_plan"}
"""asyncpg prepares every statement, and after five runs PostgreSQL may switch to a generic plan
that does not know the query: for a search it walks documents newest first testing each, a full
scan when the words are rare. A custom plan per run costs well under a millisecond."""


async def open_shared_pool(dsn: str, *, min_size: int = 1, max_size: int = 10) -> asyncpg.Pool:
    """A pool on `dsn`, migrated (under the migrations' advisory lock, so processes starting
    together apply each migration once). One `DatabaseFault` naming the server (never the
    password) when it cannot be reached or refuses us; `SchemaTooNew` for a newer database."""
    try:
        pool = await asyncpg.create_pool(
            dsn, min_size=min_size, max_size=max_size, server_settings=SERVER_SETTINGS
        )
    except CONNECT_ERRORS as exc:
        raise DatabaseFault(dsn, f"{type(exc).__name__}: {exc}") from exc
    try:
        async with pool.acquire() as conn:
            await migrate(conn)
    except CONNECTION_ERRORS as exc:
        pool.terminate()
        raise DatabaseFault(dsn, f"{type(exc).__name__}: {exc}") from exc
    except BaseException:
        await pool.close()
        raise
    return pool
