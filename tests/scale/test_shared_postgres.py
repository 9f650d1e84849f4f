"""Three bot processes on one PostgreSQL announce each entry once per channel, through a crash of
the process running the feed's loops and a change of shard count (issue #14).

The deployment of issue #14, on one machine: three real `corpus-bot run` processes (shards 0, 1
and 2 of 3), each configured with `storage: postgres` and the database URL in
CORPUS_BOT_DATABASE_URL (one PostgreSQL started by the tests, tests/postgres_server.py), each
with its own data dir (its SQLite replica of the documents), all reading one corpus folder and
pointed at one emulator. PostgreSQL holds every subscription, the seen-sets and the outbox; the
poll, send and digest loops run in one process at a time, the holder of the "feed" lease (a
session advisory lock, bot/storage/postgres/lease.py).

1. Channels in guilds of every shard subscribe (`/subscribe` reaches the process of the guild's
   shard; the subscription lands in PostgreSQL).
2. A new corpus file, `/reload` in one guild: that process publishes the document, every process
   pulls it, the lease holder detects the entry and fans it out. The emulator's global rate
   limit is lowered for the fan-out so that it takes seconds, and the lease holder (found in
   PostgreSQL: the session holding the lease's advisory lock) is killed with SIGKILL once the
   first announcement is posted: its pending rows, and any row it posted without recording it,
   are the next holder's to finish. Every subscribed channel must then hold the entry exactly
   once (counted in the emulator after every process stopped, so no late duplicate escapes).
3. Everything stops; two processes start with `shard_count: 2` on the same database (new data
   dirs: their replicas fill from PostgreSQL). A second entry must reach every channel once:
   no subscription belongs to a shard.

The holder is the process whose database session holds the lease's advisory lock (pg_locks): its
session's application_name names it (the DSN's, which names each process, or a "pid N" label the
lease may set), and the lease's own log line ("lease 'feed' taken (session PID)") says it too.
"""

from __future__ import annotations

import asyncio
import re
import shutil
from collections.abc import AsyncIterator, Sequence
from pathlib import Path

import asyncpg
import pytest

from bot.storage.postgres.lease import lock_key
from discord_emulator import DiscordEmulator
from tests.conftest import write_doc
from tests.scale.processes import (
    BUNDLED_CORPUS,
    START_TIMEOUT,
    BotLauncher,
    BotProcess,
    ShardedGuild,
    add_guilds,
    bot_launcher,
    command_reply,
    postgres_environment,
    sent_requests,
    titles,
    wait_until_connected,
)

SHARDS = 3
SHARDS_AFTER = 2
CHANNELS_PER_GUILD = 8
FANOUT_RATE = 6
"""Requests a second the emulator allows while the first entry fans out (Discord allows 50): 24
posts then take about 4 s, long enough to kill the sender in the middle. Above the sender's 4
posts in flight, so that a post never meets a full window twice in a row (discord.py gives up
after 5 tries)."""
DISCORD_RATE = 50
FEED_LEASE = "feed"
FIRST = "Shared Entry"
SECOND = "Second Entry"


@pytest.fixture
async def emu() -> AsyncIterator[DiscordEmulator]:
    async with DiscordEmulator() as emulator:
        yield emulator


def start_bots(launcher: BotLauncher, dsn: str, shard_count: int, prefix: str) -> list[BotProcess]:
    return [
        launcher.start(
            f"{prefix}{shard}",
            shard_count=shard_count,
            shard_ids=[shard],
            storage="postgres",
            env=postgres_environment(dsn, f"{prefix}{shard}"),
        )
        for shard in range(shard_count)
    ]


async def lease_holder(dsn: str, processes: Sequence[BotProcess]) -> BotProcess | None:
    """The process whose session holds the feed lease's advisory lock, or None when none does."""
    key = lock_key(FEED_LEASE) & (2**64 - 1)  # pg_locks shows a bigint key as two oids
    conn = await asyncpg.connect(dsn)
    try:
        rows = await conn.fetch(
            "SELECT l.pid, a.application_name FROM pg_locks l "
            "JOIN pg_stat_activity a ON a.pid = l.pid "
            "WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1 "
            "AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database()) "
            "AND l.classid::bigint = $1 AND l.objid::bigint = $2",
            key >> 32,
            key & 0xFFFFFFFF,
        )
    finally:
        await conn.close()
    for row in rows:
        session_name = row["application_name"] or ""
        for process in processes:
            taken = re.findall(rf"lease '{FEED_LEASE}' taken \(session (\d+)\)", process.full_log())
            if (
                session_name == process.name
                or re.search(rf"\bpid {process.proc.pid}\b", session_name)
                or str(row["pid"]) in taken
            ):
                return process
    return None


