"""Discord's rate limits: the global limit always (as on Discord), per-route buckets on demand.

Discord limits all of a bot's requests together (50 a second per bot token, whatever the route
and however many connections or processes share the token) and, separately, each route per
"major parameter" (e.g. 5 messages per 5 s per channel). It announces a route bucket's state in
`X-RateLimit-Limit/Remaining/Reset/Reset-After/Bucket` headers and answers 429 when a client goes
over; a global 429 says `global: true` and `X-RateLimit-Scope: global` (faults.rate_limited_response).

The emulator enforces the global limit by default (`DiscordEmulator(global_rate_limit=50,
global_rate_window=1.0)`; `global_rate_limit=None` turns it off): one emulator serves one bot,
so every request carrying its token, from any connection or process, counts against one
window. That is what lets several bot processes on one token be tested against the limit
they share in production: discord.py's own global lock (http.py) only holds back the requests
of its own process once it met a global 429. Per-route buckets are off unless
`enable_rate_limits()` is called (a bench or a test of pacing), because discord.py paces itself
by their headers and they would only slow every test down.

Windows are fixed and start at a bucket's first request, as Discord's do. Interaction
endpoints (callbacks, followups and their edits: token-authenticated) are not subject to the
global limit, as Discord documents.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from discord_emulator.faults import FaultResponse, bucket_hash, rate_limited_response
from discord_emulator.routes import compile_pattern, method_matches


@dataclass(frozen=True)
class RouteLimit:
    """`limit` requests per `window` seconds for each value of the `major` path parameter."""

    method: str
    pattern: str
    limit: int
    window: float
    major: str | None = None


DEFAULT_ROUTE_LIMITS: tuple[RouteLimit, ...] = (
    RouteLimit("POST", "/channels/{channel_id}/messages", 5, 5.0, "channel_id"),
    RouteLimit("PATCH", "/channels/{channel_id}/messages/{message_id}", 5, 5.0, "channel_id"),
    RouteLimit("DELETE", "/channels/{channel_id}/messages/{message_id}", 5, 5.0, "channel_id"),
    RouteLimit("POST", "/webhooks/{webhook_id}/{webhook_token}", 5, 2.0, "webhook_token"),
    RouteLimit(
        "PATCH",
        "/webhooks/{webhook_id}/{webhook_token}/messages/{message_id}",
        5,
        2.0,
        "webhook_token",
    ),
)


@dataclass
class RateLimitHit:
    """A request the emulated limits answered with 429."""

    method: str
    path: str
    scope: str
    bucket: str
    retry_after: float


@dataclass
class _Window:
    started: float
    count: int = 0


@dataclass
class RateDecision:
    headers: dict[str, str] = field(default_factory=dict)
    rejection: FaultResponse | None = None


class RateLimitEmulator:
    """Counts requests per bucket and decides headers or a 429 for each."""

    def __init__(
        self,
        routes: tuple[RouteLimit, ...] = DEFAULT_ROUTE_LIMITS,
        *,
        global_limit: int | None = 50,
        global_window: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """`global_limit` requests per `global_window` seconds for the whole bot (None: no
        global limit), and `routes`' buckets."""
        self.routes = routes
        self.global_limit = global_limit
        self.global_window = global_window
        self._clock = clock
        self._compiled = [(route, compile_pattern(route.pattern)) for route in routes]
        self._windows: dict[Any, _Window] = {}
        self.hits: list[RateLimitHit] = []
        self.requests_counted = 0

    def check(self, method: str, path: str, *, counts_globally: bool) -> RateDecision:
        now = self._clock()
        self.requests_counted += 1
        if counts_globally and self.global_limit is not None:
            window = self._window("global", now, self.global_window)
            if window.count >= self.global_limit:
                retry = window.started + self.global_window - now
                return self._reject(
                    method, path, retry, scope="global", bucket="global", limit=self.global_limit
                )
            window.count += 1
        for route, regex in self._compiled:
            if not method_matches(route.method, method):
                continue
            match = regex.match(path)
            if match is None:
                continue
            major = match.group(route.major) if route.major else ""
            bucket = bucket_hash(f"{route.method} {route.pattern}")
            window = self._window((bucket, major), now, route.window)
            reset_after = window.started + route.window - now
            if window.count >= route.limit:
                return self._reject(
                    method, path, reset_after, scope="user", bucket=bucket, limit=route.limit
                )
            window.count += 1
            return RateDecision(
                headers={
                    "X-RateLimit-Limit": str(route.limit),
                    "X-RateLimit-Remaining": str(route.limit - window.count),
                    "X-RateLimit-Reset": f"{time.time() + reset_after:.3f}",
                    "X-RateLimit-Reset-After": f"{reset_after:.3f}",
                    "X-RateLimit-Bucket": bucket,
                }
            )
        return RateDecision()

    @property
    def rate_limited_count(self) -> int:
        return len(self.hits)

    def _window(self, key: Any, now: float, length: float) -> _Window:
        window = self._windows.get(key)
        if window is None or now >= window.started + length:
            window = self._windows[key] = _Window(started=now)
        return window

    def _reject(
        self, method: str, path: str, retry_after: float, *, scope: str, bucket: str, limit: int
    ) -> RateDecision:
        retry_after = max(retry_after, 0.001)
        self.hits.append(RateLimitHit(method, path, scope, bucket, retry_after))
        return RateDecision(
            rejection=rate_limited_response(
                retry_after, is_global=scope == "global", bucket=bucket, limit=limit, scope=scope
            )
        )
