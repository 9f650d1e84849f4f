"""Followed sources: the config's seeded into the index at each start, admins' added through
FeedService (first fetch a silent baseline) and surviving restarts, removal with its rules, and
added sources fetched through the guarded session at every poll."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager

import pytest

from bot.config import FeedConfig, FeedSourceConfig
from bot.corpus.service import CorpusService, ServiceSettings
from bot.feeds.models import CORPUS_SOURCE
from bot.feeds.service import FeedService, SourceRefused, derive_source_name
from tests.feeds.feed_world import (
    T0,
    FakeDiscord,
    FeedBackend,
    FeedServer,
    Item,
    medium_rss,
    running_feed_server,
)

ITEMS = [Item("a1", "Why Corpora Need Curators"), Item("a2", "Indexing, Briefly")]

Opener = Callable[..., AbstractAsyncContextManager[FeedService]]


@pytest.fixture
async def feeds() -> AsyncIterator[FeedServer]:
    async with running_feed_server() as server:
        server.serve("/ada.xml", medium_rss(ITEMS))
        server.serve("/blog.xml", medium_rss(ITEMS, title="The Example Blog"))
        yield server


@pytest.fixture
def open_feed(settings: ServiceSettings, backend: FeedBackend) -> Opener:
    """Opens a FeedService over the test's index file (and, on PostgreSQL, the test's
    database): each call is one start of the bot."""

    @asynccontextmanager
    async def opened(
        *sources: FeedSourceConfig, allow_private: bool = True
    ) -> AsyncIterator[FeedService]:
        corpus = await CorpusService.open(settings)
        await corpus.reload()
        config = FeedConfig(
            sources=sources,
            timeout_seconds=5.0,
            user_agent="corpus-bot-tests/1",
            allow_private_addresses=allow_private,
        )
        service = FeedService(
            corpus,
            config,
            FakeDiscord(),
            clock=lambda: T0,
            database=await backend.database(corpus),
        )
        await service.open()
        try:
            yield service
        finally:
            await service.close()
            await corpus.close()

    return opened


def names(service: FeedService) -> list[str]:
    return service.source_names()


async def test_an_added_source_is_baselined_and_survives_a_restart(
    open_feed: Opener, feeds: FeedServer
) -> None:
    ada = FeedSourceConfig("ada", feeds.url("/ada.xml"))
    async with open_feed(ada) as service:
        added = await service.add_source(
            feeds.url("/blog.xml"), title="The Example Blog", added_by="discord:42"
        )
        assert added.source.name == "the-example-blog" and added.source.origin == "added"
        assert added.poll is not None and added.poll.outcome == "baseline"
        assert added.poll.queued == 0  # the first fetch announces nothing
        assert names(service) == [CORPUS_SOURCE, "ada", "the-example-blog"]
    async with open_feed(ada) as service:
        infos = await service.sources()
        assert [(i.source.name, i.source.origin) for i in infos] == [
            ("ada", "config"),
            ("the-example-blog", "added"),
        ]
        assert infos[1].state.baseline_at == T0 and infos[1].source.added_by == "discord:42"
        feeds.requests.clear()
        await service.poll_once(reload_corpus=False)
        assert {path for path, _ in feeds.requests} == {"/ada.xml", "/blog.xml"}


async def test_the_config_owns_its_sources(open_feed: Opener, feeds: FeedServer) -> None:
    ada = FeedSourceConfig("ada", feeds.url("/ada.xml"))
    async with open_feed(ada) as service:
        await service.add_source(feeds.url("/blog.xml"), name="blog", added_by=None)
        with pytest.raises(SourceRefused) as refused:
            await service.remove_source("ada")
        assert "feed.sources" in str(refused.value) and "restart" in str(refused.value)
    # The config drops "ada" and now names "blog" itself: the config wins, at the next start.
    async with open_feed(FeedSourceConfig("blog", feeds.url("/ada.xml"))) as service:
        infos = await service.sources()
        assert [(i.source.name, i.source.origin, i.source.url) for i in infos] == [
            ("blog", "config", feeds.url("/ada.xml"))
        ]


async def test_removing_an_added_source_stops_its_polls_and_forgets_its_state(
    open_feed: Opener, feeds: FeedServer
) -> None:
    async with open_feed() as service:
        await service.add_source(feeds.url("/blog.xml"), name="blog", added_by=None)
        removed = await service.remove_source("blog")
        assert removed.name == "blog"
        assert names(service) == [CORPUS_SOURCE]
        assert "blog" not in await service.store.source_states()
        feeds.requests.clear()
        await service.poll_once(reload_corpus=False)
        assert feeds.requests == []
        # Added again, it takes a new silent baseline.
        again = await service.add_source(feeds.url("/blog.xml"), name="blog", added_by=None)
        assert again.poll is not None and again.poll.outcome == "baseline"


@pytest.mark.parametrize(
    ("name", "said"),
    [("Bad Name", "not a source name"), ("corpus", "corpus folder"), ("ada", "already named")],
)
async def test_bad_or_taken_names_are_refused(
    open_feed: Opener, feeds: FeedServer, name: str, said: str
) -> None:
    async with open_feed(FeedSourceConfig("ada", feeds.url("/ada.xml"))) as service:
        with pytest.raises(SourceRefused) as refused:
            await service.add_source(feeds.url("/blog.xml"), name=name, added_by=None)
        assert said in str(refused.value)
        assert names(service) == [CORPUS_SOURCE, "ada"]


async def test_a_url_already_followed_is_refused(open_feed: Opener, feeds: FeedServer) -> None:
    async with open_feed(FeedSourceConfig("ada", feeds.url("/ada.xml"))) as service:
        with pytest.raises(SourceRefused) as refused:
            await service.add_source(feeds.url("/ada.xml"), added_by=None)
        assert refused.value.text(lambda v: f"<{v}>") == "That feed is already followed as “<ada>”."


@pytest.mark.parametrize("name", ["nope", CORPUS_SOURCE])
async def test_removing_no_such_source_is_refused(open_feed: Opener, name: str) -> None:
    async with open_feed() as service:
        with pytest.raises(SourceRefused):
            await service.remove_source(name)


async def test_added_sources_are_fetched_guarded_at_every_poll(
    open_feed: Opener, feeds: FeedServer
) -> None:
    """With private addresses not allowed, an added source on loopback is refused at its poll
    (its DNS may have changed since it was added); the config's own loopback source is fetched."""
    ada = FeedSourceConfig("ada", feeds.url("/ada.xml"))
    async with open_feed(ada, allow_private=False) as service:
        added = await service.add_source(feeds.url("/blog.xml"), name="blog", added_by=None)
        assert added.poll is not None and added.poll.outcome == "error"
        assert added.poll.error is not None and "loopback" in added.poll.error
        await service.poll_once(reload_corpus=False)
        assert {path for path, _ in feeds.requests} == {"/ada.xml"}
        discovery = await service.discover(feeds.url("/blog.xml"))
        assert discovery.error is not None and "allow_private_addresses" in discovery.error


