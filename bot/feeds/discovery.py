"""Find the feeds behind a URL an admin typed: a feed itself, or a site's page that lists some.

People paste what they have: often a blog's home page, not its feed. Discovery fetches the URL
with the polite fetcher (size cap, deadline, redirects checked hop by hop; through a guarded
session when the URL came from a person, see :mod:`bot.feeds.addresses`):

1. a body that parses as a feed is the one candidate;
2. an HTML page is read with the standard library's ``html.parser`` for
   ``<link rel="alternate">`` of an RSS, Atom or JSON Feed type (relative hrefs resolved against
   the page's final URL, or its ``<base href>``);
3. a page listing none: the common paths (``/feed``, ``/rss``, …) on the same site are tried.

Each candidate is fetched and parsed, so what the admin is shown is a feed that works now, with
its title and newest item as a preview. Never imports discord.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime
from html.parser import HTMLParser

import aiohttp
from yarl import URL

from bot.feeds.fetch import FetchResult, fetch_feed
from bot.feeds.parse import FeedParseError, ParsedFeed, parse_feed

__all__ = [
    "COMMON_FEED_PATHS",
    "Discovery",
    "FeedCandidate",
    "NewestItem",
    "discover_feeds",
    "feed_links",
]

FEED_TYPES = frozenset(
    {
        "application/rss+xml",
        "application/atom+xml",
        "application/feed+json",
        "application/json",
        "application/rdf+xml",
    }
)
"""``type`` values of a ``<link rel="alternate">`` that point at a feed."""
COMMON_FEED_PATHS = ("/feed", "/rss", "/atom.xml", "/feed.xml", "/rss.xml", "/index.xml")
MAX_CANDIDATES = 5
"""At most this many feeds are offered (Discord shows one button per candidate)."""
MAX_LINKS_READ = 20
"""Feed links read from a page (a page listing hundreds is not probed hundreds of times)."""


@dataclass(frozen=True, slots=True)
class NewestItem:
    title: str | None
    link: str | None
    published: datetime | None


@dataclass(frozen=True, slots=True)
class FeedCandidate:
    """A feed that was fetched and parsed just now: its URL (after redirects), title and newest
    item, and how many items it holds."""

    url: str
    title: str | None
    newest: NewestItem | None
    items: int


@dataclass(frozen=True, slots=True)
class Discovery:
    """What a URL led to: feeds found (at most :data:`MAX_CANDIDATES`), or why none.

    ``error`` is set when nothing was found: the page could not be fetched (the fetcher's
    sentence), or it is neither a feed nor a page that leads to one."""

    url: str
    candidates: tuple[FeedCandidate, ...]
    error: str | None = None


class _FeedLinks(HTMLParser):
    """Collects ``<link rel="alternate" type=feed href>`` and ``<base href>`` of a page."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.links: list[tuple[str, str | None]] = []  # (href, title)
        self.base: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {name: (value or "") for name, value in attrs}
        if tag == "base" and self.base is None and values.get("href"):
            self.base = values["href"]
            return
        if tag != "link" or len(self.links) >= MAX_LINKS_READ:
            return
        rels = values.get("rel", "").lower().split()
        kind = values.get("type", "").split(";")[0].strip().lower()
        href = values.get("href", "").strip()
        if "alternate" in rels and kind in FEED_TYPES and href:
            self.links.append((href, values.get("title") or None))


def feed_links(html: str, page_url: str) -> list[str]:
    """The absolute http(s) URLs of the feeds a page lists, in page order, without repeats."""
    parser = _FeedLinks()
    try:
        parser.feed(html)
        parser.close()
    except (AssertionError, ValueError):  # html.parser gives up on some broken markup
        pass
    try:
        base = URL(page_url)
        if parser.base:
            base = base.join(URL(parser.base))
    except ValueError:
        return []
    found: dict[str, None] = {}
    for href, _title in parser.links:
        try:
            absolute = base.join(URL(href))
        except ValueError:
            continue
        if absolute.scheme in ("http", "https") and absolute.host:
            found[str(absolute.with_fragment(None))] = None
    return list(found)


