"""The feed's one facade: what a front end (the Discord cog and its loops) asks of the feed.

As :class:`bot.corpus.service.CorpusService` is for the answers, :class:`FeedService` is the only
object the Discord layer calls for the feed: subscriptions and their health, status, preview,
retry and resume, the poll, send and digest passes, and pause reports. It owns the engine, the
HTTP session feeds are fetched with, the poll lock and the clock (injectable: tests set a fixed
time of day), so the cog only parses options, calls one method and renders what comes back.
Who may do what in Discord (permissions, roles) stays in the Discord layer: where a decision
needs it, the caller passes a predicate. Never imports discord.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Awaitable, Callable, Collection
from dataclasses import dataclass, field
from datetime import UTC, datetime

import aiohttp
from yarl import URL

from bot.config import RESERVED_SOURCE_NAMES, SOURCE_NAME_PATTERN, FeedConfig, FeedSourceConfig
from bot.corpus.errors import AnswerError
from bot.corpus.models import Candidate
from bot.corpus.service import CorpusService
from bot.feeds.addresses import guarded_session
from bot.feeds.announce import Announcement, source_of
from bot.feeds.corpus_source import CorpusDetection
from bot.feeds.delivery import Deliverer, SendReport
from bot.feeds.digest import parse_digest_time
from bot.feeds.discovery import Discovery, discover_feeds
from bot.feeds.engine import FeedEngine
from bot.feeds.entries import document_categories
from bot.feeds.filters import (
    MAX_CONDITIONS,
    Drop,
    condition_problem,
    effective_conditions,
    entry_facts,
    why_dropped,
)
from bot.feeds.models import (
    CORPUS_SOURCE,
    Condition,
    Destination,
    FilterChange,
    FollowedSource,
    MatchMode,
    MessageFormat,
    Mode,
    SourceState,
    Subscription,
    SubscriptionHealth,
)
from bot.feeds.opml import OpmlFeed, export_opml, read_opml
from bot.feeds.poller import PollReport
from bot.feeds.store import FeedStore
from bot.storage.sql import FeedDatabase
from bot.text_safety import web_url

log = logging.getLogger(__name__)

DEFAULT_DIGEST_MINUTE = 9 * 60
"""A daily digest with no time given is sent at 09:00 UTC."""


def utc_now() -> datetime:
    return datetime.now(UTC)


class Refused(Exception):
    """A request the feed turns down, with a message for the person who made it.

    ``template`` may hold ``{value}``, the user's text the message is about: it is kept apart
    so the front end escapes it for its own medium (Discord Markdown, a terminal) through
    :meth:`text`, instead of the core guessing how."""

    def __init__(self, template: str, value: str = "") -> None:
        super().__init__(template.format(value=value))
        self.template = template
        self.value = value

    def text(self, quote: Callable[[str], str]) -> str:
        """The message with the user's text passed through ``quote`` (format does not
        interpret what it substitutes, so the text cannot add placeholders)."""
        return self.template.format(value=quote(self.value))


class SubscriptionRefused(Refused):
    """A subscription's options do not make sense together."""


class SourceRefused(Refused):
    """A source cannot be added or removed: a bad or taken name, a URL already followed, a
    config source (the config owns it), or no such source."""


class AlreadyFollowed(SourceRefused):
    """The URL is already followed (`value` names the source): an OPML import skips it."""


MAX_SOURCE_URL = 2048
"""Longest feed URL followed (what Discord shows as a link)."""
MAX_DERIVED_NAME = 32
"""A derived source name fits ``SOURCE_NAME_PATTERN`` (at most 32 characters)."""


def derive_source_name(title: str | None, url: str, taken: Collection[str]) -> str:
    """A short unique source name from a feed's title, else its host: ``[a-z0-9-]{1,32}``, not
    reserved, not in ``taken`` (``-2``, ``-3``, … appended when it is)."""
    host = (URL(url).host or "") if url else ""
    host = host.removeprefix("www.")
    site = host if not host or host[-1].isdigit() or ":" in host else host.rsplit(".", 1)[0]
    for raw in (title or "", site, "feed"):
        base = re.sub(r"[^a-z0-9]+", "-", raw.lower()).strip("-")[:MAX_DERIVED_NAME].strip("-")
        if base:
            break
    candidate, counter = base, 1
    while candidate in taken or candidate in RESERVED_SOURCE_NAMES:
        counter += 1
        suffix = f"-{counter}"
        candidate = base[: MAX_DERIVED_NAME - len(suffix)].rstrip("-") + suffix
    return candidate


