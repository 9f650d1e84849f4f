"""The feed as one object: detect (corpus folder and configured feeds), send, digest.

The Discord cog only schedules these calls and supplies the :class:`Deliverer`; everything that
decides what is announced, when and how often lives here, with ``now`` passed in by the caller
(an injected clock), so tests drive it at any time of day without sleeping.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence
from datetime import datetime

import aiohttp

from bot.config import FeedConfig, FeedSourceConfig
from bot.corpus.errors import CorpusInvalid
from bot.corpus.models import Problem
from bot.corpus.service import CorpusService
from bot.feeds.announce import Announcer
from bot.feeds.corpus_source import CorpusDetection, detect_corpus_changes, record_corpus_failure
from bot.feeds.delivery import Deliverer, OutboxSender, SendReport
from bot.feeds.poller import FeedPoller, PollReport
from bot.feeds.store import FeedStore
from bot.storage.sql import FeedDatabase, SqliteFeedDatabase

log = logging.getLogger(__name__)

FAILURE_CHARS = 500
"""Longest failure text stored for /feed status (which shows a prefix of it)."""

SOURCE_CONCURRENCY = 4
"""Feeds polled at once (different hosts; each bounded by the fetch timeout)."""


def problems_text(problems: Sequence[Problem]) -> str:
    """A corpus folder's problems in one line for ``/feed status``: how many, and the first."""
    count = f"{len(problems)} problem{'s' if len(problems) != 1 else ''}"
    first = str(problems[0])[:FAILURE_CHARS] if problems else ""
    return f"the corpus folder has {count}; the last good index is served. First: {first}"[
        :FAILURE_CHARS
    ]


class FeedEngine:
    def __init__(
        self,
        service: CorpusService,
        config: FeedConfig,
        deliverer: Deliverer,
        *,
        database: FeedDatabase | None = None,
    ) -> None:
        """``database``: where the feed's state lives (``storage: postgres``: the shared
        PostgreSQL database, given by the composition root); by default the corpus index's
        SQLite file, as before."""
        self.service = service
        self.config = config
        self.database = database or SqliteFeedDatabase(service.store)
        self.feeds = FeedStore(self.database)
        self.poller = FeedPoller(self.feeds, config)
        self.announcer = Announcer(service.store, self.database)
        self.sender = OutboxSender(
            self.feeds, self.announcer, deliverer, cap=config.max_announcements_per_cycle
        )
        self._corpus_lock = asyncio.Lock()
        self.sources: tuple[FeedSourceConfig, ...] = config.sources
        """The feeds polled: the config's until :class:`~bot.feeds.service.FeedService` loads
        the stored list (config sources plus those added by admins) and keeps it current."""
        self.added: frozenset[str] = frozenset()
        """Names of the sources an admin added (not the config): fetched through the guarded
        session when private addresses are not allowed."""

    def source_config(self, name: str) -> FeedSourceConfig | None:
        return next((source for source in self.sources if source.name == name), None)

    async def check_corpus(self, now: datetime, *, reload: bool) -> CorpusDetection:
        """Optionally re-read the corpus folder, then queue what is new to the seen-set.

        A corpus with problems keeps serving the last good index (the reload is refused) and
        detection still runs on what the index holds; without ``reload``, the problems of the
        last reload (the launcher's, /reload's) count. Either way the corpus source's state
        records the failure, so ``/feed status`` shows it. When detection itself fails, that is
        recorded too, and the error is raised (the poll pass goes on with the feeds).
        """
        async with self._corpus_lock:
            failure: str | None = None
            if reload:
                try:
                    await self.service.reload()
                except CorpusInvalid as exc:
                    log.warning(
                        "feed: the corpus folder has problems; keeping the last good index:\n%s",
                        exc,
                    )
                except Exception as exc:  # noqa: BLE001 - e.g. the disk: detection still runs on the index
                    log.exception(
                        "feed: re-reading the corpus folder failed; keeping the last good index"
                    )
                    failure = f"could not re-read the folder ({type(exc).__name__}: {exc})"[
                        :FAILURE_CHARS
                    ]
            if failure is None and self.service.corpus_problems:
                failure = problems_text(self.service.corpus_problems)
            try:
                return await detect_corpus_changes(self.feeds, now, failure=failure)
            except Exception as exc:
                with contextlib.suppress(Exception):  # the database may be what failed
                    await record_corpus_failure(
                        self.feeds, now, f"{type(exc).__name__}: {exc}"[:FAILURE_CHARS]
                    )
                raise

    async def poll_sources(
        self,
        session: aiohttp.ClientSession,
        now: datetime,
        *,
        only: str | None = None,
        force: bool = False,
        added_session: aiohttp.ClientSession | None = None,
    ) -> list[PollReport]:
        """Poll every followed feed that is due (or just ``only``), a few at a time.

        Sources an admin added are fetched with ``added_session`` when given (the guarded one:
        a URL typed in Discord is checked at every poll, not only when added, since its DNS may
        change); ``session`` serves the config's sources, and every source when the caller
        passes no ``added_session`` because the config allows private addresses."""
        sources = [s for s in self.sources if only is None or s.name == only]
        limit = asyncio.Semaphore(SOURCE_CONCURRENCY)

        async def one(source: FeedSourceConfig) -> PollReport:
            chosen = session
            if added_session is not None and source.name in self.added:
                chosen = added_session
            async with limit:
                try:
                    return await self.poller.poll(chosen, source, now, force=force)
                except Exception as exc:  # noqa: BLE001 - e.g. a database error: this source only
                    log.exception("feed %s: the poll failed", source.name)
                    return PollReport(source.name, "error", error=f"internal error: {exc!r}")

        return list(await asyncio.gather(*(one(source) for source in sources)))

    async def send(self, now: datetime) -> SendReport:
        return await self.sender.send_pass(now)

    async def digest(self, now: datetime) -> int:
        return await self.sender.digest_pass(now)
