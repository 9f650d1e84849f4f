"""Real `corpus-bot run` processes against one emulator: what the scale tests share.

A deployment of many processes, on one machine: each bot is `python -m bot --config FILE
--corpus DIR run` (what the `corpus-bot` script runs), configured by its own YAML file, with its
own data dir, pointed at the emulator in the test's process by DISCORD_TOKEN / DISCORD_API_BASE /
DISCORD_GATEWAY_URL, its output in a log file the failure messages quote. The emulator routes
each guild to the shard Discord would ((guild_id >> 22) % shard_count), so a command in a guild
lands in the process that runs its shard.

Every process started here is killed on the way out, whatever happened; `BotProcess.stop` is the
clean stop a service manager makes (SIGTERM), `BotProcess.kill` a crash (SIGKILL).
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import discord

from discord_emulator import DiscordEmulator

REPO = Path(__file__).resolve().parents[2]
ENV_DATABASE_URL = "CORPUS_BOT_DATABASE_URL"
"""Where `storage: postgres` reads the database URL (never from the config file: it holds a
password)."""
BUNDLED_CORPUS = REPO / "corpus"
START_TIMEOUT = 60.0
"""Interpreters importing discord.py and building an index on a busy CI machine."""
MANAGE_CHANNELS = discord.Permissions(manage_channels=True).value


def shard_of(guild_id: int, shard_count: int) -> int:
    """The shard Discord sends a guild's events to."""
    return (guild_id >> 22) % shard_count


@dataclass
class ShardedGuild:
    guild_id: int
    channel_ids: list[int]
    moderator_id: int
    owner_id: int

    @property
    def channel_id(self) -> int:
        return self.channel_ids[0]

    def shard(self, shard_count: int) -> int:
        return shard_of(self.guild_id, shard_count)


def add_guilds(
    emu: DiscordEmulator, shard_count: int, per_shard: int, *, channels_per_guild: int = 1
) -> list[ShardedGuild]:
    """Guilds until each shard has `per_shard` of them (ids decide the shard, as on Discord), each
    with `channels_per_guild` text channels and a moderator who may manage them."""
    guilds: list[ShardedGuild] = []
    n = 0
    while any(
        sum(g.shard(shard_count) == s for g in guilds) < per_shard for s in range(shard_count)
    ):
        n += 1
        assert n < 200, "the emulator's guild ids never reached every shard"
        guild = emu.add_guild(f"server {n}")
        if (
            sum(g.shard(shard_count) == shard_of(guild.id, shard_count) for g in guilds)
            >= per_shard
        ):
            continue  # enough guilds on that shard; an extra one with no subscription is harmless
        channels = [emu.add_channel(guild.id, f"news-{i}").id for i in range(channels_per_guild)]
        mods = emu.add_role(guild.id, "channel-mods", permissions=MANAGE_CHANNELS)
        moderator = emu.add_user(f"mod{n}")
        emu.add_member(guild.id, moderator.id, roles=[mods.id])
        owner_id = emu.state.guilds[guild.id].owner_id
        guilds.append(ShardedGuild(guild.id, channels, moderator.id, owner_id))
    return guilds


def shard_config(shard_count: int, shard_ids: Sequence[int], *, storage: str | None = None) -> str:
    """A bot's YAML: its shards, the feed's poll loop far away (the tests drive detection), and
    the storage backend when one is named."""
    lines = ["log_level: INFO"]
    if storage is not None:
        lines.append(f"storage: {storage}")
    lines += [
        "discord:",
        f"  shard_count: {shard_count}",
        f"  shard_ids: [{', '.join(str(s) for s in shard_ids)}]",
        "feed:",
        "  interval_seconds: 3600",
    ]
    return "\n".join(lines) + "\n"


def postgres_environment(dsn: str, name: str) -> dict[str, str]:
    """The database URL for the process `name`, naming it (`application_name`), so that
    PostgreSQL's pg_stat_activity says which process each session belongs to."""
    return {ENV_DATABASE_URL: f"{dsn}{'&' if '?' in dsn else '?'}application_name={name}"}


