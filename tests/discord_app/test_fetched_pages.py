"""Long paged answers ask the core for each page when it is shown (the view keeps the question)."""

from __future__ import annotations

import pytest

from bot.corpus.errors import AnswerError
from tests.discord_app.conftest import World
from tests.discord_app.test_commands import _button, _current, text_of


async def test_turning_a_search_page_queries_the_next_hits(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    asked: list[int] = []
    real_search = world.service.search

    async def search(query: str, *, limit: int = 10, offset: int = 0):  # noqa: ANN202 - the service's type
        asked.append(offset)
        return await real_search(query, limit=limit, offset=offset)

    monkeypatch.setattr(world.service, "search", search)
    handle = await world.command("search", {"query": "the"})
    reply = await handle.wait_reply(timeout=10)
    shown = len(reply["embeds"][0]["fields"])
    assert asked == [0] and f"hits 1-{shown} of 11" in text_of(reply) and "1. " in text_of(reply)
    click = await world.emu.click_button(reply["id"], _button(reply, "Next"), user=world.member_id)
    await click.wait_acknowledged(timeout=10)
    await world.emu.wait_for(
        lambda: f"hits {shown + 1}-11 of 11" in text_of(_current(world, reply["id"])), timeout=10
    )
    assert asked == [0, shown], "the next page starts where the first ended"
    assert f"{shown + 1}. " in text_of(_current(world, reply["id"]))
    assert world.emu.problems == []


async def test_a_page_gone_meanwhile_gets_a_quiet_note(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    handle = await world.command("search", {"query": "the"})
    reply = await handle.wait_reply(timeout=10)

    async def gone(query: str, *, limit: int = 10, offset: int = 0):  # noqa: ANN202
        raise AnswerError("not_found", "No document matches any more.")

    monkeypatch.setattr(world.service, "search", gone)
    click = await world.emu.click_button(reply["id"], _button(reply, "Next"), user=world.member_id)
    note = await click.wait_reply(timeout=10)
    assert "no longer available" in note["content"] and note.get("flags", 0) & 64
    assert "hits 1-" in text_of(_current(world, reply["id"]))  # the message still shows page 1
    assert world.emu.problems == []
