"""fetch_feed against a loopback server: every fault is one attempt and a clear error."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import aiohttp
import pytest

from bot.feeds.fetch import FetchResult, fetch_feed
from bot.feeds.parse import parse_feed
from tests.feeds.feed_world import Item, medium_rss, running_feed_server, undeclared_rss

USER_AGENT = "corpus-bot-tests/1.0 (+https://example.invalid/bot)"


async def fetch(session: aiohttp.ClientSession, url: str, **overrides: object) -> FetchResult:
    options: dict[str, object] = {
        "etag": None,
        "last_modified": None,
        "user_agent": USER_AGENT,
        "timeout": 5.0,
    }
    options.update(overrides)
    return await fetch_feed(session, url, **options)  # type: ignore[arg-type]


async def test_200_returns_body_validators_and_sends_honest_headers(
    feed_server: Any,
    http_session: aiohttp.ClientSession,
    load_fixture: Callable[[str], bytes],
) -> None:
    result = await fetch(http_session, feed_server.url("/feed.xml"))

    assert result.outcome == "ok"
    assert result.status == 200
    assert result.error is None
    assert result.body == load_fixture("medium_rss.xml")
    assert result.etag == feed_server.etag
    assert result.last_modified == feed_server.last_modified
    assert result.final_url == feed_server.url("/feed.xml")
    ((_path, headers),) = feed_server.requests
    assert headers["User-Agent"] == USER_AGENT
    assert "application/rss+xml" in headers["Accept"]
    assert "If-None-Match" not in headers and "If-Modified-Since" not in headers
    parsed = parse_feed(result.body or b"", source_url=result.final_url or "")
    assert len(parsed.items) == 2


async def test_etag_gives_not_modified(
    feed_server: Any, http_session: aiohttp.ClientSession
) -> None:
    first = await fetch(http_session, feed_server.url("/feed.xml"))
    second = await fetch(http_session, feed_server.url("/feed.xml"), etag=first.etag)

    assert second.outcome == "not_modified"
    assert second.status == 304
    assert second.body is None
    assert second.etag == feed_server.etag
    assert second.last_modified == feed_server.last_modified
    assert feed_server.requests[1][1]["If-None-Match"] == feed_server.etag


async def test_last_modified_gives_not_modified(
    feed_server: Any, http_session: aiohttp.ClientSession
) -> None:
    result = await fetch(
        http_session, feed_server.url("/feed.xml"), last_modified=feed_server.last_modified
    )

    assert result.outcome == "not_modified"
    assert feed_server.requests[0][1]["If-Modified-Since"] == feed_server.last_modified


async def test_server_without_validators_returns_none_validators(
    feed_server: Any, http_session: aiohttp.ClientSession
) -> None:
    result = await fetch(http_session, feed_server.url("/atom.xml"), etag='"stale"')

    assert result.outcome == "ok"
    assert result.etag is None and result.last_modified is None


async def test_gzip_encoded_feed_is_decoded(
    feed_server: Any,
    http_session: aiohttp.ClientSession,
    load_fixture: Callable[[str], bytes],
) -> None:
    result = await fetch(http_session, feed_server.url("/gzipped.xml"))

    assert result.outcome == "ok"
    assert result.body == load_fixture("medium_rss.xml")


async def test_http_500_is_an_error_that_keeps_the_callers_validators(
    feed_server: Any, http_session: aiohttp.ClientSession
) -> None:
    result = await fetch(
        http_session,
        feed_server.url("/error500"),
        etag='"v1"',
        last_modified=feed_server.last_modified,
    )

    assert result.outcome == "error"
    assert result.status == 500
    assert result.error is not None and result.error.startswith("HTTP 500")
    assert result.body is None
    assert result.etag == '"v1"' and result.last_modified == feed_server.last_modified
    assert len(feed_server.requests) == 1  # one fault, one attempt: no hidden retries


async def test_http_404_is_an_error(feed_server: Any, http_session: aiohttp.ClientSession) -> None:
    result = await fetch(http_session, feed_server.url("/nowhere.xml"))

    assert result.outcome == "error"
    assert result.status == 404
    assert result.error == "HTTP 404 Not Found"


async def test_429_reports_retry_after(
    feed_server: Any, http_session: aiohttp.ClientSession
) -> None:
    result = await fetch(http_session, feed_server.url("/ratelimited"))

    assert result.outcome == "error"
    assert result.status == 429
    assert result.retry_after == 120.0


async def test_server_that_never_answers_times_out(
    feed_server: Any, http_session: aiohttp.ClientSession
) -> None:
    result = await fetch(http_session, feed_server.url("/hang"), timeout=0.3)

    assert result.outcome == "error"
    assert result.error == "timed out after 0.3 s"
    assert result.status is None


async def test_slow_drip_hits_the_total_timeout(
    feed_server: Any, http_session: aiohttp.ClientSession
) -> None:
    # The server sends a byte every 50 ms forever: no single read ever stalls, so only a
    # deadline over the whole attempt can stop it.
    result = await fetch(http_session, feed_server.url("/drip"), timeout=0.4)

    assert result.outcome == "error"
    assert result.error == "timed out after 0.4 s"


async def test_50_mb_body_is_cut_at_the_limit(
    feed_server: Any, http_session: aiohttp.ClientSession
) -> None:
    result = await fetch(http_session, feed_server.url("/big"))

    assert result.outcome == "error"
    assert result.error == "body over 5 MB limit"
    assert result.body is None
    assert result.status == 200


async def test_declared_oversized_body_is_refused_before_reading(
    feed_server: Any, http_session: aiohttp.ClientSession
) -> None:
    result = await fetch(http_session, feed_server.url("/big?declare=1"), max_bytes=1_000_000)

    assert result.outcome == "error"
    assert result.error == "body over 1 MB limit (Content-Length 50000000)"


async def test_gzip_bomb_is_capped_on_decoded_size(
    feed_server: Any, http_session: aiohttp.ClientSession, gzip_bomb: bytes
) -> None:
    assert len(gzip_bomb) < 5_000_000  # small on the wire: only the decoded size can catch it

    result = await fetch(http_session, feed_server.url("/bomb"))

    assert result.outcome == "error"
    assert result.error == "gzip body expands past 5 MB limit"


async def test_redirect_loop_stops_after_max_redirects(
    feed_server: Any, http_session: aiohttp.ClientSession
) -> None:
    result = await fetch(http_session, feed_server.url("/loop/a"), max_redirects=5)

    assert result.outcome == "error"
    assert result.error == "too many redirects (5)"
    assert len(feed_server.requests) == 6  # the first request plus five followed redirects


async def test_redirects_within_the_limit_are_followed(
    feed_server: Any,
    http_session: aiohttp.ClientSession,
    load_fixture: Callable[[str], bytes],
) -> None:
    result = await fetch(http_session, feed_server.url("/chain/3"), max_redirects=3)

    assert result.outcome == "ok"
    assert result.final_url == feed_server.url("/feed.xml")
    assert result.body == load_fixture("medium_rss.xml")
    assert all(headers["User-Agent"] == USER_AGENT for _p, headers in feed_server.requests)


async def test_redirect_to_file_scheme_is_refused(
    feed_server: Any, http_session: aiohttp.ClientSession
) -> None:
    result = await fetch(http_session, feed_server.url("/to-file"))

    assert result.outcome == "error"
    assert result.error == "redirect to unsupported URL scheme 'file'"


async def test_connection_refused(http_session: aiohttp.ClientSession, refused_port: int) -> None:
    result = await fetch(http_session, f"http://127.0.0.1:{refused_port}/feed.xml")

    assert result.outcome == "error"
    assert result.error == f"connection refused by 127.0.0.1:{refused_port}"
    assert result.status is None


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("file:///etc/passwd", "unsupported URL scheme 'file' (only http and https)"),
        ("ftp://127.0.0.1/feed.xml", "unsupported URL scheme 'ftp' (only http and https)"),
        ("feed.xml", "unsupported URL scheme '(none)' (only http and https)"),
        ("http:///feed.xml", "invalid URL: no host"),
    ],
)
async def test_non_http_urls_are_rejected_up_front(
    feed_server: Any, http_session: aiohttp.ClientSession, url: str, message: str
) -> None:
    result = await fetch(http_session, url)

    assert result.outcome == "error"
    assert result.error == message
    assert feed_server.requests == []


TITLES = {
    "windows-1251": "Новости корпуса: архивы и кураторы",
    "koi8-r": "Привет, мир корпусов",
    "shift_jis": "日本語のニュース記事",
    "iso-8859-2": "Zażółć gęślą jaźń",
    "iso-8859-7": "Καλημέρα κόσμε",
}


@pytest.mark.parametrize("media_type", ["application/rss+xml", "text/xml"])
@pytest.mark.parametrize("encoding", list(TITLES))
async def test_the_http_charset_decodes_a_feed_without_an_encoding_declaration(
    http_session: aiohttp.ClientSession, encoding: str, media_type: str
) -> None:
    title = TITLES[encoding]
    async with running_feed_server() as server:
        server.serve(
            "/feed.xml",
            undeclared_rss([Item("x1", title, author=title)], encoding),
            content_type=f"{media_type}; charset={encoding}",
        )
        result = await fetch(http_session, server.url("/feed.xml"))
    assert result.outcome == "ok" and result.content_type == f"{media_type}; charset={encoding}"
    parsed = parse_feed(
        result.body or b"", source_url=result.final_url or "", content_type=result.content_type
    )
    (item,) = parsed.items
    assert (item.title, item.authors) == (title, (title,))
    assert not any("encoding" in warning for warning in parsed.warnings), parsed.warnings


def test_utf8_served_as_text_xml_without_a_charset_is_read_without_a_warning() -> None:
    title = "Ünïcödé, declared"
    parsed = parse_feed(medium_rss([Item("x1", title)]), source_url="", content_type="text/xml")
    assert [item.title for item in parsed.items] == [title] and parsed.warnings == ()


def test_without_a_content_type_the_declaration_or_utf8_decides() -> None:
    title = "Ünïcödé, declared"
    parsed = parse_feed(medium_rss([Item("x1", title)]), source_url="", content_type=None)
    assert [item.title for item in parsed.items] == [title]
