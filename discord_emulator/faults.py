"""Injected failures: the next N requests matching a method and path answer 429, 5xx or a 4xx.

Production Discord rate-limits and has outages; the bot must retry, back off, or report.
These faults reproduce both in the exact shape discord.py inspects: a 429 carries a `Via`
header (without it discord.py assumes a Cloudflare ban and gives up), a JSON body with
`retry_after` and `global`, and the `X-RateLimit-*` headers.
"""

from __future__ import annotations

import hashlib
import math
import time
from dataclasses import dataclass, field
from typing import Any

from discord_emulator.routes import compile_pattern, method_matches

VIA_HEADER = "1.1 google"

SERVER_ERROR_MESSAGES = {
    500: "500: Internal Server Error",
    502: "502: Bad Gateway",
    503: "503: Service Unavailable",
    504: "504: Gateway Timeout",
}


@dataclass
class FaultRule:
    """One injected failure; `remaining` counts down as matching requests are answered."""

    method: str
    pattern: str
    status: int
    remaining: int
    retry_after: float = 0.0
    is_global: bool = False
    code: int = 0
    message: str | None = None
    errors: dict[str, Any] | None = None
    hits: int = 0
    _regex: Any = field(default=None, repr=False)

    def __post_init__(self) -> None:
        self._regex = compile_pattern(self.pattern)

    def matches(self, method: str, path: str) -> bool:
        return method_matches(self.method, method) and bool(self._regex.match(path))

    @property
    def exhausted(self) -> bool:
        return self.remaining <= 0


@dataclass
class FaultResponse:
    status: int
    body: dict[str, Any]
    headers: dict[str, str]


class FaultInjector:
    """Holds the active fault rules, first added first used."""

    def __init__(self) -> None:
        self.rules: list[FaultRule] = []

    def add(
        self,
        method: str,
        pattern: str,
        *,
        status: int = 429,
        retry_after: float = 0.2,
        times: int = 1,
        is_global: bool = False,
        code: int = 0,
        message: str | None = None,
        errors: dict[str, Any] | None = None,
    ) -> FaultRule:
        if not 400 <= status <= 599:
            raise ValueError("inject_error supports 4xx and 5xx statuses")
        if 400 <= status < 500 and status != 429 and (not code or not message):
            raise ValueError(
                "a 4xx fault needs Discord's error `code` and `message` (e.g. 50013, 'Missing Permissions')"
            )
        rule = FaultRule(
            method=method.upper(),
            pattern=pattern,
            status=status,
            remaining=times,
            retry_after=retry_after,
            is_global=is_global,
            code=code,
            message=message,
            errors=errors,
        )
        self.rules.append(rule)
        return rule

    def clear(self) -> None:
        self.rules.clear()

    def take(self, method: str, path: str) -> FaultResponse | None:
        """The fault for this request, if a rule matches (and count it)."""
        for rule in self.rules:
            if not rule.exhausted and rule.matches(method, path):
                rule.remaining -= 1
                rule.hits += 1
                return _response_for(rule)
        return None


def bucket_hash(name: str) -> str:
    """A stable opaque bucket id, like the hashes Discord sends in X-RateLimit-Bucket."""
    return hashlib.sha1(name.encode(), usedforsecurity=False).hexdigest()[:32]


def rate_limited_response(
    retry_after: float, *, is_global: bool, bucket: str, limit: int = 1, scope: str | None = None
) -> FaultResponse:
    """A 429 exactly as Discord sends it (its "Rate Limits" page shows both shapes).

    A route's 429 carries that route's bucket headers. A global 429 carries only `Retry-After`,
    `X-RateLimit-Global` and `X-RateLimit-Scope: global`, no bucket: discord.py files any
    `X-RateLimit-Bucket` it reads as the route's bucket hash, so a made-up "global" bucket would
    merge every route that met the global limit into one bucket, which Discord never makes it do.
    """
    headers = {"Via": VIA_HEADER, "Retry-After": str(max(1, math.ceil(retry_after)))}
    if is_global:
        headers["X-RateLimit-Global"] = "true"
        headers["X-RateLimit-Scope"] = "global"
    else:
        headers.update(
            {
                "X-RateLimit-Limit": str(limit),
                "X-RateLimit-Remaining": "0",
                "X-RateLimit-Reset": f"{time.time() + retry_after:.3f}",
                "X-RateLimit-Reset-After": f"{retry_after:.3f}",
                "X-RateLimit-Bucket": bucket,
                "X-RateLimit-Scope": scope or "user",
            }
        )
    body = {
        "message": "You are being rate limited.",
        "retry_after": retry_after,
        "global": is_global,
    }
    return FaultResponse(429, body, headers)


def _response_for(rule: FaultRule) -> FaultResponse:
    if rule.status == 429:
        return rate_limited_response(
            rule.retry_after,
            is_global=rule.is_global,
            bucket=bucket_hash(f"{rule.method} {rule.pattern}"),
        )
    if rule.status < 500:  # a client error, in Discord's JSON error shape
        body: dict[str, Any] = {"message": rule.message, "code": rule.code}
        if rule.errors is not None:
            # 50035's field errors, e.g. {"embeds": {"0": {"url": {"_errors": [...]}}}}
            body["errors"] = rule.errors
        return FaultResponse(rule.status, body, {})
    message = SERVER_ERROR_MESSAGES.get(rule.status, f"{rule.status}: Server Error")
    return FaultResponse(rule.status, {"message": message, "code": 0}, {"Via": VIA_HEADER})
