"""Every slash command end to end: the real bot, the emulator, a real index of the corpus."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import discord
import pytest

from bot.config import Config
from bot.discord_app.client import create_bot
from discord_emulator.components_v2 import text_displays
from tests.discord_app.conftest import World

MELTDOWN = "lessons-from-meltdown-and-spectre"
EPHEMERAL = 1 << 6


def embeds(reply: dict[str, Any]) -> list[dict[str, Any]]:
    return reply.get("embeds") or []


def ephemeral(reply: dict[str, Any]) -> bool:
    return bool((reply.get("flags") or 0) & EPHEMERAL)


def text_of(reply: dict[str, Any]) -> str:
    """What a reader sees: content, embeds, and a Components V2 layout's text displays."""
    parts = [reply.get("content") or "", *text_displays(reply)]
    for embed in embeds(reply):
        parts += [embed.get("title") or "", embed.get("description") or ""]
        parts += [f"{f['name']}\n{f['value']}" for f in embed.get("fields") or []]
        parts.append((embed.get("footer") or {}).get("text") or "")
    return "\n".join(parts)


async def test_post_cites_its_source(world: World) -> None:
    reply = await world.reply("post", {"post": "meltdown"})
    (embed,) = embeds(reply)
    assert (
        embed["title"] == "What Responsible AI Can Learn From the Race to Fix Meltdown and Spectre"
    )
    assert embed["url"].startswith("https://medium.com/partnership-on-ai/")
    fields = {f["name"]: f["value"] for f in embed["fields"]}
    assert fields["Authors"] == "Jasmine Wang"
    assert fields["Published"].startswith("<t:") and fields["Published"].endswith(":D>")
    assert "only the opening of this post" in embed["description"]
    assert MELTDOWN in embed["footer"]["text"]
    assert not ephemeral(reply)


async def test_ambiguous_and_unknown_posts_get_a_friendly_ephemeral_answer(world: World) -> None:
    reply = await world.reply("post", {"post": "manipulated media"})
    assert ephemeral(reply)
    assert "Did you mean" in reply["content"] and "labeling-manipulated-media" in reply["content"]
    reply = await world.reply("post", {"post": "qqqq zzzz"})
    assert ephemeral(reply) and "No post matches" in reply["content"]
    assert "Traceback" not in reply["content"]


async def test_post_autocomplete(world: World) -> None:
    choices = await world.emu.send_autocomplete(
        "post",
        {"post": "mel"},
        focused="post",
        user=world.member_id,
        guild=world.guild_id,
        channel=world.channel_id,
    )
    assert [c["value"] for c in choices] == [MELTDOWN]
    everything = await world.emu.send_autocomplete(
        "post",
        {"post": ""},
        focused="post",
        user=world.member_id,
        guild=world.guild_id,
        channel=world.channel_id,
    )
    assert 1 <= len(everything) <= 25


async def test_summarize_defers_then_quotes_the_text(world: World) -> None:
    handle = await world.command("summarize", {"post": MELTDOWN, "length": 2})
    reply = await handle.wait_reply(timeout=10)
    (embed,) = embeds(reply)
    body = (await world.service.post(MELTDOWN)).body
    sentences = [
        line.removeprefix("• ")
        for line in embed["description"].split("\n")
        if line.startswith("• ")
    ]
    assert len(sentences) == 2
    for sentence in sentences:
        assert sentence.replace("\\", "") in body
    assert "only the opening of this post" in embed["description"]


async def test_summarize_unknown_post_is_ephemeral(world: World) -> None:
    reply = await world.reply("summarize", {"post": "nothing like this"})
    assert ephemeral(reply) and "No post matches" in reply["content"]


async def test_author_and_authors(world: World) -> None:
    reply = await world.reply("author", {"name": "saltz"})
    (embed,) = embeds(reply)
    assert embed["title"].startswith("Emily Saltz: 4 posts")
    reply = await world.reply("author", {"name": "Claire"})
    assert (
        ephemeral(reply)
        and "Claire Leibowicz" in reply["content"]
        and "Claire Wardle" in reply["content"]
    )
    choices = await world.emu.send_autocomplete(
        "author",
        {"name": "cla"},
        focused="name",
        user=world.member_id,
        guild=world.guild_id,
        channel=world.channel_id,
    )
    assert [c["value"] for c in choices] == ["Claire Leibowicz", "Claire Wardle"]
    reply = await world.reply("authors")
    assert "Emily Saltz" in text_of(reply) and "Access Now" in text_of(reply)


