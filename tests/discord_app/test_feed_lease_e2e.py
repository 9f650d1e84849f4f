"""The feed's loops run in one process at a time (issue #14, decision 6), end to end: two real
discord.py bots (shards 0 and 1 of 2) against the Discord emulator, sharing one real PostgreSQL
database for the "feed" lease, each following the same loopback feed with its own User-Agent,
so the feed server's log says which bot polled.

- Only the lease holder runs the poll, send and digest loops; the other contends.
- The holder's lease session is terminated (pg_terminate_backend, what a crash, an operator or a
  failover does): the holder stops its loops, the other takes over at its next attempt after the
  lock was freed (within `retry_s` + `grace`), and the first does not run its loops again while
  the second holds the lease.
- `/feed status` in either bot's server names the process that runs the loops.

Each bot keeps its own SQLite index here: which state lives in PostgreSQL is other work; the
lease is what these tests are about.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import discord

from bot.config import Config, DiscordConfig, FeedConfig, FeedSourceConfig
from bot.corpus.service import CorpusService, ServiceSettings
from bot.discord_app.client import CorpusBot
from bot.discord_app.exts import EXTENSIONS
from bot.discord_app.exts.feed import Feed
from bot.storage.postgres.lease import Lease, LeaseTiming
from discord_emulator import DiscordEmulator
from tests.conftest import HANG_GUARD_SECONDS, eventually, write_doc
from tests.discord_app import test_feed_e2e
from tests.discord_app.conftest import running_bot
from tests.discord_app.test_feed_e2e import FeedWorld
from tests.feeds.feed_world import FeedServer, Item, medium_rss, running_feed_server
from tests.storage.test_postgres_lease import terminate

fw = test_feed_e2e.fw
"""The feed's world of test_feed_e2e.py, as a fixture of this module too."""
TIMING = LeaseTiming(retry_s=0.1, check_s=0.5)
"""Shorter than the defaults so the test is quick (grace 1 s, twice the check); the behaviour
does not depend on them. A check gets 0.5 s to answer, enough on a loaded machine."""
ADA = "/ada.xml"
MANAGE_CHANNELS = discord.Permissions(manage_channels=True).value


class RecordedLease(Lease):
    """The real lease, recording when each attempt to take it started and what it got."""

    def __init__(self, dsn: str, label: str) -> None:
        super().__init__(dsn, "feed", TIMING, label=label)
        self.attempts: list[tuple[float, bool]] = []

    async def try_acquire(self) -> bool:
        started = time.monotonic()
        got = await super().try_acquire()
        self.attempts.append((started, got))
        return got


@dataclass
class Process:
    """One bot process of the two: its bot, its lease, its server (on its shard)."""

    name: str
    bot: CorpusBot
    lease: RecordedLease
    guild_id: int
    channel_id: int

    @property
    def loops_running(self) -> bool:
        cog = self.bot.get_cog("Feed")
        assert cog is not None and type(cog).__name__ == Feed.__name__
        return bool(cog.loops.running)  # type: ignore[attr-defined]

    @property
    def user_agent(self) -> str:
        return f"corpus-bot-test {self.name}"


def polls_by(feeds: FeedServer, process: Process) -> int:
    """How many times `process` fetched the feed (its poll loop's passes)."""
    return sum(
        1
        for path, headers in feeds.requests
        if path == ADA and headers.get("User-Agent") == process.user_agent
    )


async def feed_status_footer(emu: DiscordEmulator, process: Process, moderator_id: int) -> str:
    handle = await emu.send_command(
        "feed status",
        {},
        user=moderator_id,
        guild=process.guild_id,
        channel=process.channel_id,
    )
    reply = await handle.wait_reply(timeout=10)
    footer: Any = reply["embeds"][0].get("footer") or {}
    return str(footer.get("text", ""))


