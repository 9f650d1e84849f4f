"""The feed as one object: detect (corpus folder and configured feeds), send, digest.

The Discord cog only schedules these calls and supplies the :class:`Deliverer`; everything that
decides what is announced, when and how often lives here, with ``now`` passed in by the caller
(an injected clock), so tests drive it at any time of day without sleeping.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime

import aiohttp

from bot.config import FeedConfig, FeedSourceConfig
from bot.corpus.errors import CorpusInvalid
from bot.corpus.service import CorpusService
from bot.feeds.announce import Announcer
from bot.feeds.corpus_source import CorpusDetection, detect_corpus_changes
from bot.feeds.delivery import Deliverer, OutboxSender, SendReport
from bot.feeds.poller import FeedPoller, PollReport
from bot.feeds.store import FeedStore

log = logging.getLogger(__name__)

SOURCE_CONCURRENCY = 4
"""Feeds polled at once (different hosts; each bounded by the fetch timeout)."""


class FeedEngine:
    def __init__(self, service: CorpusService, config: FeedConfig, deliverer: Deliverer) -> None:
        self.service = service
        self.config = config
        self.feeds = FeedStore(service.store)
        self.poller = FeedPoller(service.store, self.feeds, config)
        self.announcer = Announcer(service.store)
        self.sender = OutboxSender(
            self.feeds, self.announcer, deliverer, cap=config.max_announcements_per_cycle
        )
        self._corpus_lock = asyncio.Lock()

    def source_config(self, name: str) -> FeedSourceConfig | None:
        return next((source for source in self.config.sources if source.name == name), None)

    async def check_corpus(self, now: datetime, *, reload: bool) -> CorpusDetection:
        """Optionally re-read the corpus folder, then queue what is new to the seen-set.

        A corpus with problems keeps serving the last good index (the reload is refused) and
        detection still runs on what the index holds.
        """
        async with self._corpus_lock:
            if reload:
                try:
                    await self.service.reload()
                except CorpusInvalid as exc:
                    log.warning("feed: the corpus folder has problems; keeping the last good index:\n%s", exc)
            return await detect_corpus_changes(self.service.store, self.feeds, now)

    async def poll_sources(
        self,
        session: aiohttp.ClientSession,
        now: datetime,
        *,
        only: str | None = None,
        force: bool = False,
    ) -> list[PollReport]:
        """Poll every configured feed that is due (or just ``only``), a few at a time."""
        sources = [s for s in self.config.sources if only is None or s.name == only]
        limit = asyncio.Semaphore(SOURCE_CONCURRENCY)

        async def one(source: FeedSourceConfig) -> PollReport:
            async with limit:
                try:
                    return await self.poller.poll(session, source, now, force=force)
                except Exception as exc:  # noqa: BLE001 - e.g. a database error: this source only
                    log.exception("feed %s: the poll failed", source.name)
                    return PollReport(source.name, "error", error=f"internal error: {exc!r}")

        return list(await asyncio.gather(*(one(source) for source in sources)))

    async def send(self, now: datetime) -> SendReport:
        return await self.sender.send_pass(now)

    async def digest(self, now: datetime) -> int:
        return await self.sender.digest_pass(now)
