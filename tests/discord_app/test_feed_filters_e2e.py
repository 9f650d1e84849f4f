"""Filters, formats and preview end to end (issue #12): the real bot against the emulator and a
loopback feed server (the FeedWorld of test_feed_e2e). A moderator adds regex and negated
conditions and only matching entries are announced; a pathological regex returns; an invalid
one is refused with RE2's message; each format reaches the channel as a reader sees it;
`/feed preview` shows the announcement as it will be sent and why recent entries are dropped."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from discord_emulator.components_v2 import IS_COMPONENTS_V2, text_displays
from tests.discord_app.test_commands import embeds, ephemeral, text_of
from tests.discord_app.test_feed_e2e import FRESH, FRESH_ID, MANAGE_CHANNELS, FeedWorld, fw
from tests.feeds.feed_world import Item, SimulatedCrash

__all__ = ["fw"]  # the fixture, imported to be used here

SPONSORED = Item("s1", "Seen-Sets, Sponsored", categories=("Sponsored", "Data"))
TAGGED = Item("t1", "Seen-Sets Everywhere", categories=("Data",))
OTHER = Item("o1", "Another Topic Entirely", categories=("Data",))
LINE = "📰 [Seen-Sets Beat Dates](<https://medium.com/@ada/a3>) — Ada Example · the ada feed"


async def add_filter(fw: FeedWorld, **options: Any) -> str:
    reply = await fw.reply("feed filter add", options)
    assert ephemeral(reply)
    return text_of(reply)


def titles(fw: FeedWorld, channel_id: int) -> list[str]:
    return [text_of(m).split("\n")[0] or text_of(m) for m in fw.announcements(channel_id)]


async def test_regex_and_negated_conditions_announce_only_matching_entries(fw: FeedWorld) -> None:
    await fw.reply("subscribe")
    added = await add_filter(fw, field="title", match="regex", value=r"^seen-sets\b")
    assert "Added #1: title matches the regex `^seen-sets\\b`" in added
    added = await add_filter(
        fw, field="categories", match="contains", value="sponsored", negate=True
    )
    assert "Added #2: a category does not contain `sponsored`" in added
    listed = text_of(await fw.reply("feed filter list"))
    assert "passes **all** of these" in listed and "2. a category does not contain" in listed

    fw.publish(FRESH, SPONSORED, TAGGED, OTHER)
    await fw.cog.loops.poll_once()
    await fw.wait_announced({fw.general_id: 1})
    announced = [embeds(m)[0]["title"] for m in fw.announcements(fw.general_id)]
    # FRESH has no categories: a condition on a missing field never matches, negated or not.
    assert announced == ["Seen-Sets Everywhere"]

    await fw.reply("feed filter match", {"mode": "any"})
    fw.publish(Item("f2", "Unrelated", categories=("Data",)), FRESH, SPONSORED, TAGGED, OTHER)
    await fw.cog.loops.poll_once()
    await fw.wait_announced({fw.general_id: 2})
    assert [embeds(m)[0]["title"] for m in fw.announcements(fw.general_id)] == [
        "Seen-Sets Everywhere",
        "Unrelated",  # any: its category is not "sponsored"
    ]


async def test_a_pathological_regex_returns_and_matches_as_written(fw: FeedWorld) -> None:
    """``(a+)+$`` backtracks exponentially in Python's ``re`` on "aaa…a!"; RE2 is linear, so the
    poll returns (no timing assertion: with ``re`` this test would not finish)."""
    await fw.reply("subscribe", {"channel": fw.news_id})
    await add_filter(fw, field="summary", match="regex", value="(a+)+$", channel=fw.news_id)
    ends_in_a = Item("p1", "Ends in a", html=f"<p>{'a' * 5000}</p>")
    ends_in_bang = Item("p2", "Ends in bang", html=f"<p>{'a' * 5000}!</p>")
    fw.publish(ends_in_a, ends_in_bang)
    await fw.cog.loops.poll_once()
    await fw.wait_announced({fw.news_id: 1})
    assert [embeds(m)[0]["title"] for m in fw.announcements(fw.news_id)] == ["Ends in a"]


async def test_an_invalid_regex_is_refused_with_the_engines_message(fw: FeedWorld) -> None:
    await fw.reply("subscribe")
    refused = text_of(await add_filter_reply(fw, value="(a"))
    assert refused == "`value:` the regex engine (RE2) refuses it: `missing ): (a`"
    lookbehind = text_of(await add_filter_reply(fw, value="(?<=x)y"))
    assert "`value:`" in lookbehind and "invalid perl operator: (?<=" in lookbehind
    assert "no filter conditions" in text_of(await fw.reply("feed filter list"))
    wrong = text_of(await fw.reply("feed filter remove", {"number": 3}))
    assert wrong.startswith("`number:`") and "no conditions" in wrong
    member = text_of(
        await fw.reply(
            "feed filter add",
            {"field": "title", "match": "contains", "value": "x"},
            user=fw.member_id,
        )
    )
    assert "Manage Channels" in member
    unsubscribed = text_of(await add_filter_reply(fw, value="x", channel=fw.news_id))
    assert (
        unsubscribed == f"<#{fw.news_id}> has no feed subscription; run `/subscribe` there first."
    )


async def add_filter_reply(fw: FeedWorld, *, value: str, **options: Any) -> dict[str, Any]:
    return await fw.reply(
        "feed filter add", {"field": "title", "match": "regex", "value": value, **options}
    )


async def test_each_format_is_delivered_as_a_reader_sees_it(fw: FeedWorld) -> None:
    layout_id = fw.emu.add_channel(fw.guild_id, "layout").id
    await fw.emu.wait_for(
        lambda: fw.bot is not None and fw.bot.get_channel(layout_id) is not None,
        10,
        describe="the new channel in the bot's cache",
    )
    await fw.reply("subscribe")
    await fw.reply("subscribe", {"channel": fw.news_id})
    await fw.reply("subscribe", {"channel": layout_id, "mention_role": fw.role_id})
    compact = text_of(await fw.reply("feed format", {"style": "compact", "channel": fw.news_id}))
    assert "now gets its announcements as one compact line" in compact
    await fw.reply("feed format", {"style": "components", "channel": layout_id})

    fw.publish(FRESH)
    await fw.cog.loops.poll_once()
    await fw.wait_announced({fw.general_id: 1, fw.news_id: 1, layout_id: 1})

    (as_embed,) = fw.announcements(fw.general_id)
    assert embeds(as_embed)[0]["title"] == "Seen-Sets Beat Dates"
    (as_line,) = fw.announcements(fw.news_id)
    assert as_line["content"] == LINE and as_line["embeds"] == []
    (as_layout,) = fw.announcements(layout_id)
    assert as_layout["flags"] & IS_COMPONENTS_V2
    assert as_layout["content"] == "" and as_layout["embeds"] == []
    shown = text_displays(as_layout)
    assert shown[0] == f"<@&{fw.role_id}>"
    assert shown[1:3] == [
        "-# New in the ada feed",
        "### [Seen-Sets Beat Dates](<https://medium.com/@ada/a3>)",
    ]
    assert shown[3] in "Dates lie about order. Keys never do. Use keys."  # sentences, verbatim
    assert shown[4].startswith("Ada Example · <t:")
    assert shown[5] == f"-# id {FRESH_ID} · /post or /summarize it"
    assert [(p.channel_id, p.roles) for p in fw.emu.pings] == [(layout_id, [fw.role_id])]

    # More than the cap (3) at once: three announcements and a "+2 more" in each format.
    fw.publish(*(Item(f"m{n}", f"Many {n}") for n in range(5)), FRESH)
    await fw.cog.loops.poll_once()
    await fw.wait_announced({fw.general_id: 5, fw.news_id: 5, layout_id: 5})
    assert embeds(fw.announcements(fw.general_id)[-1])[0]["title"] == "+2 more new entries"
    more_line = fw.announcements(fw.news_id)[-1]["content"]
    assert more_line == (
        "**+2 more new entries**\n"
        "📰 [Many 1](<https://medium.com/@ada/m1>) — Ada Example · the ada feed\n"
        "📰 [Many 0](<https://medium.com/@ada/m0>) — Ada Example · the ada feed"
    )
    more_layout = text_displays(fw.announcements(layout_id)[-1])
    assert more_layout[1] == "### +2 more new entries"
    assert "• 📰 [Many 1](<https://medium.com/@ada/m1>)" in more_layout[2]


async def test_preview_is_the_next_announcement_and_says_why_entries_are_dropped(
    fw: FeedWorld,
) -> None:
    await fw.reply("subscribe", {"mention_role": fw.role_id})
    await fw.reply("feed format", {"style": "compact"})
    await add_filter(fw, field="title", match="regex", value="^seen")
    fw.publish(FRESH, OTHER)
    await fw.cog.loops.poll_once()
    await fw.wait_announced({fw.general_id: 1})
    (announced,) = fw.announcements(fw.general_id)

    note, shown = await fw.preview()
    assert ephemeral(note) and ephemeral(shown)
    assert shown["content"] == announced["content"] == f"<@&{fw.role_id}> {LINE}"
    lines = text_of(note).split("\n")
    assert (
        lines[0]
        == f"Preview: how a new entry is announced mentioning <@&{fw.role_id}>, as one compact line."
    )
    assert "• Another Topic Entirely: fails #1: title matches the regex `^seen`" in lines
    assert "• Seen-Sets Beat Dates" not in text_of(note)  # it passes
    assert [(p.channel_id, p.roles) for p in fw.emu.pings] == [(fw.general_id, [fw.role_id])]

    await fw.reply("feed format", {"style": "components"})
    _note, as_layout = await fw.preview({"post": FRESH_ID})
    assert as_layout["flags"] & IS_COMPONENTS_V2
    assert "### [Seen-Sets Beat Dates](<https://medium.com/@ada/a3>)" in text_displays(as_layout)


@pytest.mark.parametrize("style", ["compact", "components"])
async def test_a_post_a_crash_left_unrecorded_is_found_in_each_format(
    fw: FeedWorld, style: str
) -> None:
    """The deliverer recognises its own message in the subscription's format (a compact line by
    its text, a layout by its footer naming the entry) and records it instead of posting again."""
    await fw.reply("subscribe")
    await fw.reply("feed format", {"style": style})
    fw.cog.loops.send_loop.cancel()  # this test runs the crashing pass itself
    fw.cog.feed.clock = lambda: datetime.now(UTC) - timedelta(minutes=10)

    async def killed_before_recording(*args: object, **kwargs: object) -> None:
        raise SimulatedCrash("the bot died after Discord created the message")

    fw.cog.feed.store.mark_sent = killed_before_recording  # type: ignore[method-assign]
    fw.publish(FRESH)
    await fw.cog.loops.poll_once()
    with pytest.raises(BaseExceptionGroup) as crashed:
        await fw.cog.loops.send_once()
    assert crashed.group_contains(SimulatedCrash)
    await fw.stop()

    fw.emu.config.nonce_window = 0.0  # Discord has forgotten the nonce: a resend would post again
    await fw.start()
    await fw.cog.loops.send_once()
    await fw.cog.loops.send_once()

    (message,) = fw.announcements(fw.general_id)
    sub = await fw.cog.feed.store.subscription_for_channel(fw.general_id)
    assert sub is not None and sub.message_format == style
    (row,) = await fw.cog.feed.store.sent_rows(sub.id)
    assert row.message_id == int(message["id"])


async def test_remove_offers_the_channels_conditions_by_number(fw: FeedWorld) -> None:
    await fw.reply("subscribe", {"channel": fw.news_id, "author": "ada"})
    await add_filter(fw, field="title", match="words", value="<@&1> `x`", channel=fw.news_id)
    choices = await fw.emu.send_autocomplete(
        "feed filter remove",
        {"channel": fw.news_id},
        focused="number",
        user=fw.moderator_id,
        guild=fw.guild_id,
        channel=fw.general_id,
    )
    assert choices == [
        {"name": "1. an author has the words `ada`", "value": 1},
        {"name": "2. title has the words `<@&1> ˋxˋ`", "value": 2},
    ]
    removed = text_of(await fw.reply("feed filter remove", {"number": 2, "channel": fw.news_id}))
    assert removed.startswith("Removed #2: title has the words `<@&1> ˋxˋ`.")
    assert "1. an author has the words `ada` *(from /subscribe)*" in removed


@pytest.mark.parametrize("first", ["embed", "components"])
async def test_a_changed_entry_is_edited_as_a_layout(fw: FeedWorld, first: str) -> None:
    """Edited in place in the subscription's format, also when it was posted as an embed before
    `/feed format` changed (content and embeds cleared, as Discord requires)."""
    await fw.reply("subscribe")
    await fw.reply("feed format", {"style": first})
    fw.publish(FRESH)
    await fw.cog.loops.poll_once()
    await fw.wait_announced({fw.general_id: 1})
    (message,) = fw.announcements(fw.general_id)
    await fw.reply("feed format", {"style": "components"})

    fw.publish(replace(FRESH, title="Seen-Sets Beat Dates, Revised"))
    await fw.cog.loops.poll_once()
    await fw.emu.wait_for(
        lambda: len(fw.emu.message_history(int(message["id"]))) >= 1, 10, describe="the edit"
    )
    await fw.cog.loops.send_once()

    (edited,) = fw.announcements(fw.general_id)
    assert edited["id"] == message["id"] and edited["embeds"] == []
    assert edited["flags"] & IS_COMPONENTS_V2
    assert "### [Seen-Sets Beat Dates, Revised](<https://medium.com/@ada/a3>)" in text_displays(
        edited
    )


async def test_filters_format_and_preview_check_the_member_in_the_target_channel(
    fw: FeedWorld,
) -> None:
    """Manage Channels in #general (a member overwrite) does not let one change or preview the
    subscription of #news from there."""
    sneaky = fw.emu.add_user("sneaky")
    fw.emu.add_member(fw.guild_id, sneaky.id)
    fw.emu.set_permission_overwrite(fw.general_id, sneaky.id, member=True, allow=MANAGE_CHANNELS)
    await fw.emu.wait_for(
        lambda: (
            fw.bot is not None
            and (c := fw.bot.get_channel(fw.general_id)) is not None
            and len(getattr(c, "overwrites", {})) == 1
        ),
        10,
        describe="the overwrite in the bot's cache",
    )
    await fw.reply("subscribe", {"channel": fw.news_id})
    news = {"channel": fw.news_id}
    for name, options in (
        ("feed filter add", {"field": "title", "match": "contains", "value": "x", **news}),
        ("feed filter match", {"mode": "any", **news}),
        ("feed filter remove", {"number": 1, **news}),
        ("feed format", {"style": "compact", **news}),
        ("feed preview", news),
    ):
        refused = await fw.reply(name, options, user=sneaky.id)
        assert ephemeral(refused) and f"Manage Channels permission in <#{fw.news_id}>" in text_of(
            refused
        ), name
    sub = await fw.cog.feed.store.subscription_for_channel(fw.news_id)
    assert sub is not None and sub.conditions == () and sub.message_format == "embed"
    assert sub.match_mode == "all"
    # In #general itself the overwrite is enough (a subscription is needed there first).
    here = text_of(await fw.reply("feed filter list", user=sneaky.id))
    assert here == f"<#{fw.general_id}> has no feed subscription; run `/subscribe` there first."