@contextlib.asynccontextmanager
async def two_processes(
    emu: DiscordEmulator, feeds: FeedServer, dsn: str, tmp_path: Path, corpus_dir: Path
) -> AsyncIterator[tuple[Process, Process, int]]:
    """Bot "a" on shard 0, started first and holding the lease, then bot "b" on shard 1."""
    guilds: dict[int, tuple[int, int]] = {}  # shard -> (guild, channel)
    moderator = emu.add_user("mod")
    while len(guilds) < 2:
        guild = emu.add_guild(f"G{len(guilds)}")
        channel = emu.add_channel(guild.id, "general")
        mods = emu.add_role(guild.id, "mods", permissions=MANAGE_CHANNELS)
        emu.add_member(guild.id, moderator.id, roles=[mods.id])
        guilds.setdefault((guild.id >> 22) % 2, (guild.id, channel.id))
    async with contextlib.AsyncExitStack() as stack:
        processes: list[Process] = []
        for shard, name in enumerate(("a", "b")):
            settings = ServiceSettings(db_path=tmp_path / name / "corpus.db", corpus_dir=corpus_dir)
            service = await CorpusService.open(settings)
            stack.push_async_callback(service.close)
            await service.reload()
            config = Config(
                corpus_dir=corpus_dir,
                data_dir=tmp_path / name,
                discord=DiscordConfig(token=emu.bot_token, shard_count=2, shard_ids=(shard,)),
                feed=FeedConfig(
                    interval_seconds=1,
                    user_agent=f"corpus-bot-test {name}",
                    sources=(FeedSourceConfig("ada", feeds.url(ADA)),),
                ),
            )
            lease = RecordedLease(dsn, label=f"machine-{name} pid {100 + shard}")
            stack.push_async_callback(lease.release)
            bot = await stack.enter_async_context(
                running_bot(emu, config, service, extensions=EXTENSIONS, feed_lease=lease)
            )
            processes.append(Process(name, bot, lease, *guilds[shard]))
            if name == "a":  # "a" holds the lease before "b" contends
                await eventually(lambda: processes[0].lease.held, "a holds the lease")
        yield processes[0], processes[1], moderator.id


async def test_one_process_runs_the_loops_and_the_other_takes_over_when_its_session_ends(
    emulator: DiscordEmulator, postgres_dsn: str, tmp_path: Path, corpus_dir: Path
) -> None:
    emu = emulator
    async with running_feed_server() as feeds:
        feeds.serve(ADA, medium_rss([Item("a1", "Why Corpora Need Curators")]))
        async with two_processes(emu, feeds, postgres_dsn, tmp_path, corpus_dir) as (a, b, mod):
            # Only "a" polls, however many passes it makes while "b" is up and contending.
            start = polls_by(feeds, a)
            await eventually(lambda: polls_by(feeds, a) >= start + 3, "a polls")
            assert a.loops_running and a.lease.held
            assert not b.loops_running and not b.lease.held
            assert polls_by(feeds, b) == 0
            assert b.lease.attempts and not any(got for _, got in b.lease.attempts)
            assert await feed_status_footer(emu, a, mod) == (
                "Polling and sending run in this process (machine-a pid 100)."
            )
            assert await feed_status_footer(emu, b, mod) == (
                "Polling and sending run in another process (machine-a pid 100)."
            )

            # "a"'s lease session ends: it stops, "b" takes over.
            lost_at: list[float] = []

            async def note_loss() -> None:
                await a.lease.wait_lost()
                lost_at.append(time.monotonic())

            watcher = asyncio.create_task(note_loss())
            pid = a.lease.backend_pid
            assert pid is not None
            await terminate(postgres_dsn, pid)
            await asyncio.wait_for(watcher, HANG_GUARD_SECONDS)
            assert not a.loops_running, "a stops its loops as soon as it sees the loss"
            polls_by_a = polls_by(feeds, a)
            await eventually(lambda: b.loops_running, "b takes the loops over")
            # Within the bound: once "a"'s session was gone (so the lock was free), b's next
            # attempt took the lease; none was refused after that.
            assert not [got for at, got in b.lease.attempts if at > lost_at[0] and not got]
            await eventually(lambda: polls_by(feeds, b) >= 3, "b polls")

            # "a" contends again but never runs its loops while "b" holds the lease.
            assert polls_by(feeds, a) == polls_by_a
            assert not a.loops_running and not a.lease.held and b.lease.held
            assert a.lease.attempts[-1][1] is False, "a keeps asking, and is refused"
            assert await feed_status_footer(emu, a, mod) == (
                "Polling and sending run in another process (machine-b pid 101)."
            )
            assert await feed_status_footer(emu, b, mod) == (
                "Polling and sending run in this process (machine-b pid 101)."
            )
    assert emu.problems == [], emu.problems


