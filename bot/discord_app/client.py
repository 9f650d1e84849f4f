"""The bot itself: a `commands.Bot` (or `AutoShardedBot` when sharding is configured).

Everything that must happen once happens in `setup_hook` (load the cogs, install the error
handler, sync commands if they changed), never in `on_ready`, which fires on every reconnect.
Mentions are off client-wide: nothing the bot sends can ping @everyone, a role or a user.
"""

from __future__ import annotations

import gc
import logging
from typing import TYPE_CHECKING, Any

import discord
from discord.ext import commands

from bot.config import Config
from bot.corpus.service import CorpusService
from bot.discord_app.errors import on_tree_error
from bot.discord_app.exts import EXTENSIONS
from bot.discord_app.sync import sync_if_changed
from bot.storage.lease import AlwaysHeld, LoopLease
from bot.storage.meta import IndexFacts, SharedFacts

if TYPE_CHECKING:
    from bot.storage.sql import FeedDatabase

log = logging.getLogger(__name__)


def freeze_startup_heap() -> None:
    """Take what start-up built (modules, discord.py, the cogs) out of the garbage collector's
    sight, once, before the gateway connects.

    These objects live as long as the process, yet CPython's full collections walk every one of
    them, holding the GIL: with a bot's heap, a full pass took ~150 ms, and a reload or summary
    in a worker thread allocates enough to trigger one, stalling the event loop (measured by
    bench/bench_event_loop.py). After `gc.freeze()` a full pass walks only what was made since.
    Frozen objects are still freed by reference counting; only a cycle among them would be kept.
    """
    gc.collect()
    gc.freeze()


class CorpusBot(commands.Bot):
    def __init__(
        self,
        config: Config,
        service: CorpusService,
        *,
        feed_lease: LoopLease | None = None,
        feed_database: FeedDatabase | None = None,
        shared_facts: SharedFacts | None = None,
        **options: Any,
    ) -> None:
        # The bot has no voice: discord.py's "PyNaCl is not installed, voice will NOT be
        # supported" warning (and its DAVE twin) at every start would only send people
        # installing what the bot never uses.
        discord.VoiceClient.warn_nacl = False
        discord.VoiceClient.warn_dave = False
        intents = discord.Intents.none()
        intents.guilds = True  # channels and permissions; no privileged intents needed
        options.setdefault("chunk_guilds_at_startup", False)
        super().__init__(
            command_prefix=commands.when_mentioned,
            intents=intents,
            allowed_mentions=discord.AllowedMentions.none(),
            help_command=None,
            **options,
        )
        self.config = config
        self.service = service
        self.feed_lease: LoopLease = feed_lease or AlwaysHeld()
        """Whether this process runs the feed's loops: always with sqlite; with postgres, the
        one process of many holding the "feed" lease (bot/discord_app/launcher.py makes it)."""
        self.feed_database = feed_database
        """Where the feed keeps its state: None for the index's own SQLite file; with postgres,
        the shared database (bot/storage/postgres/sql.py)."""
        self._shared_facts = shared_facts
        self.extensions_to_load: tuple[str, ...] = EXTENSIONS

    @property
    def shared_facts(self) -> SharedFacts:
        """Where the synced command tree's fingerprint lives: the index's meta table, or with
        postgres the shared database's, so one process's sync counts for every process."""
        return self._shared_facts or IndexFacts(self.service.store)

    async def setup_hook(self) -> None:
        for extension in self.extensions_to_load:
            await self.load_extension(extension)
        self.tree.error(on_tree_error)
        if self.config.discord.sync_on_start:
            await sync_if_changed(self.tree, self.shared_facts, self.config.discord.dev_guild_id)
        freeze_startup_heap()

    async def on_ready(self) -> None:
        log.info("ready as %s in %d guild(s)", self.user, len(self.guilds))


class ShardedCorpusBot(CorpusBot, commands.AutoShardedBot):
    """The same bot on several shards; `shard_count`/`shard_ids` come from config."""


def create_bot(config: Config, service: CorpusService, **options: Any) -> CorpusBot:
    if config.discord.shard_count:
        options.setdefault("shard_count", config.discord.shard_count)
        if config.discord.shard_ids is not None:
            options.setdefault("shard_ids", list(config.discord.shard_ids))
        return ShardedCorpusBot(config, service, **options)
    return CorpusBot(config, service, **options)
