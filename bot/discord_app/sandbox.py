"""`corpus-bot sandbox`: try the real bot with no Discord account.

Starts the bundled Discord emulator on loopback, the real bot against it (same code as `run`),
and a prompt where a person types `/summarize post: meltdown` and reads the reply rendered as
text. The sandbox keeps its own index file (`sandbox.db`), so command-sync fingerprints of the
emulator never leak into the index a real deployment uses.
"""

from __future__ import annotations

import asyncio
import sys
from dataclasses import replace

import discord

from bot.config import Config
from bot.corpus.service import ServiceSettings
from bot.discord_app.client import create_bot
from bot.discord_app.launcher import open_service

BANNER = (
    "corpus-bot sandbox: the real bot, talking to a local Discord emulator.\n"
    "Type a slash command, e.g. /summarize post: meltdown   /author name: saltz   /reasons topic: facial recognition\n"
    "`help` lists the commands, `quit` leaves."
)


async def _read_line(prompt: str) -> str | None:
    """input() in a worker thread, so the bot keeps running while the person types."""
    try:
        return await asyncio.to_thread(input, prompt)
    except EOFError:
        return None


async def run_sandbox(config: Config, settings: ServiceSettings) -> int:
    from bot.emulator import DiscordEmulator
    from bot.emulator.console import run_console

    emu = DiscordEmulator()
    await emu.start()
    try:
        guild = emu.add_guild("Sandbox server")
        channel = emu.add_channel(guild.id, "general")
        admins = emu.add_role(guild.id, "admins", permissions=discord.Permissions(manage_guild=True).value)
        you = emu.add_user("you")
        emu.add_member(guild.id, you.id, roles=[admins.id])
        sandbox_config = replace(
            config, discord=replace(config.discord, token=emu.bot_token, api_base=None, gateway_url=None, sync_on_start=True)
        )
        sandbox_settings = replace(settings, db_path=settings.db_path.with_name("sandbox.db"))
        with emu.patch_discord_py():
            async with open_service(sandbox_settings) as service:
                bot = create_bot(sandbox_config, service, guild_ready_timeout=0.1)
                task = asyncio.create_task(bot.start(emu.bot_token))
                try:
                    await asyncio.wait_for(bot.wait_until_ready(), timeout=30)
                    print(BANNER)
                    await run_console(
                        emu, guild_id=guild.id, channel_id=channel.id, user_id=you.id,
                        input_fn=_read_line, output_fn=print,
                    )
                finally:
                    await bot.close()
                    await task
    finally:
        await emu.stop()
    sys.stdout.flush()
    return 0
