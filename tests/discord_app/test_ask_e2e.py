"""/ask end to end: the real bot against the emulator, over the bundled corpus."""

from __future__ import annotations

from tests.discord_app.conftest import World
from tests.discord_app.test_commands import embeds, ephemeral, text_of


async def test_ask_quotes_passages_with_their_citation(world: World) -> None:
    reply = await world.reply("ask", {"question": "What does Access Now want banned?"})
    assert not ephemeral(reply)
    (embed,) = embeds(reply)
    assert embed["title"] == "Asked: What does Access Now want banned?"
    names = [f["name"] for f in embed["fields"]]
    assert names and all(n.endswith("Access Now resigns from the Partnership on AI") for n in names)
    first = embed["fields"][0]["value"]
    assert first.startswith("> ") and "-# Paragraph " in first and "Access Now" in first
    assert "(<https://www.accessnow.org/" in first
    assert any("ban on technologies" in f["value"] for f in embed["fields"]), "the ban itself"
    assert not reply.get("components"), "every passage fits one message: no pages"


async def test_ask_says_when_the_corpus_does_not_say(world: World) -> None:
    reply = await world.reply("ask", {"question": "does Access Now want bananas banned?"})
    assert ephemeral(reply)
    assert "The corpus does not say" in reply["content"] and "Traceback" not in reply["content"]


async def test_ask_marks_excerpts_and_never_pings(world: World) -> None:
    reply = await world.reply("ask", {"question": "Who **founded** Rappler? \u202e`"})
    embed = embeds(reply)[0]
    value = embed["fields"][0]["value"]
    assert "founder of Rappler" in value
    assert "The corpus holds only the opening of this post" in value
    assert "\u202e" not in embed["title"]
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


def test_a_quote_too_long_for_a_field_gets_a_page_of_its_own_whole() -> None:
    from datetime import date

    from bot.corpus.models import Answer, DocumentRef, Passage
    from bot.discord_app.render import answer_pages

    ref = DocumentRef(
        id="d",
        title="T",
        title_source="given",
        authors=("A",),
        published=date(2020, 1, 1),
        url="https://example.org/d",
        publisher="P",
        kind="post",
        excerpt=False,
    )
    long = "word " * 300 + "end."
    short = Passage(ref=ref, quote="A short sentence.", paragraph=1, start=0, score=2.0)
    whole = Passage(ref=ref, quote=long, paragraph=2, start=0, score=1.0)
    pages = answer_pages(Answer(question="q", passages=(short, whole, short)))
    assert len(pages) == 3
    assert pages[0].fields[0].value.startswith("> A short sentence.")
    assert long.strip() in (pages[1].description or "").replace("> ", "")
