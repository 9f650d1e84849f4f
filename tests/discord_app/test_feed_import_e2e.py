"""`/feed import file:` end to end: the real bot against the emulator, which attaches the file
and serves it from its CDN route, and the loopback feed server (issue #12).

An OPML round trip: what `/feed export` sends, imported into a fresh bot and index, follows
the same sources. The refusals: a user who is not one of the bot's admins, a file too big by
its declared size (never downloaded) or by its bytes (whatever its size said), a DOCTYPE, a
file that is not XML or not OPML; each one clear ephemeral message, nothing added."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from bot.feeds.opml import MAX_OPML_BYTES, read_opml
from discord_emulator import Upload
from tests.discord_app.test_commands import embeds, ephemeral, text_of
from tests.discord_app.test_feed_e2e import FeedWorld, fw
from tests.discord_app.test_feed_sources_e2e import allow_private_addresses, button, owner
from tests.feeds.feed_world import medium_rss

__all__ = ["fw"]  # the fixture, imported to be used here


def opml(*urls: str, head: str = "") -> bytes:
    outlines = "\n".join(
        f'    <outline type="rss" text="Feed {i}" xmlUrl="{url}"/>' for i, url in enumerate(urls)
    )
    return (
        f'<?xml version="1.0" encoding="UTF-8"?>\n{head}<opml version="2.0">\n'
        f"  <head><title>mine</title></head>\n  <body>\n{outlines}\n  </body>\n</opml>\n"
    ).encode()


async def import_file(fw: FeedWorld, upload: Upload, *, user: int | None = None) -> dict[str, Any]:
    """`/feed import` with this file, by the bot's admin unless `user`; the reply."""
    handle = await fw.emu.send_command(
        "feed import",
        {"file": upload},
        user=user or owner(fw),
        guild=fw.guild_id,
        channel=fw.general_id,
    )
    reply = await handle.wait_reply(timeout=10)
    assert ephemeral(reply)
    return reply


async def followed(fw: FeedWorld) -> set[tuple[str, str]]:
    return {(s.name, s.url) for s in await fw.cog.feed.store.followed_sources()}


async def test_an_exported_file_imported_into_a_fresh_bot_follows_the_same_sources(
    fw: FeedWorld,
) -> None:
    await allow_private_addresses(fw)  # the feeds are on the loopback feed server
    for path in ("/one.xml", "/two.xml"):
        fw.feeds.serve(path, medium_rss([], title=path))
    mine = opml(fw.feeds.url("/one.xml"), fw.feeds.url("/two.xml"), fw.feeds.url("/ada.xml"))
    reply = await import_file(fw, Upload(mine, "mine.opml", "text/x-opml"))
    (page,) = embeds(reply)
    assert page["title"] == "mine.opml: 2 added, 1 skipped, 0 refused"
    assert page["description"].splitlines() == [
        f"✅ `{fw.feeds.url('/one.xml')}` added as `feed-0`",
        f"✅ `{fw.feeds.url('/two.xml')}` added as `feed-1`",
        f"⏭️ `{fw.feeds.url('/ada.xml')}` skipped: already followed as `ada`",
    ]
    assert fw.feeds.hits("/one.xml") == []  # nothing fetched by the import itself
    await fw.cog.loops.poll_once(reload_corpus=False)  # the first poll: the silent baseline
    assert len(fw.feeds.hits("/one.xml")) == 1 and fw.announcements(fw.general_id) == []
    before = await followed(fw)

    exported = await fw.reply("feed export", user=fw.member_id)
    (attachment,) = exported["attachments"]
    data = fw.emu.attachment_data(attachment)

    await fw.stop()  # a fresh bot over a fresh index: only the config's source
    fresh = fw.settings.db_path.parent.parent / "fresh"
    fw.settings = replace(fw.settings, db_path=fresh / "corpus.db")
    fw.config = replace(fw.config, data_dir=fresh)
    await fw.start()
    assert await followed(fw) == {("ada", fw.feeds.url("/ada.xml"))}

    again = await import_file(fw, Upload(data, attachment["filename"], "application/xml"))
    assert embeds(again)[0]["title"] == "corpus-bot-feeds.opml: 2 added, 1 skipped, 0 refused"
    assert await followed(fw) == before
    exported_again = await fw.reply("feed export", user=fw.member_id)
    data_again = fw.emu.attachment_data(exported_again["attachments"][0])
    assert read_opml(data_again) == read_opml(data)
    assert fw.emu.problems == [] and fw.emu.pings == []


