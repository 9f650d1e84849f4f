"""The composition root: what a front end runs on, for the configured storage.

Every front end that opens the index (the Discord launcher's `run`, `sync` and `sandbox`, the
command line's `ask`, `index` and `feeds`) opens it here, so that with `storage: postgres` each of
them works on the shared database rather than on a local file only: the corpus service's index
is this process's replica (pulled from PostgreSQL, published to it by a reload), and the feed's
state lives in PostgreSQL's tables. With `storage: sqlite` the index file is the whole state.

Front-end neutral: nothing here imports discord (what a bot needs of `Opened` is the launcher's).
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from bot.config import Config
from bot.corpus.errors import CorpusInvalid, Fault, StorageFault
from bot.corpus.service import CorpusService, ServiceSettings
from bot.storage.lease import AlwaysHeld, LoopLease, process_label

if TYPE_CHECKING:
    from bot.corpus.store import CorpusStore
    from bot.storage.meta import SharedFacts
    from bot.storage.sql import FeedDatabase

log = logging.getLogger(__name__)

FEED_LEASE = "feed"
"""The lease under which one process of those sharing a database runs the feed's loops."""

CorpusListener = Callable[[Any], Awaitable[None]]
"""Called after the replica pulled documents other processes changed (with the pull's report)."""


@dataclass(frozen=True, slots=True)
class Opened:
    """What a front end runs on: the service its answers come from, the feed's lease (held for
    good with sqlite; with postgres, contended for with the other processes) and where the feed
    keeps its state."""

    service: CorpusService
    feed_lease: LoopLease
    corpus_listeners: list[CorpusListener] = field(default_factory=list)
    """Told when a pull brought documents another process published (with postgres, the
    replica's own list); empty and never called with sqlite, where only this process writes."""
    feed_database: FeedDatabase | None = None
    """Where the feed keeps its state: None for the index's SQLite file (sqlite); the shared
    database's tables with postgres."""
    shared_facts: SharedFacts | None = None
    """Where facts every process must agree on live (the synced command tree's fingerprint):
    None for the index's own meta table (sqlite); the shared database's with postgres."""


@contextlib.asynccontextmanager
async def open_service(
    settings: ServiceSettings,
    config: Config | None = None,
    *,
    reload_at_start: bool = True,
    follow_changes: bool = True,
) -> AsyncIterator[Opened]:
    """The service, and the shared parts the configured storage needs.

    `storage: sqlite` (or no `config`): the index at `settings.db_path` is the whole state and
    the feed's loops are this process's (`AlwaysHeld`). `storage: postgres`: one pool on the
    shared database (migrated; out of reach, a `DatabaseFault` naming the server), the index is
    this process's replica of its documents (`Config.db_path`, data_dir/replica.db, filled by a
    first pull here) and the feed's loops run under the "feed" lease.

    `reload_at_start` (a bot): bring the index up to date with the corpus folder now, keeping the
    last good index when the folder has problems or cannot be read (see `reload_logged`). A
    command that reloads where it needs to (the CLI's `index`) passes False.
    `follow_changes`: the replica LISTENs for other processes' changes (a long-running bot); a
    short-lived command passes False and pulls when it needs to (`CorpusService.sync`), without
    a connection of its own for the listener.
    """
    if config is None or config.storage == "sqlite":
        service = await CorpusService.open(settings)
        try:
            if reload_at_start:
                await reload_logged(service)
            yield Opened(service, AlwaysHeld())
        finally:
            await service.close()
        return

    # asyncpg: imported only with postgres
    from bot.storage.postgres.lease import Lease
    from bot.storage.postgres.meta import PostgresFacts
    from bot.storage.postgres.pool import open_shared_pool
    from bot.storage.postgres.replica import CorpusReplica, ReplicaTiming
    from bot.storage.postgres.sql import PostgresFeedDatabase

    dsn = config.database_url
    assert dsn is not None  # load_config refuses storage: postgres without it
    timing = ReplicaTiming(listen=follow_changes)
    pool = await open_shared_pool(dsn)
    lease = Lease(dsn, FEED_LEASE, label=process_label())
    try:
        replicas: list[CorpusReplica] = []

        def replica_of(store: CorpusStore) -> CorpusReplica:
            # The index is this process's replica of the shared documents: its first pull fills
            # an empty one, then it follows NOTIFY corpus_changed (when asked to) and pulls
            # every 30 s; reload() publishes the corpus folder's changes to the shared database.
            replicas.append(CorpusReplica(store, pool, dsn, timing=timing))
            return replicas[-1]

        service = await CorpusService.open(settings, shared=replica_of)
        try:
            if reload_at_start:
                await reload_logged(service)  # with the replica: reloads, then publishes
            yield Opened(
                service,
                lease,
                corpus_listeners=replicas[0].listeners,
                feed_database=PostgresFeedDatabase(pool, dsn),
                shared_facts=PostgresFacts(pool, dsn),
            )
        finally:
            await service.close()
    finally:
        await lease.release()
        await pool.close()


async def reload_logged(service: CorpusService) -> None:
    """Bring the index up to date with the corpus folder, for a bot starting: a folder with
    problems, or one that cannot be read, is logged and the last good index is served (a
    running bot's /reload and the feed's poll pass retry it later). Only an index that cannot
    be used at all (damaged, locked, full) ends the start: its one line, exit 3."""
    try:
        report = await service.reload()
        log.info(
            "corpus loaded: %d added, %d changed, %d removed",
            report.added_count,
            report.changed_count,
            report.removed_count,
        )
    except CorpusInvalid as exc:
        log.error("the corpus has problems; serving the last good index:\n%s", exc)
    except StorageFault:
        raise
    except Fault as exc:  # e.g. the shared database refused the publish: its own line
        log.error("%s; serving the index as it is", exc.message)
    except Exception as exc:  # noqa: BLE001 - the index is still there to serve
        log.error(
            "the corpus folder could not be read (%s: %s); serving the last good index",
            type(exc).__name__,
            exc,
        )
        log.debug("why the corpus folder could not be read", exc_info=True)
