"""What must never happen: pings, oversized messages, tracebacks, lost replies on 429 or reconnect."""

from __future__ import annotations

import pytest

from bot.corpus.service import CorpusService
from tests.conftest import write_doc
from tests.discord_app.conftest import World
from tests.discord_app.test_commands import MELTDOWN, embeds, ephemeral, text_of

PINGY = "id: pingy\ntitle: '@everyone read this <@&123> <@456>'\nauthors: ['@here Mallory']\nkind: post\nexcerpt: false"


async def _add_doc(world: World, name: str, front: str, body: str) -> None:
    write_doc(world.corpus_dir, name, front=front, body=body)
    await world.service.reload()


async def test_corpus_text_cannot_ping(world: World) -> None:
    body = "@everyone @here <@&123> <@456> **bold** ||spoiler|| " + "word " * 10
    await _add_doc(world, "pingy.md", PINGY, body)
    for command, options in (
        ("post", {"post": "pingy"}),
        ("summarize", {"post": "pingy"}),
        ("search", {"query": "spoiler"}),
    ):
        handle = await world.command(command, options)
        await handle.wait_reply(timeout=10)
    for request in world.emu.requests:
        body = request.body if isinstance(request.body, dict) else None
        if body and ("embeds" in body or "content" in body or "data" in body):
            payload = body.get("data", body) or {}
            if "allowed_mentions" in payload:
                assert payload["allowed_mentions"]["parse"] == []
    replies = text_of(await world.reply("post", {"post": "pingy"}))
    assert "@everyone" not in replies.replace("@\u200beveryone", "")


async def test_five_thousand_word_body_fits_every_limit(world: World) -> None:
    sentence = "The committee weighed the evidence on publication norms with care. "
    await _add_doc(
        world,
        "long.md",
        PINGY.replace("pingy", "long-post").replace("'@everyone", "'Long"),
        sentence * 500,
    )
    post = await world.reply("post", {"post": "long-post"})
    (embed,) = embeds(post)
    assert (
        len(embed["description"]) <= 4096
        and embed["description"].rstrip().endswith("…")
        or "…" in embed["description"]
    )
    summary = await world.reply("summarize", {"post": "long-post", "length": 10})
    assert len(embeds(summary)[0]["description"]) <= 4096


async def test_unexpected_error_gets_an_id_not_a_traceback(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def boom(self: CorpusService, query: str) -> None:
        raise RuntimeError("database on fire")

    monkeypatch.setattr(CorpusService, "post", boom)
    reply = await world.reply("post", {"post": MELTDOWN})  # a post that exists: the answer fails
    assert ephemeral(reply)
    assert "error id" in reply["content"] and "database on fire" not in reply["content"]


async def test_a_429_on_the_reply_is_retried(world: World) -> None:
    world.emu.inject_error(
        "POST",
        "/interactions/{interaction_id}/{token}/callback",
        status=429,
        retry_after=0.1,
        times=1,
    )
    reply = await world.reply("post", {"post": MELTDOWN})
    assert embeds(reply)[0]["title"].startswith("What Responsible AI")


async def test_gateway_disconnect_and_resume(world: World) -> None:
    await world.emu.disconnect_gateway(resume=True)
    reply = await world.reply("post", {"post": MELTDOWN})
    assert embeds(reply)[0]["title"].startswith("What Responsible AI")


async def test_gateway_invalid_session_and_fresh_identify(world: World) -> None:
    await world.emu.disconnect_gateway(resume=False)
    reply = await world.reply("post", {"post": MELTDOWN})
    assert embeds(reply)[0]["title"].startswith("What Responsible AI")


async def test_cooldown_on_expensive_commands(world: World) -> None:
    for _ in range(3):
        await world.reply("search", {"query": "ai"})
    reply = await world.reply("search", {"query": "ai"})
    assert ephemeral(reply) and "Slow down" in reply["content"]
