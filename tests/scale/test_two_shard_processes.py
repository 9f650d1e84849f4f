"""Two bot processes with disjoint shard ids announce each new entry once per subscribed channel.

What a deployment of many shards looks like, on one machine: two real `python -m bot run`
processes, configured by a YAML file with `discord.shard_count: 2` and `shard_ids: [0]` or `[1]`,
each with its own data dir (its own SQLite: the index of the corpus and the feed state of its
shard's guilds), both reading the same corpus folder, both pointed at one emulator in this process
by DISCORD_TOKEN / DISCORD_API_BASE / DISCORD_GATEWAY_URL. The emulator routes each guild to the
shard Discord would ((guild_id >> 22) % 2), so `/subscribe` in a guild lands in the process that
owns it and the subscription is stored there.

Once each process has recorded the corpus as it is (`/feed retry source:corpus`, see the test),
a new corpus file, then `/reload` in one guild of each shard (each process detects the entry in
its own index and announces it to its own subscriptions). Every subscribed channel must hold
exactly one announcement between the two processes. Both processes are then stopped (SIGTERM,
a clean close), so no late duplicate can arrive after the count, and their databases show every
subscription on the process of its guild's shard and nothing left to send.

Each process runs a single shard, so discord.py's 5 s wait before identifying a second shard of
the same process (`before_identify_hook`) never applies; both connect at once.
"""

from __future__ import annotations

import os
import shutil
import signal
import sqlite3
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import discord
import pytest

from discord_emulator import DiscordEmulator
from tests.conftest import write_doc

REPO = Path(__file__).resolve().parents[2]
BUNDLED_CORPUS = REPO / "corpus"
SHARDS = 2
GUILDS_PER_SHARD = 2
MANAGE_CHANNELS = discord.Permissions(manage_channels=True).value
START_TIMEOUT = 60.0
"""Two interpreters importing discord.py and building an index on a busy CI machine."""


def shard_of(guild_id: int) -> int:
    return (guild_id >> 22) % SHARDS


@dataclass
class ShardedGuild:
    guild_id: int
    channel_id: int
    moderator_id: int
    owner_id: int

    @property
    def shard(self) -> int:
        return shard_of(self.guild_id)


