"""Feed destinations used as a hostile member or a careless admin would (issue #12's review),
end to end: the real bot against the Discord emulator.

An entry's title becomes a forum post's name, a discussion thread's name, a compact line and a
Components V2 text display: none pings, links or reorders what a reader sees, all within
Discord's limits. A forum's tags deleted after /subscribe do not make Discord refuse every
post, and a forum that requires a tag the subscription no longer has pauses it with Discord's
reason instead of refusing its announcements one by one. What was already right stays
checked: an announcement channel converted to text, Send Messages in Threads taken away, a
forum deleted.
"""

from __future__ import annotations

import json
import unicodedata

import discord

from bot.discord_app.exts.feed.destinations import tag_names
from discord_emulator.components_v2 import text_displays
from discord_emulator.models import FORUM_CHANNEL, TEXT_CHANNEL
from discord_emulator.permissions import MANAGE_THREADS, SEND_MESSAGES_IN_THREADS
from tests.conftest import write_doc
from tests.discord_app.test_commands import text_of
from tests.discord_app.test_feed_destinations_e2e import DestinationWorld, dw

__all__ = ["dw"]  # the fixture, imported to be used here

HOSTILE_TITLE = (
    "@everyone <@&123456789012345678> [click](https://evil.example) \u202egnp.exe\u202c "
    "\u2066x\u2069\u200f\x07\x1b[31m " + "long " * 1000
)
"""Mentions, a masked link, bidi overrides, controls and an ANSI escape, 5,000+ characters."""


async def hostile_entry(dw: DestinationWorld, title: str = HOSTILE_TITLE) -> None:
    """A new corpus file with this title (and a mention for a byline), announced."""
    write_doc(
        dw.corpus_dir,
        "60-hostile.md",
        front=f"id: hostile\ntitle: {json.dumps(title)}\nauthors: ['@here']\nkind: post\n"
        "published: 2025-03-01\nexcerpt: false",
        body="Hostile. It says one thing.",
    )
    await dw.cog.loops.poll_once()
    await dw.cog.loops.send_once()


BIDI_FORMATTING = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
"""Embeddings, overrides and isolates: they reorder what follows them (marks do not)."""


async def bot_sees_manage_threads(dw: DestinationWorld, present: bool) -> None:
    """Wait until the bot's cache has Manage Threads in the forum (or has lost it)."""

    def seen() -> bool:
        forum = dw.bot.get_channel(dw.forum.id)
        guild = dw.bot.get_guild(dw.guild_id)
        assert isinstance(forum, discord.ForumChannel) and guild is not None
        return forum.permissions_for(guild.me).manage_threads == present

    await dw.emu.wait_for(seen, 10, describe=f"the bot's cache: Manage Threads {present}")


def shows_only_printable(text: str) -> bool:
    """No control character (line breaks aside) and no bidi embedding, override or isolate."""
    return not any(
        ch in BIDI_FORMATTING or (unicodedata.category(ch) == "Cc" and ch not in "\n\t")
        for ch in text
    )


async def test_a_hostile_title_names_posts_and_threads_plainly_and_pings_no_one(
    dw: DestinationWorld,
) -> None:
    await dw.reply("subscribe", {"channel": dw.forum.id})
    await dw.reply("subscribe", {"channel": dw.news.id, "discussion_thread": True})
    await dw.reply("subscribe", {"channel": dw.general.id})
    await dw.reply("feed format", {"style": "compact", "channel": dw.general.id})
    await dw.reply("subscribe", {"channel": dw.talk.id})
    await dw.reply("feed format", {"style": "components", "channel": dw.talk.id})

    await hostile_entry(dw)

    (post,) = dw.emu.threads_of(dw.forum.id)
    (discussion,) = dw.emu.threads_of(dw.news.id)
    for thread in (post, discussion):
        assert len(thread.name) <= 100 and shows_only_printable(thread.name), repr(thread.name)
        assert "gnp.exe" in thread.name  # shown in the order it was written
    (compact,) = dw.bot_messages(dw.general.id)
    (layout,) = dw.bot_messages(dw.talk.id)
    for message in (compact, layout):
        shown = text_of(message)
        assert shows_only_printable(shown), repr(shown)
        assert "@everyone" not in shown and "<@&" not in shown and "@here" not in shown
        assert "](https://evil.example)" not in shown  # the title's link is not a link
        assert message["mentions"] == [] and message["mention_roles"] == []
    assert len(compact["content"]) <= 2000
    assert sum(len(text) for text in text_displays(layout)) <= 4000
    # The fixture checks that nothing pinged and Discord saw no invalid request.