async def test_documents_another_process_published_are_announced_by_the_holder(
    fw: FeedWorld,
) -> None:
    """Decision 7: a pull that brings documents published by another process's /reload tells
    the bot (`corpus_changed`), and the lease holder (here, with sqlite, always this process)
    announces them; nothing else would until the next poll pass, an hour away here."""
    await fw.reply("subscribe")
    write_doc(
        fw.corpus_dir,
        "12-elsewhere.md",
        front="id: published-elsewhere\ntitle: Published Elsewhere\nauthors: []\nkind: post\n"
        "excerpt: false",
    )
    assert fw.service is not None and fw.bot is not None
    await fw.service.reload()  # what a pull does to the replica: the documents change, no event
    assert fw.announcements(fw.general_id) == []
    fw.bot.dispatch("corpus_changed")
    await fw.wait_announced({fw.general_id: 1})
    (message,) = fw.announcements(fw.general_id)
    assert message["embeds"][0]["title"] == "Published Elsewhere"


async def test_the_holder_reports_a_pause_in_a_server_of_another_shard(
    emulator: DiscordEmulator, tmp_path: Path, corpus_dir: Path, service: CorpusService
) -> None:
    """The lease holder runs the loops for every shard's servers: a pause in a server its own
    shards do not serve (so not in its cache) is still told in that server's system channel,
    looked up over REST, with the same permission check."""
    emu = emulator
    elsewhere = emu.add_guild("G0")
    while (elsewhere.id >> 22) % 2 != 1:  # a server of shard 1; this bot runs shard 0 only
        elsewhere = emu.add_guild(f"G{elsewhere.id}")
    news = emu.add_channel(elsewhere.id, "news")
    mod_log = emu.add_channel(elsewhere.id, "mod-log")
    emu.set_system_channel(elsewhere.id, mod_log.id)
    config = Config(
        corpus_dir=corpus_dir,
        data_dir=tmp_path / "data",
        discord=DiscordConfig(token=emu.bot_token, shard_count=2, shard_ids=(0,)),
    )
    async with running_bot(emu, config, service, extensions=EXTENSIONS) as bot:
        assert bot.get_guild(elsewhere.id) is None, "not in this process's cache"
        cog: Any = bot.get_cog("Feed")
        store, now = cog.feed.store, cog.feed.clock()
        sub, _ = await store.subscribe(
            guild_id=elsewhere.id,
            channel_id=news.id,
            source=None,
            author=None,
            keyword=None,
            mention_role_id=None,
            mode="instant",
            digest_minute=None,
            created_by=1,
            now=now,
        )
        await store.pause(sub.id, "channel_missing", "Unknown Channel", now)
        await cog.loops.report_pauses()
        await cog.loops.report_pauses()  # told once
        notices = [
            m for m in emu.channel_messages(mod_log.id) if m["author"]["id"] == str(emu.bot_user_id)
        ]
        assert len(notices) == 1
        assert notices[0]["content"].startswith(f"The feed subscription of <#{news.id}> is paused")
        assert await store.unreported_pauses() == []
    assert emu.problems == [], emu.problems
