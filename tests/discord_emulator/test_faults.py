"""Injected faults and gateway trouble, survived by the real discord.py client."""

from __future__ import annotations

import asyncio

import aiohttp
import discord
import pytest
from discord.ext import commands

from discord_emulator import DiscordEmulator, RouteLimit
from tests.discord_emulator.conftest import TestBot, World, start_bot, stop_bot

CALLBACK = "/interactions/{interaction_id}/{token}/callback"
CHANNEL_MESSAGES = "/channels/{channel_id}/messages"


async def test_429_on_the_reply_is_retried_by_discord_py(
    emu: DiscordEmulator, world: World, bot: TestBot
) -> None:
    rule = emu.inject_error("POST", CALLBACK, status=429, retry_after=0.05, times=1)
    inter = await emu.send_command(
        "summarize", {"post": "meltdown"}, user=world.alice.id, guild=world.guild.id
    )
    reply = await inter.wait_reply()
    assert reply["embeds"][0]["title"] == "Summary of meltdown"
    assert [r.status for r in emu.requests_matching("POST", CALLBACK)] == [429, 200]
    assert rule.hits == 1 and rule.exhausted
    assert emu.problems == []


async def test_global_429_on_channel_messages(
    emu: DiscordEmulator, world: World, bot: TestBot
) -> None:
    emu.inject_error(
        "POST", CHANNEL_MESSAGES, status=429, retry_after=0.05, times=2, is_global=True
    )
    message = await bot.get_partial_messageable(world.channel.id).send("after two global 429s")
    assert [r.status for r in emu.requests_matching("POST", CHANNEL_MESSAGES)] == [429, 429, 200]
    assert emu.message(message.id)["content"] == "after two global 429s"


async def test_server_errors(emu: DiscordEmulator, world: World, bot: TestBot) -> None:
    channel = bot.get_partial_messageable(world.channel.id)
    emu.inject_error("POST", CHANNEL_MESSAGES, status=503)
    with pytest.raises(discord.DiscordServerError):
        await channel.send("503 is not retried by discord.py")
    emu.inject_error("POST", CHANNEL_MESSAGES, status=500)
    await channel.send("500 is retried")  # discord.py waits 1 s, then retries
    assert [r.status for r in emu.requests_matching("POST", CHANNEL_MESSAGES)] == [503, 500, 200]


async def test_injected_429_has_discords_headers(emu: DiscordEmulator, world: World) -> None:
    emu.inject_error("GET", "/users/@me", status=429, retry_after=1.5)
    async with aiohttp.ClientSession() as session:
        headers = {"Authorization": f"Bot {emu.bot_token}"}
        async with session.get(f"{emu.api_base}/users/@me", headers=headers) as response:
            body = await response.json()
            assert response.status == 429
            assert response.headers["Content-Type"] == "application/json"
            assert response.headers["Via"]
            assert response.headers["Retry-After"] == "2"
            assert response.headers["X-RateLimit-Remaining"] == "0"
            assert response.headers["X-RateLimit-Reset-After"] == "1.500"
            assert body == {
                "message": "You are being rate limited.",
                "retry_after": 1.5,
                "global": False,
            }
        async with session.get(f"{emu.api_base}/users/@me", headers=headers) as response:
            assert response.status == 200


async def test_disconnect_and_resume_replays_missed_events(
    emu: DiscordEmulator, world: World, bot: TestBot
) -> None:
    resumed = asyncio.create_task(bot.wait_for("resumed", timeout=10))
    await emu.disconnect_gateway(resume=True, wait=False)
    assert not emu.gateway_sessions[0].connected
    # Sent while the bot is disconnected: buffered, then replayed on RESUME.
    late_channel = emu.add_channel(world.guild.id, "created-while-offline")
    inter = await emu.send_command(
        "summarize", {"post": "spectre"}, user=world.alice.id, guild=world.guild.id
    )
    assert (await inter.wait_reply())["embeds"][0]["title"] == "Summary of spectre"
    await resumed
    assert bot.get_channel(late_channel.id) is not None
    kinds = [e.kind for e in emu.gateway_events if e.kind != "DISPATCH"]
    assert kinds == ["IDENTIFY", "READY", "DISCONNECT", "RESUME", "RESUMED"]
    assert len(emu.gateway_sessions) == 1