@pytest.mark.parametrize(
    ("title", "url", "taken", "expected"),
    [
        (
            "Stories by Ada Example on Medium",
            "https://medium.com/feed/@ada",
            (),
            "stories-by-ada-example-on-medium",
        ),
        (
            "A very long title that goes on and on past the limit",
            "https://x.org/",
            (),
            "a-very-long-title-that-goes-on-a",
        ),
        (None, "https://www.example.org/feed", (), "example"),
        ("¡¿!", "https://blog.example.org/rss", (), "blog-example"),
        ("Corpus", "https://x.org/", (), "corpus-2"),
        ("Blog", "https://x.org/", ("blog", "blog-2"), "blog-3"),
        (None, "http://127.0.0.1:8080/feed", (), "127-0-0-1"),
    ],
)
def test_derived_names_are_short_unique_and_valid(
    title: str | None, url: str, taken: tuple[str, ...], expected: str
) -> None:
    name = derive_source_name(title, url, taken)
    assert name == expected
    assert 1 <= len(name) <= 32


async def test_a_running_bot_polls_what_another_process_added_from_its_next_pass(
    open_feed: Opener, feeds: FeedServer
) -> None:
    async with open_feed() as bot, open_feed() as cli:
        await cli.add_source(feeds.url("/blog.xml"), name="blog", added_by="cli")
        assert names(bot) == [CORPUS_SOURCE]
        await bot.poll_once(reload_corpus=False)
        assert names(bot) == [CORPUS_SOURCE, "blog"]
        await cli.remove_source("blog")
        await bot.poll_once(reload_corpus=False)
        assert names(bot) == [CORPUS_SOURCE]
