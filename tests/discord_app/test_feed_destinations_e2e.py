"""Where announcements go (issue #12), end to end: the real bot against the Discord emulator.

An announcement channel publishes each announcement (and the 11th of an hour waits for its
hour instead of asking Discord past its limit), a forum gets a post per entry with the tags
chosen at /subscribe, a thread gets the announcements (reopened when archived, paused with
Discord's reason when locked), a discussion thread is opened on each announcement, and
/subscribe names what the bot is missing in the target channel. New entries are corpus files;
the tests drive the cog's passes directly and set its clock, as tests/discord_app/test_feed_e2e.py
does.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import discord
import pytest

from bot.config import Config, DiscordConfig, FeedConfig
from bot.corpus.service import CorpusService
from bot.discord_app.client import CorpusBot
from bot.discord_app.exts import EXTENSIONS
from bot.discord_app.exts.feed import Feed
from discord_emulator import DiscordEmulator
from discord_emulator.models import ANNOUNCEMENT_CHANNEL, FORUM_CHANNEL, Channel
from discord_emulator.permissions import (
    CREATE_PUBLIC_THREADS,
    READ_MESSAGE_HISTORY,
    SEND_MESSAGES,
    SEND_MESSAGES_IN_THREADS,
)
from tests.conftest import write_doc
from tests.discord_app.conftest import running_bot
from tests.discord_app.test_commands import embeds, text_of
from tests.feeds.feed_world import SimulatedCrash

MANAGE_CHANNELS = discord.Permissions(manage_channels=True).value


@dataclass
class DestinationWorld:
    emu: DiscordEmulator
    bot: CorpusBot
    corpus_dir: Path
    guild_id: int
    general: Channel
    news: Channel
    forum: Channel
    talk: Channel
    strict: Channel
    """A forum that requires a tag on each post."""
    moderator_id: int

    @property
    def cog(self) -> Feed:
        cog = self.bot.get_cog("Feed")
        assert cog is not None and type(cog).__name__ == "Feed"
        return cog  # type: ignore[return-value]

    async def reply(self, name: str, options: dict[str, Any] | None = None) -> dict[str, Any]:
        handle = await self.emu.send_command(
            name,
            options or {},
            user=self.moderator_id,
            guild=self.guild_id,
            channel=self.general.id,
        )
        return await handle.wait_reply(timeout=10)

    async def new_entries(self, *titles: str) -> None:
        """New corpus files, detected and announced (one poll pass, one send pass)."""
        for index, title in enumerate(titles):
            slug = title.lower().replace(" ", "-")[:60].strip("-")
            write_doc(
                self.corpus_dir,
                f"50-{slug}.md",
                front=f"id: {slug}\ntitle: {title}\nauthors: [Ada]\nkind: post\n"
                f"published: 2025-03-{index + 1:02d}\nexcerpt: false",
                body=f"{title} is new. It says one thing.",
            )
        await self.cog.loops.poll_once()
        await self.cog.loops.send_once()

    def bot_messages(self, channel_id: int) -> list[dict[str, Any]]:
        return [
            m
            for m in self.emu.channel_messages(channel_id, include_ephemeral=False)
            if m["author"]["id"] == str(self.emu.bot_user_id)
        ]


@pytest.fixture
async def dw(
    emulator: DiscordEmulator, service: CorpusService, tmp_path: Path, corpus_dir: Path
) -> AsyncIterator[DestinationWorld]:
    emu = emulator
    guild = emu.add_guild("AI governance")
    general = emu.add_channel(guild.id, "general")
    news = emu.add_channel(guild.id, "announcements", type=ANNOUNCEMENT_CHANNEL)
    forum = emu.add_channel(
        guild.id, "papers", type=FORUM_CHANNEL, tags=["policy", "research", "events"]
    )
    talk = emu.add_thread(general.id, "talk")
    strict = emu.add_channel(
        guild.id, "strict", type=FORUM_CHANNEL, tags=["policy"], require_tag=True
    )
    mods = emu.add_role(guild.id, "channel-mods", permissions=MANAGE_CHANNELS)
    moderator = emu.add_user("mod")
    emu.add_member(guild.id, moderator.id, roles=[mods.id])
    config = Config(
        corpus_dir=corpus_dir,
        data_dir=tmp_path / "data",
        discord=replace(DiscordConfig(), token=emu.bot_token, cooldown_seconds=60.0),
        # 20 a round: eleven announcements each get a message (no "+N more").
        feed=FeedConfig(interval_seconds=3600, max_announcements_per_cycle=20),
    )
    async with running_bot(emu, config, service, extensions=EXTENSIONS) as bot:
        world = DestinationWorld(
            emu, bot, corpus_dir, guild.id, general, news, forum, talk, strict, moderator.id
        )
        await world.cog.loops.poll_once()  # the baseline: what exists is not announced
        yield world
    assert emu.problems == [], emu.problems
    assert emu.pings == []


async def test_an_announcement_channel_publishes_ten_an_hour_and_the_eleventh_later(
    dw: DestinationWorld,
) -> None:
    now = datetime.now(UTC)
    dw.cog.feed.clock = lambda: now
    reply = await dw.reply("subscribe", {"channel": dw.news.id, "publish": True})
    assert "Subscribed" in text_of(reply) and "10 publishes an hour" in text_of(reply)

    await dw.new_entries(*(f"Entry {n}" for n in range(1, 12)))

    posted = dw.bot_messages(dw.news.id)
    assert len(posted) == 11
    assert dw.emu.crossposted == [int(m["id"]) for m in posted[:10]]
    assert dw.emu.crosspost_refusals == []  # the 11th was not asked for past Discord's limit
    listing = text_of(await dw.reply("subscriptions"))
    assert "waiting to publish: 1 (10 publishes an hour)" in listing
    status = text_of(await dw.reply("feed status"))
    assert "Publishing: 1 waiting for their channel's hour" in status

    dw.cog.feed.clock = lambda: now + timedelta(minutes=61)  # the hour has passed
    dw.emu.config.crosspost_window = 0.0  # for Discord too
    await dw.cog.loops.send_once()
    assert dw.emu.crossposted[-1] == int(posted[10]["id"])
    assert len(dw.emu.crossposted) == 11
    assert "waiting to publish: 0" in text_of(await dw.reply("subscriptions"))


async def test_a_publish_discord_still_limits_waits_for_its_retry_after(
    dw: DestinationWorld,
) -> None:
    """The channel's hour was used elsewhere (published by hand): Discord answers 429 and the
    announcement waits, posted and unpublished, instead of holding the sender for an hour."""
    dw.emu.publish_by_hand(dw.news.id, 10)  # the hour's publishes are used already
    dw.bot.http.max_ratelimit_timeout = 30.0  # discord.py raises instead of sleeping
    await dw.reply("subscribe", {"channel": dw.news.id, "publish": True})
    await dw.new_entries("Entry One")
    (posted,) = dw.bot_messages(dw.news.id)
    assert dw.emu.crosspost_refusals == [int(posted["id"])] and dw.emu.crossposted == []
    assert "waiting to publish: 1" in text_of(await dw.reply("subscriptions"))


async def test_a_forum_gets_a_post_per_entry_with_the_tags_chosen(dw: DestinationWorld) -> None:
    choices = await dw.emu.send_autocomplete(
        "subscribe",
        {"channel": dw.forum.id},
        focused="tags",
        user=dw.moderator_id,
        guild=dw.guild_id,
        channel=dw.general.id,
    )
    assert [c["value"] for c in choices] == ["policy", "research", "events"]
    typed = await dw.emu.send_autocomplete(
        "subscribe",
        {"channel": dw.forum.id, "tags": "policy, re"},
        focused="tags",
        user=dw.moderator_id,
        guild=dw.guild_id,
        channel=dw.general.id,
    )
    assert [c["value"] for c in typed] == ["policy, research"]

    reply = await dw.reply("subscribe", {"channel": dw.forum.id, "tags": "policy, research"})
    assert "Each entry is a post of its own" in text_of(reply)
    await dw.new_entries("Forum Entry One", "Forum Entry Two")

    posts = dw.emu.threads_of(dw.forum.id)
    assert [p.name for p in posts] == ["Forum Entry One", "Forum Entry Two"]
    wanted = [
        dw.emu.forum_tag_id(dw.forum.id, "policy"),
        dw.emu.forum_tag_id(dw.forum.id, "research"),
    ]
    for post in posts:
        assert post.thread is not None and post.thread.applied_tags == wanted
        (first,) = dw.emu.channel_messages(post.id)
        assert embeds(first)[0]["title"] == post.name
    assert "A post per entry (2 tags)" in text_of(await dw.reply("subscriptions"))


async def test_a_long_title_names_its_post_within_100_characters(dw: DestinationWorld) -> None:
    await dw.reply("subscribe", {"channel": dw.forum.id})
    title = "A very long title " * 8
    await dw.new_entries(title.strip())
    (post,) = dw.emu.threads_of(dw.forum.id)
    assert len(post.name) == 100 and post.name.endswith("…")


async def test_a_thread_gets_the_announcements_reopened_when_archived_paused_when_locked(
    dw: DestinationWorld,
) -> None:
    reply = await dw.reply("subscribe", {"channel": dw.talk.id})
    assert "posted in the thread" in text_of(reply)
    await dw.new_entries("Thread Entry One")
    assert len(dw.bot_messages(dw.talk.id)) == 1

    dw.emu.set_thread_archived(dw.talk.id, archived=True)
    await dw.new_entries("Thread Entry Two")
    assert len(dw.bot_messages(dw.talk.id)) == 2
    assert dw.talk.thread is not None and not dw.talk.thread.archived  # Discord reopened it

    dw.emu.set_thread_archived(dw.talk.id, archived=True, locked=True)
    await dw.new_entries("Thread Entry Three")
    assert len(dw.bot_messages(dw.talk.id)) == 2
    listing = text_of(await dw.reply("subscriptions"))
    assert "Thread is archived" in listing and "paused" in listing.lower()


async def test_a_discussion_thread_is_opened_on_each_announcement(dw: DestinationWorld) -> None:
    reply = await dw.reply("subscribe", {"channel": dw.news.id, "discussion_thread": True})
    assert "discussion thread" in text_of(reply)
    await dw.new_entries("Discussed Entry")
    (posted,) = dw.bot_messages(dw.news.id)
    (thread,) = dw.emu.threads_of(dw.news.id)
    assert thread.id == int(posted["id"]) and thread.name == "Discussed Entry"
    assert thread.type == 10  # an announcement thread, in an announcement channel
    assert dw.emu.crossposted == []  # not asked to publish


async def test_subscribe_names_what_is_missing_in_the_target(dw: DestinationWorld) -> None:
    bot_id = dw.emu.bot_user_id

    async def refusal(options: dict[str, Any]) -> str:
        return text_of(await dw.reply("subscribe", options))

    dw.emu.set_permission_overwrite(dw.forum.id, bot_id, member=True, deny=SEND_MESSAGES)
    assert "missing Create Posts" in await refusal({"channel": dw.forum.id})
    # A post a crash left unrecorded is looked for in the forum's posts, archived ones listed
    # only with Read Message History.
    dw.emu.set_permission_overwrite(dw.strict.id, bot_id, member=True, deny=READ_MESSAGE_HISTORY)
    assert "missing Read Message History" in await refusal(
        {"channel": dw.strict.id, "tags": "policy"}
    )
    dw.emu.set_permission_overwrite(
        dw.general.id, bot_id, member=True, deny=SEND_MESSAGES_IN_THREADS
    )
    assert "missing Send Messages in Threads" in await refusal({"channel": dw.talk.id})
    dw.emu.set_permission_overwrite(dw.news.id, bot_id, member=True, deny=CREATE_PUBLIC_THREADS)
    assert "missing Create Public Threads" in await refusal(
        {"channel": dw.news.id, "discussion_thread": True}
    )
    assert "`publish`" in await refusal({"channel": dw.general.id, "publish": True})
    assert "`tags`" in await refusal({"channel": dw.news.id, "tags": "policy"})
    unknown = await refusal({"channel": dw.forum.id, "tags": "policy, gossip"})
    assert "no tag “gossip”" in unknown and "policy, research, events" in unknown
    assert "requires a tag on each post" in await refusal({"channel": dw.strict.id})
    assert await dw.cog.feed.subscriptions(dw.guild_id) == []


async def test_an_archived_thread_can_be_subscribed_and_is_reopened_by_the_next_one(
    dw: DestinationWorld,
) -> None:
    """discord.py's cache drops archived threads: the option is fetched, not refused as
    "not a valid value"."""
    dw.emu.set_thread_archived(dw.talk.id, archived=True)
    reply = await dw.reply("subscribe", {"channel": dw.talk.id})
    assert "Subscribed" in text_of(reply)
    assert "is archived: Discord reopens it when the next announcement is sent" in text_of(reply)
    await dw.new_entries("Into The Archive")
    assert len(dw.bot_messages(dw.talk.id)) == 1
    assert dw.talk.thread is not None and not dw.talk.thread.archived


async def test_a_changed_entry_edits_its_forum_post_instead_of_posting_again(
    dw: DestinationWorld,
) -> None:
    await dw.reply("subscribe", {"channel": dw.forum.id})
    await dw.new_entries("Draft Title")
    (post,) = dw.emu.threads_of(dw.forum.id)
    write_doc(
        dw.corpus_dir,
        "50-draft-title.md",
        front="id: draft-title\ntitle: Final Title\nauthors: [Ada]\nkind: post\n"
        "published: 2025-03-01\nexcerpt: false",
        body="Draft Title is new. It says one thing, better.",
    )
    await dw.cog.loops.poll_once()
    await dw.cog.loops.send_once()

    assert [p.id for p in dw.emu.threads_of(dw.forum.id)] == [post.id]
    (first,) = dw.emu.channel_messages(post.id)
    assert dw.emu.message_history(post.id)  # edited in place, where the post's message is
    assert embeds(first)[0]["title"] == "Final Title"


@pytest.mark.parametrize("archived", [False, True], ids=["active", "archived-since"])
async def test_a_forum_post_a_crash_left_unrecorded_is_found_and_not_posted_twice(
    dw: DestinationWorld, archived: bool
) -> None:
    """A forum post takes no nonce: after a crash between the post and its record, the bot
    finds its post among the forum's (active, or archived since) by its first message, records
    it and posts nothing again; another post of its own, named otherwise, is not taken for it."""
    await dw.reply("subscribe", {"channel": dw.forum.id})
    await dw.new_entries("Earlier Entry")
    dw.cog.loops.send_loop.cancel()  # this test runs the crashing pass itself
    dw.cog.feed.clock = lambda: datetime.now(UTC) - timedelta(minutes=10)  # the crash's time
    store = dw.cog.feed.store

    async def killed_before_recording(*args: object, **kwargs: object) -> None:
        raise SimulatedCrash("the bot died after Discord created the forum post")

    store.mark_sent = killed_before_recording  # type: ignore[method-assign]
    with pytest.raises(BaseExceptionGroup) as crashed:
        await dw.new_entries("Crash Entry")
    assert crashed.group_contains(SimulatedCrash)
    del store.mark_sent  # the bot is back: it records again
    earlier, unrecorded = dw.emu.threads_of(dw.forum.id)
    if archived:
        dw.emu.set_thread_archived(unrecorded.id, archived=True)
    dw.cog.feed.clock = lambda: datetime.now(UTC)  # past Discord's nonce window

    await dw.cog.loops.send_once()

    assert [p.id for p in dw.emu.threads_of(dw.forum.id)] == [earlier.id, unrecorded.id]
    sub = await store.subscription_for_channel(dw.forum.id)
    assert sub is not None
    recorded = sorted(row.message_id for row in await store.sent_rows(sub.id))
    assert recorded == [earlier.id, unrecorded.id]
    assert dw.emu.requests_matching("GET", "/guilds/{guild_id}/threads/active")
    assert dw.emu.requests_matching("GET", "/channels/{channel_id}/threads/archived/public")


async def test_subscribe_typed_in_a_thread_subscribes_that_thread(dw: DestinationWorld) -> None:
    handle = await dw.emu.send_command(
        "subscribe", {}, user=dw.moderator_id, guild=dw.guild_id, channel=dw.talk.id
    )
    assert "posted in the thread" in text_of(await handle.wait_reply(timeout=10))
    (health,) = await dw.cog.feed.subscriptions(dw.guild_id)
    assert health.subscription.channel_id == dw.talk.id
    assert health.subscription.destination == "thread"
    handle = await dw.emu.send_command(
        "unsubscribe", {}, user=dw.moderator_id, guild=dw.guild_id, channel=dw.talk.id
    )
    assert "no longer gets announcements" in text_of(await handle.wait_reply(timeout=10))


async def test_filters_and_format_apply_to_a_thread_and_a_forum_subscription(
    dw: DestinationWorld,
) -> None:
    """/feed filter and /feed format take the same channels as /subscribe (a thread is not a
    guild channel in discord.py, and a forum is not a text channel): typed in a thread, or
    naming a forum, they act on that subscription, and its posts follow them."""
    handle = await dw.emu.send_command(
        "subscribe", {}, user=dw.moderator_id, guild=dw.guild_id, channel=dw.talk.id
    )
    await handle.wait_reply(timeout=10)
    await dw.reply("subscribe", {"channel": dw.forum.id, "tags": "policy"})
    for where in ({"channel": dw.forum.id}, {}):
        handle = await dw.emu.send_command(
            "feed filter add",
            {"field": "title", "match": "words", "value": "Budget", "negate": True, **where},
            user=dw.moderator_id,
            guild=dw.guild_id,
            channel=dw.talk.id,
        )
        assert "Added #1" in text_of(await handle.wait_reply(timeout=10))
    handle = await dw.emu.send_command(
        "feed format",
        {"style": "compact"},
        user=dw.moderator_id,
        guild=dw.guild_id,
        channel=dw.talk.id,
    )
    await handle.wait_reply(timeout=10)

    await dw.new_entries("Budget Talks Stall", "Safety Report Out")

    (in_thread,) = dw.bot_messages(dw.talk.id)
    assert "Safety Report Out" in in_thread["content"] and not in_thread["embeds"]
    (post,) = dw.emu.threads_of(dw.forum.id)
    assert post.name == "Safety Report Out"