@dataclass(frozen=True, slots=True)
class Schedule:
    """When a subscription announces: at once, or once a day at ``digest_minute`` (UTC)."""

    mode: Mode
    digest_minute: int | None


@dataclass(frozen=True, slots=True)
class FeedStatus:
    """What ``/feed status`` shows: each source's state, the outbox by status, and the last
    reason Discord refused an announcement (only looked up when some were refused)."""

    states: dict[str, SourceState]
    outbox: dict[str, int]
    refused: str | None
    now: datetime
    sources: tuple[FollowedSource, ...] = ()
    """The feeds followed (the config's and those added), in the order shown."""


@dataclass(frozen=True, slots=True)
class RecentEntry:
    """A recent entry as a subscription's filters see it: ``drop`` None when it would be
    announced, else why not."""

    entry_id: str
    title: str
    drop: Drop | None


@dataclass(frozen=True, slots=True)
class Preview:
    announcement: Announcement
    subscription: Subscription | None
    """The channel's subscription, if any (its role is named in the preview's note)."""
    recent: tuple[RecentEntry, ...] = ()
    """The newest entries with what the subscription's filters decide (none without one)."""
    next_pending: bool = False
    """The announcement is the subscription's next waiting one, not an example."""


PREVIEW_RECENT = 10
"""Recent entries `/feed preview` runs a subscription's filters over."""


@dataclass(frozen=True, slots=True)
class SourceCheck:
    """A source checked now: the corpus folder's detection, a feed's poll, or neither when
    ``name`` is no source (or the feed cannot be fetched: no session)."""

    name: str
    corpus: CorpusDetection | None = None
    poll: PollReport | None = None


@dataclass(frozen=True, slots=True)
class SourceInfo:
    """A followed feed with its health (its fetch state, as ``/feed status`` shows it)."""

    source: FollowedSource
    state: SourceState


@dataclass(frozen=True, slots=True)
class AddedSource:
    """A source just added, and its first poll (the silent baseline, or why it failed)."""

    source: FollowedSource
    poll: PollReport | None


@dataclass
class ImportReport:
    """What an OPML import did with each feed of the file, in file order within each list."""

    added: list[tuple[OpmlFeed, str]] = field(default_factory=list)
    """Each feed added, with the name it is followed by."""
    skipped: list[tuple[OpmlFeed, str]] = field(default_factory=list)
    """Each feed already followed, with the name it is followed by."""
    refused: list[tuple[OpmlFeed, SourceRefused]] = field(default_factory=list)
    not_read: int = 0
    """Feeds past the file's cap, not read."""


@dataclass(frozen=True, slots=True)
class ResumeReport:
    """What a resume did: the subscriptions resumed (with their health before), the one named
    by channel when it was not paused, how many paused ones the caller may not manage (left
    alone), and whether the channel named had no subscription at all."""

    resumed: list[SubscriptionHealth]
    not_paused: list[Subscription]
    not_yours: int
    no_subscription: bool = False


