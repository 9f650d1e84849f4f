"""The message context menus end to end: the real bot, right-clicked messages in the emulator."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from bot.discord_app import views
from discord_emulator.interactions import DEFERRED_CHANNEL_MESSAGE_WITH_SOURCE
from tests.discord_app.conftest import World
from tests.discord_app.test_commands import embeds, ephemeral, text_of

MELTDOWN_URL = (
    "https://medium.com/partnership-on-ai/"
    "lessons-for-the-ai-community-from-meltdown-and-spectre-b358cc81eeff"
)


async def right_click(world: World, menu: str, content: str) -> dict[str, Any]:
    """The member writes `content` in #general; the moderator uses `menu` on it."""
    posted = world.emu.post_user_message(world.channel_id, world.member_id, content)
    handle = await world.emu.send_message_command(menu, int(posted["id"]), user=world.moderator_id)
    return await handle.wait_reply()


async def test_find_in_corpus_quotes_the_passages_about_a_message(world: World) -> None:
    reply = await right_click(world, "Find in corpus", "What does Access Now want banned?")
    assert ephemeral(reply)
    (embed,) = embeds(reply)
    assert embed["title"] == "Asked: What does Access Now want banned?"
    assert any("ban on technologies" in f["value"] for f in embed["fields"])
    synced = {(c["type"], c["name"]): c for c in world.emu.synced_commands()}
    assert synced[(3, "Find in corpus")]["integration_types"] == [0, 1]
    assert synced[(3, "Summarize linked post")]["contexts"] == [0, 1, 2]


async def test_find_in_corpus_says_when_the_corpus_does_not_say(world: World) -> None:
    reply = await right_click(world, "Find in corpus", "does Access Now want bananas banned?")
    assert ephemeral(reply)
    assert "The corpus does not say" in reply["content"]
    assert "Traceback" not in reply["content"]


async def test_find_in_corpus_on_a_message_without_text_says_so(world: World) -> None:
    reply = await right_click(world, "Find in corpus", "")
    assert ephemeral(reply)
    assert "no text" in reply["content"]


async def test_summarize_linked_post_summarizes_the_document_a_message_links(
    world: World,
) -> None:
    linked = MELTDOWN_URL.replace("https://", "http://www.") + "/"
    reply = await right_click(world, "Summarize linked post", f"worth a read <{linked}> !")
    assert ephemeral(reply)
    (embed,) = embeds(reply)
    expected = embeds(await world.reply("summarize", {"post": "lessons-from-meltdown-and-spectre"}))
    assert embed == expected[0], "rendered as /summarize renders it"
    by_id = await right_click(
        world, "Summarize linked post", "see lessons-from-meltdown-and-spectre"
    )
    assert embeds(by_id)[0]["title"] == embed["title"]


async def test_summarize_linked_post_says_when_nothing_is_linked(world: World) -> None:
    reply = await right_click(
        world, "Summarize linked post", "https://example.org/not-in-the-corpus hello"
    )
    assert ephemeral(reply)
    assert "links no document of the corpus" in text_of(reply)


async def test_a_user_installed_menu_in_a_dm(world: World) -> None:
    dm = world.emu.dm_channel(world.member_id)
    posted = world.emu.post_user_message(dm.id, world.member_id, "Who founded Rappler?")
    handle = await world.emu.send_message_command(
        "Find in corpus", int(posted["id"]), user=world.member_id, user_install=True
    )
    reply = await handle.wait_reply()
    assert handle.payload["authorizing_integration_owners"] == {"1": str(world.member_id)}
    assert "founder of Rappler" in text_of(reply)


async def test_a_menu_answer_not_ready_soon_defers_only_to_the_asker(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    release = asyncio.Event()
    real_ask = world.service.ask

    async def slow_ask(question: str):  # noqa: ANN202 - the service's own return type
        await release.wait()  # the answer is stuck behind a queue until the test lets it go
        return await real_ask(question)

    monkeypatch.setattr(views, "ANSWER_BY_SECONDS", 0.05)
    monkeypatch.setattr(world.service, "ask", slow_ask)
    posted = world.emu.post_user_message(
        world.channel_id, world.member_id, "What does Access Now want banned?"
    )
    handle = await world.emu.send_message_command(
        "Find in corpus", int(posted["id"]), user=world.moderator_id
    )
    assert await handle.wait_acknowledged(timeout=10) == DEFERRED_CHANNEL_MESSAGE_WITH_SOURCE
    assert handle.ephemeral, "the 'thinking…' others would see is the answer's own message"
    release.set()
    reply = await handle.wait_reply(timeout=10)
    assert ephemeral(reply) and "ban on technologies" in text_of(reply)


async def test_a_hostile_message_neither_pings_nor_breaks_the_menus(world: World) -> None:
    hostile = "@everyone <@123456789012345678> **Rappler** \u202e` https://[::1 javascript:x"
    for menu in ("Find in corpus", "Summarize linked post"):
        reply = await right_click(world, menu, hostile)
        assert ephemeral(reply) and "Traceback" not in text_of(reply)
        assert "\u202e" not in text_of(reply)
    assert world.emu.pings == []
