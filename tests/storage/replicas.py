"""Helpers of the replica tests: services whose index is a replica of one real PostgreSQL
database (bot/storage/postgres/replica.py), as separate processes would run them."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import asyncpg

from bot.corpus.service import CorpusService, ServiceSettings
from bot.corpus.store import CorpusStore
from bot.storage.postgres.pool import open_shared_pool
from bot.storage.postgres.replica import APPLIED_SEQ, CorpusReplica, ReplicaTiming
from tests.conftest import HANG_GUARD_SECONDS

FAST = ReplicaTiming(pull_every_s=60.0, reconnect_s=0.05, reconnect_max_s=0.2, check_s=0.1)
"""Listening, with a timer too slow to matter: a change that arrives came by notification."""
TIMER_ONLY = ReplicaTiming(pull_every_s=0.1, listen=False)
"""No LISTEN at all: every notification is missed, only the timer pulls."""
MANUAL = ReplicaTiming(pull_every_s=3600.0, listen=False)
"""Pulls only when the test asks (`CorpusService.sync`) or at the start."""


@contextlib.asynccontextmanager
async def shared_pool(dsn: str) -> AsyncIterator[asyncpg.Pool]:
    """A pool on the shared database with its schema up to date, as the composition root opens
    one per process."""
    pool = await open_shared_pool(dsn)
    try:
        yield pool
    finally:
        await pool.close()


@contextlib.asynccontextmanager
async def replicated(
    folder: Path,
    corpus_dir: Path,
    pool: asyncpg.Pool,
    dsn: str,
    *,
    timing: ReplicaTiming = FAST,
    page_rows: int = 500,
    max_file_bytes: int = 1_000_000,
) -> AsyncIterator[CorpusService]:
    """A service as one process runs it with `storage: postgres`: its replica in `folder`,
    its corpus folder `corpus_dir` (which may not exist), started (a first pull) and listening."""

    def replica(store: CorpusStore) -> CorpusReplica:
        return CorpusReplica(store, pool, dsn, timing=timing, page_rows=page_rows)

    settings = ServiceSettings(
        db_path=folder / "replica.db", corpus_dir=corpus_dir, max_file_bytes=max_file_bytes
    )
    service = await CorpusService.open(settings, shared=replica)
    try:
        yield service
    finally:
        await service.close()


def replica_of(service: CorpusService) -> CorpusReplica:
    assert isinstance(service.shared, CorpusReplica)
    return service.shared


async def listening(service: CorpusService) -> None:
    """Until the service's LISTEN connection is up (changes committed before it are pulled by
    the pull each connection starts with, so this only keeps tests from racing the start)."""
    await asyncio.wait_for(replica_of(service).listening.wait(), HANG_GUARD_SECONDS)


async def eventually(check: Callable[[], Awaitable[bool]]) -> None:
    """Until `check()` holds. Not a timing assertion: a bound after which a change that never
    arrives counts as a hang."""
    async with asyncio.timeout(HANG_GUARD_SECONDS):
        while True:
            if await check():
                return
            await asyncio.sleep(0.02)


async def caught_up(service: CorpusService, pool: asyncpg.Pool) -> bool:
    """Whether the service's replica applied every document change PostgreSQL committed (a
    pull applies a page at a time: one document arriving says nothing of the rest)."""
    newest = await pool.fetchval(
        "SELECT greatest((SELECT max(changed_seq) FROM documents), "
        "(SELECT max(removed_seq) FROM document_removals))"
    )
    return int(await service.store.meta(APPLIED_SEQ) or 0) >= (newest or 0)
