"""Files users attach and files the bot uploads, and the CDN-like route that serves them.

On Discord an attachment is an object (id, filename, size, url, proxy_url, content_type) whose
`url` points at Discord's CDN; `discord.Attachment.read()` downloads it from there without the
bot's token. Here the CDN is the emulator's own aiohttp app on loopback:
`GET /attachments/{channel_id}/{attachment_id}/{filename}` answers the stored bytes, so a bot
reads an attachment exactly as it would in production, and a test sees what it downloaded
(`downloads`): a bot that refuses a file by its declared size must not have fetched it.

A user attaches a file to a command's ATTACHMENT option as an :class:`Upload`; its `size` may
be given to *declare* another size than the bytes have (Discord measures it; a test uses this to
check that a bot caps what it reads whatever the size says).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from aiohttp import web

CDN_PREFIX = "/attachments"
CDN_ROUTE = CDN_PREFIX + "/{channel_id}/{attachment_id}/{filename}"


@dataclass(frozen=True)
class Upload:
    """A file a user attaches to a slash command's ATTACHMENT option (`send_command`).

    `size`: the size Discord declares in the attachment object (default: the bytes' length);
    give another to act out a declared size that does not match what the CDN serves."""

    data: bytes
    filename: str
    content_type: str | None = None
    size: int | None = None

    def __repr__(self) -> str:  # the bytes may be large: a test failure names the file
        return f"Upload({self.filename!r}, {len(self.data)} bytes, {self.content_type!r})"


@dataclass(frozen=True)
class StoredFile:
    channel_id: int
    attachment_id: int
    filename: str
    data: bytes
    content_type: str | None


class AttachmentStore:
    """Every attachment's bytes by id, served by :meth:`handle` (the CDN route).

    `origin` is the emulator's `http://127.0.0.1:port`, set when the server starts."""

    def __init__(self) -> None:
        self.origin = ""
        self.downloads: list[int] = []
        """Ids of the attachments served, one entry per download, in order."""
        self._files: dict[int, StoredFile] = {}

    def url(self, channel_id: int, attachment_id: int, filename: str) -> str:
        return f"{self.origin}{CDN_PREFIX}/{channel_id}/{attachment_id}/{quote(filename)}"

    def add(
        self,
        *,
        channel_id: int,
        attachment_id: int,
        filename: str,
        data: bytes,
        content_type: str | None,
        size: int | None = None,
    ) -> dict[str, Any]:
        """Store a file and return its attachment object, as Discord describes it."""
        self._files[attachment_id] = StoredFile(
            channel_id, attachment_id, filename, data, content_type
        )
        url = self.url(channel_id, attachment_id, filename)
        payload: dict[str, Any] = {
            "id": str(attachment_id),
            "filename": filename,
            "size": len(data) if size is None else size,
            "url": url,
            "proxy_url": url,
        }
        if content_type is not None:
            payload["content_type"] = content_type
        return payload

    def data(self, attachment_id: int) -> bytes:
        """The bytes of an attachment (a test reads what the bot uploaded)."""
        return self._files[attachment_id].data

    async def handle(self, request: web.Request) -> web.StreamResponse:
        """`GET /attachments/{channel_id}/{attachment_id}/{filename}`: the file, or 404 as the
        CDN answers for an unknown or mismatched one."""
        try:
            attachment_id = int(request.match_info["attachment_id"])
            channel_id = int(request.match_info["channel_id"])
        except ValueError:
            raise web.HTTPNotFound() from None
        stored = self._files.get(attachment_id)
        if (
            stored is None
            or stored.channel_id != channel_id
            or stored.filename != request.match_info["filename"]
        ):
            raise web.HTTPNotFound()
        self.downloads.append(attachment_id)
        content_type = stored.content_type or "application/octet-stream"
        return web.Response(body=stored.data, headers={"Content-Type": content_type})