def _looks_like_html(result: FetchResult) -> bool:
    kind = (result.content_type or "").split(";")[0].strip().lower()
    if kind in ("text/html", "application/xhtml+xml"):
        return True
    head = (result.body or b"")[:512].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    return head.startswith((b"<!doctype html", b"<html"))


def _candidate(result: FetchResult, url: str) -> FeedCandidate | None:
    """The feed in ``result``, or None when it holds no feed."""
    if result.outcome != "ok" or _looks_like_html(result):
        return None
    try:
        parsed = parse_feed(
            result.body or b"", source_url=result.final_url or url, content_type=result.content_type
        )
    except FeedParseError:
        return None
    if not parsed.items and (parsed.warnings or not parsed.title):
        return None
    return FeedCandidate(result.final_url or url, parsed.title, _newest(parsed), len(parsed.items))


def _newest(parsed: ParsedFeed) -> NewestItem | None:
    if not parsed.items:
        return None
    dated = [item for item in parsed.items if item.published or item.updated]
    item = (
        max(dated, key=lambda i: i.published or i.updated or datetime.min)
        if dated
        else parsed.items[0]
    )
    return NewestItem(item.title, item.link, item.published or item.updated)


class Discoverer:
    """Discovery over one session, with the fetcher's limits."""

    def __init__(
        self,
        session: aiohttp.ClientSession,
        *,
        user_agent: str,
        timeout: float,  # noqa: ASYNC109 - passed to the fetcher, which bounds each attempt
        max_bytes: int,
    ) -> None:
        self.session = session
        self.user_agent = user_agent
        self.timeout = timeout
        self.max_bytes = max_bytes

    async def fetch(self, url: str) -> FetchResult:
        return await fetch_feed(
            self.session,
            url,
            etag=None,
            last_modified=None,
            user_agent=self.user_agent,
            timeout=self.timeout,
            max_bytes=self.max_bytes,
        )

    async def probe(self, url: str) -> FeedCandidate | None:
        """Fetch and parse ``url`` (parsing in a thread: a feed may be megabytes)."""
        result = await self.fetch(url)
        if result.outcome != "ok":
            return None
        return await asyncio.to_thread(_candidate, result, url)

    async def probe_all(self, urls: list[str]) -> list[FeedCandidate]:
        """Probe ``urls`` at once; the feeds among them in the order given, one per final URL."""
        found = await asyncio.gather(*(self.probe(url) for url in urls))
        unique: dict[str, FeedCandidate] = {}
        for candidate in found:
            if candidate is not None and candidate.url not in unique:
                unique[candidate.url] = candidate
        return list(unique.values())[:MAX_CANDIDATES]

    async def discover(self, url: str) -> Discovery:
        first = await self.fetch(url)
        if first.outcome != "ok":
            return Discovery(url, (), first.error or "the page could not be fetched")
        page_url = first.final_url or url
        candidate = await asyncio.to_thread(_candidate, first, url)
        if candidate is not None:
            return Discovery(url, (candidate,))
        if not _looks_like_html(first):
            return Discovery(url, (), "the page is neither a feed nor an HTML page")
        html = (first.body or b"").decode("utf-8", errors="replace")
        links = await asyncio.to_thread(feed_links, html, page_url)  # a page may be megabytes
        listed = await self.probe_all(links[:MAX_LINKS_READ])
        if listed:
            return Discovery(url, tuple(listed))
        site = URL(page_url).origin()
        common = await self.probe_all([str(site.with_path(path)) for path in COMMON_FEED_PATHS])
        if common:
            return Discovery(url, tuple(common))
        return Discovery(
            url,
            (),
            'the page lists no RSS or Atom feed (no <link rel="alternate">), and none of '
            + ", ".join(COMMON_FEED_PATHS)
            + " on its site is one",
        )


async def discover_feeds(
    session: aiohttp.ClientSession,
    url: str,
    *,
    user_agent: str,
    timeout: float = 20.0,  # noqa: ASYNC109 - each fetch's deadline
    max_bytes: int = 5_000_000,
) -> Discovery:
    """The feeds ``url`` leads to (see the module's docstring); never raises for network trouble."""
    discoverer = Discoverer(session, user_agent=user_agent, timeout=timeout, max_bytes=max_bytes)
    return await discoverer.discover(url)
