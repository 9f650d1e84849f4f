"""The aiohttp application: REST under /api/v10, the gateway websocket at /.

One middleware gives every REST request the same treatment, in Discord's order: read the
body, check the bot token (where one is needed), apply injected faults, apply emulated rate
limits, run the handler, and turn a `DiscordAPIError` into Discord's JSON error. Every
request is logged with its status; errors that reveal bot bugs are recorded as problems.
"""

from __future__ import annotations

import logging

from aiohttp import web
from aiohttp.typedefs import Handler

from discord_emulator import errors
from discord_emulator.attachments import CDN_ROUTE
from discord_emulator.core import EmulatorCore, RequestRecord
from discord_emulator.gateway import GatewayHub
from discord_emulator.httpio import BODY_KEY, json_response, read_body
from discord_emulator.rest import RestRoutes
from discord_emulator.routes import API_PREFIX, strip_prefix
from discord_emulator.threads import ThreadRoutes
from discord_emulator.webhooks import InteractionRoutes

log = logging.getLogger(__name__)

# Routes authenticated by the interaction token in the URL, not by the bot token; they are
# also outside the global rate limit.
TOKEN_ROUTE_PREFIXES = ("/interactions/", "/webhooks/")


class EmulatorServer:
    """Owns the aiohttp runner bound to 127.0.0.1."""

    def __init__(self, core: EmulatorCore, hub: GatewayHub) -> None:
        self.core = core
        self.hub = hub
        self.app = web.Application(middlewares=[self._middleware], client_max_size=32 * 1024 * 1024)
        self.app.router.add_get("/", self._root)
        self.app.router.add_get(CDN_ROUTE, core.attachments.handle)  # outside the API: no token
        self._page: Handler | None = None
        for method, template, handler in [
            *InteractionRoutes(core).routes(),
            *RestRoutes(core).routes(),
            *ThreadRoutes(core).routes(),
        ]:
            self.app.router.add_route(method, API_PREFIX + template, handler)
        self._runner: web.AppRunner | None = None
        self.port = 0

    def add_page(self, index: Handler, routes: list[web.RouteDef]) -> None:
        """Serve a page at `/` (the sandbox's) beside the gateway, which keeps every websocket
        upgrade there; `routes` must live under a prefix the REST API cannot use (`/sandbox/`).
        Call before `start`: aiohttp freezes its router then."""
        self._page = index
        self.app.add_routes(routes)

    async def _root(self, request: web.Request) -> web.StreamResponse:
        if self._page is not None and request.headers.get("Upgrade", "").lower() != "websocket":
            return await self._page(request)
        return await self.hub.handle(request)

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> int:
        self._runner = web.AppRunner(self.app, access_log=None, shutdown_timeout=1.0)
        await self._runner.setup()
        site = web.TCPSite(self._runner, host, port)
        await site.start()
        self.port = int(self._runner.addresses[0][1])
        return self.port

    async def stop(self) -> None:
        await self.hub.close_all()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    @web.middleware
    async def _middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        if not request.path.startswith(API_PREFIX + "/"):
            return await handler(request)
        method = request.method
        path = strip_prefix(request.path)
        body = None
        try:
            request[BODY_KEY] = parsed = await read_body(request)
            body = parsed.json
            response = await self._handle(request, handler, method, path)
        except errors.DiscordAPIError as exc:
            if exc.kind is not None:
                self.core.record_problem(method, path, exc)
            response = json_response(exc.body(), status=exc.status)
        except web.HTTPException as exc:
            if exc.status == 404:
                self.core.unsupported_routes.append(f"{method} {path}")
            response = json_response(
                {"message": f"{exc.status}: {exc.reason}", "code": 0}, status=exc.status
            )
        except Exception:
            log.exception("emulator handler failed for %s %s", method, path)
            self.core.protocol_errors.append(f"{method} {path}: emulator internal error (see log)")
            response = json_response(
                {"message": "500: Internal Server Error", "code": 0}, status=500
            )
        self.core.log_request(RequestRecord(method, path, body, response.status))
        return response

    async def _handle(
        self, request: web.Request, handler: Handler, method: str, path: str
    ) -> web.StreamResponse:
        token_route = path.startswith(TOKEN_ROUTE_PREFIXES)
        if (
            not token_route
            and request.headers.get("Authorization") != f"Bot {self.core.state.bot_token}"
        ):
            raise errors.unauthorized()
        fault = self.core.faults.take(method, path)
        if fault is not None:
            return json_response(fault.body, status=fault.status, headers=fault.headers)
        headers: dict[str, str] = {}
        limiter = self.core.rate_limits
        if limiter is not None:
            decision = limiter.check(method, path, counts_globally=not token_route)
            if decision.rejection is not None:
                rejection = decision.rejection
                return json_response(
                    rejection.body, status=rejection.status, headers=rejection.headers
                )
            headers = decision.headers
        if request.match_info.http_exception is not None:
            raise request.match_info.http_exception
        response = await handler(request)
        response.headers.update(headers)
        return response
