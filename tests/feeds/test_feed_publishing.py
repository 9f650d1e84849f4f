"""Publishing (crossposting) announcements at Discord's 10 per channel per hour, at an injected
clock: what waits is recorded in the index (so a restart loses nothing), published when the hour
allows, postponed by Discord's retry_after, left unpublished when Discord refuses it."""

from __future__ import annotations

from datetime import timedelta

from bot.config import FeedConfig
from bot.corpus.service import CorpusService
from bot.feeds.delivery import DeliveryError
from bot.feeds.engine import FeedEngine
from bot.feeds.models import Subscription
from bot.feeds.publishing import Publisher
from tests.feeds.feed_world import T0, FakeDiscord, FeedBackend

NEWS = 500


class PublishingDiscord(FakeDiscord):
    """FakeDiscord that also publishes: each call recorded, or refused by `refuse` in order."""

    def __init__(self) -> None:
        super().__init__()
        self.published: list[int] = []
        self.refuse: list[DeliveryError] = []

    async def publish(self, subscription: Subscription, message_id: int) -> None:
        if self.refuse:
            raise self.refuse.pop(0)
        self.published.append(message_id)


async def _world(
    backend: FeedBackend, service: CorpusService
) -> tuple[FeedEngine, PublishingDiscord, Subscription]:
    fake = PublishingDiscord()
    engine = FeedEngine(service, FeedConfig(), fake, database=await backend.database(service))
    sub, _ = await engine.feeds.subscribe(
        guild_id=1,
        channel_id=NEWS,
        source=None,
        author=None,
        keyword=None,
        mention_role_id=None,
        mode="instant",
        digest_minute=None,
        created_by=7,
        now=T0,
    )
    sub = await engine.feeds.set_destination(
        sub.id, destination="channel", forum_tag_ids=(), publish=True, discussion_thread=False
    )
    return engine, fake, sub


async def test_the_eleventh_of_an_hour_waits_and_survives_a_restart(
    backend: FeedBackend,
    service: CorpusService,
) -> None:
    engine, fake, sub = await _world(backend, service)
    for n in range(11):
        await engine.sender.publisher.posted(sub, 100 + n, T0 + timedelta(minutes=n))
    assert fake.published == list(range(100, 110))
    (health,) = await engine.feeds.guild_subscriptions(1)
    assert health.publishes_waiting == 1

    restarted = Publisher(engine.feeds, fake)  # a new process: only the index remembers
    assert await restarted.publish_pass(T0 + timedelta(minutes=59)) == 0
    assert await restarted.publish_pass(T0 + timedelta(minutes=60, seconds=1)) == 1
    assert fake.published[-1] == 110
    (health,) = await engine.feeds.guild_subscriptions(1)
    assert health.publishes_waiting == 0


async def test_a_429_postpones_by_retry_after_and_a_refusal_is_left_unpublished(
    backend: FeedBackend,
    service: CorpusService,
) -> None:
    engine, fake, sub = await _world(backend, service)
    fake.refuse = [DeliveryError(429, "rate limited", retry_after=600.0)]
    await engine.sender.publisher.posted(sub, 100, T0)
    assert fake.published == []
    (due,) = await engine.feeds.due_publishes(sub.id, T0 + timedelta(minutes=10))
    assert due.message_id == 100
    assert await engine.feeds.due_publishes(sub.id, T0 + timedelta(minutes=9)) == []

    fake.refuse = [DeliveryError(403, "Missing Permissions", code=50013)]
    assert await engine.sender.publisher.publish_pass(T0 + timedelta(minutes=10)) == 0
    (health,) = await engine.feeds.guild_subscriptions(1)
    assert (health.publishes_waiting, health.publishes_failed) == (0, 1)

    fake.refuse = [DeliveryError(400, "This message has already been crossposted.", code=40033)]
    await engine.sender.publisher.posted(sub, 101, T0 + timedelta(minutes=11))
    (health,) = await engine.feeds.guild_subscriptions(1)
    assert (health.publishes_waiting, health.publishes_failed) == (0, 1)  # 101 counts as done


async def test_subscriptions_without_publish_never_ask_to_publish(
    backend: FeedBackend, service: CorpusService
) -> None:
    engine, fake, sub = await _world(backend, service)
    plain = await engine.feeds.set_destination(
        sub.id, destination="channel", forum_tag_ids=(), publish=False, discussion_thread=True
    )
    await engine.sender.publisher.posted(plain, 100, T0)
    forum = await engine.feeds.set_destination(
        sub.id, destination="forum", forum_tag_ids=(1, 2), publish=True, discussion_thread=False
    )
    assert forum.forum_tag_ids == (1, 2)
    await engine.sender.publisher.posted(forum, 101, T0)
    assert fake.published == [] and await engine.sender.publisher.publish_pass(T0) == 0
