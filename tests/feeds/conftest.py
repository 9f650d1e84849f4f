"""Fixtures for the feed tests: fixture files and a loopback HTTP server that misbehaves on cue.

The server binds 127.0.0.1 on a free port and serves the committed fixtures plus generated
pathological responses (huge bodies, gzip bombs, drips, hangs, redirect loops). Every slow
handler waits on ``release`` so teardown can end it at once; nothing here waits on the clock
except the drip, whose pacing *is* the behaviour under test.
"""

from __future__ import annotations

import asyncio
import gzip
import socket
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web

from tests.feeds.feed_world import FeedBackend

FIXTURES = Path(__file__).parent / "fixtures"
FEED_ETAG = '"medium-v1"'
FEED_LAST_MODIFIED = "Tue, 04 Mar 2025 09:12:44 GMT"
BIG_BODY_BYTES = 50_000_000
BOMB_DECODED_BYTES = 50_000_000
DRIP_INTERVAL = 0.05


SITE_PAGE = b"""<!doctype html><html><head><title>A site</title>
<link rel="stylesheet" href="/style.css">
<link rel="alternate" type="application/rss+xml" title="Posts (RSS)" href="../feed.xml">
<link rel="Alternate" type="application/atom+xml" title="Posts (Atom)" href="/atom.xml">
<link rel="alternate" type="text/html" href="/other">
</head><body><a href="/not-a-feed.xml">x</a></body></html>"""
"""A site's page listing two feeds (a relative and an absolute href) among other links."""


