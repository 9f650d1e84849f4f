"""The SSRF guard: a guarded session reaches global addresses only, redirects included.

No test sends traffic anywhere but loopback: private and link-local literals are refused before
any connection (a trace counts connection attempts), and names are resolved by a fake resolver.
"""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator
from types import SimpleNamespace
from urllib.parse import quote

import aiohttp
import pytest
from aiohttp.abc import AbstractResolver, ResolveResult

from bot.feeds.addresses import GuardedResolver, address_refusal, guarded_session
from bot.feeds.fetch import fetch_feed
from tests.feeds.conftest import LoopbackFeedServer

UA = "corpus-bot-tests/1.0"


class FakeResolver(AbstractResolver):
    """Every name resolves to 127.0.0.1 (where the test server is), without DNS."""

    def __init__(self) -> None:
        self.asked: list[str] = []

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        self.asked.append(host)
        return [
            ResolveResult(
                hostname=host, host="127.0.0.1", port=port, family=socket.AF_INET, proto=0, flags=0
            )
        ]

    async def close(self) -> None:
        pass


class Connections:
    """Counts the connections a session opened (aiohttp signals the start before resolving)."""

    def __init__(self) -> None:
        self.count = 0
        self.trace = aiohttp.TraceConfig()
        self.trace.on_connection_create_end.append(self._started)

    async def _started(
        self, _session: aiohttp.ClientSession, _ctx: SimpleNamespace, _params: object
    ) -> None:
        self.count += 1


@pytest.fixture
def connections() -> Connections:
    return Connections()


@pytest.fixture
async def guarded(connections: Connections) -> AsyncIterator[aiohttp.ClientSession]:
    resolver = GuardedResolver(FakeResolver(), trusted_hosts=["allowed.test"])
    async with guarded_session(resolver=resolver, trace_configs=[connections.trace]) as session:
        yield session


@pytest.mark.parametrize(
    ("address", "kind"),
    [
        ("127.0.0.1", "loopback"),
        ("::1", "loopback"),
        ("169.254.169.254", "link-local"),
        ("fe80::1", "link-local"),
        ("10.0.0.1", "private"),
        ("192.168.1.1", "private"),
        ("fd00::1", "private"),
        ("224.0.0.1", "multicast"),
        ("0.0.0.0", "unspecified"),  # noqa: S104 - an address under test, not a bind
        ("::ffff:127.0.0.1", "loopback"),
        ("100.64.0.1", "not a public"),
    ],
)
def test_non_global_addresses_are_refused_with_their_kind(address: str, kind: str) -> None:
    reason = address_refusal(address)
    assert reason is not None and kind in reason


@pytest.mark.parametrize("address", ["93.184.215.14", "2606:4700::1111"])
def test_global_addresses_pass(address: str) -> None:
    assert address_refusal(address) is None


@pytest.mark.parametrize(
    "url",
    [
        "http://[::1]/",
        "http://169.254.169.254/latest/meta-data/",
        "http://10.0.0.1/",
        "http://0.0.0.0/",
    ],
)
async def test_private_literals_are_refused_without_any_connection(
    guarded: aiohttp.ClientSession, connections: Connections, url: str
) -> None:
    result = await fetch_feed(guarded, url, etag=None, last_modified=None, user_agent=UA)
    assert result.outcome == "error"
    assert result.error is not None
    assert "refused to fetch" in result.error and "allow_private_addresses" in result.error
    assert connections.count == 0


async def test_loopback_is_refused_by_default(
    feed_server: LoopbackFeedServer, connections: Connections
) -> None:
    async with guarded_session(trace_configs=[connections.trace]) as session:
        result = await fetch_feed(
            session, feed_server.url("/feed.xml"), etag=None, last_modified=None, user_agent=UA
        )
    assert result.outcome == "error"
    assert result.error is not None and "loopback" in result.error
    assert feed_server.requests == [] and connections.count == 0


async def test_a_name_resolving_to_loopback_is_refused(
    feed_server: LoopbackFeedServer, connections: Connections
) -> None:
    port = feed_server.base_url.rsplit(":", 1)[1]
    async with guarded_session(
        resolver=GuardedResolver(FakeResolver()), trace_configs=[connections.trace]
    ) as session:
        result = await fetch_feed(
            session,
            f"http://rebind.test:{port}/feed.xml",
            etag=None,
            last_modified=None,
            user_agent=UA,
        )
    assert result.error is not None and "rebind.test" in result.error and "loopback" in result.error
    assert feed_server.requests == [] and connections.count == 0


@pytest.mark.parametrize("target_host", ["127.0.0.1", "localhost"])
async def test_a_redirect_from_an_allowed_host_to_loopback_is_refused(
    feed_server: LoopbackFeedServer,
    guarded: aiohttp.ClientSession,
    target_host: str,
) -> None:
    port = feed_server.base_url.rsplit(":", 1)[1]
    target = quote(f"http://{target_host}:{port}/feed.xml", safe="")
    result = await fetch_feed(
        guarded,
        f"http://allowed.test:{port}/redirect?to={target}",
        etag=None,
        last_modified=None,
        user_agent=UA,
    )
    assert result.outcome == "error"
    assert result.error is not None and "loopback" in result.error
    assert [p.split("?")[0] for p in feed_server.paths()] == ["/redirect"]  # the feed: never asked


async def test_an_allowed_host_is_fetched(
    feed_server: LoopbackFeedServer, guarded: aiohttp.ClientSession
) -> None:
    port = feed_server.base_url.rsplit(":", 1)[1]
    result = await fetch_feed(
        guarded,
        f"http://allowed.test:{port}/atom.xml",
        etag=None,
        last_modified=None,
        user_agent=UA,
    )
    assert result.outcome == "ok"
