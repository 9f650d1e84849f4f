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

import shutil
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from discord_emulator import DiscordEmulator
from tests.conftest import write_doc
from tests.scale.processes import (
    BUNDLED_CORPUS,
    START_TIMEOUT,
    add_guilds,
    announcements,
    bot_launcher,
    command_reply,
    sent_requests,
    wait_until_connected,
)

SHARDS = 2
GUILDS_PER_SHARD = 2


@pytest.fixture
async def emu() -> AsyncIterator[DiscordEmulator]:
    async with DiscordEmulator() as emulator:
        yield emulator


def feed_state(db_path: Path) -> tuple[set[int], list[str]]:
    """The guilds with subscriptions in one process's database, and its outbox rows' states."""
    with sqlite3.connect(f"file:{db_path}?mode=ro", uri=True) as conn:
        guilds = {row[0] for row in conn.execute("SELECT guild_id FROM feed_subscriptions")}
        states = [row[0] for row in conn.execute("SELECT state FROM feed_outbox")]
    return guilds, states


async def test_two_processes_with_disjoint_shards_announce_each_entry_once_per_channel(
    emu: DiscordEmulator, tmp_path: Path
) -> None:
    guilds = add_guilds(emu, SHARDS, GUILDS_PER_SHARD)
    corpus = tmp_path / "corpus"
    shutil.copytree(BUNDLED_CORPUS, corpus)

    with bot_launcher(emu, tmp_path, corpus) as launcher:
        processes = [
            launcher.start(f"shard{shard}", shard_count=SHARDS, shard_ids=[shard])
            for shard in range(SHARDS)
        ]
        await wait_until_connected(emu, processes)
        await emu.wait_for_commands(timeout=START_TIMEOUT)
        sessions = {s.shard_id: s for s in emu.hub.live_sessions()}
        for guild in guilds:
            assert guild.guild_id in sessions[guild.shard(SHARDS)].guild_ids
            assert guild.guild_id not in sessions[1 - guild.shard(SHARDS)].guild_ids

        for guild in guilds:
            reply = await command_reply(
                emu,
                "subscribe",
                user=guild.moderator_id,
                guild=guild.guild_id,
                channel=guild.channel_id,
                within=20,
            )
            assert "Subscribed" in reply, reply

        # A fresh index's first corpus check records the corpus as it is and announces nothing
        # (the baseline). The poll loop makes it once the bot is ready; `/feed retry` makes it
        # now and answers only after it committed, so the new file below is new to the seen-set.
        # It re-reads the corpus, so it is for who may /reload: the owner.
        for shard in range(SHARDS):
            guild = next(g for g in guilds if g.shard(SHARDS) == shard)
            reply = await command_reply(
                emu,
                "feed retry",
                options={"source": "corpus"},
                user=guild.owner_id,
                guild=guild.guild_id,
                channel=guild.channel_id,
            )
            assert "Checked the corpus folder" in reply, reply

        write_doc(
            corpus,
            "12-sharded.md",
            front="id: sharded-entry\ntitle: Sharded Entry\n"
            "authors: [Shard Writer]\nkind: post\nexcerpt: false",
            body="One entry. Two processes.",
        )
        for shard in range(SHARDS):
            owner_guild = next(g for g in guilds if g.shard(SHARDS) == shard)
            reply = await command_reply(
                emu,
                "reload",
                user=owner_guild.owner_id,
                guild=owner_guild.guild_id,
                channel=owner_guild.channel_id,
            )
            # "1 added", unless the poll loop's first pass (just after ready) read the file first.
            assert "added" in reply, reply

        try:
            await emu.wait_for(
                lambda: all(announcements(emu, g.channel_id) for g in guilds),
                30,
                describe="an announcement in every subscribed channel",
            )
        except TimeoutError as exc:
            posted = [len(announcements(emu, g.channel_id)) for g in guilds]
            raise AssertionError(
                f"{exc}; requests: {sent_requests(emu)}; posted: {posted}\n{launcher.logs()}"
            ) from exc
        for process in processes:
            assert process.stop() == 0, process.log()

    for guild in guilds:
        (message,) = announcements(emu, guild.channel_id)
        assert message["embeds"][0]["title"] == "Sharded Entry"
    for process in processes:
        subscribed_guilds, outbox = feed_state(process.db_path)
        assert subscribed_guilds == {
            g.guild_id for g in guilds if g.shard(SHARDS) in process.shard_ids
        }
        assert outbox == ["sent"] * GUILDS_PER_SHARD, (
            "each process announced to its own subscriptions only"
        )
    assert emu.problems == [], emu.problems
