"""Who may change the feed, checked where the change takes effect, end to end.

The emulator computes permissions as Discord does (roles, then channel overwrites); the bot
sees the same overwrites through its cache. A member with Manage Channels from one channel's
overwrite must not subscribe, unsubscribe or resume another channel (least of all one they cannot
see); only who may /reload may make the bot re-read the corpus; a member may not make the bot
ping a role they could not ping themselves.
"""

# ruff: noqa: F811  (tests take the feed world fixture `fw` imported from test_feed_e2e)
from __future__ import annotations

from collections.abc import Callable
from typing import Any

import discord

from tests.conftest import write_doc
from tests.discord_app.test_commands import ephemeral, text_of
from tests.discord_app.test_feed_e2e import FeedWorld, fw  # noqa: F401  (the feed world fixture)

MANAGE_CHANNELS = discord.Permissions(manage_channels=True).value
VIEW_CHANNEL = discord.Permissions(view_channel=True).value
MENTION_EVERYONE = discord.Permissions(mention_everyone=True).value


async def _cached(world: FeedWorld, channel_id: int, check: Callable[[Any], bool]) -> None:
    """Wait until the bot's cache has the channel as the emulator now has it."""
    bot = world.bot
    assert bot is not None
    await world.emu.wait_for(
        lambda: (c := bot.get_channel(channel_id)) is not None and check(c),
        10,
        describe=f"channel {channel_id} cached",
    )


async def _sneaky(world: FeedWorld) -> tuple[int, int]:
    """A member with Manage Channels only in #general (a member overwrite), and #staff, which
    @everyone cannot see (the bot may: it is allowed back in)."""
    emu = world.emu
    sneaky = emu.add_user("sneaky")
    emu.add_member(world.guild_id, sneaky.id)
    emu.set_permission_overwrite(world.general_id, sneaky.id, member=True, allow=MANAGE_CHANNELS)
    staff = emu.add_channel(world.guild_id, "staff")
    emu.set_permission_overwrite(staff.id, world.guild_id, member=False, deny=VIEW_CHANNEL)
    emu.set_permission_overwrite(staff.id, emu.bot_user_id, member=True, allow=VIEW_CHANNEL)
    await _cached(world, staff.id, lambda c: len(c.overwrites) == 2)
    await _cached(world, world.general_id, lambda c: len(c.overwrites) == 1)
    return sneaky.id, staff.id


async def test_subscribe_checks_the_member_in_the_target_channel_not_where_it_is_typed(
    fw: FeedWorld,
) -> None:
    sneaky, staff = await _sneaky(fw)

    refused = await fw.reply("subscribe", {"channel": staff}, user=sneaky)
    assert ephemeral(refused) and "View Channel and Manage Channels permissions" in text_of(refused)
    assert await fw.cog.feed.store.all_subscriptions() == []

    # The other way round: Manage Channels in #news only, typed in #general, is enough for #news.
    fw.emu.set_permission_overwrite(fw.news_id, sneaky, member=True, allow=MANAGE_CHANNELS)
    await _cached(fw, fw.news_id, lambda c: len(c.overwrites) == 1)
    fw.emu.set_permission_overwrite(fw.general_id, sneaky, member=True)
    await _cached(fw, fw.general_id, lambda c: not c.overwrites)
    allowed = await fw.reply("subscribe", {"channel": fw.news_id}, user=sneaky)
    assert "Subscribed" in text_of(allowed)
    assert [s.channel_id for s in await fw.cog.feed.store.all_subscriptions()] == [fw.news_id]


async def test_unsubscribe_and_retry_check_the_member_in_the_target_channel(fw: FeedWorld) -> None:
    sneaky, staff = await _sneaky(fw)
    owner = fw.emu.state.guilds[fw.guild_id].owner_id
    assert "Subscribed" in text_of(await fw.reply("subscribe", {"channel": staff}, user=owner))

    refused = await fw.reply("unsubscribe", {"channel": staff}, user=sneaky)
    assert "Manage Channels" in text_of(refused) and "no longer gets" not in text_of(refused)
    retried = await fw.reply("feed retry", {"channel": staff}, user=sneaky)
    assert "Manage Channels" in text_of(retried) and "Resumed" not in text_of(retried)
    assert [s.channel_id for s in await fw.cog.feed.store.all_subscriptions()] == [staff]

    gone = await fw.reply("unsubscribe", {"channel": staff}, user=owner)
    assert "no longer gets announcements" in text_of(gone)


async def test_only_who_may_reload_can_make_feed_retry_reread_the_corpus(fw: FeedWorld) -> None:
    write_doc(
        fw.corpus_dir,
        "12-unread.md",
        front="id: not-yet-read\ntitle: Not Yet Read\nauthors: []\nkind: post\nexcerpt: false",
    )

    refused = await fw.reply(
        "feed retry", {"source": "corpus"}
    )  # the moderator: Manage Channels, not Manage Server
    assert (
        ephemeral(refused)
        and "Manage Server" in text_of(refused)
        and "Checked" not in text_of(refused)
    )
    assert "No post matches" in text_of(await fw.reply("post", {"post": "not-yet-read"}))

    owner = fw.emu.state.guilds[fw.guild_id].owner_id
    checked = await fw.reply("feed retry", {"source": "corpus"}, user=owner)
    assert "Checked the corpus folder: 1 new" in text_of(checked)
    assert "ada" in text_of(
        await fw.reply("feed retry", {"source": "ada"})
    )  # a feed: Manage Channels is enough


async def test_mention_role_must_be_one_the_member_could_mention(fw: FeedWorld) -> None:
    quiet = fw.emu.add_role(fw.guild_id, "quiet", mentionable=False)
    bot_role = fw.emu.state.guilds[fw.guild_id].bot_role_id
    await fw.emu.wait_for(
        lambda: fw.bot is not None and fw.bot.get_guild(fw.guild_id).get_role(quiet.id), 10
    )  # type: ignore[union-attr]

    not_mentionable = await fw.reply("subscribe", {"mention_role": quiet.id})
    assert ephemeral(not_mentionable) and "not mentionable" in text_of(not_mentionable)
    assert "Mention Everyone" in text_of(not_mentionable)
    managed = await fw.reply("subscribe", {"mention_role": bot_role})
    assert ephemeral(managed) and "managed by an integration" in text_of(managed)
    assert await fw.cog.feed.store.all_subscriptions() == []

    herald = fw.emu.add_role(fw.guild_id, "heralds", permissions=MANAGE_CHANNELS | MENTION_EVERYONE)
    loud = fw.emu.add_user("loud")
    fw.emu.add_member(fw.guild_id, loud.id, roles=[herald.id])
    await fw.emu.wait_for(
        lambda: fw.bot is not None and fw.bot.get_guild(fw.guild_id).get_role(herald.id), 10
    )  # type: ignore[union-attr]
    allowed = await fw.reply("subscribe", {"mention_role": quiet.id}, user=loud.id)
    assert "Subscribed" in text_of(allowed)
    (sub,) = await fw.cog.feed.store.all_subscriptions()
    assert sub.mention_role_id == quiet.id
