"""Fixtures of the CLI's tests: a loopback site serving a page that lists a feed.

The CLI runs its own event loop (`asyncio.run`, or a process of its own), so the site is the
standard library's HTTP server in a thread."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from tests.feeds.feed_world import Item, medium_rss

PAGE = b"""<html><head><link rel="alternate" type="application/rss+xml" href="/blog.xml">
</head></html>"""
"""The site's home page: it names its feed, as `feeds add` finds it."""


class _Quiet(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - the base's name
        pass


@pytest.fixture
def site(tmp_path: Path) -> Iterator[str]:
    """The site's base URL (http://127.0.0.1:PORT): `/` lists `/blog.xml`, a feed of one item."""
    root = tmp_path / "site"
    root.mkdir()
    (root / "index.html").write_bytes(PAGE)
    (root / "blog.xml").write_bytes(medium_rss([Item("a1", "First")], title="The Example Blog"))
    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(_Quiet, directory=str(root)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
