"""The core service as `storage: postgres` opens it, for tests that run on both backends."""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import AsyncIterator

from bot.corpus.service import CorpusService, ServiceSettings
from bot.corpus.store import CorpusStore
from bot.storage.postgres.pool import open_shared_pool
from bot.storage.postgres.replica import CorpusReplica


@contextlib.asynccontextmanager
async def replica_service(settings: ServiceSettings, dsn: str) -> AsyncIterator[CorpusService]:
    """A service whose index is a replica of the database at `dsn` (filled, then following it),
    after a first reload that published the folder there. On the way out, the database's corpus
    documents are compared with the replica's, id by id and hash by hash: whatever the test did
    (reloads of added, changed, removed or broken files), both must hold the same corpus."""
    pool = await open_shared_pool(dsn)
    try:

        def replica_of(store: CorpusStore) -> CorpusReplica:
            return CorpusReplica(store, pool, dsn)

        svc = await CorpusService.open(settings, shared=replica_of)
        try:
            await svc.reload()
            yield svc
            shared = [
                (row["id"], row["content_hash"])
                for row in await pool.fetch(
                    "SELECT id, content_hash FROM documents WHERE origin = 'corpus' "
                    'ORDER BY id COLLATE "C"'
                )
            ]
        finally:
            await svc.close()
        with contextlib.closing(
            sqlite3.connect(f"file:{settings.db_path}?mode=ro", uri=True)
        ) as replica:
            local = replica.execute(
                "SELECT id, content_hash FROM documents WHERE origin = 'corpus' ORDER BY id"
            ).fetchall()
        assert shared == local, "the shared database and the replica hold different corpora"
    finally:
        await pool.close()
