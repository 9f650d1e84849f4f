"""Discovery: a feed URL, a site page listing feeds, a page listing none (common paths), and
what is said when nothing is found. Served on loopback by the feed test server."""

from __future__ import annotations

import aiohttp

from bot.feeds.addresses import guarded_session
from bot.feeds.discovery import discover_feeds, feed_links
from tests.feeds.conftest import LoopbackFeedServer

UA = "corpus-bot-tests/1.0"


async def test_a_feed_url_is_its_own_candidate_with_its_newest_item(
    feed_server: LoopbackFeedServer, http_session: aiohttp.ClientSession
) -> None:
    found = await discover_feeds(http_session, feed_server.url("/atom.xml"), user_agent=UA)
    assert found.error is None
    (candidate,) = found.candidates
    assert candidate.url == feed_server.url("/atom.xml")
    assert candidate.title == "Example Archive Blog"
    assert candidate.items == 2
    assert candidate.newest is not None
    assert candidate.newest.title is not None and candidate.newest.title.startswith("Release notes")
    assert candidate.newest.link is not None and "release-v2" in candidate.newest.link
    assert candidate.newest.published is not None


async def test_a_site_page_leads_to_the_feeds_it_lists_in_page_order(
    feed_server: LoopbackFeedServer, http_session: aiohttp.ClientSession
) -> None:
    found = await discover_feeds(http_session, feed_server.url("/site/"), user_agent=UA)
    assert found.error is None
    assert [c.url for c in found.candidates] == [
        feed_server.url("/feed.xml"),  # href="../feed.xml", resolved against /site/
        feed_server.url("/atom.xml"),
    ]
    assert found.candidates[0].title == "Stories by Ada Example on Medium"
    assert "/not-a-feed.xml" not in feed_server.paths()  # an <a>, not a feed link


async def test_a_page_listing_no_feed_falls_back_to_the_common_paths(
    feed_server: LoopbackFeedServer, http_session: aiohttp.ClientSession
) -> None:
    found = await discover_feeds(http_session, feed_server.url("/bare/"), user_agent=UA)
    assert [c.url for c in found.candidates] == [
        feed_server.url("/atom.xml"),
        feed_server.url("/feed.xml"),
    ]
    assert {"/feed", "/rss", "/rss.xml", "/index.xml"} <= set(feed_server.paths())


async def test_nothing_found_says_why(
    feed_server: LoopbackFeedServer, http_session: aiohttp.ClientSession
) -> None:
    failed = await discover_feeds(http_session, feed_server.url("/error500"), user_agent=UA)
    assert failed.candidates == () and failed.error is not None and "500" in failed.error


async def test_discovery_through_a_guarded_session_refuses_loopback(
    feed_server: LoopbackFeedServer,
) -> None:
    async with guarded_session() as session:
        found = await discover_feeds(session, feed_server.url("/site/"), user_agent=UA)
    assert found.candidates == ()
    assert found.error is not None and "loopback" in found.error
    assert feed_server.requests == []


def test_feed_links_reads_link_elements_not_text() -> None:
    page = """<html><head><base href="https://example.org/blog/">
    <LINK REL="alternate feed" TYPE="application/atom+xml; charset=utf-8" HREF="atom">
    <link rel="alternate" type="application/rss+xml" href="javascript:alert(1)">
    <link rel="alternate" type="application/rss+xml" href="https://example.org/blog/atom">
    <link rel="stylesheet" type="application/rss+xml" href="/style">
    <!-- <link rel="alternate" type="application/rss+xml" href="/commented"> -->
    </head><body><p>&lt;link rel="alternate" type="application/rss+xml" href="/text"&gt;</p>"""
    assert feed_links(page, "https://example.org/") == ["https://example.org/blog/atom"]
