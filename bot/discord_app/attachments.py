"""Reading a file a user attached to a command, within a byte cap.

`discord.Attachment.read()` reads the whole file, however large: a file refused for its size
would already be in memory. Here the declared `size` is checked first (nothing is downloaded
when it is over the cap), then the download itself stops one chunk past the cap, whatever
`size` said and whatever `Content-Length` claims (aiohttp decompresses as it reads, so what is
counted is what would be kept). The file comes from Discord's CDN (the URL is Discord's, not
the user's), fetched through discord.py's proxy settings, without the bot's token.
"""

from __future__ import annotations

from typing import Any

import aiohttp
import discord

__all__ = ["AttachmentTooBig", "AttachmentUnreadable", "read_capped"]

_CHUNK = 64 * 1024
DOWNLOAD_TIMEOUT_SECONDS = 30.0
"""A 1 MB file from Discord's CDN takes well under a second."""


class AttachmentTooBig(Exception):
    """The file is over the cap: by its declared size (not downloaded) or by its bytes."""

    def __init__(self, declared: int | None) -> None:
        super().__init__("the file is over the cap")
        self.declared = declared
        """The size the attachment declared when that was over the cap; None when the bytes
        read were (the declared size was not)."""


class AttachmentUnreadable(Exception):
    """The file could not be downloaded; the message says why, for the person who sent it."""


async def read_capped(
    client: discord.Client,
    attachment: discord.Attachment,
    cap: int,
) -> bytes:
    """The attachment's bytes, at most `cap` of them. Raises :class:`AttachmentTooBig` (by its
    declared size before any download, or once more than `cap` bytes came) or
    :class:`AttachmentUnreadable`."""
    if attachment.size > cap:
        raise AttachmentTooBig(attachment.size)
    if not attachment.url.startswith(("https://", "http://")):
        raise AttachmentUnreadable("Discord gave no web address to download it from")
    options: dict[str, Any] = {}
    if client.http.proxy is not None:
        options["proxy"] = client.http.proxy
    if client.http.proxy_auth is not None:
        options["proxy_auth"] = client.http.proxy_auth
    try:
        async with (
            aiohttp.ClientSession(
                timeout=aiohttp.ClientTimeout(total=DOWNLOAD_TIMEOUT_SECONDS)
            ) as session,
            session.get(attachment.url, **options) as response,
        ):
            if response.status != 200:
                raise AttachmentUnreadable(f"Discord answered HTTP {response.status}")
            if response.content_length is not None and response.content_length > cap:
                raise AttachmentTooBig(None)
            data = bytearray()
            async for chunk in response.content.iter_chunked(_CHUNK):
                data += chunk
                if len(data) > cap:
                    raise AttachmentTooBig(None)
            return bytes(data)
    except TimeoutError:
        raise AttachmentUnreadable(
            f"it did not download within {DOWNLOAD_TIMEOUT_SECONDS:.0f} s"
        ) from None
    except aiohttp.ClientError as exc:
        raise AttachmentUnreadable(f"it could not be downloaded ({type(exc).__name__})") from None
