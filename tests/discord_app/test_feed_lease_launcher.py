"""The composition root with `storage: postgres` (bot/composition.py, open_service; bot/discord_app/launcher.py runs it), as
a user runs it: `corpus-bot run` in its own process against the emulator and a real PostgreSQL.

It opens one pool on the shared database (migrated), serves commands from its replica
(data_dir/replica.db), runs the feed's loops under the "feed" lease (which it names in
/feed status: host and pid) and gives the lease up when it stops. A database that cannot be used
is one line and an exit status, never a traceback or the password.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import sys
from pathlib import Path

import asyncpg
import discord

from bot.storage.postgres.lease import Lease
from bot.storage.postgres.schema import SCHEMA_VERSION
from discord_emulator import DiscordEmulator
from tests.conftest import HANG_GUARD_SECONDS
from tests.discord_app.test_launcher import MELTDOWN, _run_cli

MANAGE_CHANNELS = discord.Permissions(manage_channels=True).value


def postgres_config(folder: Path) -> Path:
    path = folder / "config.yaml"
    path.write_text("storage: postgres\n", encoding="utf-8")
    return path


async def test_run_on_postgres_answers_from_its_replica_and_runs_the_feed_under_the_lease(
    emulator: DiscordEmulator, postgres_dsn: str, tmp_path: Path, corpus_dir: Path
) -> None:
    guild = emulator.add_guild("Launch")
    channel = emulator.add_channel(guild.id, "general")
    mods = emulator.add_role(guild.id, "mods", permissions=MANAGE_CHANNELS)
    moderator = emulator.add_user("mod")
    emulator.add_member(guild.id, moderator.id, roles=[mods.id])
    postgres_config(tmp_path)
    env = {
        **os.environ,
        **emulator.bot_environment(),
        "CORPUS_BOT_DATA_DIR": str(tmp_path / "data"),
        "CORPUS_BOT_DATABASE_URL": postgres_dsn,
    }
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "--corpus",
        str(corpus_dir),
        "run",
        cwd=tmp_path,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    try:
        await emulator.wait_for_gateway(timeout=HANG_GUARD_SECONDS)
        await emulator.wait_for_commands(timeout=HANG_GUARD_SECONDS)
        handle = await emulator.send_command(
            "post", {"post": "meltdown"}, user=moderator.id, guild=guild.id, channel=channel.id
        )
        reply = await handle.wait_reply(timeout=15)
        assert reply["embeds"][0]["footer"]["text"].endswith(f"id {MELTDOWN}")

        handle = await emulator.send_command(
            "feed status", {}, user=moderator.id, guild=guild.id, channel=channel.id
        )
        reply = await handle.wait_reply(timeout=15)
        assert reply["embeds"][0]["footer"]["text"] == (
            f"Polling and sending run in this process ({socket.gethostname()} pid {process.pid})."
        )
        assert await lease_holder(postgres_dsn) == f"{socket.gethostname()} pid {process.pid}"

        process.send_signal(signal.SIGTERM)
        output, _ = await asyncio.wait_for(process.communicate(), timeout=HANG_GUARD_SECONDS)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    text = output.decode(errors="replace")
    assert process.returncode == 0, text[-2000:]
    assert "Traceback" not in text
    assert (tmp_path / "data" / "replica.db").is_file()
    assert not (tmp_path / "data" / "corpus.db").exists()
    assert await lease_holder(postgres_dsn) is None, "the lease is given up on the way out"
    conn = await asyncpg.connect(postgres_dsn)
    try:
        assert await conn.fetchval("SELECT version FROM corpus_bot_schema") == SCHEMA_VERSION
    finally:
        await conn.close()
    assert emulator.problems == []


async def lease_holder(dsn: str) -> str | None:
    """Who holds the "feed" lease, asked of the server as another machine's process would."""
    other = Lease(dsn, "feed", label="another machine")
    try:
        return await other.holder()
    finally:
        await other.release()


async def test_a_database_out_of_reach_is_one_line_and_exit_3(
    tmp_path: Path, corpus_dir: Path
) -> None:
    postgres_config(tmp_path)
    env = {
        "DISCORD_TOKEN": "a-token",
        "CORPUS_BOT_DATA_DIR": str(tmp_path / "data"),
        "CORPUS_BOT_DATABASE_URL": (
            "postgresql://bot:pg-secret-pw@/corpus?host=/nonexistent-corpus-bot-socket"
        ),
    }
    code, err = await _run_cli(["--corpus", str(corpus_dir), "run"], env, tmp_path)
    assert code == 3, err
    assert "Traceback" not in err and "pg-secret-pw" not in err
    ours = [line for line in err.splitlines() if line.startswith("corpus-bot:")]
    assert len(ours) == 1 and ours == [err.splitlines()[-1]], err
    assert ours[0].startswith(
        "corpus-bot: the database at /nonexistent-corpus-bot-socket/corpus cannot be used"
    )


async def test_a_database_of_a_newer_corpus_bot_is_refused_in_one_line(
    postgres_dsn: str, tmp_path: Path, corpus_dir: Path
) -> None:
    conn = await asyncpg.connect(postgres_dsn)
    try:
        await conn.execute(
            "CREATE TABLE corpus_bot_schema (version integer NOT NULL);"
            "INSERT INTO corpus_bot_schema VALUES (999)"
        )
    finally:
        await conn.close()
    postgres_config(tmp_path)
    env = {
        "DISCORD_TOKEN": "a-token",
        "CORPUS_BOT_DATA_DIR": str(tmp_path / "data"),
        "CORPUS_BOT_DATABASE_URL": postgres_dsn,
    }
    code, err = await _run_cli(["--corpus", str(corpus_dir), "run"], env, tmp_path)
    assert code == 2, err
    assert "Traceback" not in err
    assert err.splitlines()[-1] == (
        f"corpus-bot: the database's schema is version 999, newer than this corpus-bot's "
        f"{SCHEMA_VERSION}: upgrade corpus-bot on this machine"
    )
