"""Fetch a feed over HTTP the way a well-behaved reader should.

One call is one attempt: a conditional GET (``If-None-Match`` / ``If-Modified-Since``) with an
honest User-Agent, redirects followed by hand (so each hop is checked and counted), and the
body streamed under two hard limits: a wall-clock deadline for the whole attempt (which also
catches servers that drip one byte per second) and a cap on *decoded* bytes (which also catches
gzip bombs, since aiohttp decompresses transparently while we count what comes out).

:func:`fetch_feed` never raises for network or HTTP trouble: every fault becomes a
:class:`FetchResult` with ``outcome="error"`` and a sentence a person can act on. The caller
feeds that into :mod:`bot.feeds.backoff`.
"""

from __future__ import annotations

import asyncio
import email.utils
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Literal

import aiohttp
from yarl import URL

from bot.feeds.addresses import AddressRefused

__all__ = ["FetchResult", "fetch_feed", "FEED_ACCEPT"]

FetchOutcome = Literal["ok", "not_modified", "error"]

# Feed types first, generic XML next, anything last (some servers mislabel feeds as text/html).
FEED_ACCEPT = (
    "application/rss+xml, application/atom+xml, application/rdf+xml;q=0.9, "
    "application/xml;q=0.9, text/xml;q=0.9, */*;q=0.5"
)
_REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
_ALLOWED_SCHEMES = frozenset({"http", "https"})
_READ_CHUNK = 64 * 1024


@dataclass(frozen=True)
class FetchResult:
    """What one fetch attempt produced.

    - ``ok``: ``body`` holds the (decoded) feed bytes; store ``etag``/``last_modified`` for
      the next conditional GET.
    - ``not_modified``: the server answered 304; ``body`` is None, ``etag``/``last_modified``
      are the server's fresh values or, if it sent none, the ones the caller passed in.
    - ``error``: ``error`` says what went wrong; ``body`` is None; ``etag``/``last_modified``
      echo the caller's (a failed attempt must not erase them); ``status`` is set when an HTTP status was
      received. ``retry_after`` carries a 429/503 ``Retry-After`` in seconds when the server
      gave one, so the scheduler can wait at least that long.

    ``final_url`` is the URL that answered after redirects (None if nothing answered).
    ``content_type`` is the answer's ``Content-Type`` header as sent, charset included: the
    parser needs it, since a feed in windows-1251 or koi8-r without an XML encoding
    declaration says its encoding only there.
    """

    outcome: FetchOutcome
    body: bytes | None
    etag: str | None
    last_modified: str | None
    status: int | None
    error: str | None
    final_url: str | None
    retry_after: float | None = None
    content_type: str | None = None


class _FetchFailed(Exception):
    """Internal: carries an error result out of nested helpers."""

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        final_url: str | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.final_url = final_url
        self.retry_after = retry_after


async def fetch_feed(
    session: aiohttp.ClientSession,
    url: str,
    *,
    etag: str | None,
    last_modified: str | None,
    user_agent: str,
    timeout: float = 20.0,  # noqa: ASYNC109 - applied with asyncio.timeout over the attempt
    max_bytes: int = 5_000_000,
    max_redirects: int = 5,
) -> FetchResult:
    """Fetch ``url`` once, conditionally, within ``timeout`` seconds and ``max_bytes`` bytes.

    ``user_agent`` should name the bot and a contact (e.g. ``"corpus-bot/0.1 (+https://…)"``).
    ``timeout`` bounds the whole attempt: connecting, every redirect hop and reading the body.
    ``max_bytes`` bounds the body after content decoding. The session is the caller's (shared
    connection pool); it must keep aiohttp's default ``auto_decompress=True`` behaviour, which
    this function also requests per call.

    On ``error`` the caller's ``etag``/``last_modified`` are echoed back, so a caller can always
    store the validators of the latest result without losing them to a failed attempt.
    """
    result = await _attempt(
        session,
        url,
        etag=etag,
        last_modified=last_modified,
        user_agent=user_agent,
        time_limit=timeout,
        max_bytes=max_bytes,
        max_redirects=max_redirects,
    )
    if result.outcome == "error":
        return replace(result, etag=etag, last_modified=last_modified)
    return result


