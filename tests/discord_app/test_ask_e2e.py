"""/ask end to end: the real bot against the emulator, over the bundled corpus."""

from __future__ import annotations

from tests.discord_app.conftest import World
from tests.discord_app.test_commands import embeds, ephemeral, text_of


async def test_ask_quotes_passages_with_their_citation(world: World) -> None:
    reply = await world.reply("ask", {"question": "What does Access Now want banned?"})
    assert not ephemeral(reply)
    embed = embeds(reply)[0]
    assert embed["title"] == "Access Now resigns from the Partnership on AI"
    assert embed["url"].startswith("https://www.accessnow.org/")
    assert embed["description"].startswith("> ")
    assert "Paragraph 7" in embed["description"]
    assert embed["author"]["name"] == "Asked: What does Access Now want banned?"
    assert {f["name"] for f in embed["fields"]} >= {"Authors", "Published"}
    assert "Access Now" in text_of(reply)
    assert reply.get("components"), "the second passage, the ban itself, is a page away (buttons)"


async def test_ask_says_when_the_corpus_does_not_say(world: World) -> None:
    reply = await world.reply("ask", {"question": "does Access Now want bananas banned?"})
    assert ephemeral(reply)
    assert "The corpus does not say" in reply["content"] and "Traceback" not in reply["content"]


async def test_ask_marks_excerpts_and_never_pings(world: World) -> None:
    reply = await world.reply("ask", {"question": "Who **founded** Rappler? \u202e`"})
    embed = embeds(reply)[0]
    assert "founder of Rappler" in embed["description"]
    assert "The corpus holds only the opening of this post" in embed["description"]
    assert "\u202e" not in embed["author"]["name"]
    pinging = await world.reply(
        "ask", {"question": "@everyone <@123456789012345678> Rappler"}, user=world.moderator_id
    )
    assert "Traceback" not in text_of(pinging)
    for sent in (reply, pinging):
        assert (
            not sent.get("mentions")
            and not sent.get("mention_everyone")
            and not sent.get("mention_roles")
        )


async def test_ask_handles_any_input(world: World) -> None:
    for question in ['"', "NEAR(a b)", "title: x"]:
        reply = await world.reply("ask", {"question": question}, user=world.moderator_id)
        assert "Traceback" not in text_of(reply)


async def test_ask_has_a_cooldown_like_search(world: World) -> None:
    for _ in range(3):
        await world.reply("ask", {"question": "facial recognition"})
    reply = await world.reply("ask", {"question": "facial recognition"})
    assert ephemeral(reply) and "Slow down" in reply["content"]
