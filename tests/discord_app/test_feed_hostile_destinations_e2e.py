"""Feed destinations used as a hostile member or a careless admin would (issue #12's review),
end to end: the real bot against the Discord emulator.

An entry's title becomes a forum post's name, a discussion thread's name, a compact line and a
Components V2 text display: none pings, links or reorders what a reader sees, all within
Discord's limits. A forum's tags deleted after /subscribe do not make Discord refuse every
post, and a forum that requires a tag the subscription no longer has pauses it with Discord's
reason instead of refusing its announcements one by one.
"""

from __future__ import annotations

import json
import unicodedata

from discord_emulator.components_v2 import text_displays
from tests.conftest import write_doc
from tests.discord_app.test_commands import text_of
from tests.discord_app.test_feed_destinations_e2e import DestinationWorld, dw

__all__ = ["dw"]  # the fixture, imported to be used here

HOSTILE_TITLE = (
    "@everyone <@&123456789012345678> [click](https://evil.example) \u202egnp.exe\u202c "
    "\u2066x\u2069\u200f\x07\x1b[31m " + "long " * 1000
)
"""Mentions, a masked link, bidi overrides, controls and an ANSI escape, 5,000+ characters."""


async def hostile_entry(dw: DestinationWorld, title: str = HOSTILE_TITLE) -> None:
    """A new corpus file with this title (and a mention for a byline), announced."""
    write_doc(
        dw.corpus_dir,
        "60-hostile.md",
        front=f"id: hostile\ntitle: {json.dumps(title)}\nauthors: ['@here']\nkind: post\n"
        "published: 2025-03-01\nexcerpt: false",
        body="Hostile. It says one thing.",
    )
    await dw.cog.loops.poll_once()
    await dw.cog.loops.send_once()


BIDI_FORMATTING = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
"""Embeddings, overrides and isolates: they reorder what follows them (marks do not)."""


def shows_only_printable(text: str) -> bool:
    """No control character (line breaks aside) and no bidi embedding, override or isolate."""
    return not any(
        ch in BIDI_FORMATTING or (unicodedata.category(ch) == "Cc" and ch not in "\n\t")
        for ch in text
    )


async def test_a_hostile_title_names_posts_and_threads_plainly_and_pings_no_one(
    dw: DestinationWorld,
) -> None:
    await dw.reply("subscribe", {"channel": dw.forum.id})
    await dw.reply("subscribe", {"channel": dw.news.id, "discussion_thread": True})
    await dw.reply("subscribe", {"channel": dw.general.id})
    await dw.reply("feed format", {"style": "compact", "channel": dw.general.id})
    await dw.reply("subscribe", {"channel": dw.talk.id})
    await dw.reply("feed format", {"style": "components", "channel": dw.talk.id})

    await hostile_entry(dw)

    (post,) = dw.emu.threads_of(dw.forum.id)
    (discussion,) = dw.emu.threads_of(dw.news.id)
    for thread in (post, discussion):
        assert len(thread.name) <= 100 and shows_only_printable(thread.name), repr(thread.name)
        assert "gnp.exe" in thread.name  # shown in the order it was written
    (compact,) = dw.bot_messages(dw.general.id)
    (layout,) = dw.bot_messages(dw.talk.id)
    for message in (compact, layout):
        shown = text_of(message)
        assert shows_only_printable(shown), repr(shown)
        assert "@everyone" not in shown and "<@&" not in shown and "@here" not in shown
        assert "](https://evil.example)" not in shown  # the title's link is not a link
        assert message["mentions"] == [] and message["mention_roles"] == []
    assert len(compact["content"]) <= 2000
    assert sum(len(text) for text in text_displays(layout)) <= 4000
    # The fixture checks that nothing pinged and Discord saw no invalid request.

