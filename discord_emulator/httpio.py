"""Reading request bodies and writing responses the way discord.py expects them.

discord.py decodes a body as JSON only if Content-Type is *exactly* `application/json`
(http.py `json_or_text`); aiohttp's `json_response` adds `; charset=utf-8`, which would make
discord.py see a string. Responses here are bytes with the bare content type.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from aiohttp import BodyPartReader, web

from discord_emulator.errors import DiscordAPIError


@dataclass
class UploadedFile:
    """A file part of a multipart request (`files[n]`); its bytes are served back by the CDN
    route (`attachments.py`)."""

    field: str
    filename: str
    content_type: str
    data: bytes

    @property
    def size(self) -> int:
        return len(self.data)


@dataclass
class RequestBody:
    json: Any
    files: list[UploadedFile]


def json_response(
    data: Any, *, status: int = 200, headers: dict[str, str] | None = None
) -> web.Response:
    return web.Response(
        body=json.dumps(data).encode(),
        status=status,
        content_type="application/json",
        headers=headers,
    )


def no_content(headers: dict[str, str] | None = None) -> web.Response:
    return web.Response(status=204, headers=headers)


async def read_body(request: web.Request) -> RequestBody:
    """The JSON body, from a JSON request or a multipart request's `payload_json` part."""
    if not request.can_read_body:
        return RequestBody(None, [])
    if request.content_type == "multipart/form-data":
        return await _read_multipart(request)
    raw = await request.read()
    if not raw:
        return RequestBody(None, [])
    try:
        return RequestBody(json.loads(raw), [])
    except ValueError:
        raise DiscordAPIError(
            400, 50109, "The request body contains invalid JSON.", kind="validation"
        ) from None


async def _read_multipart(request: web.Request) -> RequestBody:
    reader = await request.multipart()
    payload: Any = None
    files: list[UploadedFile] = []
    while True:
        part = await reader.next()
        if part is None:
            break
        if not isinstance(part, BodyPartReader):
            continue  # nested multipart: Discord does not use it
        name = part.name
        data = await part.read()
        if name == "payload_json":
            try:
                payload = json.loads(data)
            except ValueError:
                raise DiscordAPIError(
                    400, 50109, "The request body contains invalid JSON.", kind="validation"
                ) from None
        elif name:
            files.append(
                UploadedFile(
                    field=name,
                    filename=part.filename or name,
                    content_type=part.headers.get("Content-Type", "application/octet-stream"),
                    data=bytes(data),
                )
            )
    return RequestBody(payload, files)


BODY_KEY = web.RequestKey("emu.body", RequestBody)


def request_body(request: web.Request) -> RequestBody:
    """The body the server middleware parsed for this request."""
    return request[BODY_KEY]
