"""The `post` option is resolved once, by one transformer, before /post or /summarize runs.

What can go wrong there reaches the person as it would from the command's body: an unknown or
ambiguous post is the ephemeral "did you mean" (discord.py wraps the core's AnswerError in a
TransformerError), a broken index its one line, a bug an error id; a slow resolution defers
first, and the command's answer then follows up without acknowledging twice."""

from __future__ import annotations

import asyncio
import logging

import pytest

from bot.corpus.errors import Fault
from bot.corpus.models import DocumentRef
from bot.corpus.service import CorpusService
from bot.discord_app import views
from discord_emulator.interactions import DEFERRED_CHANNEL_MESSAGE_WITH_SOURCE
from tests.discord_app.conftest import World
from tests.discord_app.test_commands import MELTDOWN, embeds, ephemeral


@pytest.mark.parametrize("command", ["post", "summarize"])
async def test_an_ambiguous_post_is_did_you_mean_not_an_invalid_value(
    world: World, command: str
) -> None:
    reply = await world.reply(command, {"post": "manipulated media"})
    assert ephemeral(reply)
    assert "Did you mean" in reply["content"] and "labeling-manipulated-media" in reply["content"]
    assert "not a valid value" not in reply["content"]


async def test_a_bug_while_resolving_gets_an_error_id(
    world: World, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    async def boom(self: CorpusService, query: str) -> DocumentRef:
        raise RuntimeError("database on fire")

    monkeypatch.setattr(CorpusService, "resolve_ref", boom)
    with caplog.at_level(logging.ERROR, logger="bot.discord_app.errors"):
        reply = await world.reply("summarize", {"post": MELTDOWN})
    assert ephemeral(reply) and "error id" in reply["content"]
    assert (
        "database on fire" not in reply["content"] and "not a valid value" not in reply["content"]
    )
    assert any("error" in r.getMessage() and r.exc_info for r in caplog.records)


async def test_a_storage_fault_while_resolving_is_its_user_message(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def locked(self: CorpusService, query: str) -> DocumentRef:
        raise Fault(
            "the index /x/corpus.db is locked",
            user_message="The index is busy; try again in a minute.",
        )

    monkeypatch.setattr(CorpusService, "resolve_ref", locked)
    reply = await world.reply("post", {"post": MELTDOWN})
    assert ephemeral(reply) and reply["content"] == "The index is busy; try again in a minute."


@pytest.mark.parametrize(("command", "options"), [("post", {}), ("summarize", {"length": 2})])
async def test_a_slow_resolution_defers_once_then_the_answer_follows(
    world: World, monkeypatch: pytest.MonkeyPatch, command: str, options: dict[str, int]
) -> None:
    release = asyncio.Event()
    real_resolve = world.service.resolve_ref

    async def slow_resolve(query: str) -> DocumentRef:
        await release.wait()  # the lookup waits behind a burst's queries until the test lets it go
        return await real_resolve(query)

    monkeypatch.setattr(views, "ANSWER_BY_SECONDS", 0.05)
    posts = world.bot.extensions["bot.discord_app.exts.posts"]  # the module load_extension made
    monkeypatch.setattr(posts, "DEFER_AFTER_SECONDS", 0.05)  # the command's own budget is spent too
    monkeypatch.setattr(world.service, "resolve_ref", slow_resolve)
    handle = await world.command(command, {"post": "meltdown", **options})
    assert await handle.wait_acknowledged(timeout=10) == DEFERRED_CHANNEL_MESSAGE_WITH_SOURCE
    release.set()
    reply = await handle.wait_reply(timeout=10)
    assert embeds(reply) and "error id" not in (reply.get("content") or "")
    assert [r.kind for r in handle.responses] == ["callback", "followup"]


async def test_every_post_option_offers_the_same_choices(world: World) -> None:
    where = {"user": world.member_id, "guild": world.guild_id, "channel": world.channel_id}
    for command in ("post", "summarize"):
        choices = await world.emu.send_autocomplete(
            command, {"post": "mel"}, focused="post", **where
        )
        assert [c["value"] for c in choices] == [MELTDOWN]
