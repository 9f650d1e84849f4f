"""Hostile text and links, end to end: what a corpus file or a feed item says reaches Discord as
literal text, and every URL the bot sends fits Discord.

A title that tries to close a masked link and open its own (`Title ](https://evil.example) [five`),
ANSI escapes, control characters, bidi overrides and Discord tags (`<#channel>`, `<t:…>`) go
through the real bot into the emulator, in /post, /author, /search, announcements, "+N more"
messages and digests; a 2,100-character link is delivered without the 400 Discord answers to it.
"""

# ruff: noqa: F811  (tests take the feed world fixture `fw` imported from test_feed_e2e)
from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

from tests.conftest import write_doc
from tests.discord_app.conftest import World
from tests.discord_app.test_commands import embeds, text_of
from tests.discord_app.test_feed_e2e import FeedWorld, fw  # noqa: F401  (the feed world fixture)
from tests.feeds.feed_world import Item

INJECTED_TITLE = "Title ](https://evil.example) [five"
CHANNEL_TAG = "<#123456789012345678>"
LONG_URL = "https://example.org/long?q=" + "a" * 2100
BIDI = "\u202e"

# In YAML double quotes `\e` is ESC: the loader reads a real escape character from the file.
HOSTILE_FRONT = f"""id: hostile-doc
title: "{INJECTED_TITLE} \\e[31mred\\e[0m \\u202eevil {CHANNEL_TAG} <t:0:R>"
authors: [Mallory Writer]
published: 2024-05-01
url: {LONG_URL}
kind: post
excerpt: false"""
HOSTILE_BODY = (
    "Quarantined zebras are striped.\x1b]0;pwned\x07 A second line \x1b[2J mentions "
    f"{CHANNEL_TAG} and <@&123456789012345678> and \u2066isolates\u2069."
)

# A masked link as Discord reads one: an unescaped `[`, a label in which `]` only appears
# escaped, then `](` and the target.
MASKED_LINK = re.compile(r"(?<!\\)\[((?:\\.|[^\]\\])*)\]\(([^)\s]*)")


def link_targets(text: str) -> list[str]:
    return [target for _label, target in MASKED_LINK.findall(text)]


def assert_inert(message: dict[str, Any]) -> None:
    """No injected link, control character, bidi override or live Discord tag in what was sent,
    and every URL within Discord's limit."""
    text = text_of(message)
    for target in link_targets(text):
        assert target.startswith("<https://") and "evil.example" not in target, text
    assert not re.search("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]", text), repr(
        text
    )
    assert CHANNEL_TAG not in text and "<t:0:R>" not in text and "<@&1234" not in text
    for embed in embeds(message):
        for url in (
            embed.get("url"),
            (embed.get("author") or {}).get("url"),
            (embed.get("footer") or {}).get("icon_url"),
        ):
            assert url is None or (len(url) <= 2048 and url.startswith("https://"))


async def _with_hostile_doc(world: World) -> None:
    write_doc(world.corpus_dir, "90-hostile.md", front=HOSTILE_FRONT, body=HOSTILE_BODY)
    report = await world.service.reload()
    assert report.added == ("hostile-doc",) or "hostile-doc" in report.added


async def test_post_author_and_search_show_hostile_corpus_text_as_text(world: World) -> None:
    await _with_hostile_doc(world)

    post = await world.reply("post", {"post": "hostile-doc"})
    assert_inert(post)
    (embed,) = embeds(post)
    assert "url" not in embed, "a 2,100-character URL is dropped, not sent for Discord to refuse"
    assert "red" in embed["title"] and "evil" in embed["title"]
    assert "Quarantined zebras are striped." in embed["description"]

    author = await world.reply("author", {"name": "Mallory Writer"})
    assert_inert(author)
    assert "Title \\](https:" in text_of(author)  # the bracket shows, escaped: it ends no label

    found = await world.reply("search", {"query": "quarantined zebras"})
    assert_inert(found)
    assert "hostile-doc" in text_of(found)


async def test_an_injected_title_links_nowhere_in_the_authors_list_even_with_a_url(
    world: World,
) -> None:
    front = HOSTILE_FRONT.replace(LONG_URL, "https://example.org/fine").replace(
        "hostile-doc", "fine-doc"
    )
    write_doc(world.corpus_dir, "91-fine.md", front=front, body="Plain text.")
    await world.service.reload()
    description = embeds(await world.reply("author", {"name": "Mallory Writer"}))[0]["description"]
    assert link_targets(description) == ["<https://example.org/fine>"], description


