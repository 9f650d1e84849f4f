"""`read_capped`, below the emulator: what a CDN could send that the emulator does not (a gzip
bomb, a Content-Length over the cap, an error status), from a loopback server. The attachment
and the client are stand-ins carrying only what `read_capped` reads (size, url, proxy)."""

from __future__ import annotations

import gzip
from collections.abc import AsyncIterator
from types import SimpleNamespace
from typing import Any, cast

import discord
import pytest
from aiohttp import web

from bot.discord_app.attachments import AttachmentTooBig, AttachmentUnreadable, read_capped

CAP = 1000
BOMB = gzip.compress(b"\0" * 5_000_000)  # 5 MB of zeros in a few kilobytes


@pytest.fixture
async def cdn() -> AsyncIterator[str]:
    async def bomb(request: web.Request) -> web.Response:
        return web.Response(body=BOMB, headers={"Content-Encoding": "gzip"})

    async def exact(request: web.Request) -> web.Response:
        return web.Response(body=b"x" * CAP)

    async def missing(request: web.Request) -> web.Response:
        return web.Response(status=404)

    app = web.Application()
    app.router.add_get("/bomb", bomb)
    app.router.add_get("/exact", exact)
    app.router.add_get("/missing", missing)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    yield f"http://127.0.0.1:{runner.addresses[0][1]}"
    await runner.cleanup()


def attachment(url: str, size: int = 10) -> discord.Attachment:
    return cast(discord.Attachment, SimpleNamespace(url=url, size=size))


CLIENT = cast(discord.Client, SimpleNamespace(http=SimpleNamespace(proxy=None, proxy_auth=None)))


async def read(url: str, size: int = 10, cap: int = CAP) -> Any:
    return await read_capped(CLIENT, attachment(url, size), cap)


async def test_a_file_within_the_cap_is_read_whole(cdn: str) -> None:
    assert await read(f"{cdn}/exact") == b"x" * CAP


async def test_the_declared_size_is_refused_before_any_request() -> None:
    with pytest.raises(AttachmentTooBig) as refused:
        await read("http://127.0.0.1:9/never", size=CAP + 1)  # nothing listens: not asked
    assert refused.value.declared == CAP + 1


async def test_decompressed_bytes_are_capped_whatever_the_size_said(cdn: str) -> None:
    with pytest.raises(AttachmentTooBig) as refused:
        await read(f"{cdn}/bomb")
    assert refused.value.declared is None


async def test_a_file_one_byte_over_the_cap_is_refused(cdn: str) -> None:
    with pytest.raises(AttachmentTooBig):
        await read(f"{cdn}/exact", cap=CAP - 1)


@pytest.mark.parametrize(
    ("url", "said"),
    [
        ("/missing", "Discord answered HTTP 404"),
        ("ftp://example.org/f.opml", "no web address"),
    ],
)
async def test_an_unreadable_file_says_why(cdn: str, url: str, said: str) -> None:
    with pytest.raises(AttachmentUnreadable, match=said):
        await read(url if "://" in url else cdn + url)


async def test_a_refused_connection_says_why() -> None:
    with pytest.raises(AttachmentUnreadable, match="could not be downloaded"):
        await read("http://127.0.0.1:9/closed")  # the discard port: nothing listens
