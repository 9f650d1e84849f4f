"""The facade's filter and format methods, without Discord: numbering with /subscribe's author
and keyword first, removal of either, the cap, another guild refused, concurrent adds all kept,
and a re-run /subscribe keeping conditions and format."""

from __future__ import annotations

import asyncio

import pytest

from bot.feeds.filters import MAX_CONDITIONS, effective_conditions
from bot.feeds.models import Condition
from bot.feeds.service import FeedService, Schedule, SubscriptionRefused
from tests.feeds.test_feed_service import GUILD, OTHER_GUILD, feed

__all__ = ["feed"]  # the fixture, imported to be used here

CHANNEL = 10
BY_TITLE = Condition("title", "regex", "^seen")


async def subscribe(feed: FeedService, *, author: str | None, keyword: str | None) -> None:
    await feed.subscribe(
        guild_id=GUILD,
        channel_id=CHANNEL,
        source=None,
        author=author,
        keyword=keyword,
        mention_role_id=None,
        schedule=Schedule("instant", None),
        created_by=7,
    )


async def test_author_and_keyword_are_numbered_first_and_removable(feed: FeedService) -> None:
    await subscribe(feed, author="saltz", keyword="bias")
    sub = await feed.add_condition(GUILD, CHANNEL, BY_TITLE)
    assert effective_conditions(sub) == (
        Condition("author", "words", "saltz"),
        Condition("text", "words", "bias"),
        BY_TITLE,
    )
    sub, removed = await feed.remove_condition(GUILD, CHANNEL, 1)
    assert removed == Condition("author", "words", "saltz")
    assert sub.author is None and sub.keyword == "bias"
    sub, removed = await feed.remove_condition(GUILD, CHANNEL, 1)
    assert removed.value == "bias" and sub.keyword is None and sub.conditions == (BY_TITLE,)
    sub, removed = await feed.remove_condition(GUILD, CHANNEL, 1)
    assert removed == BY_TITLE and effective_conditions(sub) == ()
    with pytest.raises(SubscriptionRefused) as refused:
        await feed.remove_condition(GUILD, CHANNEL, 1)
    assert refused.value.text(str).startswith("`number:`")


async def test_another_guild_cannot_touch_the_channels_filters(feed: FeedService) -> None:
    await subscribe(feed, author=None, keyword=None)
    with pytest.raises(SubscriptionRefused, match="has no feed subscription"):
        await feed.add_condition(OTHER_GUILD, CHANNEL, BY_TITLE)
    with pytest.raises(SubscriptionRefused, match="has no feed subscription"):
        await feed.set_filter_options(OTHER_GUILD, CHANNEL, message_format="compact")
    sub = await feed.channel_subscription(GUILD, CHANNEL)
    assert sub.conditions == () and sub.message_format == "embed"


async def test_concurrent_adds_are_all_kept_up_to_the_cap(feed: FeedService) -> None:
    await subscribe(feed, author=None, keyword=None)
    wanted = [Condition("title", "contains", f"w{n}") for n in range(MAX_CONDITIONS + 2)]
    results = await asyncio.gather(
        *(feed.add_condition(GUILD, CHANNEL, c) for c in wanted), return_exceptions=True
    )
    refused = [r for r in results if isinstance(r, SubscriptionRefused)]
    assert len(refused) == 2 and "already has 10 conditions" in refused[0].text(str)
    sub = await feed.channel_subscription(GUILD, CHANNEL)
    assert len(sub.conditions) == MAX_CONDITIONS


async def test_subscribe_again_keeps_conditions_mode_and_format(feed: FeedService) -> None:
    await subscribe(feed, author=None, keyword=None)
    await feed.add_condition(GUILD, CHANNEL, BY_TITLE)
    await feed.set_filter_options(GUILD, CHANNEL, match_mode="any", message_format="components")
    await subscribe(feed, author="saltz", keyword=None)
    sub = await feed.channel_subscription(GUILD, CHANNEL)
    assert sub.conditions == (BY_TITLE,) and sub.author == "saltz"
    assert (sub.match_mode, sub.message_format) == ("any", "components")


@pytest.mark.parametrize(
    ("condition", "shown"),
    [
        (
            Condition("title", "regex", "(a"),
            "`value:` the regex engine (RE2) refuses it: <missing ): (a>",
        ),
        (Condition("title", "contains", " "), "`value:` the value is empty"),
    ],
)
async def test_a_refused_condition_names_the_option_and_keeps_the_users_text_apart(
    feed: FeedService, condition: Condition, shown: str
) -> None:
    await subscribe(feed, author=None, keyword=None)
    with pytest.raises(SubscriptionRefused) as refused:
        await feed.add_condition(GUILD, CHANNEL, condition)
    assert refused.value.text(lambda v: f"<{v}>") == shown
