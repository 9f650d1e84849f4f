"""Announcement, forum and media channels and threads, as Discord answers them, driven by the
real discord.py client: forum posts with tags, threads from messages, archived threads, and
publishing (crossposting) with Discord's 10 publishes per channel per hour."""

from __future__ import annotations

import discord
import pytest

from discord_emulator import DiscordEmulator
from discord_emulator.models import ANNOUNCEMENT_CHANNEL, FORUM_CHANNEL, MEDIA_CHANNEL
from discord_emulator.permissions import (
    CREATE_PUBLIC_THREADS,
    MANAGE_THREADS,
    SEND_MESSAGES_IN_THREADS,
)
from tests.discord_emulator.conftest import TestBot, World


async def _forum(bot: TestBot, channel_id: int) -> discord.ForumChannel:
    channel = await bot.fetch_channel(channel_id)
    assert isinstance(channel, discord.ForumChannel)
    return channel


@pytest.mark.parametrize("kind", [FORUM_CHANNEL, MEDIA_CHANNEL])
async def test_a_forum_post_is_a_thread_with_its_message_and_tags(
    emu: DiscordEmulator, world: World, bot: TestBot, kind: int
) -> None:
    forum_ch = emu.add_channel(world.guild.id, "news", type=kind, tags=["papers", "policy"])
    forum = await _forum(bot, forum_ch.id)
    assert [t.name for t in forum.available_tags] == ["papers", "policy"]
    policy = forum.get_tag(emu.forum_tag_id(forum_ch.id, "policy"))
    assert policy is not None

    made = await forum.create_thread(
        name="A new post", content="hello", applied_tags=[policy], embed=discord.Embed(title="t")
    )

    (post,) = emu.threads_of(forum_ch.id)
    assert post.id == made.thread.id and post.name == "A new post"
    assert post.thread is not None and post.thread.applied_tags == [policy.id]
    (message,) = emu.channel_messages(post.id)
    assert int(message["id"]) == post.id  # a post's first message shares its id
    assert message["content"] == "hello" and message["embeds"][0]["title"] == "t"
    assert made.thread.applied_tags == [policy]
    assert emu.problems == []


async def test_a_tag_the_forum_does_not_offer_is_refused_naming_it(
    emu: DiscordEmulator, world: World, bot: TestBot
) -> None:
    forum_ch = emu.add_channel(world.guild.id, "news", type=FORUM_CHANNEL, tags=["papers"])
    other = emu.add_channel(world.guild.id, "other", type=FORUM_CHANNEL, tags=["elsewhere"])
    foreign = discord.Object(emu.forum_tag_id(other.id, "elsewhere"))
    forum = await _forum(bot, forum_ch.id)

    with pytest.raises(discord.HTTPException) as refused:
        await bot.http.start_thread_in_forum(
            forum.id,
            params=discord.http.handle_message_parameters(
                content="x", channel_payload={"name": "post", "applied_tags": [str(foreign.id)]}
            ),
        )

    assert refused.value.status == 400 and refused.value.code == 50035
    assert "applied_tags.0" in refused.value.text and str(foreign.id) in refused.value.text
    assert emu.threads_of(forum_ch.id) == []


async def test_a_forum_that_requires_a_tag_refuses_a_post_without_one(
    emu: DiscordEmulator, world: World, bot: TestBot
) -> None:
    forum_ch = emu.add_channel(
        world.guild.id, "news", type=FORUM_CHANNEL, tags=["papers"], require_tag=True
    )
    forum = await _forum(bot, forum_ch.id)
    with pytest.raises(discord.HTTPException) as refused:
        await forum.create_thread(name="post", content="x")
    assert refused.value.status == 400 and refused.value.code == 40067
    with pytest.raises(discord.HTTPException) as not_text:
        await bot.http.send_message(forum_ch.id, params=_params("x"))
    assert not_text.value.code == 50008  # a forum takes posts, not messages


def _params(content: str) -> discord.http.MultipartParameters:
    return discord.http.handle_message_parameters(content=content)


