"""Snowflake ids and tokens for emulated objects."""

from __future__ import annotations

import secrets
import time

DISCORD_EPOCH_MS = 1_420_070_400_000


class SnowflakeFactory:
    """Hands out unique, increasing snowflakes.

    Each id gets its own millisecond in the timestamp part (bits 22+). Real ids created in
    the same millisecond share it, but tests create many objects per millisecond, and
    sharding routes a guild by `(guild_id >> 22) % shard_count`: distinct timestamps spread
    consecutively created guilds over all shards, as they would be in production.
    """

    def __init__(self) -> None:
        self._next_ms = int(time.time() * 1000) - DISCORD_EPOCH_MS
        self._counter = 0

    def next(self) -> int:
        self._next_ms += 1
        self._counter = (self._counter + 1) & 0xFFF
        return (self._next_ms << 22) | (1 << 17) | self._counter


def new_token(prefix: str = "") -> str:
    """An opaque token, like Discord's interaction and session tokens."""
    return prefix + secrets.token_urlsafe(32)


def snowflake_time_ms(snowflake: int) -> int:
    """Unix time in milliseconds encoded in a snowflake."""
    return (snowflake >> 22) + DISCORD_EPOCH_MS
