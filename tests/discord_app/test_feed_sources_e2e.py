"""Sources managed from Discord, end to end: the real bot against the emulator and a loopback
feed server (the FeedWorld of test_feed_e2e). An admin adds a feed from a site's URL with a
button (its first fetch announces nothing, its next item is announced), it survives a restart,
is listed with its health and removed; members are refused; private addresses are refused."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import discord

from tests.discord_app.test_commands import embeds, ephemeral, text_of
from tests.discord_app.test_feed_e2e import BASE, FRESH, FeedWorld, fw
from tests.feeds.feed_world import medium_rss

__all__ = ["fw"]  # the fixture, imported to be used here

SITE_PAGE = b"""<!doctype html><html><head><title>Example Blog</title>
<link rel="alternate" type="application/rss+xml" title="Posts" href="blog.xml">
</head><body>Hello</body></html>"""


MANAGE_GUILD = discord.Permissions(manage_guild=True).value


def owner(fw: FeedWorld) -> int:
    return fw.emu.state.guilds[fw.guild_id].owner_id


async def allow_private_addresses(fw: FeedWorld) -> None:
    """Restart the bot with feed.allow_private_addresses: the test feeds are on loopback."""
    await fw.stop()
    fw.config = replace(fw.config, feed=replace(fw.config.feed, allow_private_addresses=True))
    await fw.start()


def button(reply: dict[str, Any], label: str) -> str:
    for row in reply.get("components") or []:
        for component in row["components"]:
            if component.get("label") == label:
                return str(component["custom_id"])
    raise AssertionError(f"no {label} button in {reply.get('components')}")


async def press(fw: FeedWorld, reply: dict[str, Any], label: str, user: int) -> str:
    """Press a button; the text of the bot's followup (its answer after the press)."""
    handle = await fw.emu.click_button(int(reply["id"]), button(reply, label), user=user)
    await handle.wait_acknowledged(timeout=10)
    await fw.emu.wait_for(lambda: handle.followup_ids, 10, describe="the answer to the press")
    return "\n".join(text_of(m) for m in handle.messages)


async def test_an_admin_adds_a_feed_from_a_site_url_and_it_is_announced_then_removed(
    fw: FeedWorld,
) -> None:
    await allow_private_addresses(fw)
    fw.feeds.serve("/blog/", SITE_PAGE, content_type="text/html")
    fw.feeds.serve("/blog/blog.xml", medium_rss(BASE, title="The Example Blog"))
    await fw.reply("subscribe")

    found = await fw.reply("feed add", {"url": fw.feeds.url("/blog/")}, user=owner(fw))
    assert ephemeral(found)
    (embed,) = embeds(found)
    assert embed["title"] == "1 feed found"
    (field,) = embed["fields"]
    assert (
        field["name"] == "1. The Example Blog" and fw.feeds.url("/blog/blog.xml") in field["value"]
    )
    assert "Newest: [Why Corpora Need Curators]" in field["value"]  # the preview

    refused = await fw.emu.click_button(int(found["id"]), button(found, "Add"), user=fw.member_id)
    assert "Only the admin" in text_of(await refused.wait_reply(timeout=10))

    answer = await press(fw, found, "Add", owner(fw))
    assert "Following it as `the-example-blog`" in answer and "not announced" in answer
    assert not fw.emu.message(int(found["id"])).get("components")  # one press: the buttons go
    await fw.cog.loops.send_once()
    assert fw.announcements(fw.general_id) == []  # the first fetch is the silent baseline

    await fw.stop()  # a source added in Discord survives a restart
    await fw.start()
    sources = text_of(await fw.reply("feed sources", user=fw.member_id))
    assert "the-example-blog · " + fw.feeds.url("/blog/blog.xml") + " · added" in sources
    assert "ada · " in sources

    fw.feeds.serve("/blog/blog.xml", medium_rss([FRESH, *BASE], title="The Example Blog"))
    await fw.cog.loops.poll_once(reload_corpus=False)
    await fw.wait_announced({fw.general_id: 1})
    (announced,) = fw.announcements(fw.general_id)
    assert embeds(announced)[0]["title"] == FRESH.title

    removed = await fw.reply("feed remove", {"source": "the-example-blog"}, user=owner(fw))
    assert "Stopped following `the-example-blog`" in text_of(removed)
    assert "the-example-blog" not in text_of(await fw.reply("feed sources"))
    config_one = await fw.reply("feed remove", {"source": "ada"}, user=owner(fw))
    assert "feed.sources" in text_of(config_one) and "restart" in text_of(config_one)


async def test_remove_autocompletes_source_names(fw: FeedWorld) -> None:
    handle = await fw.emu.autocomplete_interaction(
        "feed remove",
        {"source": "ad"},
        focused="source",
        user=owner(fw),
        guild=fw.guild_id,
        channel=fw.general_id,
    )
    choices = await handle.wait_choices(timeout=10)
    assert [c["value"] for c in choices] == ["ada"]


async def test_only_the_bots_admins_may_add_or_remove_feeds(fw: FeedWorld) -> None:
    """The feeds followed fill the corpus of every server: Manage Channels is not enough, nor is
    Manage Server in one of them; only the config's admin_user_ids."""
    server_admins = fw.emu.add_role(fw.guild_id, "server-admins", permissions=MANAGE_GUILD)
    server_admin = fw.emu.add_user("server admin")
    fw.emu.add_member(fw.guild_id, server_admin.id, roles=[server_admins.id])
    for user in (fw.moderator_id, server_admin.id):
        for name, options in (
            ("feed add", {"url": "https://example.org/"}),
            ("feed remove", {"source": "ada"}),
        ):
            reply = await fw.reply(name, options, user=user)
            assert ephemeral(reply) and "Only the bot's admins" in text_of(reply)
    assert fw.feeds.requests == [] or all(path == "/ada.xml" for path, _ in fw.feeds.requests)
    assert "ada" in fw.cog.feed.source_names()


async def test_private_addresses_are_refused_by_default(fw: FeedWorld) -> None:
    for url, kind in (
        (fw.feeds.url("/ada.xml"), "loopback"),
        ("http://169.254.169.254/latest/meta-data/", "link-local"),
        ("http://10.0.0.1/", "private"),
    ):
        reply = await fw.reply("feed add", {"url": url}, user=owner(fw))
        (embed,) = embeds(reply)
        assert embed["title"] == "No feed found"
        assert kind in embed["description"]
        assert "allow\\_private\\_addresses" in embed["description"]  # Markdown-escaped
        assert not reply.get("components")
    assert [path for path, _ in fw.feeds.requests if path != "/ada.xml"] == []


async def test_export_sends_an_opml_file(fw: FeedWorld) -> None:
    reply = await fw.reply("feed export")
    assert ephemeral(reply) and "OPML" in text_of(reply)
    (attachment,) = reply["attachments"]
    assert attachment["filename"] == "corpus-bot-feeds.opml" and attachment["size"] > 0