async def test_publishing_allows_ten_an_hour_then_answers_429_with_retry_after(
    emu: DiscordEmulator, world: World, bot: TestBot
) -> None:
    news = emu.add_channel(world.guild.id, "announcements", type=ANNOUNCEMENT_CHANNEL)
    channel = await bot.fetch_channel(news.id)
    assert isinstance(channel, discord.TextChannel) and channel.is_news()
    bot.http.max_ratelimit_timeout = 30.0  # raise instead of sleeping for an hour
    sent = [await channel.send(f"news {i}") for i in range(11)]
    for message in sent[:10]:
        await message.publish()

    with pytest.raises(discord.RateLimited) as limited:
        await sent[10].publish()

    assert 3500 < limited.value.retry_after <= 3600
    assert emu.crossposted == [m.id for m in sent[:10]]
    assert emu.crosspost_refusals == [sent[10].id]
    assert emu.message(sent[0].id)["flags"] & 1  # CROSSPOSTED
    with pytest.raises(discord.HTTPException) as again:
        await sent[0].publish()
    assert again.value.code == 40033

    emu.config.crosspost_window = 0.0  # the hour has passed
    await sent[10].publish()
    assert emu.crossposted[-1] == sent[10].id
    assert emu.problems == []


async def test_publishing_ones_own_message_needs_send_messages_not_manage_messages(
    emu: DiscordEmulator, world: World, bot: TestBot
) -> None:
    news = emu.add_channel(world.guild.id, "announcements", type=ANNOUNCEMENT_CHANNEL)
    channel = await bot.fetch_channel(news.id)
    assert isinstance(channel, discord.TextChannel)
    own = await channel.send("mine")
    await own.publish()  # the bot has Send Messages and no Manage Messages
    theirs = emu.post_user_message(news.id, world.alice.id, "hers")
    with pytest.raises(discord.Forbidden):
        await channel.get_partial_message(int(theirs["id"])).publish()
    text = await bot.fetch_channel(world.channel.id)
    assert isinstance(text, discord.TextChannel)
    plain = await text.send("not news")
    with pytest.raises(discord.HTTPException) as wrong:
        await plain.publish()
    assert wrong.value.code == 50024
    assert emu.crossposted == [own.id]


async def test_a_thread_from_a_message_takes_its_id_and_its_channels_kind(
    emu: DiscordEmulator, world: World, bot: TestBot
) -> None:
    news = emu.add_channel(world.guild.id, "announcements", type=ANNOUNCEMENT_CHANNEL)
    channel = await bot.fetch_channel(news.id)
    assert isinstance(channel, discord.TextChannel)
    message = await channel.send("news")
    thread = await message.create_thread(name="Discuss: news")
    assert thread.id == message.id and thread.type is discord.ChannelType.news_thread
    assert thread.parent_id == news.id
    with pytest.raises(discord.HTTPException) as twice:
        await message.create_thread(name="again")
    assert twice.value.code == 160004

    emu.set_permission_overwrite(
        world.channel.id, emu.bot_user_id, member=True, deny=CREATE_PUBLIC_THREADS
    )
    text = await bot.fetch_channel(world.channel.id)
    assert isinstance(text, discord.TextChannel)
    other = await text.send("plain")
    with pytest.raises(discord.Forbidden):
        await other.create_thread(name="no")
    assert emu.problems == []


async def test_a_message_reopens_an_archived_thread_unless_it_is_locked(
    emu: DiscordEmulator, world: World, bot: TestBot
) -> None:
    thread_ch = emu.add_thread(world.channel.id, "old talk", archived=True)
    thread = await bot.fetch_channel(thread_ch.id)
    assert isinstance(thread, discord.Thread) and thread.archived
    await thread.send("back")
    assert thread_ch.thread is not None and not thread_ch.thread.archived

    emu.set_thread_archived(thread_ch.id, archived=True, locked=True)
    with pytest.raises(discord.HTTPException) as locked:
        await thread.send("again")
    assert locked.value.status == 400 and locked.value.code == 50083
    assert thread_ch.thread.archived


