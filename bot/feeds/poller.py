"""Poll one feed source: fetch, parse in a thread, diff against the seen-set, queue, in ONE commit.

Why one transaction: if the bot dies after detecting an item but before queueing its
announcements, the item must not count as seen (or it would never be announced); if it dies
after queueing, the announcements must survive. So the new documents, the seen rows, the outbox
rows and the source's new validators are committed together or not at all.

A source's first successful fetch only records what is there (its *baseline*): nothing old is
announced. After that, every item whose key is not in the seen-set is new, whatever its date, so
items published while the bot was down are announced when it comes back.

Every fault (network, HTTP, a body that is not a feed, a crash inside the parser, a database
error while storing) costs the source one attempt, recorded with the exponential back-off of
:mod:`bot.feeds.backoff`; it never raises out of :meth:`FeedPoller.poll` and never touches
other sources.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Literal

import aiohttp

from bot.config import FeedConfig, FeedSourceConfig
from bot.corpus.models import Document
from bot.feeds.backoff import SourceHealth, on_failure, on_success
from bot.feeds.entries import document_categories, feed_origin, item_document
from bot.feeds.fetch import FetchResult, fetch_feed
from bot.feeds.filters import entry_facts
from bot.feeds.models import EntryFacts, SourceState
from bot.feeds.parse import FeedParseError, ParsedFeed, parse_feed
from bot.feeds.store import FeedStore

log = logging.getLogger(__name__)

PollOutcome = Literal["baseline", "new", "unchanged", "not_modified", "error", "not_due"]


@dataclass(frozen=True, slots=True)
class PollReport:
    """What one poll of one source did."""

    source: str
    outcome: PollOutcome
    new_entries: tuple[str, ...] = ()
    changed_entries: tuple[str, ...] = ()
    queued: int = 0
    """Outbox rows written (one per wanting subscription and new entry)."""
    error: str | None = None
    warnings: tuple[str, ...] = ()


def _health(state: SourceState) -> SourceHealth:
    return SourceHealth(
        error_streak=state.error_streak,
        last_error=state.last_error,
        last_success_at=state.last_success_at,
        next_attempt_at=state.next_attempt_at,
        paused=state.failing,
    )


def _with_health(state: SourceState, health: SourceHealth) -> SourceState:
    return replace(
        state,
        error_streak=health.error_streak,
        last_error=health.last_error,
        last_success_at=health.last_success_at,
        next_attempt_at=health.next_attempt_at,
        failing=health.paused,
    )


class FeedPoller:
    def __init__(self, feeds: FeedStore, config: FeedConfig) -> None:
        self.feeds = feeds
        self.config = config

    def is_due(self, state: SourceState, now: datetime) -> bool:
        return state.next_attempt_at is None or state.next_attempt_at <= now

    async def poll(
        self,
        session: aiohttp.ClientSession,
        source: FeedSourceConfig,
        now: datetime,
        *,
        force: bool = False,
    ) -> PollReport:
        """Poll ``source`` once if it is due (or ``force``); never raises.

        Feed trouble is handled where it happens; anything else (a database error, a bug) is
        caught here and, when the database still answers, recorded as a failed attempt with its
        back-off, so ``/feed status`` shows the source failing instead of its last good fetch.
        """
        try:
            return await self._poll(session, source, now, force=force)
        except Exception as exc:  # noqa: BLE001 - one source's failure never stops the pass
            log.exception("feed %s: the poll failed", source.name)
            error = f"internal error: {type(exc).__name__}: {exc}"[:500]
            try:
                state = await self.feeds.source_state(source.name)
                return await self._failed(replace(state, last_fetch_at=now), error, now, None)
            except Exception:  # noqa: BLE001 - the database itself failed: nothing to record in
                log.warning("feed %s: the failure could not be recorded", source.name)
                return PollReport(source.name, "error", error=error)

    async def _poll(
        self,
        session: aiohttp.ClientSession,
        source: FeedSourceConfig,
        now: datetime,
        *,
        force: bool,
    ) -> PollReport:
        state = await self.feeds.source_state(source.name)
        if not force and not self.is_due(state, now):
            return PollReport(source.name, "not_due")
        if state.url != source.url:
            # Validators belong to a URL: a source whose URL changed in config starts fresh.
            state = replace(state, url=source.url, etag=None, last_modified=None)
        state = replace(state, last_fetch_at=now)
        result = await fetch_feed(
            session,
            source.url,
            etag=state.etag,
            last_modified=state.last_modified,
            user_agent=self.config.user_agent,
            timeout=self.config.timeout_seconds,
            max_bytes=self.config.max_bytes,
        )
        if result.outcome == "error":
            return await self._failed(
                state, result.error or "unknown error", now, result.retry_after
            )
        if result.outcome == "not_modified":
            state = _with_health(state, on_success(_health(state), now))
            await self.feeds.save_source_state(
                replace(state, etag=result.etag, last_modified=result.last_modified)
            )
            return PollReport(source.name, "not_modified")
        try:
            parsed = await asyncio.to_thread(
                parse_feed,
                result.body or b"",
                source_url=result.final_url or source.url,
                content_type=result.content_type,
            )
        except FeedParseError as exc:
            return await self._failed(state, str(exc), now, None)
        except Exception as exc:  # noqa: BLE001 - a parser bug must cost one attempt, not the loop
            log.exception("feed %s: the parser crashed", source.name)
            return await self._failed(
                state, f"the parser crashed: {type(exc).__name__}: {exc}", now, None
            )
        if not parsed.items and parsed.warnings:
            # Salvaged from broken markup with nothing usable left: a failure, not an empty feed.
            return await self._failed(state, "not a feed: " + "; ".join(parsed.warnings), now, None)
        return await self._store(source, state, result, parsed, now)

    async def _failed(
        self, state: SourceState, error: str, now: datetime, retry_after: float | None
    ) -> PollReport:
        health = on_failure(
            _health(state),
            error,
            now,
            base=self.config.backoff_base_seconds,
            cap=self.config.backoff_max_seconds,
            pause_after=self.config.pause_after_failures,
            min_delay=retry_after or 0.0,
        )
        await self.feeds.save_source_state(_with_health(state, health))
        log.warning("feed %s: %s (failure %d in a row)", state.name, error, health.error_streak)
        return PollReport(state.name, "error", error=error)

    async def _store(
        self,
        source: FeedSourceConfig,
        state: SourceState,
        result: FetchResult,
        parsed: ParsedFeed,
        now: datetime,
    ) -> PollReport:
        publisher = parsed.title or source.name
        documents = {
            item.key: item_document(source.name, item, publisher=publisher) for item in parsed.items
        }
        origin = feed_origin(source.name)
        warnings = list(parsed.warnings)
        baseline = state.baseline_at is None
        legacy = {
            item.key: (item.legacy_key, item.content_hash)
            for item in parsed.items
            if item.legacy_key
        }
        async with self.feeds.db.transaction() as writer:
            seen = await self.feeds.seen(writer, source.name, list(documents), legacy=legacy)
            # An item keeps the entry id its seen row holds (a row found under an older key scheme
            # has an id made from that older key): ids never change, so its posts stay its own.
            documents = {
                key: replace(doc, id=seen[key][0]) if key in seen else doc
                for key, doc in documents.items()
            }
            fresh = [doc for key, doc in documents.items() if key not in seen]
            changed = [
                doc
                for key, doc in documents.items()
                if key in seen and seen[key][1] != doc.content_hash
            ]
            clashes = await self.feeds.document_origins(writer, [doc.id for doc in fresh])
            for doc in [d for d in fresh if clashes.get(d.id, origin) != origin]:
                warnings.append(f"item id {doc.id!r} is already used by another document; skipped")
            fresh = [doc for doc in fresh if clashes.get(doc.id, origin) == origin]
            refused = {
                doc.id: why for doc in [*fresh, *changed] if (why := self.feeds.db.refusal(doc))
            }
            for doc_id, why in refused.items():
                warnings.append(f"item id {doc_id!r} cannot be stored ({why}); skipped")
            fresh = _oldest_first([doc for doc in fresh if doc.id not in refused])
            changed = [doc for doc in changed if doc.id not in refused]
            if fresh or changed:
                await self.feeds.db.replace_documents(writer, [*fresh, *changed])
                await self.feeds.mark_seen(
                    writer,
                    source.name,
                    [
                        (str(doc.annotations["feed_key"]), doc.id, doc.content_hash)
                        for doc in [*fresh, *changed]
                    ],
                    now,
                )
            queued = 0
            if not baseline:
                facts = await asyncio.to_thread(
                    lambda: [_facts(source.name, doc) for doc in fresh]
                )  # CPU: off the loop
                queued = await self.feeds.queue_entries(writer, facts, now)
                await self.feeds.flag_edits(writer, [doc.id for doc in changed])
            health = on_success(_health(state), now)
            await self.feeds.write_source_state(
                writer,
                replace(
                    _with_health(state, health),
                    etag=result.etag,
                    last_modified=result.last_modified,
                    baseline_at=state.baseline_at or now,
                    last_new_item_at=now if fresh and not baseline else state.last_new_item_at,
                    warnings=tuple(warnings),
                ),
            )
        for warning in warnings:
            log.info("feed %s: %s", source.name, warning)
        outcome: PollOutcome = "baseline" if baseline else ("new" if fresh else "unchanged")
        return PollReport(
            source.name,
            outcome,
            new_entries=tuple(doc.id for doc in fresh),
            changed_entries=tuple(doc.id for doc in changed),
            queued=queued,
            warnings=tuple(warnings),
        )


def _oldest_first(documents: list[Document]) -> list[Document]:
    """Queue order, so the sender's "oldest first" is publication order: by date when every item
    has one, else the reverse of the feed's order (feeds list the newest first)."""
    ordered = list(reversed(documents))
    dates = [doc.annotations.get("published_at") for doc in ordered]
    if all(isinstance(value, str) for value in dates):
        ordered.sort(key=lambda doc: str(doc.annotations["published_at"]))
    return ordered


def _facts(source: str, doc: Document) -> EntryFacts:
    return entry_facts(
        doc.id,
        source,
        doc.title or "",
        [a.name for a in doc.authors],
        doc.body,
        document_categories(doc.annotations),
    )
