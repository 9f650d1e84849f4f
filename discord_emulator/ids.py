"""Snowflake ids and tokens for emulated objects."""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable

DISCORD_EPOCH_MS = 1_420_070_400_000
_INCREMENT_BITS = 12
_INCREMENT_MASK = (1 << _INCREMENT_BITS) - 1


def _wall_clock_ms() -> int:
    return time.time_ns() // 1_000_000


class SnowflakeFactory:
    """Hands out unique, increasing snowflakes whose time is the wall clock's, as Discord's are.

    A bot reads an interaction's age from its id (discord.py's `Interaction.created_at`): an id
    that lags the clock makes every command look old (cooldowns that never expire, answers
    deferred for nothing), so the timestamp part is the current millisecond, never behind it.
    Ids made in the same millisecond share it and differ by the 12-bit increment, as on Discord;
    past 4,096 in one millisecond the next millisecond is borrowed, so an id can run ahead of the
    clock by a millisecond or so under a flood, and never falls behind.

    `next(new_millisecond=True)` gives an id a millisecond of its own. Guilds use it: sharding
    routes a guild by `(guild_id >> 22) % shard_count`, and guilds made one after another in a
    test would otherwise share a millisecond and so a shard, where Discord's, made over years,
    spread over all shards.
    """

    def __init__(self, clock_ms: Callable[[], int] = _wall_clock_ms) -> None:
        self._clock_ms = clock_ms
        self._last_ms = 0
        self._increment = 0

    def next(self, *, new_millisecond: bool = False) -> int:
        now_ms = self._clock_ms() - DISCORD_EPOCH_MS
        if now_ms > self._last_ms:
            self._last_ms, self._increment = now_ms, 0
        elif new_millisecond or self._increment == _INCREMENT_MASK:
            self._last_ms, self._increment = self._last_ms + 1, 0
        else:
            self._increment += 1
        return (self._last_ms << 22) | (1 << 17) | self._increment


def new_token(prefix: str = "") -> str:
    """An opaque token, like Discord's interaction and session tokens."""
    return prefix + secrets.token_urlsafe(32)


def snowflake_time_ms(snowflake: int) -> int:
    """Unix time in milliseconds encoded in a snowflake."""
    return (snowflake >> 22) + DISCORD_EPOCH_MS
