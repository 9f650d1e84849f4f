"""Each format of an announcement within Discord's limits whatever the entry holds, hostile text
shown as text, and `/feed preview`'s note within its budget. Rendering only (no Discord here:
the end-to-end tests are in test_feed_filters_e2e.py)."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest

from bot.discord_app.feed_formats import TEXT_DISPLAY_TOTAL, message_parts
from bot.discord_app.feed_render import condition_text, preview_note
from bot.discord_app.limits import CONTENT
from bot.feeds.announce import Announcement
from bot.feeds.delivery import BatchMessage, EntryMessage, Outgoing
from bot.feeds.filters import Drop
from bot.feeds.models import Condition, MessageFormat, Subscription
from bot.feeds.service import Preview, RecentEntry

NOW = datetime(2025, 3, 5, 8, 0, tzinfo=UTC)
HOSTILE = "@everyone <@&1> [x](https://evil.example) `tick` \u202e" + "é" * 3000


def announcement(n: int = 0) -> Announcement:
    return Announcement(
        entry_id=f"feed-ada-{n:012d}",
        title=HOSTILE,
        url="https://example.org/" + "p" * 3000,
        authors=tuple(HOSTILE for _ in range(30)),
        publisher=HOSTILE,
        published=NOW,
        summary=(HOSTILE, HOSTILE),
        source="ada",
        excerpt=True,
        content_hash="h",
    )


MESSAGES: list[Outgoing] = [
    EntryMessage(announcement(), 42),
    BatchMessage("digest", tuple(announcement(n) for n in range(15)), 300, 42, NOW),
    BatchMessage("more", tuple(announcement(n) for n in range(15)), 16, None, NOW),
]


@pytest.mark.parametrize("message", MESSAGES)
@pytest.mark.parametrize("style", ["embed", "compact", "components"])
def test_every_format_stays_within_discords_limits(message: Outgoing, style: MessageFormat) -> None:
    parts = message_parts(message, style)
    kwargs = parts.send_kwargs()
    if style == "components":
        assert parts.view is not None and "content" not in kwargs and "embed" not in kwargs
        texts = [
            item.content
            for item in parts.view.walk_children()
            if hasattr(item, "content") and isinstance(item.content, str)
        ]
        assert sum(len(t) for t in texts) <= TEXT_DISPLAY_TOTAL
        assert parts.view.total_children_count <= 40
        shown = "".join(texts)
        assert "@everyone" not in shown and "<@&1>" not in shown  # escaped: no ping
        assert not re.search(r"(?<!\\)\[x\]\(https:", shown)  # no link of its own
    elif style == "compact":
        assert kwargs["embed"] is None and len(kwargs["content"]) <= CONTENT
        assert "\u202e" not in kwargs["content"] and "@everyone" not in kwargs["content"]
    else:
        assert kwargs["embed"] is not None and len(kwargs["embed"]) <= 6000
    assert kwargs["allowed_mentions"].everyone is False


def test_a_condition_is_shown_as_typed() -> None:
    shown = condition_text(Condition("title", "contains", "`@everyone` <@&1>", negate=True))
    assert shown == "title does not contain `ˋ@everyoneˋ <@&1>`"


def test_the_preview_note_keeps_whole_lines_within_its_budget() -> None:
    sub = Subscription(
        id=1,
        guild_id=1,
        channel_id=2,
        source=None,
        author=None,
        keyword=None,
        mention_role_id=None,
        mode="instant",
        digest_minute=None,
        created_by=1,
        created_at=NOW,
    )
    long = Condition("summary", "regex", "x" * 200)
    recent = tuple(RecentEntry(f"e{n}", HOSTILE, Drop(failed=((1, long),))) for n in range(10))
    note = preview_note(Preview(announcement(), sub, recent))
    lines = note.split("\n")
    assert len(note) <= 1900
    assert lines[1] == "Of the 10 newest entries, 0 would be announced and 10 dropped:"
    assert lines[-1].startswith("…and ") and lines[-1].endswith(" more.")
    assert all(line.count("`") % 2 == 0 for line in lines)  # no code span cut open
