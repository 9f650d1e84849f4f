"""Each answer costs as few requests to Discord as it needs (every request is CPU in a burst).

A paged answer gets its message back with the callback, so it never asks for the original
response; /summarize defers only when its summary is not ready soon.
"""

from __future__ import annotations

import sys
from types import ModuleType

import pytest

from tests.discord_app.conftest import World

MELTDOWN = "lessons-from-meltdown-and-spectre"


def posts_module(world: World) -> ModuleType:
    """The posts extension as the bot loaded it (discord.py loads extensions as fresh modules)."""
    cog = world.bot.get_cog("Posts")
    assert cog is not None
    return sys.modules[type(cog).__module__]


async def test_a_paged_answer_does_not_fetch_its_own_message(world: World) -> None:
    handle = await world.command("search", {"query": "the"})  # 11 hits: two pages
    reply = await handle.wait_reply(timeout=10)
    assert reply.get("components"), "two pages: buttons"
    assert [r.kind for r in handle.responses] == ["callback"]


async def test_pages_still_lose_their_buttons_without_that_fetch(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    from bot.discord_app import views

    monkeypatch.setattr(views, "PAGE_TIMEOUT_SECONDS", 0.3)
    handle = await world.command("search", {"query": "the"})  # 11 hits: two pages
    reply = await handle.wait_reply(timeout=10)
    assert reply.get("components")
    await world.emu.wait_for(
        lambda: not world.emu.message(int(reply["id"])).get("components"), timeout=10
    )
    assert "get_original" not in [r.kind for r in handle.responses]


async def test_summarize_answers_at_once_when_the_summary_is_ready(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(
        posts_module(world), "DEFER_AFTER_SECONDS", 60.0
    )  # ready long before: never defers
    handle = await world.command("summarize", {"post": MELTDOWN, "length": 2})
    reply = await handle.wait_reply(timeout=10)
    assert not handle.deferred and [r.kind for r in handle.responses] == ["callback"]
    assert reply["embeds"][0]["description"].count("• ") == 2


async def test_summarize_defers_when_the_summary_is_not_ready_in_time(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(
        posts_module(world), "DEFER_AFTER_SECONDS", 0.0
    )  # no time at all: always defers first
    handle = await world.command("summarize", {"post": MELTDOWN, "length": 2})
    reply = await handle.wait_reply(timeout=10)
    assert handle.deferred and [r.kind for r in handle.responses] == ["callback", "followup"]
    assert reply["embeds"][0]["description"].count("• ") == 2
