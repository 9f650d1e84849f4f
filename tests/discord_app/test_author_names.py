"""An author's name may hold any text, the old separator '; ' too: one author on /post and in
/authors, end to end through the Discord emulator."""

from __future__ import annotations

from tests.conftest import write_doc
from tests.discord_app.conftest import World
from tests.discord_app.test_commands import embeds, text_of


async def test_an_author_named_with_a_semicolon_is_one_author_on_post_and_in_authors(
    world: World,
) -> None:
    write_doc(
        world.corpus_dir,
        "12-pair.md",
        front='id: the-pair\ntitle: The Pair\nauthors: ["Smith; Jones"]\nkind: post\nexcerpt: false',
    )
    await world.service.reload()

    (embed,) = embeds(await world.reply("post", {"post": "the-pair"}))
    (authors,) = [field["value"] for field in embed["fields"] if field["name"] == "Authors"]
    assert authors == "Smith; Jones"

    listing = text_of(await world.reply("authors"))
    assert "  1 · Smith; Jones" in listing
    assert "· Smith\n" not in listing and "· Jones\n" not in listing
