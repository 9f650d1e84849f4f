"""Command sync with many processes (issue #14): the synced tree's fingerprint is shared.

With `storage: postgres` every process keeps its own replica, so a fingerprint kept there would
have each process of a new deployment sync the same commands again (Discord limits command
creations per day). The fingerprint lives in the shared database (bot/storage/postgres/meta.py),
and the check and the sync run under one advisory lock, so processes starting together sync once.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.corpus.service import CorpusService, ServiceSettings
from bot.discord_app.client import CorpusBot, create_bot
from bot.storage.meta import SharedFacts
from bot.storage.postgres.meta import PostgresFacts
from bot.storage.postgres.pool import open_shared_pool
from discord_emulator import DiscordEmulator
from tests.discord_app.conftest import COMMAND_EXTENSIONS, make_config


def _puts(emu: DiscordEmulator) -> int:
    """Syncs Discord accepted."""
    return sum(
        1
        for r in emu.requests
        if r.method == "PUT" and r.path.endswith("/commands") and r.status == 200
    )


@contextlib.asynccontextmanager
async def _processes(
    emu: DiscordEmulator, tmp_path: Path, corpus_dir: Path, count: int, facts: SharedFacts | None
) -> AsyncIterator[list[CorpusBot]]:
    """`count` bots, each with its own index (as each process has its own replica), sharing
    `facts` (None: each its index's own, as with sqlite)."""
    async with contextlib.AsyncExitStack() as stack:
        bots: list[CorpusBot] = []
        for number in range(count):
            folder = tmp_path / f"process-{number}"
            service = await CorpusService.open(
                ServiceSettings(db_path=folder / "replica.db", corpus_dir=corpus_dir)
            )
            stack.push_async_callback(service.close)
            config = make_config(folder, corpus_dir, emu.bot_token)
            bot = create_bot(config, service, shared_facts=facts)
            bot.extensions_to_load = COMMAND_EXTENSIONS
            stack.push_async_callback(bot.close)
            bots.append(bot)
        yield bots


async def _log_in_together(emu: DiscordEmulator, bots: list[CorpusBot]) -> None:
    """Each logs in over REST, which runs its setup_hook (where the sync happens), all at once."""
    with emu.patch_discord_py():
        await asyncio.gather(*(bot.login(emu.bot_token) for bot in bots))


async def test_processes_starting_together_on_one_database_sync_the_commands_once(
    emulator: DiscordEmulator, postgres_dsn: str, tmp_path: Path, corpus_dir: Path
) -> None:
    pool = await open_shared_pool(postgres_dsn)
    try:
        facts = PostgresFacts(pool, postgres_dsn)
        # The first sync meets a 429 and waits before its retry: without the lock the others
        # would find no fingerprint meanwhile and sync too.
        emulator.inject_error("PUT", "/applications/{application_id}/commands", retry_after=0.5)
        async with _processes(emulator, tmp_path / "first", corpus_dir, 3, facts) as bots:
            await _log_in_together(emulator, bots)
        assert _puts(emulator) == 1, "three processes on one database sync once"
        assert "post" in {c["name"] for c in emulator.synced_commands()}
        async with _processes(emulator, tmp_path / "again", corpus_dir, 2, facts) as bots:
            await _log_in_together(emulator, bots)
        assert _puts(emulator) == 1, "fresh replicas of a deployment that synced do not sync again"
    finally:
        await pool.close()
    assert emulator.problems == []


async def test_with_an_index_each_every_process_syncs_for_itself(
    emulator: DiscordEmulator, tmp_path: Path, corpus_dir: Path
) -> None:
    """What the shared fingerprint avoids (and what sqlite deployments of separate indexes do,
    each index being its own process's record)."""
    async with _processes(emulator, tmp_path, corpus_dir, 2, None) as bots:
        await _log_in_together(emulator, bots)
    assert _puts(emulator) == 2


@pytest.mark.parametrize("failing", [True, False])
async def test_the_sync_lock_lets_the_bodys_own_error_through(
    postgres_dsn: str, failing: bool
) -> None:
    """A Discord error inside the exclusive span is that error, not a database fault, and the
    lock is free afterwards either way."""
    pool = await open_shared_pool(postgres_dsn)
    try:
        facts = PostgresFacts(pool, postgres_dsn)
        if failing:
            with pytest.raises(TimeoutError):
                async with facts.exclusive("command-sync"):
                    raise TimeoutError("Discord did not answer")
        else:
            async with facts.exclusive("command-sync"):
                pass
        async with asyncio.timeout(5):
            async with facts.exclusive("command-sync"):
                pass
    finally:
        await pool.close()