async def test_a_tag_deleted_from_the_forum_since_subscribe_does_not_refuse_every_post(
    dw: DestinationWorld,
) -> None:
    await dw.reply("subscribe", {"channel": dw.forum.id, "tags": "policy, research"})
    dw.emu.delete_forum_tag(dw.forum.id, "research")
    await dw.emu.wait_for(
        lambda: len(dw.bot.get_channel(dw.forum.id).available_tags) == 2,  # type: ignore[union-attr]
        10,
        describe="the bot's cache to see the forum's tags change",
    )

    await hostile_entry(dw, "After The Tag Went")

    (post,) = dw.emu.threads_of(dw.forum.id)
    assert post.name == "After The Tag Went"
    assert post.thread is not None
    assert post.thread.applied_tags == [dw.emu.forum_tag_id(dw.forum.id, "policy")]
    assert "refused" not in text_of(await dw.reply("subscriptions"))


async def test_a_forum_requiring_a_tag_the_subscription_lost_pauses_it_with_the_reason(
    dw: DestinationWorld,
) -> None:
    await dw.reply("subscribe", {"channel": dw.strict.id, "tags": "policy"})
    dw.emu.delete_forum_tag(dw.strict.id, "policy")
    await dw.emu.wait_for(
        lambda: not dw.bot.get_channel(dw.strict.id).available_tags,  # type: ignore[union-attr]
        10,
        describe="the bot's cache to see the forum's tag go",
    )

    await hostile_entry(dw, "Nowhere To Go")

    assert dw.emu.threads_of(dw.strict.id) == []
    listing = text_of(await dw.reply("subscriptions"))
    assert "Paused" in listing and "A tag is required to create a forum post" in listing
    sub = await dw.cog.feed.store.subscription_for_channel(dw.strict.id)
    assert sub is not None and sub.paused_reason is not None
    assert "refused by Discord" not in listing  # the entry waits for the fix, not set aside


async def test_an_announcement_channel_turned_text_still_gets_announcements_unpublished(
    dw: DestinationWorld,
) -> None:
    """Publishing needs an announcement channel: once an admin converts it into a text
    channel, each announcement is still posted and its publish is refused with Discord's
    reason, counted where /subscriptions shows the subscription."""
    await dw.reply("subscribe", {"channel": dw.news.id, "publish": True})
    dw.emu.set_channel_type(dw.news.id, TEXT_CHANNEL)

    await hostile_entry(dw, "After The Conversion")

    (posted,) = dw.bot_messages(dw.news.id)
    assert dw.emu.crossposted == []
    listing = text_of(await dw.reply("subscriptions"))
    assert "not published (refused): 1" in listing and "Paused" not in listing


async def test_losing_send_messages_in_threads_pauses_a_thread_subscription_naming_it(
    dw: DestinationWorld,
) -> None:
    await dw.reply("subscribe", {"channel": dw.talk.id})
    dw.emu.set_permission_overwrite(
        dw.general.id, dw.emu.bot_user_id, member=True, deny=SEND_MESSAGES_IN_THREADS
    )  # a thread's permissions are its parent's

    await hostile_entry(dw, "Nobody Hears")

    assert dw.bot_messages(dw.talk.id) == []
    listing = text_of(await dw.reply("subscriptions"))
    assert "Paused" in listing and "Send Messages in Threads" in listing


async def test_a_deleted_forum_pauses_its_subscription(dw: DestinationWorld) -> None:
    await dw.reply("subscribe", {"channel": dw.forum.id})
    dw.emu.delete_channel(dw.forum.id)

    await hostile_entry(dw, "Into The Void")

    sub = await dw.cog.feed.store.subscription_for_channel(dw.forum.id)
    assert sub is not None and sub.paused_reason == "channel_missing"


