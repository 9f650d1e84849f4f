"""Test helpers for the feed: a loopback feed server whose items a test edits, feed builders
(Medium-style RSS 2.0 and Atom), and a fake Discord that keeps nonces the way Discord does.

Imported by the feed tests (``from tests.feeds.feed_world import ...``); not a conftest, so
helpers can be imported by name from the end-to-end tests too.
"""

from __future__ import annotations

import asyncio
import hashlib
import itertools
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import format_datetime
from typing import Literal
from xml.sax.saxutils import escape

from aiohttp import web

from bot.corpus.loader import scan_corpus
from bot.corpus.service import CorpusService
from bot.feeds.delivery import BatchMessage, DeliveryError, EntryMessage, Outgoing
from bot.feeds.models import Subscription
from bot.storage.postgres.sql import PostgresFeedDatabase
from bot.storage.sql import FeedDatabase, SqliteFeedDatabase

T0 = datetime(2025, 3, 5, 8, 0, tzinfo=UTC)
"""A fixed 'now' for tests: 08:00 UTC on a Wednesday."""


@dataclass
class Item:
    """One feed item as a test describes it."""

    guid: str
    title: str
    author: str = "Ada Example"
    html: str = "<p>A first sentence about archives. A second sentence about curators.</p>"
    published: datetime = T0
    link: str | None = None
    categories: tuple[str, ...] = ()

    def href(self) -> str:
        return self.link or f"https://medium.com/@ada/{self.guid}?source=rss----abc---4"


def _rss_categories(item: Item) -> str:
    return "".join(f"\n            <category>{escape(c)}</category>" for c in item.categories)


def medium_rss(items: Iterable[Item], *, title: str = "Stories by Ada Example on Medium") -> bytes:
    """An RSS 2.0 feed shaped like Medium's: CDATA, ``dc:creator``, ``content:encoded``."""
    entries = "".join(
        f"""
        <item>
            <title><![CDATA[{item.title}]]></title>
            <link>{escape(item.href())}</link>
            <guid isPermaLink="false">https://medium.com/p/{item.guid}</guid>
            <dc:creator><![CDATA[{item.author}]]></dc:creator>
            <pubDate>{format_datetime(item.published, usegmt=True)}</pubDate>
            <content:encoded><![CDATA[{item.html}]]></content:encoded>{_rss_categories(item)}
        </item>"""
        for item in items
    )
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<rss xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:content="http://purl.org/rss/1.0/modules/content/" version="2.0">
    <channel>
        <title><![CDATA[{title}]]></title>
        <link>https://medium.com/@ada</link>
        <generator>Medium</generator>{entries}
    </channel>
</rss>
""".encode()


def guidless_rss(entries: Iterable[tuple[str, str]]) -> bytes:
    """RSS 2.0 whose items have a title and a link (given as (title, link)) but no guid, so
    their identity is their link."""
    items = "".join(
        f"<item><title>{escape(title)}</title><link>{escape(link)}</link>"
        f"<description>{escape(title)}. More to read.</description></item>"
        for title, link in entries
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel><title>Live blog</title>'
        f"<link>https://live.example.org/</link>{items}</channel></rss>"
    ).encode()


def undeclared_rss(items: Iterable[Item], encoding: str) -> bytes:
    """Medium-style RSS written in ``encoding`` with no encoding in its XML declaration, as many
    windows-1251, koi8-r or shift_jis feeds are: only the HTTP charset says what it is."""
    text = medium_rss(items).decode("utf-8").replace(' encoding="UTF-8"', "", 1)
    return text.encode(encoding)


def atom(items: Iterable[Item], *, title: str = "Example Archive Blog") -> bytes:
    entries = "".join(
        f"""
  <entry>
    <title>{escape(item.title)}</title>
    <link rel="alternate" href="{escape(item.href())}"/>
    <id>tag:blog.example.org,2025:{escape(item.guid)}</id>
    <published>{item.published.isoformat()}</published>
    <updated>{item.published.isoformat()}</updated>
    <author><name>{escape(item.author)}</name></author>
    <content type="html">{escape(item.html)}</content>
  </entry>"""
        for item in items
    )
    return f"""<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom">
  <title>{escape(title)}</title>
  <id>urn:example:blog</id>
  <updated>{T0.isoformat()}</updated>{entries}