class FeedService:
    """The feed for a front end. ``open`` before the passes poll feeds; ``close`` at the end."""

    def __init__(
        self,
        corpus: CorpusService,
        config: FeedConfig,
        deliverer: Deliverer,
        *,
        clock: Callable[[], datetime] = utc_now,
        database: FeedDatabase | None = None,
    ) -> None:
        """``database``: where the feed's state lives, for ``storage: postgres`` (the composition
        root opens it); by default the corpus index's SQLite file."""
        self.corpus = corpus
        self.config = config
        self.clock = clock
        self.engine = FeedEngine(corpus, config, deliverer, database=database)
        self.session: aiohttp.ClientSession | None = None
        self.guarded: aiohttp.ClientSession | None = None
        """The session for URLs an admin typed (discovery, added sources): only global
        addresses. None when the config allows private addresses (``session`` serves all)."""
        self._poll_lock = asyncio.Lock()
        self._loaded = False

    @property
    def store(self) -> FeedStore:
        """The feed's tables (tests and benchmarks seed and inspect them here)."""
        return self.engine.feeds

    async def open(self) -> None:
        """Open the HTTP sessions feeds are fetched with (no request is made yet) and load the
        followed sources (the config's seeded first)."""
        if self.session is None:
            self.session = aiohttp.ClientSession()
        if self.guarded is None and not self.config.allow_private_addresses:
            self.guarded = guarded_session()
        try:
            await self.load_sources()
        except Exception:
            # The stored list cannot be read (a storage fault): the config's sources still run.
            log.exception("feed: the followed sources could not be loaded; polling the config's")

    async def close(self) -> None:
        for session in (self.session, self.guarded):
            if session is not None:
                await session.close()
        self.session = self.guarded = None

    @property
    def _added_session(self) -> aiohttp.ClientSession | None:
        """The session added sources are fetched with: the guarded one unless allowed."""
        if self.config.allow_private_addresses:
            return self.session
        return self.guarded

    # --- options ------------------------------------------------------------------------------

    def source_names(self) -> list[str]:
        """The corpus folder, then every followed feed, as ``source`` options name them."""
        return [CORPUS_SOURCE, *(source.name for source in self.engine.sources)]

    def has_source(self, name: str) -> bool:
        return name in self.source_names()

    def subscription_options(
        self, mode: str | None, digest_time: str | None, source: str | None
    ) -> Schedule:
        """Check a subscription's options before anything is written, and its schedule: a
        digest time alone means a digest. Raises :class:`SubscriptionRefused` for a time that is
        not HH:MM, one given for instant announcements, or a source that is not configured."""
        chosen = mode or ("digest" if digest_time else "instant")
        if chosen == "digest":
            minute = parse_digest_time(digest_time) if digest_time else DEFAULT_DIGEST_MINUTE
            if minute is None:
                raise SubscriptionRefused(
                    "“{value}” is not a time; use HH:MM in UTC, e.g. 09:00.", digest_time or ""
                )
            schedule = Schedule("digest", minute)
        elif digest_time:
            raise SubscriptionRefused("digest_time only applies to mode: daily digest.")
        else:
            schedule = Schedule("instant", None)
        if source is not None and not self.has_source(source):
            raise SubscriptionRefused(
                "There is no source “{value}”; `/feed status` lists them.", source
            )
        return schedule

    async def post_choices(self, current: str) -> list[Candidate]:
        return await self.corpus.post_choices(current)

    # --- subscriptions ------------------------------------------------------------------------

    async def subscribe(
        self,
        *,
        guild_id: int,
        channel_id: int,
        source: str | None,
        author: str | None,
        keyword: str | None,
        mention_role_id: int | None,
        schedule: Schedule,
        created_by: int,
    ) -> tuple[Subscription, bool]:
        """Subscribe a channel (or change its subscription): the subscription, and whether it is
        new. ``schedule`` comes from :meth:`subscription_options`, which checked the options."""
        return await self.engine.feeds.subscribe(
            guild_id=guild_id,
            channel_id=channel_id,
            source=source,
            author=author,
            keyword=keyword,
            mention_role_id=mention_role_id,
            mode=schedule.mode,
            digest_minute=schedule.digest_minute,
            created_by=created_by,
            now=self.clock(),
        )

    async def set_destination(
        self,
        sub_id: int,
        *,
        destination: Destination,
        forum_tag_ids: tuple[int, ...] = (),
        publish: bool = False,
        discussion_thread: bool = False,
    ) -> Subscription:
        """Where and how a subscription announces (a forum's tags, publishing, a discussion
        thread), as /subscribe chose it for its channel."""
        return await self.engine.feeds.set_destination(
            sub_id,
            destination=destination,
            forum_tag_ids=forum_tag_ids,
            publish=publish,
            discussion_thread=discussion_thread,
        )

    async def unsubscribe(self, guild_id: int, channel_id: int) -> Subscription | None:
        """Drop the channel's subscription (and what waits in its outbox); None when that
        channel has none in this guild (another guild's channel id is refused the same way)."""
        existing = await self.engine.feeds.subscription_for_channel(channel_id)
        if existing is None or existing.guild_id != guild_id:
            return None
        await self.engine.feeds.unsubscribe(existing.channel_id)
        return existing

    # --- filters and format ---------------------------------------------------------------

    async def _channel_subscription(self, guild_id: int, channel_id: int) -> Subscription:
        existing = await self.engine.feeds.subscription_for_channel(channel_id)
        if existing is None or existing.guild_id != guild_id:
            raise SubscriptionRefused(
                f"<#{channel_id}> has no feed subscription; run `/subscribe` there first."
            )
        return existing

    async def _change(
        self, guild_id: int, channel_id: int, change: Callable[[Subscription], FilterChange]
    ) -> Subscription:
        sub = await self._channel_subscription(guild_id, channel_id)
        changed = await self.engine.feeds.change_filters(sub.id, change)
        if changed is None:  # unsubscribed meanwhile
            raise SubscriptionRefused(f"<#{channel_id}> has no feed subscription any more.")
        return changed

    async def add_condition(
        self, guild_id: int, channel_id: int, condition: Condition
    ) -> Subscription:
        """Add a filter condition to the channel's subscription. Raises
        :class:`SubscriptionRefused` naming the option at fault (a regex RE2 refuses: RE2's
        message) or when the subscription has ``MAX_CONDITIONS`` already."""
        problem = condition_problem(condition)
        if problem is not None:
            option, message, detail = problem
            raise SubscriptionRefused(f"`{option}:` {message}", detail)

        def add(sub: Subscription) -> FilterChange:
            if len(sub.conditions) >= MAX_CONDITIONS:
                raise SubscriptionRefused(
                    f"<#{sub.channel_id}> already has {MAX_CONDITIONS} conditions; "
                    "`/feed filter remove` one first."
                )
            return FilterChange(conditions=(*sub.conditions, condition))

        return await self._change(guild_id, channel_id, add)

    async def remove_condition(
        self, guild_id: int, channel_id: int, number: int
    ) -> tuple[Subscription, Condition]:
        """Remove condition ``number`` (as `/feed filter list` numbers them: ``author`` and
        ``keyword`` first). Raises :class:`SubscriptionRefused` for a number it does not have."""
        removed: list[Condition] = []

        def remove(sub: Subscription) -> FilterChange:
            conditions = effective_conditions(sub)
            if not 1 <= number <= len(conditions):
                raise SubscriptionRefused(
                    f"`number:` <#{sub.channel_id}> has "
                    + (f"conditions 1-{len(conditions)}" if conditions else "no conditions")
                    + "; `/feed filter list` shows them."
                )
            removed.append(conditions[number - 1])
            legacy = len(conditions) - len(sub.conditions)
            if number <= legacy:
                is_author = number == 1 and sub.author is not None
                return FilterChange(clear_author=is_author, clear_keyword=not is_author)
            kept = list(sub.conditions)
            del kept[number - legacy - 1]
            return FilterChange(conditions=tuple(kept))

        changed = await self._change(guild_id, channel_id, remove)
        return changed, removed[0]

    async def set_filter_options(
        self,
        guild_id: int,
        channel_id: int,
        *,
        match_mode: MatchMode | None = None,
        message_format: MessageFormat | None = None,
    ) -> Subscription:
        """Set how the conditions combine and/or the announcements' format."""
        return await self._change(
            guild_id,
            channel_id,
            lambda _sub: FilterChange(match_mode=match_mode, message_format=message_format),
        )

    async def channel_subscription(self, guild_id: int, channel_id: int) -> Subscription:
        """The channel's subscription; :class:`SubscriptionRefused` when it has none."""
        return await self._channel_subscription(guild_id, channel_id)

    async def subscriptions(self, guild_id: int) -> list[SubscriptionHealth]:
        """The guild's subscriptions, each with its health (paused and why, last announcement)."""
        return await self.engine.feeds.guild_subscriptions(guild_id)

    async def resume(
        self, guild_id: int, channel_id: int | None, may_manage: Callable[[int], bool]
    ) -> ResumeReport:
        """Resume ``channel_id``'s subscription, or (None) every paused one in a channel
        ``may_manage`` allows; the others are counted, not touched. A subscription whose
        announcements Discord refused (set aside without pausing) is resumed too: those are
        tried again."""
        healths = await self.engine.feeds.guild_subscriptions(guild_id)
        chosen = [
            h for h in healths if channel_id is None or h.subscription.channel_id == channel_id
        ]
        if channel_id is not None and not chosen:
            return ResumeReport([], [], 0, no_subscription=True)
        resumed: list[SubscriptionHealth] = []
        not_paused: list[Subscription] = []
        not_yours = 0
        for health in chosen:
            sub = health.subscription
            if not sub.paused and sub.retry_at is None and not health.rejected:
                if channel_id is not None:  # named and fine: said so; unnamed ones are not listed
                    not_paused.append(sub)
                continue
            if channel_id is None and not may_manage(sub.channel_id):
                not_yours += 1
                continue
            await self.engine.feeds.resume(sub.id)
            resumed.append(health)
        return ResumeReport(resumed, not_paused, not_yours)

    # --- sources ------------------------------------------------------------------------------

    async def load_sources(self) -> list[FollowedSource]:
        """Seed the config's sources into the stored list and poll what it holds from now on."""
        seeds = [(source.name, source.url) for source in self.config.sources]
        followed = await self.store.seed_config_sources(seeds, self.clock())
        self._follow(followed)
        self._loaded = True
        return followed

    async def _refresh_sources(self) -> None:
        """Poll what the index lists now: the CLI (another process) may have added or removed
        a source since the last pass. Not before :meth:`load_sources` seeded the config's."""
        if self._loaded:
            self._follow(await self.store.followed_sources())

    def _follow(self, followed: list[FollowedSource]) -> None:
        self.engine.sources = tuple(FeedSourceConfig(f.name, f.url) for f in followed)
        self.engine.added = frozenset(f.name for f in followed if f.origin == "added")

    async def sources(self) -> list[SourceInfo]:
        """Every followed feed (config ones first) with its health."""
        followed = await self.store.followed_sources()
        states = await self.store.source_states()
        return [SourceInfo(f, states.get(f.name) or SourceState(name=f.name)) for f in followed]

    async def discover(self, url: str) -> Discovery:
        """The feeds ``url`` leads to, fetched as an added source would be (guarded unless the
        config allows private addresses). Needs :meth:`open`."""
        session = self._added_session
        if session is None:
            raise RuntimeError("FeedService.open() was not called")
        return await discover_feeds(
            session,
            url.strip(),
            user_agent=self.config.user_agent,
            timeout=self.config.timeout_seconds,
            max_bytes=self.config.max_bytes,
        )

    async def add_source(
        self, url: str, *, name: str | None = None, title: str | None = None, added_by: str | None
    ) -> AddedSource:
        """Follow the feed at ``url`` (a candidate :meth:`discover` returned) under ``name``, or
        a name derived from ``title`` or the URL's host; then poll it once: its first fetch is
        the silent baseline (nothing old is announced). Raises :class:`SourceRefused`."""
        added = await self._register(url, name=name, title=title, added_by=added_by)
        check = await self.check_source(added.name)
        return AddedSource(added, check.poll)

    async def _register(
        self, url: str, *, name: str | None, title: str | None, added_by: str | None
    ) -> FollowedSource:
        """Store a source an admin added (checked: its name, and its URL not followed yet) and
        poll it from the next pass. Raises :class:`SourceRefused`."""
        cleaned = web_url(url, MAX_SOURCE_URL)  # what is stored: the form Discord may show
        if cleaned is None:
            raise SourceRefused("“{value}” is not an http(s) URL a feed can be fetched from.", url)
        url = cleaned
        followed = await self.store.followed_sources()
        owner = next((f.name for f in followed if f.url == url), None)
        if owner is not None:
            raise AlreadyFollowed("That feed is already followed as “{value}”.", owner)
        if name is None:
            name = derive_source_name(title, url, {f.name for f in followed})
        elif not SOURCE_NAME_PATTERN.fullmatch(name):
            raise SourceRefused(
                "“{value}” is not a source name: use at most 32 lowercase letters, digits and '-'.",
                name,
            )
        elif name in RESERVED_SOURCE_NAMES:
            raise SourceRefused("“{value}” is the corpus folder's own name; choose another.", name)
        if not await self.store.add_source(name, url, added_by, self.clock()):
            raise SourceRefused("A source is already named “{value}”; choose another name.", name)
        followed = await self.store.followed_sources()
        self._follow(followed)
        return next(f for f in followed if f.name == name)

    async def import_opml(self, data: bytes, *, added_by: str | None) -> ImportReport:
        """Follow every feed an OPML file lists: each added (named from its title), skipped
        (its URL is already followed) or refused (why). Nothing is fetched now: each feed's first
        poll, guarded like any added source, is its silent baseline. Raises :class:`OpmlError`
        when the file cannot be read at all."""
        feeds, more = await asyncio.to_thread(read_opml, data)  # up to 1 MB of XML: off the loop
        report = ImportReport(not_read=more)
        for feed in feeds:
            try:
                added = await self._register(
                    feed.url, name=None, title=feed.title, added_by=added_by
                )
            except AlreadyFollowed as followed:
                report.skipped.append((feed, followed.value))
                continue
            except SourceRefused as refused:
                report.refused.append((feed, refused))
                continue
            report.added.append((feed, added.name))
        return report

    async def export_opml(self) -> bytes:
        """Every followed feed as an OPML file."""
        return export_opml(await self.store.followed_sources(), self.clock())

    async def remove_source(self, name: str) -> FollowedSource:
        """Stop following a feed an admin added (its fetch state and seen-set go; subscriptions
        naming it stay, quiet). A config source is refused: the config would bring it back at
        the next start, so it is removed from ``feed.sources`` instead. Raises
        :class:`SourceRefused`."""
        if name == CORPUS_SOURCE:
            raise SourceRefused(
                "“{value}” is the corpus folder, not a feed; it cannot be removed.", name
            )
        followed = {f.name: f for f in await self.store.followed_sources()}
        source = followed.get(name)
        if source is None:
            raise SourceRefused("There is no source “{value}”; `/feed sources` lists them.", name)
        if source.origin == "config":
            raise SourceRefused(
                "“{value}” is listed in the config's feed.sources: remove it there and restart "
                "(removed here, the next start would add it again).",
                name,
            )
        async with self._poll_lock:  # not while a poll of it may still write its state
            await self.store.remove_source(name)
            self._follow(await self.store.followed_sources())
        return source

    # --- status, preview, retry ---------------------------------------------------------------

    async def status(self) -> FeedStatus:
        states = await self.engine.feeds.source_states()
        counts = await self.engine.feeds.outbox_counts()
        refused = await self.engine.feeds.latest_refusal() if counts.get("rejected") else None
        followed = tuple(await self.engine.feeds.followed_sources())
        return FeedStatus(states, counts, refused, self.clock(), followed)

    async def preview(self, post: str | None, channel_id: int) -> Preview:
        """How ``post`` is announced in ``channel_id``; without one, the subscription's next
        waiting announcement, else the newest entry its filters want, else the newest entry.
        With a subscription, also what its filters decide about the newest entries. Raises
        :class:`AnswerError` when there is no such entry."""
        subscription = await self.engine.feeds.subscription_for_channel(channel_id)
        recent: tuple[RecentEntry, ...] = ()
        if subscription is not None:
            recent = await self._recent_entries(subscription)
        entry_id: str | None = None
        pending = False
        if post:
            entry_id = (await self.corpus.resolve_ref(post)).id
        elif subscription is not None:
            waiting = await self.engine.feeds.pending_rows(subscription.id)
            if waiting:
                entry_id, pending = waiting[0].entry_id, True
            else:
                entry_id = next((e.entry_id for e in recent if e.drop is None), None)
        if entry_id is None:
            newest = await self.corpus.store.fetch_refs("1", limit=1)
            if not newest:
                raise AnswerError("not_found", "The index holds no entries yet.")
            entry_id = newest[0].id
        announcement = await self.engine.announcer.announcement(entry_id)
        if announcement is None:
            raise AnswerError("not_found", "That entry was just removed.")
        return Preview(announcement, subscription, recent, pending)

    async def _recent_entries(self, subscription: Subscription) -> tuple[RecentEntry, ...]:
        """The ``PREVIEW_RECENT`` newest entries and the subscription's verdict on each (folding
        and matching their text runs in a worker thread)."""
        store = self.corpus.store
        refs = await store.fetch_refs("1", limit=PREVIEW_RECENT)
        docs = [doc for ref in refs if (doc := await store.document(ref.id)) is not None]

        def decide() -> tuple[RecentEntry, ...]:
            out = []
            for doc in docs:
                facts = entry_facts(
                    doc.ref.id,
                    source_of(doc.origin),
                    doc.ref.title,
                    doc.ref.authors,
                    doc.body,
                    document_categories(doc.annotations),
                )
                out.append(RecentEntry(doc.ref.id, doc.ref.title, why_dropped(subscription, facts)))
            return tuple(out)

        return await asyncio.to_thread(decide)

    async def check_source(self, name: str) -> SourceCheck:
        """Check one source now, due or not: the corpus folder is re-read (a reload), a feed is
        fetched (serialized with the poll pass)."""
        if name == CORPUS_SOURCE:
            return SourceCheck(
                name, corpus=await self.engine.check_corpus(self.clock(), reload=True)
            )
        if self.engine.source_config(name) is None or self.session is None:
            return SourceCheck(name)
        async with self._poll_lock:
            (report,) = await self.engine.poll_sources(
                self.session, self.clock(), only=name, force=True, added_session=self.guarded
            )
        return SourceCheck(name, poll=report)

    # --- the passes (the loops call these; tests may call them directly) ----------------------

    async def poll_once(self, *, reload_corpus: bool = True) -> None:
        """Check the corpus folder and every due feed.

        Each step runs whatever the other did: a corpus check that raised used to end the pass
        before any feed was polled, so every feed stopped while /feed status said OK. A failed
        step is logged here and recorded in its source's state by the engine (the corpus check)
        or the poller (each feed), where /feed status reads it.
        """
        async with self._poll_lock:
            now = self.clock()
            await _step(
                "checking the corpus folder",
                lambda: self.engine.check_corpus(now, reload=reload_corpus),
            )
            await _step("reading the followed sources", self._refresh_sources)
            if self.session is not None:
                session = self.session
                guarded = self.guarded
                await _step(
                    "polling the feeds",
                    lambda: self.engine.poll_sources(session, now, added_session=guarded),
                )

    async def corpus_reloaded(self) -> None:
        """The corpus was just reloaded (``/reload``): queue what is new, without re-reading."""
        await self.engine.check_corpus(self.clock(), reload=False)

    async def send_once(self) -> SendReport:
        return await self.engine.send(self.clock())

    async def digest_once(self) -> int:
        return await self.engine.digest(self.clock())

    async def unreported_pauses(self) -> list[Subscription]:
        """Subscriptions paused since their pause was last reported to the guild's admins."""
        return await self.engine.feeds.unreported_pauses()

    async def mark_pause_reported(self, sub_id: int) -> None:
        await self.engine.feeds.mark_pause_reported(sub_id, self.clock())


async def _step(what: str, step: Callable[[], Awaitable[object]]) -> None:
    try:
        await step()
    except Exception:
        log.exception("feed: %s failed; the rest of the poll pass goes on", what)


__all__ = [
    "AddedSource",
    "ImportReport",
    "DEFAULT_DIGEST_MINUTE",
    "Refused",
    "SourceInfo",
    "SourceRefused",
    "derive_source_name",
    "FeedService",
    "FeedStatus",
    "Preview",
    "ResumeReport",
    "Schedule",
    "SourceCheck",
    "SubscriptionRefused",
    "utc_now",
]