async def test_a_forum_tag_with_a_comma_or_markdown_in_its_name_can_be_chosen(
    dw: DestinationWorld,
) -> None:
    """`tags` is a comma-separated list, and Discord lets a tag's name have commas: such a tag
    is offered whole, chosen whole and applied; a name's Markdown is shown as typed."""
    helpdesk = dw.emu.add_channel(
        dw.guild_id, "helpdesk", type=FORUM_CHANNEL, tags=["Q&A, help", "policy", "**loud**"]
    )
    await dw.emu.wait_for(
        lambda: dw.bot.get_channel(helpdesk.id) is not None, 10, describe="the new forum"
    )
    choices = await dw.emu.send_autocomplete(
        "subscribe",
        {"channel": helpdesk.id, "tags": "policy, Q&A, he"},
        focused="tags",
        user=dw.moderator_id,
        guild=dw.guild_id,
        channel=dw.general.id,
    )
    assert [c["value"] for c in choices] == ["policy, Q&A, help"]

    reply = text_of(
        await dw.reply("subscribe", {"channel": helpdesk.id, "tags": "policy, Q&A, help, **loud**"})
    )
    assert "tagged Q&A, help, policy, \\*\\*loud\\*\\*." in reply  # the forum's order
    await hostile_entry(dw, "Tagged Whole")

    (post,) = dw.emu.threads_of(helpdesk.id)
    assert post.thread is not None
    assert post.thread.applied_tags == [
        dw.emu.forum_tag_id(helpdesk.id, name) for name in ("policy", "Q&A, help", "**loud**")
    ]


async def test_a_moderated_tag_needs_manage_threads_where_the_post_is_made(
    dw: DestinationWorld,
) -> None:
    """Discord lets only members with Manage Threads apply a moderated tag: /subscribe names
    what is missing in the forum instead of subscribing a forum where every post would fail."""
    dw.emu.moderate_forum_tag(dw.forum.id, "events")
    await dw.emu.wait_for(
        lambda: any(t.moderated for t in dw.bot.get_channel(dw.forum.id).available_tags),  # type: ignore[union-attr]
        10,
        describe="the bot's cache to see the tag moderated",
    )
    refused = text_of(await dw.reply("subscribe", {"channel": dw.forum.id, "tags": "events"}))
    assert "missing Manage Threads (to apply a moderated tag)" in refused
    assert await dw.cog.feed.subscriptions(dw.guild_id) == []

    dw.emu.set_permission_overwrite(
        dw.forum.id, dw.emu.bot_user_id, member=True, allow=MANAGE_THREADS
    )
    await bot_sees_manage_threads(dw, True)
    assert "Subscribed" in text_of(
        await dw.reply("subscribe", {"channel": dw.forum.id, "tags": "events, policy"})
    )
    await hostile_entry(dw, "A Moderated Event")
    (post,) = dw.emu.threads_of(dw.forum.id)
    assert post.thread is not None
    assert dw.emu.forum_tag_id(dw.forum.id, "events") in post.thread.applied_tags


async def test_manage_threads_taken_away_pauses_a_forum_with_a_moderated_tag_naming_it(
    dw: DestinationWorld,
) -> None:
    dw.emu.moderate_forum_tag(dw.forum.id, "events")
    dw.emu.set_permission_overwrite(
        dw.forum.id, dw.emu.bot_user_id, member=True, allow=MANAGE_THREADS
    )
    await bot_sees_manage_threads(dw, True)
    assert "Subscribed" in text_of(
        await dw.reply("subscribe", {"channel": dw.forum.id, "tags": "events"})
    )
    dw.emu.set_permission_overwrite(dw.forum.id, dw.emu.bot_user_id, member=True)  # taken away
    await bot_sees_manage_threads(dw, False)

    await hostile_entry(dw, "Moderated Away")

    assert dw.emu.threads_of(dw.forum.id) == []
    listing = text_of(await dw.reply("subscriptions"))
    assert "Paused: missing permission" in listing
    assert "Manage Threads (to apply a moderated tag)" in listing


def test_tag_names_keep_an_offered_name_with_commas_whole_and_split_the_rest() -> None:
    offered = {"q&a, help", "q&a", "policy"}
    assert tag_names("policy, Q&A, help", offered) == ["policy", "Q&A, help"]
    assert tag_names("Q&A,policy", offered) == ["Q&A", "policy"]
    assert tag_names(" ,, gossip, help ,", offered) == ["gossip", "help"]
    assert tag_names("," * 10_000 + "policy", offered) == ["policy"]  # no run tried past 9
