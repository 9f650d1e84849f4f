"""Delivery: exactly once per (subscription, entry) across restarts, crashes and Discord errors;
capped rounds; edits instead of reposts; daily digests at an injected clock."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import aiohttp
import pytest

from bot.config import FeedConfig, FeedSourceConfig
from bot.corpus.service import CorpusService, ServiceSettings
from bot.feeds.delivery import BatchMessage, DeliveryError, EntryMessage, entry_nonce
from bot.feeds.engine import FeedEngine
from bot.feeds.entries import entry_id
from bot.feeds.models import Subscription
from tests.conftest import write_doc
from tests.feeds.feed_world import (
    T0,
    FakeDiscord,
    FeedBackend,
    FeedServer,
    Item,
    SimulatedCrash,
    medium_rss,
    running_feed_server,
)

ADA = "/ada.xml"
BASE = [Item("a1", "Why Corpora Need Curators"), Item("a2", "Indexing, Briefly")]


@pytest.fixture
async def feeds() -> AsyncIterator[FeedServer]:
    async with running_feed_server() as server:
        server.serve(ADA, medium_rss(BASE))
        yield server


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as http:
        yield http


def config(server: FeedServer, **changes: object) -> FeedConfig:
    options: dict[str, object] = {
        "sources": (FeedSourceConfig("ada", server.url(ADA)),),
        "timeout_seconds": 5.0,
    }
    options.update(changes)
    return FeedConfig(**options)  # type: ignore[arg-type]


async def subscribe(engine: FeedEngine, channel_id: int, **changes: object) -> Subscription:
    options: dict[str, object] = {
        "guild_id": 1,
        "channel_id": channel_id,
        "source": None,
        "author": None,
        "keyword": None,
        "mention_role_id": None,
        "mode": "instant",
        "digest_minute": None,
        "created_by": 7,
        "now": T0,
    }
    options.update(changes)
    sub, _created = await engine.feeds.subscribe(**options)  # type: ignore[arg-type]
    return sub


def new_items(count: int, start: int = 10) -> list[Item]:
    return [
        Item(f"n{i}", f"New Post {i}", published=T0 + timedelta(minutes=i))
        for i in range(start, start + count)
    ]


def ids_of(items: list[Item]) -> list[str]:
    return [entry_id("ada", f"https://medium.com/p/{item.guid}") for item in items]


async def baseline(engine: FeedEngine, session: aiohttp.ClientSession) -> None:
    await engine.poll_sources(session, T0)


async def publish(
    feeds: FeedServer,
    engine: FeedEngine,
    session: aiohttp.ClientSession,
    items: list[Item],
    when: timedelta = timedelta(minutes=15),
) -> None:
    feeds.serve(ADA, medium_rss([*reversed(items), *BASE]))
    (report,) = await engine.poll_sources(session, T0 + when)
    assert report.outcome == "new", report


async def test_one_announcement_per_subscribed_channel_with_summary_and_role(
    backend: FeedBackend, service: CorpusService, feeds: FeedServer, session: aiohttp.ClientSession
) -> None:
    fake = FakeDiscord()
    engine = FeedEngine(service, config(feeds), fake, database=await backend.database(service))
    await baseline(engine, session)
    for channel in (100, 101, 102):
        await subscribe(engine, channel, mention_role_id=555 if channel == 101 else None)
    item = Item(
        "n1",
        "A Fresh Post",
        html="<p>Curators keep corpora honest. Nobody else will. A third line.</p>",
    )
    await publish(feeds, engine, session, [item])

    report = await engine.send(T0 + timedelta(minutes=15))
    again = await engine.send(T0 + timedelta(minutes=16))

    assert report.posted == 3 and again.posted == 0
    (new_id,) = ids_of([item])
    for channel in (100, 101, 102):
        (posted,) = fake.in_channel(channel)
        assert isinstance(posted.message, EntryMessage)
        assert posted.message.announcement.entry_id == new_id
        assert posted.message.mention_role_id == (555 if channel == 101 else None)
        assert posted.message.announcement.summary == (
            "Curators keep corpora honest.",
            "Nobody else will.",
        )
    sub = await engine.feeds.subscription_for_channel(100)
    assert sub is not None and sub.last_announced_at == T0 + timedelta(minutes=15)
    (row,) = await engine.feeds.sent_rows(sub.id)
    assert row.message_id == fake.in_channel(100)[0].message_id


async def test_restart_between_detection_and_delivery_loses_and_doubles_nothing(
    backend: FeedBackend,
    settings: ServiceSettings,
    service: CorpusService,
    feeds: FeedServer,
    session: aiohttp.ClientSession,
) -> None:
    engine = FeedEngine(
        service, config(feeds), FakeDiscord(), database=await backend.database(service)
    )
    await baseline(engine, session)
    for channel in (100, 101):
        await subscribe(engine, channel)
    items = new_items(2)
    await publish(feeds, engine, session, items)
    await service.close()  # the process dies: detection committed, nothing sent

    fake = FakeDiscord()
    reopened = await CorpusService.open(settings)
    try:
        after = FeedEngine(reopened, config(feeds), fake, database=await backend.database(reopened))
        await after.send(T0 + timedelta(hours=1))
        await after.send(T0 + timedelta(hours=2))
    finally:
        await reopened.close()
    for channel in (100, 101):
        assert fake.entries_in(channel) == ids_of(items)


async def test_killed_mid_fan_out_each_channel_still_gets_each_entry_once(
    backend: FeedBackend,
    settings: ServiceSettings,
    service: CorpusService,
    feeds: FeedServer,
    session: aiohttp.ClientSession,
) -> None:
    fake = FakeDiscord(crash_after_posts=4)  # the 4th message is created, then the bot "dies"
    engine = FeedEngine(service, config(feeds), fake, database=await backend.database(service))
    await baseline(engine, session)
    channels = list(range(100, 106))
    for channel in channels:
        await subscribe(engine, channel)
    items = new_items(2)
    await publish(feeds, engine, session, items)

    with pytest.raises(BaseExceptionGroup) as crashed:
        await engine.send(T0 + timedelta(minutes=15))
    assert crashed.group_contains(SimulatedCrash)
    recorded = sum(
        [
            len(await engine.feeds.sent_rows(sub.id))
            for sub in await engine.feeds.all_subscriptions()
        ]
    )
    await service.close()
    # The "crash" is an exception: another worker already resumed in the same turn of the
    # event loop may post once more before it is cancelled (a real crash posts nothing more).
    created_before_restart = fake.created
    assert created_before_restart >= 4 and recorded < created_before_restart

    reopened = await CorpusService.open(settings)
    try:
        await FeedEngine(
            reopened, config(feeds), fake, database=await backend.database(reopened)
        ).send(T0 + timedelta(minutes=20))
    finally:
        await reopened.close()
    for channel in channels:
        assert fake.entries_in(channel) == ids_of(items), channel
    assert fake.created == 12
    # Every post created but not recorded (the crashing one, and any whose recording the crash
    # interrupted) was found in its channel (the restart is 5 minutes later: past the time the
    # sender trusts Discord to remember a nonce), never posted again.
    unrecorded = created_before_restart - recorded
    assert fake.nonce_replays == 0 and fake.finds >= unrecorded


async def test_a_restart_after_discord_forgot_the_nonce_finds_the_post_instead_of_doubling_it(
    backend: FeedBackend,
    settings: ServiceSettings,
    service: CorpusService,
    feeds: FeedServer,
    session: aiohttp.ClientSession,
) -> None:
    fake = FakeDiscord(
        crash_after_posts=2
    )  # the second entry's message is created, then the bot dies
    engine = FeedEngine(service, config(feeds), fake, database=await backend.database(service))
    await baseline(engine, session)
    await subscribe(engine, 100)
    items = new_items(3)
    await publish(feeds, engine, session, items)
    with pytest.raises(BaseExceptionGroup):
        await engine.send(T0 + timedelta(minutes=15))
    await service.close()
    fake.forget_nonces()  # hours of downtime: Discord no longer knows the nonce

    reopened = await CorpusService.open(settings)
    try:
        later = FeedEngine(reopened, config(feeds), fake, database=await backend.database(reopened))
        report = await later.send(T0 + timedelta(hours=3))
        sub = await later.feeds.subscription_for_channel(100)
        assert sub is not None
        sent = await later.feeds.sent_rows(sub.id)
    finally:
        await reopened.close()
    assert fake.entries_in(100) == ids_of(items), "each entry exactly once"
    assert (report.reconciled, report.posted, fake.finds) == (1, 1, 1)
    assert [row.message_id for row in sent] == [p.message_id for p in fake.in_channel(100)]


async def test_a_resend_within_the_nonce_window_relies_on_the_nonce_and_reads_nothing(
    backend: FeedBackend,
    settings: ServiceSettings,
    service: CorpusService,
    feeds: FeedServer,
    session: aiohttp.ClientSession,
) -> None:
    fake = FakeDiscord(crash_after_posts=1)
    engine = FeedEngine(service, config(feeds), fake, database=await backend.database(service))
    await baseline(engine, session)
    await subscribe(engine, 100)
    items = new_items(1)
    await publish(feeds, engine, session, items)
    with pytest.raises(BaseExceptionGroup):
        await engine.send(T0 + timedelta(minutes=15))
    await service.close()

    reopened = await CorpusService.open(settings)
    try:
        await FeedEngine(
            reopened, config(feeds), fake, database=await backend.database(reopened)
        ).send(T0 + timedelta(minutes=15, seconds=20))
    finally:
        await reopened.close()
    assert fake.entries_in(100) == ids_of(items)
    assert (fake.nonce_replays, fake.finds) == (1, 0)


async def test_a_digest_whose_post_a_crash_left_unrecorded_is_found_not_posted_twice(
    backend: FeedBackend,
    settings: ServiceSettings,
    service: CorpusService,
    feeds: FeedServer,
    session: aiohttp.ClientSession,
) -> None:
    fake = FakeDiscord(crash_after_posts=1)
    engine = FeedEngine(service, config(feeds), fake, database=await backend.database(service))
    await baseline(engine, session)
    await subscribe(engine, 100, mode="digest", digest_minute=9 * 60)
    items = new_items(2)
    await publish(feeds, engine, session, items)
    with pytest.raises(BaseExceptionGroup):
        await engine.digest(T0 + timedelta(hours=1, minutes=5))
    await service.close()
    fake.forget_nonces()

    reopened = await CorpusService.open(settings)
    try:
        report = await FeedEngine(
            reopened, config(feeds), fake, database=await backend.database(reopened)
        ).send(T0 + timedelta(hours=6))
    finally:
        await reopened.close()
    assert [p.kind for p in fake.in_channel(100)] == ["digest"]
    assert report.reconciled == 1 and fake.created == 1


async def test_a_resend_uses_the_same_nonce(
    backend: FeedBackend, service: CorpusService, feeds: FeedServer, session: aiohttp.ClientSession
) -> None:
    fake = FakeDiscord()
    engine = FeedEngine(service, config(feeds), fake, database=await backend.database(service))
    await baseline(engine, session)
    sub = await subscribe(engine, 100)
    items = new_items(1)
    await publish(feeds, engine, session, items)
    await engine.send(T0 + timedelta(minutes=15))
    (posted,) = fake.in_channel(100)
    assert posted.nonce == entry_nonce(sub.id, ids_of(items)[0])


async def test_after_downtime_a_round_is_capped_with_a_plus_n_more_message(
    backend: FeedBackend, service: CorpusService, feeds: FeedServer, session: aiohttp.ClientSession
) -> None:
    fake = FakeDiscord()
    engine = FeedEngine(
        service,
        config(feeds, max_announcements_per_cycle=3),
        fake,
        database=await backend.database(service),
    )
    await baseline(engine, session)
    await subscribe(engine, 100)
    items = new_items(20)
    await publish(feeds, engine, session, items, when=timedelta(days=3))

    report = await engine.send(T0 + timedelta(days=3))
    again = await engine.send(T0 + timedelta(days=3, minutes=1))

    assert (report.posted, report.batches) == (3, 1) and (again.posted, again.batches) == (0, 0)
    posted = fake.in_channel(100)
    assert [p.kind for p in posted] == ["entry", "entry", "entry", "more"]
    assert [p.entry_ids[0] for p in posted[:3]] == ids_of(items)[:3], "oldest first"
    (more,) = fake.batches_in(100)
    assert more.total == 17 and len(more.announcements) == 15
    assert [a.entry_id for a in more.announcements] == ids_of(items)[3:18]
    sub = await engine.feeds.subscription_for_channel(100)
    assert sub is not None and len(await engine.feeds.sent_rows(sub.id)) == 20


async def test_a_crash_after_the_split_keeps_the_split(
    backend: FeedBackend,
    settings: ServiceSettings,
    service: CorpusService,
    feeds: FeedServer,
    session: aiohttp.ClientSession,
) -> None:
    fake = FakeDiscord(crash_after_posts=2)
    engine = FeedEngine(
        service,
        config(feeds, max_announcements_per_cycle=3),
        fake,
        database=await backend.database(service),
    )
    await baseline(engine, session)
    await subscribe(engine, 100)
    items = new_items(6)
    await publish(feeds, engine, session, items)
    with pytest.raises(BaseExceptionGroup):
        await engine.send(T0 + timedelta(minutes=15))
    await service.close()

    reopened = await CorpusService.open(settings)
    try:
        await FeedEngine(
            reopened,
            config(feeds, max_announcements_per_cycle=3),
            fake,
            database=await backend.database(reopened),
        ).send(T0 + timedelta(minutes=20))
    finally:
        await reopened.close()
    assert [p.kind for p in fake.in_channel(100)] == ["entry", "entry", "entry", "more"]
    assert fake.batches_in(100)[0].total == 3


@pytest.mark.parametrize(
    ("error", "reason"),
    [
        (DeliveryError(403, "Missing Permissions", code=50013), "missing_permission"),
        (DeliveryError(404, "Unknown Channel", code=10003), "channel_missing"),
        (DeliveryError(400, "Cannot send messages in a non-text channel", code=50008), "rejected"),
    ],
)
async def test_refusals_pause_the_subscription_keep_its_settings_and_retry_resumes_it(
    backend: FeedBackend,
    service: CorpusService,
    feeds: FeedServer,
    session: aiohttp.ClientSession,
    error: DeliveryError,
    reason: str,
) -> None:
    fake = FakeDiscord()
    engine = FeedEngine(service, config(feeds), fake, database=await backend.database(service))
    await baseline(engine, session)
    sub = await subscribe(engine, 100, keyword="post", mention_role_id=9)
    await subscribe(engine, 101)
    fake.faults[100] = error
    items = new_items(2)
    await publish(feeds, engine, session, items)

    report = await engine.send(T0 + timedelta(minutes=15))
    later = await engine.send(T0 + timedelta(hours=5))

    assert report.paused == [(sub.id, reason)] and later.paused == []
    assert fake.entries_in(101) == ids_of(items), "other channels are not held up"
    paused = await engine.feeds.subscription_for_channel(100)
    assert paused is not None and paused.paused_reason == reason
    assert error.text in (paused.paused_detail or "")
    assert (paused.keyword, paused.mention_role_id, paused.mode) == ("post", 9, "instant")
    (health,) = [
        h for h in await engine.feeds.guild_subscriptions(1) if h.subscription.id == sub.id
    ]
    assert (health.pending, health.rejected) == (2, 0)
    assert [s.id for s in await engine.feeds.unreported_pauses()] == [sub.id]
    await engine.feeds.mark_pause_reported(sub.id, T0)
    assert await engine.feeds.unreported_pauses() == []

    del fake.faults[100]
    await engine.feeds.resume(sub.id)
    resumed = await engine.send(T0 + timedelta(hours=6))
    assert resumed.posted == 2
    assert fake.entries_in(100) == ids_of(items)


async def test_a_message_discord_refuses_is_set_aside_and_the_rest_is_delivered(
    backend: FeedBackend, service: CorpusService, feeds: FeedServer, session: aiohttp.ClientSession
) -> None:
    fake = FakeDiscord()
    engine = FeedEngine(service, config(feeds), fake, database=await backend.database(service))
    await baseline(engine, session)
    sub = await subscribe(engine, 100)
    refused = "Invalid Form Body\nIn embeds.0.url: Must be 2048 or fewer in length."
    fake.refuse_next[100] = [DeliveryError(400, refused, code=50035)]
    items = new_items(3)
    await publish(feeds, engine, session, items)

    report = await engine.send(T0 + timedelta(minutes=15))

    assert (report.refused, report.posted, report.paused) == (1, 2, [])
    assert fake.entries_in(100) == ids_of(items)[1:], (
        "the entries after the refused one are not held up"
    )
    active = await engine.feeds.subscription_for_channel(100)
    assert active is not None and not active.paused and active.retry_at is None
    (health,) = await engine.feeds.guild_subscriptions(1)
    assert (health.pending, health.rejected) == (0, 1)
    assert (
        health.refused_reason
        == "Invalid Form Body (embeds.0.url: Must be 2048 or fewer in length.)"
    )
    assert (
        await engine.feeds.latest_refusal() == health.refusal_reason
        if False
        else health.refused_reason
    )
    assert await engine.feeds.outbox_counts() == {"sent": 2, "rejected": 1}

    later = await engine.send(T0 + timedelta(hours=1))
    assert (later.posted, later.refused) == (0, 0), "a refused message is not resent on every pass"
    assert await engine.feeds.unreported_pauses() == []
    assert sub.id not in [s.id for s in await engine.feeds.unreported_pauses()]


async def test_a_refused_plus_n_more_message_sets_its_entries_aside(
    backend: FeedBackend, service: CorpusService, feeds: FeedServer, session: aiohttp.ClientSession
) -> None:
    fake = FakeDiscord()
    engine = FeedEngine(
        service,
        config(feeds, max_announcements_per_cycle=2),
        fake,
        database=await backend.database(service),
    )
    await baseline(engine, session)
    await subscribe(engine, 100)
    items = new_items(5)
    await publish(feeds, engine, session, items)
    too_long = DeliveryError(
        400, "Invalid Form Body\nIn embeds.0.description: too long", code=50035
    )
    fake.refuse_next[100] = [None, None, too_long]  # two entries pass, the "+3 more" is refused
    report = await engine.send(T0 + timedelta(minutes=15))
    assert (report.refused, report.posted, report.batches) == (1, 2, 0)
    assert fake.entries_in(100) == ids_of(items)[:2]
    (health,) = await engine.feeds.guild_subscriptions(1)
    assert (health.pending, health.rejected) == (0, 3) and not health.subscription.paused
    assert health.refused_reason == "Invalid Form Body (embeds.0.description: too long)"
    assert (await engine.send(T0 + timedelta(hours=1))).refused == 0


async def test_server_errors_and_rate_limits_back_off_and_retry_later(
    backend: FeedBackend, service: CorpusService, feeds: FeedServer, session: aiohttp.ClientSession
) -> None:
    fake = FakeDiscord()
    engine = FeedEngine(service, config(feeds), fake, database=await backend.database(service))
    await baseline(engine, session)
    sub = await subscribe(engine, 100)
    items = new_items(2)
    await publish(feeds, engine, session, items)
    fake.faults[100] = DeliveryError(503, "Service Unavailable")
    now = T0 + timedelta(minutes=15)

    first = await engine.send(now)
    fake.faults[100] = DeliveryError(429, "You are being rate limited.", retry_after=200.0)
    too_soon = await engine.send(now + timedelta(seconds=10))
    second = await engine.send(now + timedelta(seconds=30))

    assert first.retrying == [sub.id] and too_soon.retrying == [] and second.retrying == [sub.id]
    backing_off = await engine.feeds.subscription_for_channel(100)
    assert backing_off is not None and not backing_off.paused and backing_off.retry_streak == 2
    assert backing_off.retry_at == now + timedelta(seconds=30 + 200)
    del fake.faults[100]
    assert (await engine.send(now + timedelta(seconds=100))).posted == 0
    assert (await engine.send(now + timedelta(seconds=230))).posted == 2
    healthy = await engine.feeds.subscription_for_channel(100)
    assert healthy is not None and healthy.retry_streak == 0 and healthy.retry_at is None
    assert fake.entries_in(100) == ids_of(items)


async def test_a_changed_entry_edits_its_posts_and_a_deleted_post_is_left_alone(
    backend: FeedBackend, service: CorpusService, feeds: FeedServer, session: aiohttp.ClientSession
) -> None:
    fake = FakeDiscord()
    engine = FeedEngine(service, config(feeds), fake, database=await backend.database(service))
    await baseline(engine, session)
    await subscribe(engine, 100)
    await subscribe(engine, 101)
    item = Item("n1", "First Title")
    await publish(feeds, engine, session, [item])
    await engine.send(T0 + timedelta(minutes=15))
    fake.delete(fake.in_channel(101)[0].message_id)
    feeds.serve(ADA, medium_rss([Item("n1", "Second Title"), *BASE]))
    await engine.poll_sources(session, T0 + timedelta(minutes=30))

    report = await engine.send(T0 + timedelta(minutes=30))
    again = await engine.send(T0 + timedelta(minutes=31))

    assert (report.edited, report.posted, report.paused) == (1, 0, [])
    assert again.edited == 0
    (posted,) = fake.in_channel(100)
    assert (
        isinstance(posted.latest, EntryMessage)
        and posted.latest.announcement.title == "Second Title"
    )
    assert fake.in_channel(101) == []


async def test_a_corpus_entry_removed_before_its_announcement_is_skipped(
    backend: FeedBackend, service: CorpusService, corpus_dir: Path
) -> None:
    fake = FakeDiscord()
    engine = FeedEngine(service, FeedConfig(), fake, database=await backend.database(service))
    await engine.check_corpus(T0, reload=False)
    sub = await subscribe(engine, 100)
    path = write_doc(
        corpus_dir,
        "short-lived.md",
        front="id: short-lived\ntitle: Short Lived\nauthors: []\nkind: post\nexcerpt: false",
    )
    await engine.check_corpus(T0, reload=True)
    path.unlink()
    await service.reload()

    report = await engine.send(T0)
    assert report.skipped == 1 and fake.messages == {}
    assert await engine.feeds.pending_rows(sub.id) == []


async def test_daily_digest_at_an_injected_clock(
    backend: FeedBackend, service: CorpusService, feeds: FeedServer, session: aiohttp.ClientSession
) -> None:
    fake = FakeDiscord()
    engine = FeedEngine(
        service,
        config(feeds, max_announcements_per_cycle=2),
        fake,
        database=await backend.database(service),
    )
    await baseline(engine, session)
    await subscribe(
        engine, 100, mode="digest", digest_minute=9 * 60, mention_role_id=77
    )  # made at 08:00
    await subscribe(engine, 101)
    items = new_items(5)
    await publish(feeds, engine, session, items, when=timedelta(minutes=10))  # 08:10
    nine = T0.replace(hour=9)

    instant = await engine.send(T0 + timedelta(minutes=10))
    assert (instant.posted, instant.batches) == (2, 1) and fake.in_channel(100) == []
    assert [p.kind for p in fake.in_channel(101)] == ["entry", "entry", "more"]

    before = await engine.digest(nine - timedelta(minutes=1))
    at_nine = await engine.digest(nine)
    after = await engine.digest(nine + timedelta(minutes=30))

    assert (before, at_nine, after) == (0, 1, 0)
    (digest,) = fake.in_channel(100)
    assert isinstance(digest.message, BatchMessage) and digest.message.kind == "digest"
    assert digest.message.total == 5 and digest.message.mention_role_id == 77
    assert digest.entry_ids == ids_of(items)

    more = new_items(1, start=40)
    feeds.serve(ADA, medium_rss([*more, *reversed(items), *BASE]))
    await engine.poll_sources(session, nine + timedelta(hours=2))
    assert await engine.digest(nine + timedelta(hours=23, minutes=59)) == 0
    assert await engine.digest(nine + timedelta(days=1)) == 1
    assert fake.in_channel(100)[-1].entry_ids == ids_of(more)
    sub = await engine.feeds.subscription_for_channel(100)
    assert sub is not None and sub.last_digest_at == nine + timedelta(days=1)


async def test_a_digest_missed_while_down_is_sent_late_once(
    backend: FeedBackend, service: CorpusService, feeds: FeedServer, session: aiohttp.ClientSession
) -> None:
    fake = FakeDiscord()
    engine = FeedEngine(service, config(feeds), fake, database=await backend.database(service))
    await baseline(engine, session)
    await subscribe(engine, 100, mode="digest", digest_minute=9 * 60)
    await publish(feeds, engine, session, new_items(2))
    assert await engine.digest(T0 + timedelta(days=2, hours=3)) == 1  # down for two days
    assert await engine.digest(T0 + timedelta(days=2, hours=4)) == 0
    assert len(fake.in_channel(100)) == 1


async def test_a_new_subscription_announces_nothing_old_and_unsubscribing_drops_the_queue(
    backend: FeedBackend, service: CorpusService, feeds: FeedServer, session: aiohttp.ClientSession
) -> None:
    fake = FakeDiscord()
    engine = FeedEngine(service, config(feeds), fake, database=await backend.database(service))
    await baseline(engine, session)
    first = await subscribe(engine, 100)
    await publish(feeds, engine, session, new_items(2))
    late = await subscribe(engine, 101)
    gone = await subscribe(engine, 102)
    assert await engine.feeds.unsubscribe(102) and not await engine.feeds.unsubscribe(102)

    await engine.send(T0 + timedelta(minutes=15))

    assert len(fake.entries_in(first.channel_id)) == 2
    assert fake.entries_in(late.channel_id) == [] and fake.entries_in(gone.channel_id) == []
    again, created = await engine.feeds.subscribe(
        guild_id=1,
        channel_id=100,
        source="ada",
        author=None,
        keyword=None,
        mention_role_id=None,
        mode="digest",
        digest_minute=60,
        created_by=8,
        now=T0,
    )
    assert not created and again.id == first.id and again.mode == "digest" and again.created_by == 7