async def test_reasons_are_quoted_verbatim_all_in_one_message(world: World) -> None:
    """All seven fit one embed with room to spare: once they came as pages of 4 and 3."""
    reply = await world.reply("reasons")
    (embed,) = embeds(reply)
    assert "(paragraph 5)" in embed["fields"][0]["name"]
    assert embed["fields"][0]["value"].startswith("> However, we have found")
    assert len(embed["fields"]) == 7 + 2  # every reason + Authors + Published
    assert "page" not in embed["footer"]["text"] and not reply.get("components")
    reply = await world.reply("reasons", {"topic": "facial recognition"})
    (embed,) = embeds(reply)
    assert len(embed["fields"]) == 2 + 2  # two reasons + Authors + Published
    assert "facial recognition" in embed["fields"][0]["value"]


async def test_only_the_requester_can_turn_pages(world: World) -> None:
    handle = await world.command("search", {"query": "the"}, user=world.member_id)  # 11 hits
    reply = await handle.wait_reply(timeout=10)
    shown = len(embeds(reply)[0]["fields"])
    assert f"hits 1-{shown} of 11" in embeds(reply)[0]["footer"]["text"]
    next_button = _button(reply, "Next")
    other = await world.emu.click_button(reply["id"], next_button, user=world.moderator_id)
    refusal = await other.wait_reply(timeout=10)
    assert ephemeral(refusal) and "Only the person who asked" in refusal["content"]
    mine = await world.emu.click_button(reply["id"], next_button, user=world.member_id)
    await mine.wait_acknowledged(timeout=10)
    await world.emu.wait_for(
        lambda: f"hits {shown + 1}-11 of 11" in text_of(_current(world, reply["id"])), timeout=10
    )


def _button(reply: dict[str, Any], label: str) -> str:
    for row in reply["components"]:
        for component in row["components"]:
            if component.get("label") == label:
                return component["custom_id"]
    raise AssertionError(f"no {label} button in {reply['components']}")


def _current(world: World, message_id: Any) -> dict[str, Any]:
    return world.emu.message(int(message_id))


async def test_search_handles_any_input(world: World) -> None:
    reply = await world.reply("search", {"query": "facial recognition"})
    assert "**facial**" in text_of(reply)
    for query in ['"', "NEAR(a b)", "title: x", "*", "x" * 300]:
        reply = await world.reply(
            "search", {"query": query}, user=world.moderator_id if len(query) > 3 else None
        )
        assert "Traceback" not in text_of(reply)


async def test_about(world: World) -> None:
    reply = await world.reply("about")
    assert "11 documents" in text_of(reply) and ephemeral(reply)
    for command in world.emu.synced_commands():
        invoked = f"/{command['name']}" if command["type"] == 1 else command["name"]
        assert f"`{invoked}" in text_of(reply), command["name"]


async def test_commands_work_in_dms(world: World) -> None:
    reply = await world.reply("post", {"post": MELTDOWN}, dm=True)
    assert embeds(reply)[0]["title"].startswith("What Responsible AI")


async def test_start_up_freezes_its_heap_out_of_the_collectors_sight(world: World) -> None:
    import gc

    # set in setup_hook, before the gateway connected: full collections skip start-up's objects
    assert gc.get_freeze_count() > 0


def test_start_up_does_not_warn_about_voice(
    caplog: pytest.LogCaptureFixture, tmp_path: Path
) -> None:
    """The bot has no voice; discord.py's PyNaCl warning at every start was noise."""
    discord.VoiceClient.warn_nacl = discord.VoiceClient.warn_dave = True  # no PyNaCl, no davey
    with caplog.at_level(logging.WARNING):
        create_bot(Config(corpus_dir=tmp_path, data_dir=tmp_path), service=None)  # type: ignore[arg-type]
    assert not [r for r in caplog.records if "voice will NOT be supported" in r.getMessage()]


async def test_an_unknown_topic_lists_every_reason_once(world: World) -> None:
    reply = await world.reply("reasons", {"topic": "bananas"})
    content = reply["content"]
    assert (
        ephemeral(reply)
        and "None of the 7 reasons mentions" in content
        and "The reasons are:" in content
    )
    assert content.count("• ") == 7 and content.count("A shrinking role for civil society") == 1
    reply = await world.reply("author", {"name": "Claire"})
    assert reply["content"].count("Claire Wardle") == 1, "the label shows the name: not twice"
