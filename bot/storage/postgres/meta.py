"""Shared facts in PostgreSQL (`shared_meta`, migration 4): see bot/storage/meta.py for why."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

import asyncpg

from bot.storage.postgres.errors import CONNECTION_ERRORS, DatabaseFault
from bot.storage.postgres.lease import lock_key


class PostgresFacts:
    """`SharedFacts` on the shared database's pool."""

    def __init__(self, pool: asyncpg.Pool, dsn: str) -> None:
        self._pool = pool
        self.dsn = dsn

    async def meta(self, key: str) -> str | None:
        try:
            value = await self._pool.fetchval("SELECT value FROM shared_meta WHERE key = $1", key)
        except CONNECTION_ERRORS as exc:
            raise DatabaseFault(self.dsn, f"{type(exc).__name__}: {exc}") from exc
        return None if value is None else str(value)

    async def set_meta(self, key: str, value: str) -> None:
        try:
            await self._pool.execute(
                "INSERT INTO shared_meta (key, value) VALUES ($1, $2) "
                "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                key,
                value,
            )
        except CONNECTION_ERRORS as exc:
            raise DatabaseFault(self.dsn, f"{type(exc).__name__}: {exc}") from exc

    @contextlib.asynccontextmanager
    async def exclusive(self, name: str) -> AsyncIterator[None]:
        """A session advisory lock on a pool connection for the span: a process that dies
        holding it frees it with its session, so nobody waits for a dead one. Only the
        database's own failures become a DatabaseFault; the body's errors pass as they are."""
        key = lock_key(f"facts:{name}")
        try:
            conn = await self._pool.acquire()
        except CONNECTION_ERRORS as exc:
            raise DatabaseFault(self.dsn, f"{type(exc).__name__}: {exc}") from exc
        try:
            try:
                await conn.execute("SELECT pg_advisory_lock($1)", key)
            except CONNECTION_ERRORS as exc:
                raise DatabaseFault(self.dsn, f"{type(exc).__name__}: {exc}") from exc
            try:
                yield
            finally:
                # A lost session freed the lock already; the body's own error matters more.
                with contextlib.suppress(*CONNECTION_ERRORS):
                    await conn.execute("SELECT pg_advisory_unlock($1)", key)
        finally:
            await self._pool.release(conn)
