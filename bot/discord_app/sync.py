"""Explicit, cheap command sync.

Syncing is rate limited by Discord and never needed when the commands did not change, so the bot
stores a fingerprint of the command tree per scope (global or one guild) and syncs on start only
when the fingerprint changed. The fingerprint lives where every process of the bot sees it
(bot/storage/meta.py: the index with sqlite, the shared database with postgres), and the check
and the sync run under its `exclusive` span, so processes starting together sync once. It never syncs in `on_ready` (which fires again on
every reconnect). `corpus-bot sync` forces a sync.

A fingerprint says what one application on one Discord was given, so its key names both: the
application id and the API base. The same index used with another application (a new bot token)
or another endpoint (the sandbox's emulator, which is new, with no commands, at every launch)
finds no fingerprint and syncs: a fingerprint the remote side does not hold is never trusted.
"""

from __future__ import annotations

import hashlib
import json
import logging

import discord
from discord import app_commands

from bot.storage.meta import SharedFacts

log = logging.getLogger(__name__)


def tree_fingerprint(tree: app_commands.CommandTree, guild: discord.abc.Snowflake | None) -> str:
    payload = [command.to_dict(tree) for command in tree.get_commands(guild=guild)]
    encoded = json.dumps(payload, sort_keys=True, default=str).encode()
    return hashlib.sha256(encoded).hexdigest()


def _scope(
    tree: app_commands.CommandTree, guild_id: int | None
) -> tuple[discord.Object | None, str]:
    """The guild to sync to (None: global) and the key of its fingerprint in the index."""
    remote = f"{discord.http.Route.BASE}|{tree.client.application_id}"
    if guild_id:
        return discord.Object(guild_id), f"commands_hash:{remote}:guild:{guild_id}"
    return None, f"commands_hash:{remote}:global"


SYNC_LOCK = "command-sync"
"""The `exclusive` name processes check and sync under."""


async def sync_commands(
    tree: app_commands.CommandTree, store: SharedFacts, guild_id: int | None
) -> int:
    """Sync now (to one guild, instantly, or globally); remember what was synced."""
    guild, key = _scope(tree, guild_id)
    if guild is not None:
        tree.copy_global_to(guild=guild)
    synced = await tree.sync(guild=guild)
    await store.set_meta(key, tree_fingerprint(tree, guild))
    log.info("synced %d commands (%s)", len(synced), f"guild {guild_id}" if guild_id else "global")
    return len(synced)


async def sync_if_changed(
    tree: app_commands.CommandTree, store: SharedFacts, guild_id: int | None
) -> bool:
    guild, key = _scope(tree, guild_id)
    if guild is not None:
        tree.copy_global_to(guild=guild)
    async with store.exclusive(SYNC_LOCK):
        if await store.meta(key) == tree_fingerprint(tree, guild):
            log.info("commands unchanged since the last sync; not syncing")
            return False
        await sync_commands(tree, store, guild_id)
    return True