async def test_a_thread_takes_send_messages_in_threads_from_its_parent(
    emu: DiscordEmulator, world: World, bot: TestBot
) -> None:
    thread_ch = emu.add_thread(world.channel.id, "talk")
    thread = await bot.fetch_channel(thread_ch.id)
    assert isinstance(thread, discord.Thread)
    emu.deny_bot(world.channel.id, send=True)
    await thread.send("Send Messages is not needed in a thread")
    emu.set_permission_overwrite(
        world.channel.id, emu.bot_user_id, member=True, deny=SEND_MESSAGES_IN_THREADS
    )  # the parent's overwrites are the thread's
    with pytest.raises(discord.Forbidden):
        await thread.send("refused")


async def test_active_and_archived_threads_are_listed_as_discord_lists_them(
    emu: DiscordEmulator, world: World, bot: TestBot
) -> None:
    """The guild's active threads (forum posts included, newest first, only where the bot
    sees), and a channel's archived public threads (most recently archived first, a page at a
    time by `before`), through discord.py's own calls."""
    forum_ch = emu.add_channel(world.guild.id, "news", type=FORUM_CHANNEL, tags=["papers"])
    hidden = emu.add_channel(world.guild.id, "hidden")
    forum = await _forum(bot, forum_ch.id)
    first = (await forum.create_thread(name="first", content="1")).thread
    second = (await forum.create_thread(name="second", content="2")).thread
    third = (await forum.create_thread(name="third", content="3")).thread
    emu.add_thread(hidden.id, "not seen")
    emu.deny_bot(hidden.id, view=True)

    guild = bot.get_guild(world.guild.id)
    assert guild is not None
    active = await guild.active_threads()
    assert [t.id for t in active] == [third.id, second.id, first.id]
    assert all(t.parent_id == forum_ch.id for t in active)

    emu.set_thread_archived(second.id, archived=True)
    emu.set_thread_archived(first.id, archived=True)
    archived = [t async for t in forum.archived_threads(limit=None)]
    assert [t.id for t in archived] == [first.id, second.id]  # the latest archived first
    assert [t.id for t in await guild.active_threads()] == [third.id]
    paged = await bot.http.get_public_archived_threads(
        forum_ch.id, before=archived[0].archive_timestamp.isoformat(), limit=2
    )
    assert [t["id"] for t in paged["threads"]] == [str(second.id)] and not paged["has_more"]
    assert emu.problems == []


async def test_archived_threads_need_read_message_history_and_a_limit_within_2_to_100(
    emu: DiscordEmulator, world: World, bot: TestBot
) -> None:
    with pytest.raises(discord.HTTPException) as too_many:
        await bot.http.get_public_archived_threads(world.channel.id, limit=101)
    assert too_many.value.status == 400 and too_many.value.code == 50035
    assert "limit" in too_many.value.text
    with pytest.raises(discord.HTTPException) as bad_date:
        await bot.http.get_public_archived_threads(world.channel.id, before="yesterday")
    assert bad_date.value.code == 50035 and "before" in bad_date.value.text
    emu.deny_bot(world.channel.id, history=True)
    with pytest.raises(discord.Forbidden) as no_history:
        await bot.http.get_public_archived_threads(world.channel.id)
    assert no_history.value.code == 50013


async def test_a_moderated_tag_is_applied_only_with_manage_threads(
    emu: DiscordEmulator, world: World, bot: TestBot
) -> None:
    forum_ch = emu.add_channel(world.guild.id, "news", type=FORUM_CHANNEL, tags=["staff"])
    emu.moderate_forum_tag(forum_ch.id, "staff")
    forum = await _forum(bot, forum_ch.id)
    staff = forum.get_tag(emu.forum_tag_id(forum_ch.id, "staff"))
    assert staff is not None and staff.moderated
    with pytest.raises(discord.Forbidden) as refused:
        await forum.create_thread(name="post", content="x", applied_tags=[staff])
    assert refused.value.code == 50013 and emu.threads_of(forum_ch.id) == []
    emu.set_permission_overwrite(forum_ch.id, emu.bot_user_id, member=True, allow=MANAGE_THREADS)
    await forum.create_thread(name="post", content="x", applied_tags=[staff])
    assert len(emu.threads_of(forum_ch.id)) == 1