async def _attempt(
    session: aiohttp.ClientSession,
    url: str,
    *,
    etag: str | None,
    last_modified: str | None,
    user_agent: str,
    time_limit: float,
    max_bytes: int,
    max_redirects: int,
) -> FetchResult:
    try:
        current = _checked_url(url)
    except _FetchFailed as failure:
        return _error_result(failure)
    headers = {"User-Agent": user_agent, "Accept": FEED_ACCEPT}
    if etag:
        headers["If-None-Match"] = etag
    if last_modified:
        headers["If-Modified-Since"] = last_modified
    final_url: str | None = None
    try:
        async with asyncio.timeout(time_limit):
            for _hop in range(max_redirects + 1):
                async with session.get(
                    current,
                    headers=headers,
                    allow_redirects=False,
                    auto_decompress=True,
                    raise_for_status=False,
                ) as response:
                    final_url = str(response.url)
                    if response.status in _REDIRECT_STATUSES:
                        current = _redirect_target(response, current)
                        continue
                    return await _result_from_response(
                        response, etag=etag, last_modified=last_modified, max_bytes=max_bytes
                    )
            return _error_result(
                _FetchFailed(f"too many redirects ({max_redirects})", final_url=final_url)
            )
    except _FetchFailed as failure:
        if failure.final_url is None:
            failure.final_url = final_url
        return _error_result(failure)
    except TimeoutError:
        return _error(f"timed out after {_format_seconds(time_limit)}", final_url=final_url)
    except AddressRefused as exc:  # an IP literal refused by a guarded session
        return _error(str(exc), final_url=final_url)
    except aiohttp.ClientConnectorDNSError as exc:
        if isinstance(exc.os_error, AddressRefused):  # a name resolving to a refused address
            return _error(str(exc.os_error), final_url=final_url)
        return _error(f"DNS lookup failed for {exc.host}", final_url=final_url)
    except aiohttp.ClientConnectorCertificateError as exc:
        return _error(
            f"TLS certificate problem for {exc.host}: {exc.certificate_error}", final_url=final_url
        )
    except aiohttp.ClientConnectorError as exc:
        return _error(_describe_connect_error(exc), final_url=final_url)
    except aiohttp.ServerDisconnectedError:
        return _error("server closed the connection early", final_url=final_url)
    except aiohttp.ClientPayloadError as exc:
        return _error(f"broken response body: {_root_cause(exc)}", final_url=final_url)
    except aiohttp.ClientResponseError as exc:
        return _error(
            f"bad HTTP response: {exc.message or exc}",
            status=exc.status or None,
            final_url=final_url,
        )
    except aiohttp.ClientError as exc:
        return _error(f"request failed: {_root_cause(exc)}", final_url=final_url)
    except (OSError, ValueError, UnicodeError) as exc:
        return _error(f"request failed: {_root_cause(exc)}", final_url=final_url)


def _checked_url(raw: str) -> URL:
    """Reject anything but absolute http(s) URLs before any socket is opened."""
    try:
        parsed = URL(raw.strip())
    except (ValueError, TypeError) as exc:
        raise _FetchFailed(f"invalid URL: {exc}") from None
    scheme = (parsed.scheme or "").lower()
    if scheme not in _ALLOWED_SCHEMES:
        shown = scheme or "(none)"
        raise _FetchFailed(f"unsupported URL scheme {shown!r} (only http and https)")
    if not parsed.host:
        raise _FetchFailed("invalid URL: no host")
    return parsed


def _redirect_target(response: aiohttp.ClientResponse, current: URL) -> URL:
    location = response.headers.get("Location")
    if not location:
        raise _FetchFailed(
            f"HTTP {response.status} redirect without a Location header", status=response.status
        )
    try:
        target = current.join(URL(location))
    except ValueError as exc:
        raise _FetchFailed(f"redirect to an invalid URL: {exc}", status=response.status) from None
    scheme = (target.scheme or "").lower()
    if scheme not in _ALLOWED_SCHEMES:
        raise _FetchFailed(f"redirect to unsupported URL scheme {scheme!r}", status=response.status)
    if not target.host:
        raise _FetchFailed("redirect to a URL without a host", status=response.status)
    return target


