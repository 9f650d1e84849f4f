"""`corpus-bot run | sync | sandbox`: the one launcher of the Discord bot.

`run` opens the index, brings it up to date with the corpus folder, and runs the bot until
SIGINT/SIGTERM, then closes the bot and the database cleanly. `sync` pushes the slash commands to
Discord. `sandbox` runs the real bot against the bundled Discord emulator, for people without a
Discord account (or token) who want to try it. What the bot runs on, for the configured storage,
comes from the composition root every front end shares (`bot.composition.open_service`).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import importlib
import logging
import signal
import sys
from dataclasses import replace
from typing import Any

import discord
import yarl

from bot.composition import Opened, open_service
from bot.config import Config
from bot.corpus.service import ServiceSettings
from bot.discord_app.client import CorpusBot, create_bot
from bot.discord_app.errors import OneLineReconnects, login_fault
from bot.discord_app.exts import EXTENSIONS
from bot.discord_app.sync import sync_commands

log = logging.getLogger(__name__)

NO_TOKEN = (
    "DISCORD_TOKEN is not set. Create a bot at https://discord.com/developers/applications, copy its "
    "token, then run: export DISCORD_TOKEN=<the token>   (or try `corpus-bot sandbox` with no token)"
)
EXIT_OK, EXIT_USAGE = 0, 2


def point_discord_at(api_base: str | None, gateway_url: str | None) -> None:
    """Send REST and gateway traffic to a Discord-compatible endpoint (a proxy or an emulator)."""
    if api_base:
        discord.http.Route.BASE = api_base.rstrip("/")
    if gateway_url:
        discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(gateway_url)


def run_discord_command(args: argparse.Namespace, config: Config, settings: ServiceSettings) -> int:
    discord.utils.setup_logging(level=getattr(logging, config.log_level))
    for name in ("discord.client", "discord.shard"):
        logger = logging.getLogger(name)
        if not any(isinstance(f, OneLineReconnects) for f in logger.filters):
            logger.addFilter(OneLineReconnects())
    if args.command == "sandbox":
        from bot.discord_app.sandbox import run_sandbox

        return asyncio.run(run_sandbox(config, settings, web=args.web, port=args.port))
    if not config.discord.token:
        print(f"corpus-bot: {NO_TOKEN}", file=sys.stderr)
        return EXIT_USAGE
    point_discord_at(config.discord.api_base, config.discord.gateway_url)
    _import_extensions()
    try:
        if args.command == "sync":
            return asyncio.run(_sync(config, settings, args.guild))
        return asyncio.run(run_bot(config, settings))
    except Exception as exc:  # Discord out of reach, a refused token: a Fault for the CLI
        gateway = str(discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY)
        fault = login_fault(exc, discord.http.Route.BASE, gateway)
        if fault is None:
            raise
        raise fault from exc


def _import_extensions() -> None:
    """Import the cogs' modules (and what they import: feedparser, aiohttp…) before the event
    loop runs: imported from `setup_hook`, they held the loop for ~200 ms of disk reads."""
    for name in EXTENSIONS:
        importlib.import_module(name)


def bot_options(opened: Opened) -> dict[str, Any]:
    """What `create_bot` takes of what the bot runs on: the feed's lease and database."""
    return {
        "feed_lease": opened.feed_lease,
        "feed_database": opened.feed_database,
        "shared_facts": opened.shared_facts,
    }


def tell_bot_of_corpus_changes(opened: Opened, bot: CorpusBot) -> None:
    """Dispatch `corpus_changed` to the bot's cogs after each pull that changed documents
    (the feed's lease holder then announces what is new)."""

    async def dispatch(_report: object) -> None:
        bot.dispatch("corpus_changed")

    opened.corpus_listeners.append(dispatch)


async def run_bot(config: Config, settings: ServiceSettings, **extra_options: object) -> int:
    async with open_service(settings, config) as opened:
        service = opened.service
        if (await service.stats()).documents == 0:
            log.warning("the index is empty: the bot will answer that it knows no documents")
        bot = create_bot(config, service, **{**bot_options(opened), **extra_options})
        tell_bot_of_corpus_changes(opened, bot)
        _close_on_signals(bot)
        async with bot:
            assert config.discord.token
            await bot.start(config.discord.token)
    return EXIT_OK


def _close_on_signals(bot: CorpusBot) -> None:
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, lambda: asyncio.ensure_future(bot.close()))


async def _sync(config: Config, settings: ServiceSettings, guild_id: int | None) -> int:
    """Log in over REST only (no gateway), sync, and leave."""
    async with open_service(settings, config) as opened:
        service = opened.service
        bot = create_bot(
            replace(config, discord=replace(config.discord, sync_on_start=False)),
            service,
            **bot_options(opened),
        )
        async with bot:
            assert config.discord.token
            await bot.login(config.discord.token)  # runs setup_hook: cogs loaded, no gateway
            count = await sync_commands(
                bot.tree, bot.shared_facts, guild_id or config.discord.dev_guild_id
            )
    print(f"Synced {count} commands {'to guild ' + str(guild_id) if guild_id else 'globally'}.")
    return EXIT_OK
