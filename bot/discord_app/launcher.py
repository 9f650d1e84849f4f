"""`corpus-bot run | sync | sandbox`: the one launcher of the Discord bot, and its composition
root (`open_service`: what the bot runs on, for the configured storage).

`run` opens the index, brings it up to date with the corpus folder, and runs the bot until
SIGINT/SIGTERM, then closes the bot and the database cleanly. `sync` pushes the slash commands to
Discord. `sandbox` runs the real bot against the bundled Discord emulator, for people without a
Discord account (or token) who want to try it.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import importlib
import logging
import signal
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

import discord
import yarl

from bot.config import Config
from bot.corpus.errors import CorpusInvalid, Fault, StorageFault
from bot.corpus.service import CorpusService, ServiceSettings
from bot.discord_app.client import CorpusBot, create_bot
from bot.discord_app.errors import OneLineReconnects, login_fault
from bot.discord_app.exts import EXTENSIONS
from bot.discord_app.sync import sync_commands
from bot.storage.lease import AlwaysHeld, LoopLease, process_label

if TYPE_CHECKING:
    from bot.corpus.store import CorpusStore
    from bot.storage.sql import FeedDatabase

log = logging.getLogger(__name__)

NO_TOKEN = (
    "DISCORD_TOKEN is not set. Create a bot at https://discord.com/developers/applications, copy its "
    "token, then run: export DISCORD_TOKEN=<the token>   (or try `corpus-bot sandbox` with no token)"
)
EXIT_OK, EXIT_USAGE = 0, 2
FEED_LEASE = "feed"
"""The lease under which one process of those sharing a database runs the feed's loops."""


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


CorpusListener = Callable[[Any], Awaitable[None]]
"""Called after the replica pulled documents other processes changed (with the pull's report)."""


@dataclass(frozen=True, slots=True)
class Opened:
    """What the bot runs on: the service its commands answer from, and the feed's lease (held
    for good with sqlite; with postgres, contended for with the other processes)."""

    service: CorpusService
    feed_lease: LoopLease
    corpus_listeners: list[CorpusListener] = field(default_factory=list)
    """Told when a pull brought documents another process published (with postgres, the
    replica's own list); empty and never called with sqlite, where only this process writes."""
    feed_database: FeedDatabase | None = None
    """Where the feed keeps its state: None for the index's SQLite file (sqlite); the shared
    database's tables with postgres."""

    def bot_options(self) -> dict[str, Any]:
        """What `create_bot` takes of it."""
        return {"feed_lease": self.feed_lease, "feed_database": self.feed_database}

    def tell_bot_of_corpus_changes(self, bot: CorpusBot) -> None:
        """Dispatch `corpus_changed` to the bot's cogs after each pull that changed documents
        (the feed's lease holder then announces what is new)."""

        async def dispatch(_report: object) -> None:
            bot.dispatch("corpus_changed")

        self.corpus_listeners.append(dispatch)


@contextlib.asynccontextmanager
async def open_service(
    settings: ServiceSettings, config: Config | None = None
) -> AsyncIterator[Opened]:
    """The composition root: the service with an up-to-date index, and the shared parts the
    configured storage needs; a broken corpus folder keeps the last good index.

    `storage: sqlite` (or no `config`): the index at `settings.db_path` is the whole state and
    the feed's loops are this process's (`AlwaysHeld`). `storage: postgres`: one pool on the
    shared database (migrated), the index is this process's replica of its documents
    (`Config.db_path`, data_dir/replica.db), and the feed's loops run under the "feed" lease.

    The bot starts whatever the folder holds: bad files (every one logged with file:line) or a
    folder that cannot be read at all leave the index as it was, and the bot serves that (an
    empty index answers that it knows no documents). A running bot's /reload and the feed's
    poll pass retry the folder later.
    """
    if config is None or config.storage == "sqlite":
        service = await CorpusService.open(settings)
        try:
            await _reload_at_start(service)
            yield Opened(service, AlwaysHeld())
        finally:
            await service.close()
        return

    # asyncpg: imported only with postgres
    from bot.storage.postgres.lease import Lease
    from bot.storage.postgres.pool import open_shared_pool
    from bot.storage.postgres.replica import CorpusReplica
    from bot.storage.postgres.sql import PostgresFeedDatabase

    dsn = config.database_url
    assert dsn is not None  # load_config refuses storage: postgres without it
    pool = await open_shared_pool(dsn)
    lease = Lease(dsn, FEED_LEASE, label=process_label())
    try:
        replicas: list[CorpusReplica] = []

        def replica_of(store: CorpusStore) -> CorpusReplica:
            # The index is this process's replica of the shared documents: its first pull fills
            # an empty one, then it follows NOTIFY corpus_changed and pulls every 30 s; reload()
            # publishes the corpus folder's changes to the shared database.
            replicas.append(CorpusReplica(store, pool, dsn))
            return replicas[-1]

        service = await CorpusService.open(settings, shared=replica_of)
        try:
            await _reload_at_start(service)  # with the replica: reloads, then publishes
            yield Opened(
                service,
                lease,
                corpus_listeners=replicas[0].listeners,
                feed_database=PostgresFeedDatabase(pool, dsn),
            )
        finally:
            await service.close()
    finally:
        await lease.release()
        await pool.close()


async def _reload_at_start(service: CorpusService) -> None:
    """Bring the index up to date with the corpus folder; a folder with problems, or one that
    cannot be read, is logged and the last good index is served."""
    try:
        report = await service.reload()
        log.info(
            "corpus loaded: %d added, %d changed, %d removed",
            report.added_count,
            report.changed_count,
            report.removed_count,
        )
    except CorpusInvalid as exc:
        log.error("the corpus has problems; serving the last good index:\n%s", exc)
    except StorageFault:
        raise  # the index itself is unusable (damaged, locked, full): one line, exit 3
    except Fault as exc:  # e.g. the shared database refused the publish: its own line
        log.error("%s; serving the index as it is", exc.message)
    except Exception as exc:  # noqa: BLE001 - the index is still there to serve
        log.error(
            "the corpus folder could not be read (%s: %s); serving the last good index",
            type(exc).__name__,
            exc,
        )
        log.debug("why the corpus folder could not be read", exc_info=True)


async def run_bot(config: Config, settings: ServiceSettings, **bot_options: object) -> int:
    async with open_service(settings, config) as opened:
        service = opened.service
        if (await service.stats()).documents == 0:
            log.warning("the index is empty: the bot will answer that it knows no documents")
        bot = create_bot(config, service, **{**opened.bot_options(), **bot_options})
        opened.tell_bot_of_corpus_changes(bot)
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
            **opened.bot_options(),
        )
        async with bot:
            assert config.discord.token
            await bot.login(config.discord.token)  # runs setup_hook: cogs loaded, no gateway
            count = await sync_commands(
                bot.tree, service.store, guild_id or config.discord.dev_guild_id
            )
    print(f"Synced {count} commands {'to guild ' + str(guild_id) if guild_id else 'globally'}.")
    return EXIT_OK
