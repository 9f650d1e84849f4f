"""The `post` option: one autocomplete for /post and /summarize; the post it names is found by
the command's own read of the index (one hop to the reader's thread, bot/corpus/lookup.py).

What can go wrong while finding it reaches the person as from any answer: an unknown or
ambiguous post is the ephemeral "did you mean", a broken index its one line, a bug an error id;
a slow lookup defers first, and the answer then follows up without acknowledging twice."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

import pytest

from bot.corpus.errors import Fault
from bot.corpus.models import DocumentRef
from bot.corpus.store import IndexReader, IndexReads
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
    def boom(self: IndexReads, doc_id: str) -> DocumentRef:
        raise RuntimeError("database on fire")

    monkeypatch.setattr(IndexReads, "ref_by_id", boom)
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
    def locked(self: IndexReads, doc_id: str) -> DocumentRef:
        raise Fault(
            "the index /x/corpus.db is locked",
            user_message="The index is busy; try again in a minute.",
        )

    monkeypatch.setattr(IndexReads, "ref_by_id", locked)
    reply = await world.reply("post", {"post": MELTDOWN})
    assert ephemeral(reply) and reply["content"] == "The index is busy; try again in a minute."


@pytest.mark.parametrize(("command", "options"), [("post", {}), ("summarize", {"length": 2})])
async def test_a_slow_resolution_defers_once_then_the_answer_follows(
    world: World, monkeypatch: pytest.MonkeyPatch, command: str, options: dict[str, int]
) -> None:
    release = threading.Event()
    real_lookup = IndexReads.ref_by_id

    def slow_lookup(self: IndexReads, doc_id: str) -> DocumentRef | None:
        release.wait(
            timeout=10
        )  # the read waits behind a burst's queries until the test lets it go
        return real_lookup(self, doc_id)

    monkeypatch.setattr(views, "ANSWER_BY_SECONDS", 0.05)
    posts = world.bot.extensions["bot.discord_app.exts.posts"]  # the module load_extension made
    monkeypatch.setattr(posts, "DEFER_AFTER_SECONDS", 0.05)  # the command's own budget is spent too
    monkeypatch.setattr(IndexReads, "ref_by_id", slow_lookup)
    handle = await world.command(command, {"post": "meltdown", **options})
    try:
        assert await handle.wait_acknowledged(timeout=10) == DEFERRED_CHANNEL_MESSAGE_WITH_SOURCE
    finally:
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


@pytest.mark.parametrize(
    ("command", "post"),
    [
        ("post", MELTDOWN),
        ("post", "What Responsible AI Can Learn From the Race to Fix Meltdown and Spectre"),
        ("summarize", "meltdown"),
        ("summarize", "What Responsibel AI Can Lern From the Race to Fix Meltdwn and Spectre"),
    ],
)
async def test_a_post_command_reads_the_index_in_one_hop(
    world: World, monkeypatch: pytest.MonkeyPatch, command: str, post: str
) -> None:
    """In a burst each hop to the reader's thread waits behind every other command's reads: the
    option resolved in one hop and the command read in another, so /post and /summarize
    answered after every /search of a burst (issue #11)."""
    hops: list[object] = []
    real_run = IndexReader.run

    async def counted(self: IndexReader, fn: Callable[..., Any], *args: Any) -> Any:
        hops.append(fn)
        return await real_run(self, fn, *args)

    monkeypatch.setattr(IndexReader, "run", counted)
    reply = await world.reply(command, {"post": post})
    assert embeds(reply) and MELTDOWN in embeds(reply)[0]["footer"]["text"]
    assert len(hops) == 1