</feed>
""".encode()


@dataclass
class FeedDoc:
    """What the server answers for one path: a body (with an ETag from its hash) or a fault."""

    body: bytes = b""
    status: int = 200
    content_type: str = "application/rss+xml"


@dataclass
class FeedServer:
    """A loopback HTTP server; tests set ``docs[path]`` and read ``requests``."""

    base_url: str = ""
    docs: dict[str, FeedDoc] = field(default_factory=dict)
    requests: list[tuple[str, dict[str, str]]] = field(default_factory=list)
    statuses: list[tuple[str, int]] = field(default_factory=list)

    def url(self, path: str) -> str:
        return f"{self.base_url}{path}"

    def serve(self, path: str, body: bytes, *, content_type: str = "application/rss+xml") -> None:
        self.docs[path] = FeedDoc(body=body, content_type=content_type)

    def fail(self, path: str, status: int) -> None:
        self.docs[path] = FeedDoc(status=status)

    def hits(self, path: str) -> list[int]:
        """HTTP statuses answered for ``path``, in order."""
        return [status for p, status in self.statuses if p == path]


def _etag(body: bytes) -> str:
    return '"' + hashlib.sha256(body).hexdigest()[:16] + '"'


@asynccontextmanager
async def running_feed_server() -> AsyncIterator[FeedServer]:
    server = FeedServer()

    async def handle(request: web.Request) -> web.StreamResponse:
        server.requests.append((request.path, dict(request.headers)))
        doc = server.docs.get(request.path)
        if doc is None:
            response = web.Response(status=404, text="no such feed")
        elif doc.status != 200:
            response = web.Response(status=doc.status, text="broken on purpose")
        else:
            etag = _etag(doc.body)
            if request.headers.get("If-None-Match") == etag:
                response = web.Response(status=304, headers={"ETag": etag})
            else:
                response = web.Response(
                    body=doc.body, headers={"ETag": etag, "Content-Type": doc.content_type}
                )
        server.statuses.append((request.path, response.status))
        return response

    app = web.Application()
    app.router.add_get("/{tail:.*}", handle)
    runner = web.AppRunner(app, shutdown_timeout=1.0)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]
    server.base_url = f"http://{host}:{port}"
    try:
        yield server
    finally:
        await runner.cleanup()


class SimulatedCrash(BaseException):
    """Raised by the fake Discord to stop the sender as a killed process would."""


@dataclass
class Posted:
    message_id: int
    channel_id: int
    nonce: str
    message: Outgoing
    edits: list[Outgoing] = field(default_factory=list)

    @property
    def entry_ids(self) -> list[str]:
        if isinstance(self.message, EntryMessage):
            return [self.message.announcement.entry_id]
        return [a.entry_id for a in self.message.announcements]

    @property
    def kind(self) -> Literal["entry", "more", "digest"]:
        return "entry" if isinstance(self.message, EntryMessage) else self.message.kind

    @property
    def latest(self) -> Outgoing:
        return self.edits[-1] if self.edits else self.message


@dataclass
class FakeDiscord:
    """A :class:`~bot.feeds.delivery.Deliverer` that behaves like Discord where it matters.

    - A repeated nonce returns the message created with it (``enforce_nonce``), counted in
      ``nonce_replays``.
    - ``faults[channel_id]`` makes every post and edit there fail with that error.
    - ``refuse_next[channel_id]``: the next posts there fail with these errors, one each, in
      order; a None lets that post through (e.g. two accepted messages, then a refused one).
    - ``crash_after_posts=K``: the K-th *new* message is created, then :class:`SimulatedCrash`
      is raised before the sender learns its id, as if the bot died mid-request.
    - ``forget_nonces()``: Discord's nonce window has passed; a resend would post again.
    - ``find`` looks for an announcement in a channel as the Discord deliverer does (by what it
      announces, not by nonce, which listed messages lack); ``finds`` counts the calls.
    """

    messages: dict[int, Posted] = field(default_factory=dict)
    by_nonce: dict[str, int] = field(default_factory=dict)
    faults: dict[int, DeliveryError] = field(default_factory=dict)
    refuse_next: dict[int, list[DeliveryError | None]] = field(default_factory=dict)
    crash_after_posts: int | None = None
    created: int = 0
    nonce_replays: int = 0
    finds: int = 0
    ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1000))

    async def post(self, subscription: Subscription, message: Outgoing, nonce: str) -> int:
        assert 0 < len(nonce) <= 25
        if subscription.channel_id in self.faults:
            raise self.faults[subscription.channel_id]
        if self.refuse_next.get(subscription.channel_id):
            refusal = self.refuse_next[subscription.channel_id].pop(0)
            if refusal is not None:
                raise refusal
        if nonce in self.by_nonce:
            self.nonce_replays += 1
            return self.by_nonce[nonce]
        message_id = next(self.ids)
        self.messages[message_id] = Posted(message_id, subscription.channel_id, nonce, message)
        self.by_nonce[nonce] = message_id
        self.created += 1
        if self.crash_after_posts is not None and self.created >= self.crash_after_posts:
            self.crash_after_posts = None
            raise SimulatedCrash(f"killed after creating message {message_id}")
        return message_id

    async def edit(self, subscription: Subscription, message_id: int, message: Outgoing) -> None:
        if subscription.channel_id in self.faults:
            raise self.faults[subscription.channel_id]
        posted = self.messages.get(message_id)
        if posted is None or posted.channel_id != subscription.channel_id:
            raise DeliveryError(404, "Unknown Message", code=10008)
        posted.edits.append(message)

    async def find(
        self, subscription: Subscription, message: Outgoing, since: datetime
    ) -> int | None:
        self.finds += 1
        wanted = Posted(0, subscription.channel_id, "", message)
        for posted in self.in_channel(subscription.channel_id):
            if (posted.kind, posted.entry_ids) == (wanted.kind, wanted.entry_ids):
                return posted.message_id
        return None

    def forget_nonces(self) -> None:
        self.by_nonce.clear()

    def delete(self, message_id: int) -> None:
        del self.messages[message_id]

    def in_channel(self, channel_id: int) -> list[Posted]:
        return [p for p in self.messages.values() if p.channel_id == channel_id]

    def entries_in(self, channel_id: int) -> list[str]:
        """Every entry id announced in a channel, individually or in a batch, in post order."""
        return [entry for posted in self.in_channel(channel_id) for entry in posted.entry_ids]

    def batches_in(self, channel_id: int) -> list[BatchMessage]:
        return [
            p.message for p in self.in_channel(channel_id) if isinstance(p.message, BatchMessage)
        ]


@dataclass
class FeedBackend:
    """Where a test's feed keeps its state: ``sqlite`` (the corpus index's file, the default)
    or ``postgres`` (a fresh database of the session's real server, ``dsn``). The feed tests
    take it as the ``backend`` fixture, run once per backend (tests/feeds/conftest.py)."""

    name: str
    dsn: str | None = None
    opened: list[PostgresFeedDatabase] = field(default_factory=list)

    @property
    def serves_commands(self) -> bool:
        """Whether the corpus service's answers (/search, /post…) read the feed's database:
        on SQLite they do; on PostgreSQL a per-process replica pulls the shared documents
        (another component, tested with it), so feed tests check the record there."""
        return self.dsn is None

    async def database(self, service: CorpusService) -> FeedDatabase:
        """The feed's database for ``service``. On PostgreSQL each call opens a pool of its own
        (a restarted process opens its own), holding the corpus folder's documents as a
        reload publishes them (decision 4; see ``publish_corpus``)."""
        if self.dsn is None:
            return SqliteFeedDatabase(service.store)
        database = await PostgresFeedDatabase.open(self.dsn, min_size=1, max_size=4)
        self.opened.append(database)
        await publish_corpus(database, service)
        reload = service.reload

        async def reload_and_publish():  # type: ignore[no-untyped-def]
            report = await reload()
            await publish_corpus(database, service)
            return report

        close = service.close

        async def close_and_end_sessions():  # type: ignore[no-untyped-def]
            # A process that stops (or "dies" in a test) ends its database sessions: the server
            # rolls back what they left open and frees their row locks and claims.
            await close()
            database.pool.terminate()

        service.reload = reload_and_publish  # type: ignore[method-assign]
        service.close = close_and_end_sessions  # type: ignore[method-assign]
        return database

    async def close(self) -> None:
        for database in self.opened:
            await database.close()
        self.opened.clear()


async def publish_corpus(database: PostgresFeedDatabase, service: CorpusService) -> None:
    """A stand-in for publishing (decision 4, built on another branch): the corpus folder's
    documents written to PostgreSQL's documents table and those no longer there deleted, in one
    transaction, as a successful reload does in ``storage: postgres``."""
    settings = service.settings
    scan = await asyncio.to_thread(
        scan_corpus, settings.corpus_dir, max_bytes=settings.max_file_bytes
    )
    documents = [parsed.document for parsed in scan.files if parsed.document is not None]
    async with database.transaction() as writer:
        await database.replace_documents(writer, documents)
        await writer.execute(
            "DELETE FROM documents WHERE origin = 'corpus' AND NOT (id = ANY(?::text[]))",
            ([doc.id for doc in documents],),
        )
