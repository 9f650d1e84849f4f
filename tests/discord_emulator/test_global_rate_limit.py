"""Discord's global rate limit: on by default, shared by every connection using the bot's token,
interaction endpoints outside it, and a global 429 in the shape discord.py reads from Discord.

Windows are made long (or the limiter's clock is the test's) so that no assertion depends on
how fast this machine is.
"""

from __future__ import annotations

import asyncio
import logging

import aiohttp

from discord_emulator import DEFAULT_ROUTE_LIMITS, DiscordEmulator
from discord_emulator.faults import bucket_hash
from tests.discord_emulator.conftest import TestBot, World

CHANNEL_MESSAGES = "/channels/{channel_id}/messages"
GLOBAL_429_BODY_KEYS = {"message", "retry_after", "global"}


class ManualClock:
    """The limiter's clock, moved by the test: a window ends when the test says so."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


class GlobalLimitWatcher(logging.Handler):
    """Sets an event when discord.py logs that it met the global limit, which it does in the same
    step as it closes its global lock (http.py), so the test sees discord.py mid-wait."""

    def __init__(self, event: asyncio.Event) -> None:
        super().__init__(logging.WARNING)
        self.event = event

    def emit(self, record: logging.LogRecord) -> None:
        if record.getMessage().startswith("Global rate limit has been hit"):
            self.event.set()


async def test_the_global_limit_is_on_by_default_and_counts_every_connection_of_the_token() -> None:
    # Discord's 50 requests, in a window long enough that the whole burst falls inside it.
    async with DiscordEmulator(global_rate_window=60.0) as emu:
        assert emu.config.global_rate_limit == 50
        url = f"{emu.api_base}/users/@me"
        headers = {"Authorization": f"Bot {emu.bot_token}"}

        async def burst(session: aiohttp.ClientSession) -> list[tuple[int, dict[str, str], object]]:
            async def one() -> tuple[int, dict[str, str], object]:
                async with session.get(url, headers=headers) as response:
                    return response.status, dict(response.headers), await response.json()

            return await asyncio.gather(*(one() for _ in range(30)))

        # Two client sessions, two connection pools: what two processes sharing the token are.
        async with aiohttp.ClientSession() as first, aiohttp.ClientSession() as second:
            answers = [
                a for part in await asyncio.gather(burst(first), burst(second)) for a in part
            ]

    statuses = [status for status, _, _ in answers]
    assert statuses.count(200) == 50 and statuses.count(429) == 10
    for status, response_headers, body in answers:
        if status != 429:
            continue
        assert isinstance(body, dict) and set(body) == GLOBAL_429_BODY_KEYS
        assert body["global"] is True and body["message"] == "You are being rate limited."
        assert 0 < body["retry_after"] <= 60
        assert response_headers["X-RateLimit-Global"] == "true"
        assert response_headers["X-RateLimit-Scope"] == "global"
        assert response_headers["Via"] and int(response_headers["Retry-After"]) >= 1
        # Discord sends no route bucket with a global 429: discord.py would file it as the
        # route's bucket hash.
        assert not {h for h in response_headers if h.startswith("X-RateLimit-")} - {
            "X-RateLimit-Global",
            "X-RateLimit-Scope",
        }
    assert emu.rate_limits is not None
    assert [hit.scope for hit in emu.rate_limits.hits] == ["global"] * 10


async def test_global_rate_limit_none_turns_it_off() -> None:
    async with DiscordEmulator(global_rate_limit=None) as emu:
        assert emu.rate_limits is None
        headers = {"Authorization": f"Bot {emu.bot_token}"}
        async with aiohttp.ClientSession() as session:

            async def one() -> int:
                async with session.get(f"{emu.api_base}/users/@me", headers=headers) as response:
                    return response.status

            assert set(await asyncio.gather(*(one() for _ in range(60)))) == {200}


async def test_interaction_endpoints_are_outside_the_global_limit(
    emu: DiscordEmulator, world: World, bot: TestBot
) -> None:
    limiter = emu.enable_rate_limits((), global_limit=2, global_window=60.0)
    headers = {"Authorization": f"Bot {emu.bot_token}"}
    async with aiohttp.ClientSession() as session:
        for expected in (200, 200, 429):
            async with session.get(f"{emu.api_base}/users/@me", headers=headers) as response:
                assert response.status == expected
    # The window is spent; the reply (callback), a followup and a second one still go through.
    handle = await emu.send_command("slow", user=world.alice.id, guild=world.guild.id)
    assert (await handle.wait_reply())["content"] == "done after thinking"
    await emu.wait_for(lambda: len(handle.messages) >= 2, describe="the second followup")
    assert [hit.scope for hit in limiter.hits] == ["global"]
    assert emu.problems == []


async def test_discord_py_holds_its_requests_through_a_global_429_and_keeps_its_route_buckets(
    emu: DiscordEmulator, world: World, bot: TestBot
) -> None:
    clock = ManualClock()
    limiter = emu.enable_rate_limits(
        DEFAULT_ROUTE_LIMITS, global_limit=2, global_window=1.0, clock=clock
    )
    channel = bot.get_partial_messageable(world.channel.id)
    route_key = f"POST {CHANNEL_MESSAGES}"
    messages_bucket = bucket_hash(route_key)
    await channel.send("one")
    await channel.send("two")  # the global window (2 requests) is now full
    assert bot.http._bucket_hashes[route_key] == messages_bucket

    global_hit = asyncio.Event()
    watcher = GlobalLimitWatcher(global_hit)
    logging.getLogger("discord.http").addHandler(watcher)
    try:
        third = asyncio.create_task(channel.send("three"))
        await asyncio.wait_for(global_hit.wait(), 10)
    finally:
        logging.getLogger("discord.http").removeHandler(watcher)
    assert not bot.http._global_over.is_set()
    # discord.py read it as Discord's: every request of this client is held (its global lock),
    # and the route keeps its own bucket.
    assert bot.http._bucket_hashes[route_key] == messages_bucket
    clock.now = 1.0  # the window is over when discord.py retries
    sent = await asyncio.wait_for(third, 10)

    assert [r.status for r in emu.requests_matching("POST", CHANNEL_MESSAGES)] == [
        200,
        200,
        429,
        200,
    ]
    assert [m["content"] for m in emu.channel_messages(world.channel.id)] == ["one", "two", "three"]
    assert emu.message(sent.id)["content"] == "three"
    assert [hit.scope for hit in limiter.hits] == ["global"]
    assert emu.problems == []