def fixture_bytes(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


@dataclass
class LoopbackFeedServer:
    """A running loopback server; ``requests`` records (path, headers) of every request."""

    base_url: str
    etag: str = FEED_ETAG
    last_modified: str = FEED_LAST_MODIFIED
    requests: list[tuple[str, dict[str, str]]] = field(default_factory=list)
    release: asyncio.Event = field(default_factory=asyncio.Event)

    def url(self, path: str) -> str:
        return f"{self.base_url}{path}"

    def paths(self) -> list[str]:
        return [path for path, _headers in self.requests]


@pytest.fixture
def load_fixture() -> Callable[[str], bytes]:
    """Reads a committed fixture file by name (tests cannot import conftest reliably)."""
    return fixture_bytes


@pytest.fixture(scope="session")
def gzip_bomb() -> bytes:
    """50 MB of zeros gzipped to ~50 kB: small on the wire, huge once decoded."""
    return gzip.compress(b"\0" * BOMB_DECODED_BYTES, compresslevel=9)


def _build_app(server: LoopbackFeedServer, gzip_bomb: bytes) -> web.Application:
    medium = fixture_bytes("medium_rss.xml")

    @web.middleware
    async def record(request: web.Request, handler):  # type: ignore[no-untyped-def]
        server.requests.append((request.path_qs, dict(request.headers)))
        return await handler(request)

    async def feed(request: web.Request) -> web.StreamResponse:
        validators = {"ETag": FEED_ETAG, "Last-Modified": FEED_LAST_MODIFIED}
        if request.headers.get("If-None-Match") == FEED_ETAG or (
            request.headers.get("If-Modified-Since") == FEED_LAST_MODIFIED
        ):
            return web.Response(status=304, headers=validators)
        return web.Response(body=medium, content_type="application/rss+xml", headers=validators)

    async def gzipped_feed(request: web.Request) -> web.StreamResponse:
        return web.Response(
            body=gzip.compress(medium),
            headers={"Content-Encoding": "gzip", "Content-Type": "application/rss+xml"},
        )

    async def plain_feed(request: web.Request) -> web.StreamResponse:
        return web.Response(body=fixture_bytes("atom.xml"), content_type="application/atom+xml")

    async def server_error(request: web.Request) -> web.StreamResponse:
        return web.Response(status=500, text="boom")

    async def rate_limited(request: web.Request) -> web.StreamResponse:
        return web.Response(status=429, headers={"Retry-After": "120"}, text="slow down")

    async def hang(request: web.Request) -> web.StreamResponse:
        await server.release.wait()
        return web.Response(text="too late")

    async def drip(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "application/rss+xml"})
        await response.prepare(request)
        for _ in range(10_000):  # bounded: at most ~8 minutes even if nobody hangs up
            try:
                await response.write(b"<")
            except (ConnectionError, aiohttp.ClientConnectionResetError):
                break
            try:
                await asyncio.wait_for(server.release.wait(), DRIP_INTERVAL)
                break
            except TimeoutError:
                continue
        return response

    async def big(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "application/rss+xml"})
        if request.query.get("declare") == "1":
            response.content_length = BIG_BODY_BYTES
        await response.prepare(request)
        chunk = b"x" * 65_536
        sent = 0
        while sent < BIG_BODY_BYTES and not server.release.is_set():
            try:
                await response.write(chunk[: BIG_BODY_BYTES - sent])
            except (ConnectionError, aiohttp.ClientConnectionResetError):
                break
            sent += len(chunk)
        return response

    async def bomb(request: web.Request) -> web.StreamResponse:
        return web.Response(
            body=gzip_bomb,
            headers={"Content-Encoding": "gzip", "Content-Type": "application/rss+xml"},
        )

    async def loop(request: web.Request) -> web.StreamResponse:
        other = "b" if request.match_info["name"] == "a" else "a"
        raise web.HTTPFound(f"/loop/{other}")

    async def chain(request: web.Request) -> web.StreamResponse:
        remaining = int(request.match_info["n"])
        target = "/feed.xml" if remaining <= 1 else f"/chain/{remaining - 1}"
        raise web.HTTPMovedPermanently(target)

    async def to_file(request: web.Request) -> web.StreamResponse:
        return web.Response(status=302, headers={"Location": "file:///etc/passwd"})

    async def redirect(request: web.Request) -> web.StreamResponse:
        return web.Response(status=302, headers={"Location": request.query["to"]})

    async def site_page(request: web.Request) -> web.StreamResponse:
        return web.Response(body=SITE_PAGE, content_type="text/html")

    async def bare_page(request: web.Request) -> web.StreamResponse:
        return web.Response(
            body=b"<html><head><title>Bare</title></head></html>", content_type="text/html"
        )

    app = web.Application(middlewares=[record])
    app.add_routes(
        [
            web.get("/feed.xml", feed),
            web.get("/gzipped.xml", gzipped_feed),
            web.get("/atom.xml", plain_feed),
            web.get("/error500", server_error),
            web.get("/ratelimited", rate_limited),
            web.get("/hang", hang),
            web.get("/drip", drip),
            web.get("/big", big),
            web.get("/bomb", bomb),
            web.get("/loop/{name}", loop),
            web.get("/chain/{n}", chain),
            web.get("/to-file", to_file),
            web.get("/redirect", redirect),
            web.get("/site/", site_page),
            web.get("/bare/", bare_page),
        ]
    )
    return app


@pytest.fixture
async def feed_server(gzip_bomb: bytes) -> AsyncIterator[LoopbackFeedServer]:
    server = LoopbackFeedServer(base_url="")
    runner = web.AppRunner(_build_app(server, gzip_bomb), shutdown_timeout=1.0)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]
    server.base_url = f"http://{host}:{port}"
    try:
        yield server
    finally:
        server.release.set()
        await runner.cleanup()


@pytest.fixture
async def http_session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


@pytest.fixture
def refused_port() -> Iterator[int]:
    """A loopback port that is bound but not listening, so connecting to it is refused."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    try:
        yield sock.getsockname()[1]
    finally:
        sock.close()


@pytest.fixture(params=["sqlite", "postgres"])
def backend_name(request: pytest.FixtureRequest) -> tuple[str, str | None]:
    """Which backend, and PostgreSQL's DSN: a fresh database of the session's real server
    (skipped, with the reason, where no PostgreSQL binaries exist). A plain fixture, since
    an async one cannot ask for another while the event loop runs it."""
    if request.param == "postgres":
        return request.param, request.getfixturevalue("postgres_dsn")
    return request.param, None


@pytest.fixture
async def backend(backend_name: tuple[str, str | None]) -> AsyncIterator[FeedBackend]:
    """The feed's database, once per backend (see FeedBackend); its pools closed after."""
    chosen = FeedBackend(*backend_name)
    try:
        yield chosen
    finally:
        await chosen.close()
