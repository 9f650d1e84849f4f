"""Answers not ready soon are acknowledged with a defer first, so Discord's 3 s deadline holds
whatever queue the answer waited in; quick answers cost no extra request."""

from __future__ import annotations

import asyncio
import time

import pytest

from bot.discord_app import views
from discord_emulator.ids import snowflake_time_ms
from discord_emulator.interactions import DEFERRED_CHANNEL_MESSAGE_WITH_SOURCE
from tests.discord_app.conftest import World

MELTDOWN = "lessons-from-meltdown-and-spectre"


async def test_a_quick_answer_is_one_callback(world: World) -> None:
    handle = await world.command("post", {"post": MELTDOWN})
    reply = await handle.wait_reply(timeout=10)
    assert not handle.deferred and [r.kind for r in handle.responses] == ["callback"]
    assert reply["embeds"][0]["title"].startswith(
        "What Responsible AI Can Learn From the Race to Fix Meltdown"
    )
    assert world.emu.problems == []


async def test_an_answer_still_queued_defers_first_then_follows_up(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    release = asyncio.Event()
    real_post = world.service.post

    async def slow_post(query: str):  # noqa: ANN202 - the service's own return type
        await release.wait()  # the answer is stuck behind a queue until the test lets it go
        return await real_post(query)

    monkeypatch.setattr(views, "ANSWER_BY_SECONDS", 0.05)
    monkeypatch.setattr(world.service, "post", slow_post)
    handle = await world.command("post", {"post": MELTDOWN})
    assert await handle.wait_acknowledged(timeout=10) == DEFERRED_CHANNEL_MESSAGE_WITH_SOURCE
    assert handle.reply is None  # only "thinking…" so far
    release.set()
    reply = await handle.wait_reply(timeout=10)
    assert reply["embeds"][0]["title"].startswith(
        "What Responsible AI Can Learn From the Race to Fix Meltdown"
    )
    assert [r.kind for r in handle.responses] == ["callback", "followup"]
    assert world.emu.problems == []


@pytest.mark.parametrize(
    ("name", "options", "expected"),
    [
        ("author", {"name": "Emily Saltz"}, "Emily Saltz"),
        ("search", {"query": "manipulated media"}, "manipulated"),
        ("post", {"post": "no such post anywhere"}, "No post matches"),
    ],
)
async def test_late_commands_of_every_kind_are_answered_after_a_defer(
    world: World, monkeypatch: pytest.MonkeyPatch, name: str, options: dict[str, str], expected: str
) -> None:
    monkeypatch.setattr(views, "ANSWER_BY_SECONDS", 0.0)  # already late when it starts
    handle = await world.command(name, options)
    reply = await handle.wait_reply(timeout=10)
    assert handle.deferred
    shown = " ".join([reply.get("content") or "", *(str(e) for e in reply.get("embeds", []))])
    assert expected.lower() in shown.lower()
    assert world.emu.problems == []


async def test_a_command_made_seconds_after_start_is_not_taken_for_an_old_one(world: World) -> None:
    """The emulator's ids follow the wall clock: once its ids lagged it, so every command came
    seconds old and was deferred (and the benchmark measured a bot that deferred them all)."""
    await asyncio.sleep(2.0)  # longer than ANSWER_BY_SECONDS: a lagging clock would defer
    handle = await world.command("post", {"post": MELTDOWN})
    await handle.wait_reply(timeout=10)
    age = time.time() - snowflake_time_ms(handle.id) / 1000
    assert -0.05 <= age < 1.0
    assert not handle.deferred and [r.kind for r in handle.responses] == ["callback"]
    assert world.emu.problems == []