async def test_disconnect_and_wait_for_resume(
    emu: DiscordEmulator, world: World, bot: TestBot
) -> None:
    await emu.disconnect_gateway(resume=True)
    assert emu.gateway_sessions[0].resumes == 1 and emu.gateway_sessions[0].connected
    inter = await emu.send_command("slowedit", user=world.alice.id, guild=world.guild.id)
    assert (await inter.wait_reply())["content"] == "edited after defer"


async def test_invalid_session_forces_a_fresh_identify(
    emu: DiscordEmulator, world: World, bot: TestBot
) -> None:
    await emu.disconnect_gateway(resume=False)
    kinds = [e.kind for e in emu.gateway_events if e.kind != "DISPATCH"]
    assert kinds == [
        "IDENTIFY",
        "READY",
        "DISCONNECT",
        "RESUME",
        "INVALID_SESSION",
        "IDENTIFY",
        "READY",
    ]
    old, new = emu.gateway_sessions
    assert old.invalidated and not new.invalidated and new.connected
    inter = await emu.send_command(
        "summarize", {"post": "heartbleed"}, user=world.alice.id, guild=world.guild.id
    )
    assert (await inter.wait_reply())["embeds"][0]["title"] == "Summary of heartbleed"


class ShardedBot(commands.AutoShardedBot):
    async def before_identify_hook(self, shard_id: int | None, *, initial: bool = False) -> None:
        """No 5 s pause between shards against an emulator."""


async def test_shards_receive_only_their_guilds() -> None:
    emu = DiscordEmulator(recommended_shards=2)
    await emu.start()
    try:
        guilds = [emu.add_guild(f"guild {i}") for i in range(4)]
        alice = emu.add_user("alice")
        for guild in guilds:
            emu.add_channel(guild.id, "general")
            emu.add_member(guild.id, alice.id)
        with emu.patch_discord_py():
            bot = ShardedBot(
                command_prefix="!", intents=discord.Intents.default(), guild_ready_timeout=0.05
            )

            @bot.tree.command(name="where", description="Which shard answers")
            async def where(interaction: discord.Interaction) -> None:
                await interaction.response.send_message(
                    f"shard {interaction.guild.shard_id if interaction.guild else None}"
                )

            bot.setup_hook = bot.tree.sync  # type: ignore[method-assign]
            task = await start_bot(emu, bot)
            try:
                sessions = await emu.wait_for_gateway(shards=2)
                assert emu.requests_matching("GET", "/gateway/bot")
                for session in sessions:
                    assert session.guild_ids == [
                        g.id for g in guilds if (g.id >> 22) % 2 == session.shard_id
                    ]
                assert {g.id for g in bot.guilds} == {g.id for g in guilds}
                for guild in guilds:
                    inter = await emu.send_command("where", user=alice.id, guild=guild.id)
                    assert (await inter.wait_reply())["content"] == f"shard {(guild.id >> 22) % 2}"
            finally:
                await stop_bot(bot, task)
    finally:
        await emu.stop()
    assert emu.problems == []


async def test_member_chunks_are_answered(emu: DiscordEmulator, world: World) -> None:
    intents = discord.Intents.default()
    intents.members = True
    with emu.patch_discord_py():
        bot = TestBot(world.guild.id, intents=intents, chunk=True)
        task = await start_bot(emu, bot)
        try:
            guild = bot.get_guild(world.guild.id)
            assert guild is not None and guild.chunked
            assert {m.id for m in guild.members} == set(world.guild.members)
            newcomer = emu.add_user("newcomer")
            emu.add_member(world.guild.id, newcomer.id)
            await emu.wait_for(
                lambda: guild.get_member(newcomer.id) is not None, describe="GUILD_MEMBER_ADD"
            )
        finally:
            await stop_bot(bot, task)