@dataclass
class BotProcess:
    shard: int
    proc: subprocess.Popen[bytes]
    data_dir: Path
    log_path: Path

    @property
    def db_path(self) -> Path:
        return self.data_dir / "corpus.db"

    def log(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")[-4000:]

    def stop(self) -> int:
        """SIGTERM as a service manager sends it: the bot closes the gateway and the database."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise AssertionError(
                f"shard {self.shard} did not stop on SIGTERM:\n{self.log()}"
            ) from None


def add_guilds(emu: DiscordEmulator) -> list[ShardedGuild]:
    """Guilds until each shard has GUILDS_PER_SHARD of them (ids decide the shard, as on Discord)."""
    guilds: list[ShardedGuild] = []
    n = 0
    while any(sum(g.shard == s for g in guilds) < GUILDS_PER_SHARD for s in range(SHARDS)):
        n += 1
        assert n < 100, "the emulator's guild ids never reached every shard"
        guild = emu.add_guild(f"server {n}")
        if sum(shard_of(guild.id) == shard_of(g.guild_id) for g in guilds) >= GUILDS_PER_SHARD:
            continue  # enough guilds on that shard; an extra one with no subscription is harmless
        channel = emu.add_channel(guild.id, "news")
        mods = emu.add_role(guild.id, "channel-mods", permissions=MANAGE_CHANNELS)
        moderator = emu.add_user(f"mod{n}")
        emu.add_member(guild.id, moderator.id, roles=[mods.id])
        owner_id = emu.state.guilds[guild.id].owner_id
        guilds.append(ShardedGuild(guild.id, channel.id, moderator.id, owner_id))
    return guilds


@contextmanager
def bot_processes(emu: DiscordEmulator, tmp_path: Path, corpus: Path) -> Iterator[list[BotProcess]]:
    """One `python -m bot run` per shard; always stopped (and their logs kept) on the way out."""
    processes: list[BotProcess] = []
    try:
        for shard in range(SHARDS):
            config = tmp_path / f"shard{shard}.yaml"
            config.write_text(
                "log_level: INFO\n"
                "discord:\n"
                f"  shard_count: {SHARDS}\n"
                f"  shard_ids: [{shard}]\n"
                "feed:\n"
                "  interval_seconds: 3600\n",
                encoding="utf-8",
            )
            data_dir = tmp_path / f"shard{shard}-data"
            env = {
                **os.environ,
                **emu.bot_environment(),
                "CORPUS_BOT_DATA_DIR": str(data_dir),
                "PYTHONUNBUFFERED": "1",
            }
            log_path = tmp_path / f"shard{shard}.log"
            argv = [
                sys.executable,
                "-m",
                "bot",
                "--config",
                str(config),
                "--corpus",
                str(corpus),
                "run",
            ]
            with open(log_path, "wb") as log:
                proc = subprocess.Popen(
                    argv, cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT
                )
            processes.append(BotProcess(shard, proc, data_dir, log_path))
        yield processes
    finally:
        for process in processes:
            if process.proc.poll() is None:
                process.proc.kill()
                process.proc.wait()


@pytest.fixture
async def emu() -> AsyncIterator[DiscordEmulator]:
    async with DiscordEmulator() as emulator:
        yield emulator


def announcements(emu: DiscordEmulator, channel_id: int) -> list[dict[str, object]]:
    """The bot's public messages in a channel (command replies here are all ephemeral)."""
    return [
        m
        for m in emu.channel_messages(channel_id, include_ephemeral=False)
        if int(m["author"]["id"]) == emu.bot_user_id  # type: ignore[index, call-overload]
    ]


def feed_state(db_path: Path) -> tuple[set[int], list[str]]:
    """The guilds with subscriptions in one process's database, and its outbox rows' states."""
    with sqlite3.connect(f"file:{db_path}?mode=ro", uri=True) as conn:
        guilds = {row[0] for row in conn.execute("SELECT guild_id FROM feed_subscriptions")}
        states = [row[0] for row in conn.execute("SELECT state FROM feed_outbox")]
    return guilds, states


async def test_two_processes_with_disjoint_shards_announce_each_entry_once_per_channel(
    emu: DiscordEmulator, tmp_path: Path
) -> None:
    guilds = add_guilds(emu)
    corpus = tmp_path / "corpus"
    shutil.copytree(BUNDLED_CORPUS, corpus)

    with bot_processes(emu, tmp_path, corpus) as processes:

        def sessions_ready() -> bool:
            for process in processes:
                assert process.proc.poll() is None, (
                    f"shard {process.shard} exited:\n{process.log()}"
                )
            live = [s for s in emu.hub.live_sessions() if s.connected]
            # Every dispatch (GUILD_CREATE included) parsed: the guilds are in each bot's cache.
            return sorted(s.shard_id for s in live) == list(range(SHARDS)) and all(
                s.client_seq >= s.seq for s in live
            )

        await emu.wait_for(
            sessions_ready, START_TIMEOUT, describe="both shards connected with their guilds"
        )
        await emu.wait_for_commands(timeout=START_TIMEOUT)
        sessions = {s.shard_id: s for s in emu.hub.live_sessions()}
        for guild in guilds:
            assert guild.guild_id in sessions[guild.shard].guild_ids
            assert guild.guild_id not in sessions[1 - guild.shard].guild_ids

        for guild in guilds:
            handle = await emu.send_command(
                "subscribe",
                {},
                user=guild.moderator_id,
                guild=guild.guild_id,
                channel=guild.channel_id,
            )
            reply = await handle.wait_reply(timeout=20)
            assert "Subscribed" in str(reply), reply

        # A fresh index's first corpus check records the corpus as it is and announces nothing
        # (the baseline). The poll loop makes it once the bot is ready; `/feed retry` makes it
        # now and answers only after it committed, so the new file below is new to the seen-set.
        # It re-reads the corpus, so it is for who may /reload: the owner.
        for shard in range(SHARDS):
            guild = next(g for g in guilds if g.shard == shard)
            handle = await emu.send_command(
                "feed retry",
                {"source": "corpus"},
                user=guild.owner_id,
                guild=guild.guild_id,
                channel=guild.channel_id,
            )
            await handle.wait_reply(timeout=30)
            assert "Checked the corpus folder" in str(handle.reply), handle.reply

        write_doc(
            corpus,
            "12-sharded.md",
            front="id: sharded-entry\ntitle: Sharded Entry\n"
            "authors: [Shard Writer]\nkind: post\nexcerpt: false",
            body="One entry. Two processes.",
        )
        for shard in range(SHARDS):
            owner_guild = next(g for g in guilds if g.shard == shard)
            handle = await emu.send_command(
                "reload",
                {},
                user=owner_guild.owner_id,
                guild=owner_guild.guild_id,
                channel=owner_guild.channel_id,
            )
            await handle.wait_reply(timeout=30)
            # "1 added", unless the poll loop's first pass (just after ready) read the file first.
            assert "added" in str(handle.reply), handle.reply

        try:
            await emu.wait_for(
                lambda: all(announcements(emu, g.channel_id) for g in guilds),
                30,
                describe="an announcement in every subscribed channel",
            )
        except TimeoutError as exc:
            logs = "\n".join(f"--- shard {p.shard}:\n{p.log()}" for p in processes)
            raise AssertionError(
                f"{exc}; requests: {[(r.method, r.path, r.status) for r in emu.requests if r.method != 'GET']}; posted: {[len(announcements(emu, g.channel_id)) for g in guilds]}\n{logs}"
            ) from exc
        for process in processes:
            assert process.stop() == 0, process.log()

    for guild in guilds:
        (message,) = announcements(emu, guild.channel_id)
        assert message["embeds"][0]["title"] == "Sharded Entry"  # type: ignore[index]
    for process in processes:
        subscribed_guilds, outbox = feed_state(process.db_path)
        assert subscribed_guilds == {g.guild_id for g in guilds if g.shard == process.shard}
        assert outbox == ["sent"] * GUILDS_PER_SHARD, (
            "each process announced to its own subscriptions only"
        )
    assert emu.problems == [], emu.problems