async def test_an_imported_feed_on_a_private_address_is_not_fetched_by_default(
    fw: FeedWorld,
) -> None:
    """The import adds what the file lists; the SSRF guard of every added feed applies at its
    first poll (feed.allow_private_addresses is off here)."""
    fw.feeds.serve("/inside.xml", medium_rss([], title="inside"))
    reply = await import_file(fw, Upload(opml(fw.feeds.url("/inside.xml")), "in.opml"))
    assert "1 added" in embeds(reply)[0]["title"]
    await fw.cog.loops.poll_once(reload_corpus=False)
    assert fw.feeds.hits("/inside.xml") == []
    status = text_of(await fw.reply("feed status"))
    imported = status.split(f"feed-0 · {fw.feeds.url('/inside.xml')} · added", 1)[1]
    assert "refused to fetch from 127.0.0.1: 127.0.0.1 is a loopback address" in imported


async def test_a_long_report_is_paged_and_refusals_say_why(fw: FeedWorld) -> None:
    urls = [fw.feeds.url(f"/f{i}.xml") for i in range(30)]
    reply = await import_file(fw, Upload(opml(*urls, "ftp://example.org/feed"), "many.opml"))
    (page,) = embeds(reply)
    assert page["title"] == "many.opml: 30 added, 0 skipped, 1 refused"
    assert len(page["description"].splitlines()) == 20
    assert "page 1/2" in page["footer"]["text"]
    turned = await fw.emu.click_button(int(reply["id"]), button(reply, "Next"), user=owner(fw))
    await turned.wait_acknowledged(timeout=10)
    (second,) = embeds(fw.emu.message(int(reply["id"])))
    assert second["description"].splitlines()[-1] == (
        "⛔ `ftp://example.org/feed` refused: “`ftp://example.org/feed`” is not an http(s) URL a "
        "feed can be fetched from."
    )
    assert len(fw.cog.feed.source_names()) == 1 + 30 + 1  # ada, the 30, and the corpus
    assert fw.emu.problems == []


async def test_refusals_each_get_one_clear_message_and_add_nothing(fw: FeedWorld) -> None:
    names = set(fw.cog.feed.source_names())
    good = opml(fw.feeds.url("/new.xml"))

    refused = await import_file(fw, Upload(good, "a.opml"), user=fw.moderator_id)
    assert "Only the bot's admins" in text_of(refused)

    huge = Upload(b" " * (MAX_OPML_BYTES + 1), "huge.opml", "text/x-opml")
    reply = await import_file(fw, huge)
    assert text_of(reply) == (
        "`huge.opml` is too big (1,000,001 bytes): an OPML import reads at most 1,000,000 "
        "bytes (a file of a few hundred feeds is tens of kilobytes). Nothing was imported."
    )
    assert fw.emu.attachment_downloads == []  # neither file was downloaded

    lying = Upload(good + b" " * MAX_OPML_BYTES, "small.opml", size=len(good))
    assert text_of(await import_file(fw, lying)).startswith(
        "`small.opml` is too big: an OPML import reads at most 1,000,000 bytes"
    )

    doctype = opml(fw.feeds.url("/new.xml"), head='<!DOCTYPE opml SYSTEM "file:///etc/passwd">\n')
    assert text_of(await import_file(fw, Upload(doctype, "evil.opml"))) == (
        "`evil.opml` is not an OPML file this bot can import: the file, line 2: a DOCTYPE "
        "declaration is not accepted in OPML. Nothing was imported."
    )
    for data, why in (
        (b"just some notes\nabout feeds\n", "the file, line 1, column 1: not well-formed XML"),
        (b"\x89PNG\r\n\x1a\n\x00\x00", "the file is not UTF-8 text (byte 1)"),
        (
            b"<html><body><p>hi</p></body></html>",
            "the file is not OPML (its root element is <html>)",
        ),
        (
            b'<opml xmlns="https://evil.example/x"><body/></opml>',
            "the file is not OPML (its root element is <opml> in an XML namespace)",
        ),
        (b'<opml version="2.0">\n<body>\n<outline xmlUrl="x">\n</opml>', "line 4, column 3"),
    ):
        text = text_of(await import_file(fw, Upload(data, "notes.txt")))
        assert text.startswith("`notes.txt` is not an OPML file this bot can import: ")
        assert why in text and "Traceback" not in text and "https://evil" not in text
    assert set(fw.cog.feed.source_names()) == names
    assert fw.emu.problems == [] and fw.emu.pings == []
