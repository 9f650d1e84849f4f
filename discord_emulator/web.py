"""The sandbox as a page that looks like a Discord server, for any bot a launcher runs against
the emulator (corpus-bot's `sandbox --web` is one): `install_page(emu, session, title=...)`.

Served by the emulator's own aiohttp app on 127.0.0.1: the page at `/` (the gateway keeps
websocket upgrades there), its files and a small JSON API under `/sandbox/`, a prefix the
REST API (`/api/v10/`) never uses. The page is plain HTML, CSS and JavaScript shipped as
package data: no build step, nothing fetched from elsewhere. It polls for messages every
half second. Every decision (who you are, names, parsing, suggestions, visibility) is the
`SandboxSession`'s, shared with the terminal; the page only draws the views it receives,
building DOM nodes with `textContent` (never HTML from a message).

The API refuses requests that a web page elsewhere could make a browser send: a POST must be
JSON (a cross-site form cannot be), and the Host must be this loopback address (no DNS
rebinding).
"""

from __future__ import annotations

import json
from importlib import resources
from typing import TYPE_CHECKING, Any

from aiohttp import web

from discord_emulator.errors import EmulatorError

if TYPE_CHECKING:
    from discord_emulator.driver import DiscordEmulator
    from discord_emulator.sandbox import SandboxSession

PREFIX = "/sandbox"
STATIC_FILES = {
    "sandbox.js": "text/javascript",
    "sandbox.css": "text/css",
}
MAX_LINE = 4000
DEFAULT_TITLE = "Discord sandbox"
"""The page's name in the browser's tab, after the server's; a launcher names its bot there."""
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")
SECURITY_HEADERS = {
    # Only this page's own files; no inline script, no framing, no outside fetches.
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "
        "img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}


def _asset(name: str) -> bytes:
    return resources.files("discord_emulator").joinpath("page", name).read_bytes()


class SandboxPage:
    """The page's HTTP handlers over one `SandboxSession`."""

    def __init__(self, session: SandboxSession, *, title: str = DEFAULT_TITLE) -> None:
        self.session = session
        self.title = title

    def routes(self) -> list[web.RouteDef]:
        return [
            web.get(PREFIX + "/static/{name}", self.static),
            web.get(PREFIX + "/api/state", self.state),
            web.get(PREFIX + "/api/messages", self.messages),
            web.post(PREFIX + "/api/send", self.send),
            web.post(PREFIX + "/api/click", self.click),
            web.post(PREFIX + "/api/suggest", self.suggest),
            web.post(PREFIX + "/api/act", self.act),
        ]

    # --- files

    async def index(self, request: web.Request) -> web.StreamResponse:
        self._check_host(request)
        return web.Response(
            body=_asset("index.html"),
            content_type="text/html",
            charset="utf-8",
            headers=SECURITY_HEADERS,
        )

    async def static(self, request: web.Request) -> web.StreamResponse:
        self._check_host(request)
        name = request.match_info["name"]
        if name not in STATIC_FILES:
            raise web.HTTPNotFound()
        return web.Response(
            body=_asset(name),
            content_type=STATIC_FILES[name],
            charset="utf-8",
            headers=SECURITY_HEADERS,
        )

    # --- the API

    async def state(self, request: web.Request) -> web.StreamResponse:
        self._check_host(request)
        session = self.session
        return _json(
            {
                "title": self.title,
                "guild": session.world.guild_name,
                "channels": session.channels(),
                "acting": session.acting,
                "you": session.describe_acting(),
                "users": {
                    "owner": session.emu.state.user(session.world.owner_id).username,
                    "member": session.emu.state.user(session.world.member_id).username,
                },
            }
        )

    async def messages(self, request: web.Request) -> web.StreamResponse:
        self._check_host(request)
        channel_id = self._channel(request.query.get("channel"))
        return _json(
            {
                "acting": self.session.acting,
                "messages": self.session.visible_views(channel_id),
            }
        )

    async def send(self, request: web.Request) -> web.StreamResponse:
        body = await self._body(request)
        line = _text(body, "line")
        channel_id = self._channel(body.get("channel"))
        try:
            await self.session.send(line, channel_id)
        except EmulatorError as exc:
            return _json({"error": str(exc)}, status=400)
        return _json({"ok": True})

    async def click(self, request: web.Request) -> web.StreamResponse:
        body = await self._body(request)
        try:
            message_id = int(_text(body, "message_id"))
            await self.session.click(message_id, _text(body, "custom_id"))
        except ValueError:
            return _json({"error": "message_id: expected a message id"}, status=400)
        except EmulatorError as exc:
            return _json({"error": str(exc)}, status=400)
        return _json({"ok": True})

    async def suggest(self, request: web.Request) -> web.StreamResponse:
        body = await self._body(request)
        line = _text(body, "line")
        channel_id = self._channel(body.get("channel"))
        try:
            suggestions = await self.session.suggest(line, channel_id)
        except (EmulatorError, TimeoutError):
            suggestions = self.session.suggest_static(line)
        return _json({"suggestions": [s.to_json() for s in suggestions]})

    async def act(self, request: web.Request) -> web.StreamResponse:
        body = await self._body(request)
        try:
            you = self.session.act_as(_text(body, "as"))
        except EmulatorError as exc:
            return _json({"error": str(exc)}, status=400)
        return _json({"acting": self.session.acting, "you": you})

    # --- checks

    def _check_host(self, request: web.Request) -> None:
        if request.url.host not in LOOPBACK_HOSTS:
            raise web.HTTPForbidden(text="the sandbox answers only on 127.0.0.1")

    async def _body(self, request: web.Request) -> dict[str, Any]:
        self._check_host(request)
        if request.content_type != "application/json":
            raise web.HTTPUnsupportedMediaType(text="send JSON")
        try:
            body = json.loads(await request.text())
        except ValueError:
            raise web.HTTPBadRequest(text="the body is not JSON") from None
        if not isinstance(body, dict):
            raise web.HTTPBadRequest(text="the body must be a JSON object")
        return body

    def _channel(self, raw: object) -> int:
        known = {int(c["id"]) for c in self.session.channels()}
        try:
            channel_id = int(str(raw)) if raw not in (None, "") else self.session.channel_id
        except ValueError:
            raise web.HTTPBadRequest(text="channel: expected a channel id") from None
        if channel_id not in known:
            raise web.HTTPNotFound(text="no such channel in the sandbox server")
        return channel_id


def _text(body: dict[str, Any], key: str) -> str:
    value = body.get(key)
    if not isinstance(value, str | int) or isinstance(value, bool):
        raise web.HTTPBadRequest(text=f"{key}: expected text")
    text = str(value)
    if len(text) > MAX_LINE:
        raise web.HTTPBadRequest(text=f"{key}: longer than {MAX_LINE} characters")
    return text


def _json(data: dict[str, Any], *, status: int = 200) -> web.Response:
    return web.json_response(data, status=status, headers={"Cache-Control": "no-store"})


def install_page(
    emu: DiscordEmulator, session: SandboxSession, *, title: str = DEFAULT_TITLE
) -> SandboxPage:
    """Serve the sandbox page from the emulator's app (call before `emu.start()`); `title`
    names the page (the page itself knows no bot: it draws what the session decides)."""
    page = SandboxPage(session, title=title)
    emu.add_page(page.index, page.routes())
    return page
