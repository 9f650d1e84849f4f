"""The launcher as a user runs it: `corpus-bot run` in its own process, and the sandbox prompt."""

from __future__ import annotations

import asyncio
import os
import signal
import sqlite3
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.cli import main
from bot.discord_app import sandbox
from bot.emulator import DiscordEmulator
from tests.conftest import REPO

MELTDOWN = "lessons-from-meltdown-and-spectre"


def test_run_without_a_token_says_how_to_set_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("DISCORD_TOKEN", raising=False)
    assert main(["--corpus", str(REPO / "corpus"), "run"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "export DISCORD_TOKEN=" in err


async def test_run_serves_commands_and_stops_cleanly_on_sigterm(
    emulator: DiscordEmulator, tmp_path: Path, corpus_dir: Path
) -> None:
    guild = emulator.add_guild("Launch")
    channel = emulator.add_channel(guild.id, "general")
    user = emulator.add_user("reader")
    emulator.add_member(guild.id, user.id)
    env = {
        **os.environ,
        **emulator.bot_environment(),
        "CORPUS_BOT_DATA_DIR": str(tmp_path / "data"),
    }
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "--corpus", str(corpus_dir), "run",
        cwd=tmp_path, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )
    try:
        await emulator.wait_for_gateway(timeout=30)
        await emulator.wait_for_commands(timeout=30)
        handle = await emulator.send_command("post", {"post": "meltdown"}, user=user.id, guild=guild.id, channel=channel.id)
        reply = await handle.wait_reply(timeout=15)
        assert reply["embeds"][0]["footer"]["text"].endswith(f"id {MELTDOWN}")
        process.send_signal(signal.SIGTERM)
        output, _ = await asyncio.wait_for(process.communicate(), timeout=30)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    assert process.returncode == 0, output.decode(errors="replace")[-2000:]
    assert b"Traceback" not in output
    db = tmp_path / "data" / "corpus.db"
    conn = sqlite3.connect(db)
    try:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert conn.execute("SELECT count(*) FROM documents").fetchone()[0] == 11
    finally:
        conn.close()
    assert emulator.problems == []


def _scripted(lines: list[str]) -> Iterator[str]:
    yield from lines


async def test_sandbox_prompt_answers_typed_commands(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from bot.config import load_config
    from bot.corpus.service import ServiceSettings

    typed = _scripted(["/summarize post: meltdown length: 2", "/author name: claire", "quit"])

    async def read_line(prompt: str) -> str | None:
        return next(typed, None)

    monkeypatch.setattr(sandbox, "_read_line", read_line)
    monkeypatch.chdir(tmp_path)
    config = load_config(None, env={}, cwd=tmp_path)
    settings = ServiceSettings(db_path=tmp_path / "data" / "corpus.db", corpus_dir=REPO / "corpus")
    assert await sandbox.run_sandbox(config, settings) == 0
    out = capsys.readouterr().out
    assert "Summary: sentences quoted from the text" in out
    assert "AI is by no means the first field" in out
    assert "2 authors match 'claire'" in out
    assert (tmp_path / "data" / "sandbox.db").exists() and not (tmp_path / "data" / "corpus.db").exists()