async def find_lease_holder(dsn: str, processes: Sequence[BotProcess]) -> BotProcess:
    for _ in range(100):  # 10 s at most: a takeover may be under way
        holder = await lease_holder(dsn, processes)
        if holder is not None and holder.alive:
            return holder
        await asyncio.sleep(0.1)
    raise AssertionError(f"no live process holds the {FEED_LEASE!r} lease")


async def reload_in(emu: DiscordEmulator, guild: ShardedGuild, launcher: BotLauncher) -> str:
    """`/reload` by the guild's owner; the reply (the diff, or "no changes" when another process
    had already published the file). Without one, the bots' logs say why."""
    try:
        return await command_reply(
            emu, "reload", user=guild.owner_id, guild=guild.guild_id, channel=guild.channel_id
        )
    except TimeoutError as exc:
        raise AssertionError(f"{exc}\n{launcher.logs()}") from exc


async def wait_for_entry(
    emu: DiscordEmulator, channels: Sequence[int], title: str, launcher: BotLauncher
) -> None:
    try:
        await emu.wait_for(
            lambda: all(title in titles(emu, c) for c in channels),
            45,
            describe=f"{title!r} announced in every subscribed channel",
        )
    except TimeoutError as exc:
        posted = {c: titles(emu, c) for c in channels}
        raise AssertionError(
            f"{exc}; posted: {posted}; requests: {sent_requests(emu)[-40:]}\n{launcher.logs()}"
        ) from exc


async def test_three_processes_on_one_database_announce_once_through_a_crash_and_a_reshard(
    emu: DiscordEmulator, postgres_dsn: str, tmp_path: Path
) -> None:
    guilds = add_guilds(emu, SHARDS, 1, channels_per_guild=CHANNELS_PER_GUILD)
    channels = [c for g in guilds for c in g.channel_ids]
    corpus = tmp_path / "corpus"
    shutil.copytree(BUNDLED_CORPUS, corpus)

    with bot_launcher(emu, tmp_path, corpus) as launcher:
        processes = start_bots(launcher, postgres_dsn, SHARDS, "shard")
        await wait_until_connected(emu, processes)
        await emu.wait_for_commands(timeout=START_TIMEOUT)

        for guild in guilds:
            for channel in guild.channel_ids:
                reply = await command_reply(
                    emu, "subscribe", user=guild.moderator_id, guild=guild.guild_id, channel=channel
                )
                assert "Subscribed" in reply, reply
        # The feed's first corpus check records the corpus as it is (the baseline): made now, in
        # whichever process this guild's shard is, it lands in the shared seen-set.
        reply = await command_reply(
            emu,
            "feed retry",
            options={"source": "corpus"},
            user=guilds[0].owner_id,
            guild=guilds[0].guild_id,
            channel=guilds[0].channel_id,
        )
        assert "Checked the corpus folder" in reply, reply

        emu.enable_rate_limits((), global_limit=FANOUT_RATE, global_window=1.0)
        write_doc(
            corpus,
            "12-shared.md",
            front=f"id: shared-entry\ntitle: {FIRST}\nauthors: [Pool Writer]\nkind: post\n"
            "excerpt: false",
            body="One entry. Three processes. One database.",
        )
        await reload_in(emu, guilds[1], launcher)
        await emu.wait_for(
            lambda: any(FIRST in titles(emu, c) for c in channels),
            45,
            describe=f"the first announcement of {FIRST!r}",
        )
        holder = await find_lease_holder(postgres_dsn, processes)
        holder.kill()
        done_at_crash = sum(FIRST in titles(emu, c) for c in channels)
        assert done_at_crash < len(channels), "the fan-out ended before the crash: nothing tested"
        emu.enable_rate_limits((), global_limit=DISCORD_RATE, global_window=1.0)

        survivors = [p for p in processes if p is not holder]
        await wait_for_entry(emu, channels, FIRST, launcher)
        successor = await find_lease_holder(postgres_dsn, survivors)
        assert successor is not holder
        for process in survivors:
            assert process.stop() == 0, process.log()
        assert {c: titles(emu, c) for c in channels} == {c: [FIRST] for c in channels}, (
            f"{done_at_crash} channels were announced when {holder.name} was killed"
        )

        # Two shards now, on the same database: every subscription is still served.
        processes = start_bots(launcher, postgres_dsn, SHARDS_AFTER, "reshard")
        await wait_until_connected(emu, processes)
        write_doc(
            corpus,
            "13-second.md",
            front=f"id: second-entry\ntitle: {SECOND}\nauthors: [Pool Writer]\nkind: post\n"
            "excerpt: false",
            body="Two shards now. Every subscription still served.",
        )
        await reload_in(emu, guilds[2], launcher)
        await wait_for_entry(emu, channels, SECOND, launcher)
        for process in processes:
            assert process.stop() == 0, process.log()

    assert {c: titles(emu, c) for c in channels} == {c: [FIRST, SECOND] for c in channels}
    assert emu.problems == [], emu.problems
