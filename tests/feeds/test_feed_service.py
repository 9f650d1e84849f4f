"""The feed's facade (`FeedService`): what the Discord cog asks of it, without Discord.

Options are checked before anything is written, the user's text in a refusal stays apart from
the message (the front end escapes it), a guild never reaches another guild's subscription, and
a resume touches only the subscriptions the caller may manage.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from bot.config import FeedConfig, FeedSourceConfig
from bot.corpus.service import CorpusService, ServiceSettings
from bot.feeds.service import DEFAULT_DIGEST_MINUTE, FeedService, Schedule, SubscriptionRefused
from tests.feeds.feed_world import T0, FakeDiscord, FeedBackend

GUILD, OTHER_GUILD = 1, 2


@pytest.fixture
async def feed(settings: ServiceSettings, backend: FeedBackend) -> AsyncIterator[FeedService]:
    corpus = await CorpusService.open(settings)
    await corpus.reload()
    config = FeedConfig(sources=(FeedSourceConfig("ada", "http://127.0.0.1:9/ada.xml"),))
    service = FeedService(
        corpus,
        config,
        FakeDiscord(),
        clock=lambda: T0,
        database=await backend.database(corpus),
    )
    try:
        yield service
    finally:
        await service.close()
        await corpus.close()


async def subscribe(feed: FeedService, channel_id: int, guild_id: int = GUILD) -> None:
    await feed.subscribe(
        guild_id=guild_id,
        channel_id=channel_id,
        source=None,
        author=None,
        keyword=None,
        mention_role_id=None,
        schedule=Schedule("instant", None),
        created_by=7,
    )


def test_options_give_a_schedule_and_a_digest_time_alone_means_a_digest(feed: FeedService) -> None:
    assert feed.subscription_options(None, None, None) == Schedule("instant", None)
    assert feed.subscription_options(None, "18:30", "ada") == Schedule("digest", 18 * 60 + 30)
    assert feed.subscription_options("digest", None, "corpus") == Schedule(
        "digest", DEFAULT_DIGEST_MINUTE
    )


@pytest.mark.parametrize(
    ("mode", "digest_time", "source", "shown"),
    [
        (None, "{value}{0}", None, "“<{value}{0}>” is not a time; use HH:MM in UTC, e.g. 09:00."),
        ("instant", "09:00", None, "digest_time only applies to mode: daily digest."),
        (None, None, "{source}", "There is no source “<{source}>”; `/feed status` lists them."),
    ],
)
def test_a_refusal_quotes_the_users_text_through_the_front_ends_escaping(
    feed: FeedService, mode: str | None, digest_time: str | None, source: str | None, shown: str
) -> None:
    with pytest.raises(SubscriptionRefused) as refused:
        feed.subscription_options(mode, digest_time, source)
    # Braces in the user's text are substituted, never read as placeholders.
    assert refused.value.text(lambda text: f"<{text}>") == shown


async def test_unsubscribe_reaches_only_the_guilds_own_channel(feed: FeedService) -> None:
    await subscribe(feed, 10, guild_id=OTHER_GUILD)

    assert await feed.unsubscribe(GUILD, 10) is None
    assert [s.channel_id for s in await feed.store.all_subscriptions()] == [10]
    dropped = await feed.unsubscribe(OTHER_GUILD, 10)
    assert dropped is not None and dropped.channel_id == 10
    assert await feed.store.all_subscriptions() == []


async def test_resume_all_touches_only_channels_the_caller_may_manage(feed: FeedService) -> None:
    for channel_id in (10, 11, 12):
        await subscribe(feed, channel_id)
    for channel_id in (10, 11):
        sub = await feed.store.subscription_for_channel(channel_id)
        assert sub is not None
        await feed.store.pause(sub.id, "missing_access", "Missing Access", T0)

    report = await feed.resume(GUILD, None, may_manage=lambda channel_id: channel_id == 10)

    assert [h.subscription.channel_id for h in report.resumed] == [10]
    assert report.not_yours == 1 and report.not_paused == []
    paused = {s.channel_id: s.paused for s in await feed.store.all_subscriptions()}
    assert paused == {10: False, 11: True, 12: False}

    one = await feed.resume(GUILD, 12, may_manage=lambda channel_id: False)
    assert [s.channel_id for s in one.not_paused] == [12] and not one.resumed
    assert (await feed.resume(GUILD, 99, may_manage=lambda channel_id: True)).no_subscription
