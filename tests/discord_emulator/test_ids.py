"""Snowflakes keep Discord's clock: an id's time is the wall clock's when it was made."""

from __future__ import annotations

import time

from discord_emulator.ids import DISCORD_EPOCH_MS, SnowflakeFactory, snowflake_time_ms


def test_ids_follow_the_wall_clock_however_fast_or_slow_they_are_made() -> None:
    ids = SnowflakeFactory()
    made: list[int] = []
    for _ in range(3):
        before = time.time_ns() // 1_000_000
        burst = [ids.next() for _ in range(20_000)]  # far more than one per millisecond
        after = time.time_ns() // 1_000_000
        # never behind the clock; ahead of it by at most the milliseconds a flood borrows
        assert snowflake_time_ms(burst[0]) >= before
        assert snowflake_time_ms(burst[-1]) <= after + 20_000 // 4096 + 1
        made += burst
        time.sleep(0.3)  # slower than one per millisecond: must not fall behind either
        lone = ids.next()
        assert abs(snowflake_time_ms(lone) - time.time_ns() // 1_000_000) <= 2
        made.append(lone)
    assert made == sorted(made) and len(set(made)) == len(made)


def test_a_stopped_or_stepped_back_clock_never_repeats_or_reorders_ids() -> None:
    now = [DISCORD_EPOCH_MS + 10_000]
    ids = SnowflakeFactory(clock_ms=lambda: now[0])
    first = [ids.next() for _ in range(5_000)]  # 5,000 in one millisecond: borrows one more
    now[0] -= 500  # the wall clock steps back (NTP)
    later = [ids.next() for _ in range(10)]
    made = first + later
    assert made == sorted(made) and len(set(made)) == len(made)
    assert snowflake_time_ms(made[-1]) - (DISCORD_EPOCH_MS + 10_000) <= 1


def test_guild_ids_get_a_millisecond_each_so_they_spread_over_shards() -> None:
    now = [DISCORD_EPOCH_MS + 10_000]
    ids = SnowflakeFactory(clock_ms=lambda: now[0])
    guilds = [ids.next(new_millisecond=True) for _ in range(4)]
    assert sorted({(g >> 22) % 2 for g in guilds}) == [0, 1]