async def test_announcements_plus_n_more_and_digests_keep_hostile_feed_text_inert(
    fw: FeedWorld,
) -> None:
    morning = datetime(2025, 3, 5, 8, 0, tzinfo=UTC)
    fw.cog.feed.clock = lambda: morning
    await fw.reply("subscribe")
    await fw.reply("subscribe", {"channel": fw.news_id, "mode": "digest", "digest_time": "09:00"})
    hostile = [
        Item(
            f"h{i}",
            f"{INJECTED_TITLE} {BIDI}{i} {CHANNEL_TAG} <t:0:R>",
            author=f"Eve {BIDI}Hacker {i}",
            link=LONG_URL + str(i),
            published=datetime(2025, 3, 1, i, tzinfo=UTC),
        )
        for i in range(5)
    ]
    fw.publish(*reversed(hostile))
    await fw.cog.loops.poll_once()
    await fw.wait_announced({fw.general_id: 4})  # three one by one, then "+2 more"
    fw.cog.feed.clock = lambda: morning + timedelta(hours=1)
    await fw.cog.loops.digest_once()
    await fw.wait_announced({fw.news_id: 1})

    sent = fw.announcements(fw.general_id) + fw.announcements(fw.news_id)
    kinds = [embeds(m)[0]["title"].split(":")[0] for m in sent]
    assert kinds[-2:] == ["+2 more new entries", "Daily digest"]
    for message in sent:
        assert_inert(message)
    assert all("url" not in embeds(m)[0] for m in sent), "the 2,100-character links were dropped"
    assert fw.emu.problems == []


async def test_did_you_mean_values_cannot_break_out_of_their_code_span(world: World) -> None:
    for n, name in enumerate(("Zed `<#123456789012345678>` One", "Zed Two")):
        write_doc(
            world.corpus_dir,
            f"9{n}-zed.md",
            front=f"id: zed-{n}\ntitle: Zed {n}\nauthors: ['{name}']\nkind: post\nexcerpt: false",
        )
    await world.service.reload()
    reply = await world.reply("author", {"name": "Zed"})
    lines = [line for line in reply["content"].splitlines() if line.startswith("• ")]
    assert len(lines) == 2, reply["content"]
    # the label shows the name (so no code span follows it), escaped: no backtick opens a span
    assert all(not re.findall(r"(?<!\\)`", line) for line in lines), lines
    assert "<#123456789012345678>" not in reply["content"]
    reply = await world.reply("post", {"post": "zed"})  # titles get their id in a code span
    lines = [line for line in reply["content"].splitlines() if line.startswith("• ")]
    assert all(len(re.findall(r"(?<!\\)`", line)) == 2 and line.endswith("`)") for line in lines), (
        lines
    )


async def test_autocomplete_names_lose_controls_and_bidi_overrides(world: World) -> None:
    await _with_hostile_doc(world)
    choices = await world.emu.send_autocomplete(
        "post",
        {"post": "hostile"},
        focused="post",
        user=world.member_id,
        guild=world.guild_id,
        channel=world.channel_id,
    )
    (choice,) = [c for c in choices if c["value"] == "hostile-doc"]
    assert not re.search("[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]", choice["name"]), repr(
        choice["name"]
    )
    assert choice["name"].startswith("Title ](https://evil.example) [five red")


async def test_reload_problems_quote_hostile_values_inside_intact_code_spans(world: World) -> None:
    """Inside a code span a backslash escapes nothing: safe()'s \\` closed the span early."""
    front = (
        'id: "bad`id <#123456789012345678>"\ntitle: Bad\nauthors: []\nkind: post\nexcerpt: false'
    )
    write_doc(world.corpus_dir, "92-bad.md", front=front)
    owner = world.emu.state.guilds[world.guild_id].owner_id
    description = embeds(await world.reply("reload", user=owner))[0]["description"]
    lines = [line for line in description.splitlines() if line.startswith("• ")]
    assert lines and all(line.count("`") == 2 and line.endswith("`") for line in lines), lines
    assert any("92-bad.md" in line for line in lines)
