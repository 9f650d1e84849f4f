"""The poll pass runs each step on its own: a corpus folder that cannot be applied, or a corpus
check that crashes, never stops the feeds from being polled and announced, and `/feed status`
says what failed. End to end: the real bot, the Discord emulator, a loopback feed server."""

from __future__ import annotations

import sqlite3

import pytest

from bot.feeds import engine as feed_engine
from tests.conftest import write_doc
from tests.discord_app import test_feed_e2e
from tests.discord_app.test_commands import embeds, text_of
from tests.discord_app.test_feed_e2e import FRESH, FeedWorld

fw = test_feed_e2e.fw
"""The feed world of the feed's end-to-end tests (a moderator, two channels, the `ada` feed)."""

HOSTILE_FRONT = (
    f"id: hostile\ntitle: Hostile\nauthors: []\nkind: post\nexcerpt: false\nnote: {'9' * 5000}"
)


def corpus_status(status: str) -> str:
    """The corpus folder's field of a /feed status reply."""
    start = status.index("corpus folder\n")
    end = status.index("ada ·", start)
    return status[start:end]


async def test_a_hostile_corpus_file_leaves_the_feeds_polled_and_feed_status_says_so(
    fw: FeedWorld,
) -> None:
    await fw.reply("subscribe")
    write_doc(fw.corpus_dir, "99-hostile.md", front=HOSTILE_FRONT)
    fw.publish(FRESH)

    await fw.cog.loops.poll_once()  # the corpus check fails first, then the feed is polled

    await fw.wait_announced({fw.general_id: 1})
    assert [embeds(m)[0]["title"] for m in fw.announcements(fw.general_id)] == [FRESH.title]
    corpus = corpus_status(text_of(await fw.reply("feed status")))
    assert (
        "Last check failed: the corpus folder has 1 problem; the last good index is served."
        in corpus
    )
    assert "99-hostile.md:7: front matter is not valid YAML: the number 9999" in corpus
    assert "Errors in a row: 1" in corpus
    reload = text_of(await fw.reply("reload", user=fw.emu.state.guilds[fw.guild_id].owner_id))
    assert "99-hostile.md" in reload and "Something went wrong" not in reload

    (fw.corpus_dir / "99-hostile.md").unlink()
    await fw.cog.loops.poll_once()
    corpus = corpus_status(text_of(await fw.reply("feed status")))
    assert "Errors in a row: 0" in corpus and "✅ OK" in corpus


async def test_a_corpus_check_that_crashes_is_shown_and_the_feeds_still_run(
    fw: FeedWorld, monkeypatch: pytest.MonkeyPatch
) -> None:
    await fw.reply("subscribe")

    async def broken_detection(*args: object, **kwargs: object) -> None:
        raise sqlite3.OperationalError("disk I/O error")

    monkeypatch.setattr(feed_engine, "detect_corpus_changes", broken_detection)
    fw.publish(FRESH)

    await fw.cog.loops.poll_once()

    await fw.wait_announced({fw.general_id: 1})
    corpus = corpus_status(text_of(await fw.reply("feed status")))
    assert "Last check failed: OperationalError: disk I/O error" in corpus


async def test_a_corpus_folder_that_cannot_be_read_is_shown_and_the_feeds_still_run(
    fw: FeedWorld, monkeypatch: pytest.MonkeyPatch
) -> None:
    await fw.reply("subscribe")
    service = fw.cog.feed.engine.service

    async def unreadable() -> None:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(service, "reload", unreadable)
    fw.publish(FRESH)

    await fw.cog.loops.poll_once()

    await fw.wait_announced({fw.general_id: 1})
    corpus = corpus_status(text_of(await fw.reply("feed status")))
    assert "Last check failed: could not re-read the folder (PermissionError" in corpus


async def test_a_feed_whose_poll_crashes_is_shown_failing_with_its_back_off(
    fw: FeedWorld, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def broken_store(*args: object, **kwargs: object) -> None:
        raise sqlite3.OperationalError("database is locked")

    monkeypatch.setattr(fw.cog.feed.engine.poller, "_store", broken_store)
    fw.publish(FRESH)

    await fw.cog.loops.poll_once()

    status = text_of(await fw.reply("feed status"))
    ada = status[status.index("ada ·") :]
    assert "Errors in a row: 1" in ada
    assert "Last check failed: internal error: OperationalError: database is locked" in ada
    state = await fw.cog.feed.store.source_state("ada")
    assert state.error_streak == 1 and state.next_attempt_at is not None
