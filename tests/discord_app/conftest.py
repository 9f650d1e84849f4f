"""End-to-end fixtures: the real discord.py bot talking over loopback to the Discord emulator.

`world` starts the emulator with one server (a moderator with Manage Server and a plain member),
starts the real bot over a real index of the bundled corpus, and waits until it is ready. Every
test ends by asserting that the emulator saw no request body that breaks Discord's OpenAPI
description or limits.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import discord
import pytest

from bot.config import Config, DiscordConfig
from bot.corpus.service import CorpusService
from bot.discord_app.client import CorpusBot, create_bot
from bot.discord_app.exts import EXTENSIONS
from discord_emulator import DiscordEmulator

MANAGE_GUILD = discord.Permissions(manage_guild=True).value


@dataclass
class World:
    emu: DiscordEmulator
    bot: CorpusBot
    service: CorpusService
    guild_id: int
    channel_id: int
    moderator_id: int
    member_id: int
    corpus_dir: Path
    extra: dict[str, Any] = field(default_factory=dict)

    async def command(
        self,
        name: str,
        options: dict[str, Any] | None = None,
        *,
        user: int | None = None,
        dm: bool = False,
        user_install: bool = False,
    ) -> Any:
        """Run a slash command as a person would; returns the emulator's interaction handle.

        `dm`: in the user's DM with the bot; `user_install`: through the app the user installed
        to their account rather than the server's install."""
        return await self.emu.send_command(
            name,
            options or {},
            user=user or self.member_id,
            guild=None if dm else self.guild_id,
            channel=None if dm else self.channel_id,
            user_install=user_install,
        )

    async def reply(
        self, name: str, options: dict[str, Any] | None = None, **kwargs: Any
    ) -> dict[str, Any]:
        handle = await self.command(name, options, **kwargs)
        return await handle.wait_reply(timeout=10)


def make_config(tmp_path: Path, corpus_dir: Path, token: str, **discord_options: Any) -> Config:
    discord_config = replace(DiscordConfig(), token=token, cooldown_seconds=60.0, **discord_options)
    return Config(corpus_dir=corpus_dir, data_dir=tmp_path / "data", discord=discord_config)


@pytest.fixture
async def emulator() -> AsyncIterator[DiscordEmulator]:
    emu = DiscordEmulator()
    await emu.start()
    try:
        yield emu
    finally:
        await emu.stop()


COMMAND_EXTENSIONS = tuple(e for e in EXTENSIONS if not e.endswith(".feed"))
"""Every cog but the feed, whose loops poll the corpus on their own schedule; the feed's tests
run it with an injected clock."""


@contextlib.asynccontextmanager
async def running_bot(
    emu: DiscordEmulator,
    config: Config,
    service: CorpusService,
    *,
    extensions: tuple[str, ...] = COMMAND_EXTENSIONS,
    **bot_options: Any,
) -> AsyncIterator[CorpusBot]:
    """Start the real bot against the emulator; close it cleanly on exit. `bot_options` go to
    `create_bot` (a `feed_lease`, for instance)."""
    with emu.patch_discord_py():
        bot = create_bot(config, service, guild_ready_timeout=0.05, **bot_options)
        bot.extensions_to_load = extensions
        task = asyncio.create_task(bot.start(emu.bot_token))
        try:
            await asyncio.wait_for(bot.wait_until_ready(), timeout=15)
            yield bot
        finally:
            await bot.close()
            await asyncio.wait_for(task, timeout=15)


@pytest.fixture
async def world(
    emulator: DiscordEmulator, service: CorpusService, tmp_path: Path, corpus_dir: Path
) -> AsyncIterator[World]:
    emu = emulator
    guild = emu.add_guild("AI governance")
    channel = emu.add_channel(guild.id, "general")
    mods = emu.add_role(guild.id, "mods", permissions=MANAGE_GUILD)
    moderator = emu.add_user("mod")
    emu.add_member(guild.id, moderator.id, roles=[mods.id])
    member = emu.add_user("member")
    emu.add_member(guild.id, member.id)
    config = make_config(tmp_path, corpus_dir, emu.bot_token)
    async with running_bot(emu, config, service) as bot:
        yield World(emu, bot, service, guild.id, channel.id, moderator.id, member.id, corpus_dir)
    assert emu.problems == [], emu.problems