async def _result_from_response(
    response: aiohttp.ClientResponse,
    *,
    etag: str | None,
    last_modified: str | None,
    max_bytes: int,
) -> FetchResult:
    status = response.status
    final_url = str(response.url)
    new_etag = response.headers.get("ETag")
    new_last_modified = response.headers.get("Last-Modified")
    if status == 304:
        return FetchResult(
            outcome="not_modified",
            body=None,
            etag=new_etag or etag,
            last_modified=new_last_modified or last_modified,
            status=status,
            error=None,
            final_url=final_url,
        )
    if not 200 <= status < 300 or status in (204, 205):
        reason = f" {response.reason}" if response.reason else ""
        raise _FetchFailed(
            f"HTTP {status}{reason}",
            status=status,
            final_url=final_url,
            retry_after=_retry_after_seconds(response.headers.get("Retry-After"))
            if status in (429, 503)
            else None,
        )
    body = await _read_capped(response, max_bytes)
    return FetchResult(
        outcome="ok",
        body=body,
        etag=new_etag,
        last_modified=new_last_modified,
        status=status,
        error=None,
        final_url=final_url,
        content_type=response.headers.get("Content-Type"),
    )


async def _read_capped(response: aiohttp.ClientResponse, max_bytes: int) -> bytes:
    """Stream the decoded body, stopping as soon as it passes ``max_bytes``.

    ``response.content`` yields bytes *after* Content-Encoding is undone, so counting here caps
    what a gzip bomb could expand to; a plain huge body is cut the same way, and a declared
    Content-Length over the limit is refused before reading anything.
    """
    limit = _format_size(max_bytes)
    encoding = (response.headers.get("Content-Encoding") or "").strip().lower()
    is_encoded = encoding not in ("", "identity")
    declared = response.content_length
    if not is_encoded and declared is not None and declared > max_bytes:
        raise _FetchFailed(
            f"body over {limit} limit (Content-Length {declared})",
            status=response.status,
            final_url=str(response.url),
        )
    chunks: list[bytes] = []
    received = 0
    async for chunk in response.content.iter_chunked(_READ_CHUNK):
        received += len(chunk)
        if received > max_bytes:
            message = (
                f"{encoding} body expands past {limit} limit"
                if is_encoded
                else f"body over {limit} limit"
            )
            raise _FetchFailed(message, status=response.status, final_url=str(response.url))
        chunks.append(chunk)
    return b"".join(chunks)


def _retry_after_seconds(value: str | None) -> float | None:
    """Parse ``Retry-After`` (delta-seconds or HTTP-date) into seconds from now."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


def _describe_connect_error(exc: aiohttp.ClientConnectorError) -> str:
    where = f"{exc.host}:{exc.port}"
    os_error = exc.os_error
    if isinstance(os_error, ConnectionRefusedError):
        return f"connection refused by {where}"
    reason = os_error.strerror if getattr(os_error, "strerror", None) else str(os_error)
    return f"cannot connect to {where}: {reason or type(os_error).__name__}"


def _root_cause(exc: BaseException) -> str:
    text = str(exc).strip()
    return text or type(exc).__name__


def _format_seconds(seconds: float) -> str:
    return f"{seconds:g} s"


def _format_size(size: int) -> str:
    if size >= 1_000_000 and size % 100_000 == 0:
        return f"{size / 1_000_000:g} MB"
    if size >= 1_000 and size % 100 == 0:
        return f"{size / 1_000:g} kB"
    return f"{size} bytes"


def _error(
    message: str,
    *,
    status: int | None = None,
    final_url: str | None = None,
    retry_after: float | None = None,
) -> FetchResult:
    return FetchResult(
        outcome="error",
        body=None,
        etag=None,
        last_modified=None,
        status=status,
        error=message,
        final_url=final_url,
        retry_after=retry_after,
    )


def _error_result(failure: _FetchFailed) -> FetchResult:
    return _error(
        failure.message,
        status=failure.status,
        final_url=failure.final_url,
        retry_after=failure.retry_after,
    )