@dataclass
class BotProcess:
    name: str
    shard_count: int
    shard_ids: list[int]
    proc: subprocess.Popen[bytes]
    data_dir: Path
    log_path: Path
    sessions_before: frozenset[str]
    """The emulator's gateway sessions when it started: none of them is this process's."""

    @property
    def db_path(self) -> Path:
        return self.data_dir / "corpus.db"

    @property
    def alive(self) -> bool:
        return self.proc.poll() is None

    def log(self, chars: int = 4000) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")[-chars:]

    def full_log(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def stop(self) -> int:
        """SIGTERM as a service manager sends it: the bot closes the gateway and the database."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise AssertionError(f"{self.name} did not stop on SIGTERM:\n{self.log()}") from None

    def kill(self) -> None:
        """SIGKILL: a crash, nothing closed, no transaction finished."""
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()


@dataclass
class BotLauncher:
    """Starts bot processes in `work` over one corpus folder, all pointed at `emu`."""

    emu: DiscordEmulator
    work: Path
    corpus: Path
    started: list[BotProcess] = field(default_factory=list)
    _exit_watches: dict[int, asyncio.AbstractEventLoop] = field(default_factory=dict)
    """pidfd -> the loop watching it (see `_wake_on_exit`)."""

    def start(
        self,
        name: str,
        *,
        shard_count: int,
        shard_ids: Sequence[int],
        storage: str | None = None,
        env: Mapping[str, str] | None = None,
    ) -> BotProcess:
        """`corpus-bot run` as `name`, running `shard_ids` of `shard_count` (shard_config)."""
        config = self.work / f"{name}.yaml"
        config.write_text(shard_config(shard_count, shard_ids, storage=storage), encoding="utf-8")
        data_dir = self.work / f"{name}-data"
        full_env = {
            **os.environ,
            **self.emu.bot_environment(),
            "CORPUS_BOT_DATA_DIR": str(data_dir),
            "PYTHONUNBUFFERED": "1",
            **(env or {}),
        }
        log_path = self.work / f"{name}.log"
        argv = [sys.executable, "-m", "bot", "--config", str(config)]
        argv += ["--corpus", str(self.corpus), "run"]
        with open(log_path, "wb") as log:
            proc = subprocess.Popen(
                argv, cwd=REPO, env=full_env, stdout=log, stderr=subprocess.STDOUT
            )
        process = BotProcess(
            name,
            shard_count,
            list(shard_ids),
            proc,
            data_dir,
            log_path,
            frozenset(self.emu.hub.sessions),
        )
        self.started.append(process)
        self._wake_on_exit(proc.pid)
        return process

    def _wake_on_exit(self, pid: int) -> None:
        """Wake the emulator's waiters when the process exits (its pidfd becomes readable), so
        that a wait for what only a live bot can do fails at once with the bot's last words
        (`wait_until_connected` checks `alive`), not at its timeout. Linux; elsewhere a dead bot
        is seen at the timeout."""
        try:
            loop = asyncio.get_running_loop()
            fd = os.pidfd_open(pid)
        except (AttributeError, OSError, RuntimeError):
            return

        def exited() -> None:
            self._unwatch(fd)
            self.emu.notifier.notify()

        loop.add_reader(fd, exited)
        self._exit_watches[fd] = loop

    def _unwatch(self, fd: int) -> None:
        loop = self._exit_watches.pop(fd, None)
        if loop is not None:
            if not loop.is_closed():
                loop.remove_reader(fd)
            os.close(fd)

    def kill_all(self) -> None:
        for process in self.started:
            if process.alive:
                process.proc.kill()
                process.proc.wait()
        for fd in list(self._exit_watches):
            self._unwatch(fd)

    def logs(self) -> str:
        return "\n".join(f"--- {p.name}:\n{p.log()}" for p in self.started)


@contextmanager
def bot_launcher(emu: DiscordEmulator, work: Path, corpus: Path) -> Iterator[BotLauncher]:
    """A `BotLauncher` whose processes are all killed on the way out (their logs stay in `work`)."""
    launcher = BotLauncher(emu, work, corpus)
    try:
        yield launcher
    finally:
        launcher.kill_all()


async def wait_until_connected(
    emu: DiscordEmulator, processes: Sequence[BotProcess], within: float = START_TIMEOUT
) -> None:
    """Every process's shards connected, every dispatch (GUILD_CREATE included) read, so the
    guilds are in each bot's cache; a process that exits meanwhile fails at once with its log.

    Only sessions these processes opened count: an earlier process's session can still look
    connected for a moment after it stopped (its close not yet seen), and one of the same shard
    numbers would pass for a new process's, which is then sent commands it never receives."""
    wanted = sorted((s, p.shard_count) for p in processes for s in p.shard_ids)
    older = min((p.sessions_before for p in processes), key=len, default=frozenset())

    def ready() -> bool:
        for process in processes:
            assert process.alive, f"{process.name} exited:\n{process.log()}"
        new = [
            s
            for s in emu.hub.live_sessions()
            if s.connected and s.session_id not in older and s.shard in wanted
        ]
        return sorted(s.shard for s in new) == wanted and all(s.client_seq >= s.seq for s in new)

    await emu.wait_for(ready, within, describe=f"shards {wanted} connected with their guilds")


async def command_reply(
    emu: DiscordEmulator,
    name: str,
    *,
    user: int,
    guild: int,
    channel: int,
    options: dict[str, Any] | None = None,
    within: float = 30.0,
) -> str:
    """Run a slash command as `user` and return its reply as text (content and embeds)."""
    handle = await emu.send_command(name, options or {}, user=user, guild=guild, channel=channel)
    return str(await handle.wait_reply(timeout=within))


def announcements(emu: DiscordEmulator, channel_id: int) -> list[dict[str, Any]]:
    """The bot's public messages in a channel (command replies here are all ephemeral)."""
    return [
        m
        for m in emu.channel_messages(channel_id, include_ephemeral=False)
        if int(m["author"]["id"]) == emu.bot_user_id
    ]


def titles(emu: DiscordEmulator, channel_id: int) -> list[str]:
    """The titles of a channel's announcements, oldest first."""
    return [str(m["embeds"][0]["title"]) for m in announcements(emu, channel_id) if m["embeds"]]


def sent_requests(emu: DiscordEmulator) -> list[tuple[str, str, int]]:
    """What the bots changed in Discord, for a failure message."""
    return [(r.method, r.path, r.status) for r in emu.requests if r.method != "GET"]
