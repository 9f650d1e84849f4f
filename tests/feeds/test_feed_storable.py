"""An item the database cannot hold costs that item, never its feed (issue #14): PostgreSQL text
holds no NUL character, and a broken feed salvaged by the parser can carry one."""

from __future__ import annotations

import aiohttp

from bot.config import FeedConfig, FeedSourceConfig
from bot.corpus.service import CorpusService
from bot.feeds.engine import FeedEngine
from bot.feeds.entries import entry_id
from tests.feeds.feed_world import (
    T0,
    FakeDiscord,
    FeedBackend,
    Item,
    medium_rss,
    running_feed_server,
)


async def test_an_item_the_database_cannot_hold_is_skipped_by_name_and_the_feed_goes_on(
    backend: FeedBackend, service: CorpusService
) -> None:
    good = Item("g1", "A good item", html="<p>Plain words. More words.</p>")
    broken = Item("n1", "A title with a \x00 in it", html="<p>Body. More.</p>")
    async with running_feed_server() as server, aiohttp.ClientSession() as session:
        server.serve("/ada.xml", medium_rss([good, broken]))
        config = FeedConfig(sources=(FeedSourceConfig("ada", server.url("/ada.xml")),))
        engine = FeedEngine(
            service, config, FakeDiscord(), database=await backend.database(service)
        )

        (report,) = await engine.poll_sources(session, T0)

    good_id = entry_id("ada", "https://medium.com/p/g1")
    broken_id = entry_id("ada", "https://medium.com/p/n1")
    assert report.outcome == "baseline", report
    assert await engine.database.document(good_id) is not None
    state = await engine.feeds.source_state("ada")
    assert state.error_streak == 0 and state.last_error is None
    if backend.name == "postgres":
        assert broken_id not in report.new_entries
        assert await engine.database.document(broken_id) is None
        assert f"item id {broken_id!r} cannot be stored (title holds a NUL character" in " ".join(
            report.warnings
        )
    else:  # SQLite text holds it
        assert broken_id in report.new_entries
