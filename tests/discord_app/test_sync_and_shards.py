"""Command sync (explicit, cheap, never in on_ready), the development guild, and shards."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

import pytest

from bot.corpus.service import CorpusService
from bot.discord_app import views
from discord_emulator import DiscordEmulator
from tests.discord_app.conftest import World, make_config, running_bot

COMMAND_PUTS = "/applications/{application_id}/commands"


def _puts(emu: DiscordEmulator) -> int:
    return sum(1 for r in emu.requests if r.method == "PUT" and r.path.endswith("/commands"))


async def test_start_syncs_only_when_the_command_tree_changed(
    emulator: DiscordEmulator, service: CorpusService, tmp_path: Path, corpus_dir: Path
) -> None:
    emulator.add_guild("G")
    config = make_config(tmp_path, corpus_dir, emulator.bot_token)
    async with running_bot(emulator, config, service):
        pass
    assert _puts(emulator) == 1
    names = {c["name"] for c in emulator.synced_commands()}
    assert {
        "post",
        "summarize",
        "author",
        "authors",
        "reasons",
        "search",
        "about",
        "reload",
    } <= names
    async with running_bot(emulator, config, service):
        pass
    assert _puts(emulator) == 1, "an unchanged tree is not synced again"
    async with running_bot(emulator, config, service, extensions=("bot.discord_app.exts.about",)):
        pass
    assert _puts(emulator) == 2, "a changed tree is synced"
    assert emulator.problems == []


async def test_a_fingerprint_is_never_trusted_for_another_discord(
    emulator: DiscordEmulator, service: CorpusService, tmp_path: Path, corpus_dir: Path
) -> None:
    """The sandbox's second launch: the same index, a new emulator that holds no commands. The
    fingerprint the first emulator's sync left must not stop the new one from being synced."""
    emulator.add_guild("G")
    async with running_bot(
        emulator, make_config(tmp_path, corpus_dir, emulator.bot_token), service
    ):
        pass
    assert _puts(emulator) == 1
    second = DiscordEmulator()
    await second.start()
    try:
        second.add_guild("G")
        async with running_bot(
            second, make_config(tmp_path, corpus_dir, second.bot_token), service
        ):
            pass
        assert _puts(second) == 1, "a new Discord (another application, another API base) is synced"
        assert "post" in {c["name"] for c in second.synced_commands()}
        assert second.problems == []
    finally:
        await second.stop()


async def test_development_guild_gets_the_commands(
    emulator: DiscordEmulator, service: CorpusService, tmp_path: Path, corpus_dir: Path
) -> None:
    guild = emulator.add_guild("Dev")
    config = make_config(tmp_path, corpus_dir, emulator.bot_token, dev_guild_id=guild.id)
    async with running_bot(emulator, config, service):
        await emulator.wait_for_commands(guild.id)
    assert {c["name"] for c in emulator.synced_commands(guild.id)} >= {"post", "reload"}


async def test_corpus_bot_sync_command(
    emulator: DiscordEmulator, tmp_path: Path, corpus_dir: Path
) -> None:
    guild = emulator.add_guild("Explicit")
    env = {
        **os.environ,
        **emulator.bot_environment(),
        "CORPUS_BOT_DATA_DIR": str(tmp_path / "data"),
    }
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "--corpus",
        str(corpus_dir),
        "sync",
        "--guild",
        str(guild.id),
        cwd=tmp_path,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), timeout=60)
    assert process.returncode == 0, err.decode()[-2000:]
    assert f"to guild {guild.id}" in out.decode()
    assert {c["name"] for c in emulator.synced_commands(guild.id)} >= {"post", "reload"}
    assert not emulator.hub.live_sessions(), "sync uses REST only, no gateway session"


async def test_two_shards_serve_their_own_guilds(
    emulator: DiscordEmulator, service: CorpusService, tmp_path: Path, corpus_dir: Path
) -> None:
    guilds = [emulator.add_guild(f"G{n}") for n in range(6)]
    channels = {g.id: emulator.add_channel(g.id, "general") for g in guilds}
    user = emulator.add_user("reader")
    for g in guilds:
        emulator.add_member(g.id, user.id)
    assert {(g.id >> 22) % 2 for g in guilds} == {0, 1}, "the guilds spread over both shards"
    config = make_config(tmp_path, corpus_dir, emulator.bot_token, shard_count=2, shard_ids=(0, 1))
    async with running_bot(emulator, config, service) as bot:
        assert bot.shard_count == 2
        await emulator.wait_for_gateway(shards=2)
        for g in guilds:
            handle = await emulator.send_command(
                "about", {}, user=user.id, guild=g.id, channel=channels[g.id].id
            )
            assert "11 documents" in str(await handle.wait_reply(timeout=10))
    assert emulator.problems == []


async def test_pages_lose_their_buttons_when_the_view_times_out(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(views, "PAGE_TIMEOUT_SECONDS", 0.3)
    reply = await world.reply("search", {"query": "the"})  # 11 hits: two pages
    assert reply["components"]
    await world.emu.wait_for(
        lambda: not world.emu.message(int(reply["id"])).get("components"), timeout=10
    )