async def test_emulated_rate_limits_pace_discord_py(
    emu: DiscordEmulator, world: World, bot: TestBot
) -> None:
    limiter = emu.enable_rate_limits((RouteLimit("POST", CHANNEL_MESSAGES, 3, 0.2, "channel_id"),))
    channel = bot.get_partial_messageable(world.channel.id)
    sent = await asyncio.gather(*(channel.send(f"fan-out {i}") for i in range(9)))
    assert len({m.id for m in sent}) == 9
    assert len(emu.channel_messages(world.channel.id)) == 9
    # discord.py read X-RateLimit-* and paced itself; any 429s it provoked were counted.
    assert (
        emu.rate_limited_count
        == len(limiter.hits)
        == sum(1 for r in emu.requests_matching("POST", CHANNEL_MESSAGES) if r.status == 429)
    )


async def test_emulated_rate_limit_refuses_a_client_that_ignores_headers(
    emu: DiscordEmulator, world: World
) -> None:
    emu.enable_rate_limits((RouteLimit("POST", CHANNEL_MESSAGES, 2, 60.0, "channel_id"),))
    url = f"{emu.api_base}/channels/{world.channel.id}/messages"
    other_url = f"{emu.api_base}/channels/{world.other_channel.id}/messages"
    headers = {"Authorization": f"Bot {emu.bot_token}"}
    async with aiohttp.ClientSession() as session:
        statuses = []
        for i in range(3):
            async with session.post(url, json={"content": f"m{i}"}, headers=headers) as response:
                statuses.append(response.status)
                if response.status == 200:
                    assert response.headers["X-RateLimit-Limit"] == "2"
                    assert response.headers["X-RateLimit-Remaining"] == str(1 - i)
                    bucket = response.headers["X-RateLimit-Bucket"]
                else:
                    body = await response.json()
                    assert body["global"] is False and 0 < body["retry_after"] <= 60
                    assert response.headers["X-RateLimit-Scope"] == "user"
                    assert response.headers["X-RateLimit-Bucket"] == bucket
        async with session.post(
            other_url, json={"content": "other channel"}, headers=headers
        ) as response:
            statuses.append(response.status)  # another channel is another bucket
    assert statuses == [200, 200, 429, 200]
    assert emu.rate_limited_count == 1


async def test_injected_client_error_carries_discords_code_and_message() -> None:
    import aiohttp

    from discord_emulator import DiscordEmulator

    async with DiscordEmulator() as emu:
        guild = emu.add_guild("G")
        channel = emu.add_channel(guild.id, "general")
        emu.inject_error(
            "POST",
            "/channels/{channel_id}/messages",
            status=400,
            code=50035,
            message="Invalid Form Body",
        )
        async with aiohttp.ClientSession() as http:
            async with http.post(
                f"{emu.api_base}/channels/{channel.id}/messages",
                json={"content": "hi"},
                headers={"Authorization": f"Bot {emu.bot_token}"},
            ) as response:
                assert response.status == 400
                assert await response.json() == {"message": "Invalid Form Body", "code": 50035}


def test_a_4xx_fault_needs_a_code_and_message() -> None:
    import pytest

    from discord_emulator import DiscordEmulator

    with pytest.raises(ValueError, match="code"):
        DiscordEmulator().inject_error("POST", "/channels/{channel_id}/messages", status=403)


async def test_system_channel_reaches_the_bot() -> None:
    import asyncio

    import discord

    from discord_emulator import DiscordEmulator

    async with DiscordEmulator() as emu:
        guild = emu.add_guild("G")
        channel = emu.add_channel(guild.id, "announcements")
        with emu.patch_discord_py():
            client = discord.Client(intents=discord.Intents(guilds=True), guild_ready_timeout=0.05)
            task = asyncio.create_task(client.start(emu.bot_token))
            await asyncio.wait_for(client.wait_until_ready(), 15)
            emu.set_system_channel(guild.id, channel.id)
            await emu.wait_for(
                lambda: (
                    (g := client.get_guild(guild.id))
                    and g.system_channel
                    and g.system_channel.id == channel.id
                )
            )
            await client.close()
            await task
