"""The launcher as a user runs it: `corpus-bot run` in its own process, and the sandbox prompt."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import socket
import sqlite3
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.cli import main
from bot.corpus.service import CorpusService, ServiceSettings
from bot.discord_app import sandbox
from discord_emulator import DiscordEmulator
from tests.conftest import REPO, write_doc

MELTDOWN = "lessons-from-meltdown-and-spectre"


def test_run_without_a_token_says_how_to_set_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("DISCORD_TOKEN", raising=False)
    # `run` sets up discord.py's logging on the root logger, to this test's captured stderr: undo
    # it after, or later tests' log lines go to a closed stream ("--- Logging error ---").
    root = logging.getLogger()
    monkeypatch.setattr(root, "handlers", list(root.handlers))
    monkeypatch.setattr(root, "level", root.level)
    assert main(["--corpus", str(REPO / "corpus"), "run"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "export DISCORD_TOKEN=" in err


async def test_run_serves_commands_and_stops_cleanly_on_sigterm(
    emulator: DiscordEmulator, tmp_path: Path, corpus_dir: Path
) -> None:
    output = await _run_post_meltdown_and_stop(emulator, tmp_path, corpus_dir)
    assert b"Traceback" not in output
    db = tmp_path / "data" / "corpus.db"
    conn = sqlite3.connect(db)
    try:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert conn.execute("SELECT count(*) FROM documents").fetchone()[0] == 11
    finally:
        conn.close()
    assert emulator.problems == []


async def _run_post_meltdown_and_stop(
    emulator: DiscordEmulator, tmp_path: Path, corpus_dir: Path
) -> bytes:
    """Start `corpus-bot run` in its own process against the emulator, ask `/post meltdown`,
    check the answer, stop it with SIGTERM and return what it printed (it must exit 0)."""
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
        waiting = asyncio.ensure_future(emulator.wait_for_gateway(timeout=30))
        exited = asyncio.ensure_future(process.wait())
        await asyncio.wait({waiting, exited}, return_when=asyncio.FIRST_COMPLETED)
        if exited.done():
            waiting.cancel()
            output = await process.stdout.read() if process.stdout else b""
            raise AssertionError(
                "the bot did not start:\n" + output.decode(errors="replace")[-2000:]
            )
        exited.cancel()
        await waiting
        await emulator.wait_for_commands(timeout=30)
        handle = await emulator.send_command(
            "post", {"post": "meltdown"}, user=user.id, guild=guild.id, channel=channel.id
        )
        reply = await handle.wait_reply(timeout=15)
        assert reply["embeds"][0]["footer"]["text"].endswith(f"id {MELTDOWN}")
        process.send_signal(signal.SIGTERM)
        output, _ = await asyncio.wait_for(process.communicate(), timeout=30)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    assert process.returncode == 0, output.decode(errors="replace")[-2000:]
    return output


async def test_run_with_a_hostile_corpus_file_serves_the_last_good_index_and_logs_the_problem(
    emulator: DiscordEmulator, tmp_path: Path, corpus_dir: Path
) -> None:
    service = await CorpusService.open(
        ServiceSettings(db_path=tmp_path / "data" / "corpus.db", corpus_dir=corpus_dir)
    )
    await service.reload()  # the last good index
    await service.close()
    write_doc(
        corpus_dir,
        "99-hostile.md",
        front=f"id: hostile\nauthors: []\nkind: post\nexcerpt: false\nnote: {'9' * 5000}",
    )
    (corpus_dir / "98-deep.md").write_text(
        "---\nid: deep\nnote: " + "[" * 900 + "]" * 900 + "\n---\nbody\n", encoding="utf-8"
    )

    output = await _run_post_meltdown_and_stop(emulator, tmp_path, corpus_dir)

    text = output.decode(errors="replace")
    assert "the corpus has problems; serving the last good index" in text
    assert (
        "99-hostile.md:6: front matter is not valid YAML: the number 99999999999999999... has too many digits"
        in text
    )
    assert "98-deep.md:3: front matter is nested more than 20 levels deep" in text
    assert "Traceback" not in text


def _scripted(lines: list[str]) -> Iterator[str]:
    yield from lines


async def test_sandbox_prompt_answers_typed_commands(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from bot.config import load_config

    typed = _scripted(["/summarize post: meltdown length: 2", "/author name: claire", "quit"])

    async def read_line(reader: sandbox.LineReader, prompt: str) -> str | None:
        return next(typed, None)

    monkeypatch.setattr(sandbox.LineReader, "read", read_line)
    monkeypatch.chdir(tmp_path)
    config = load_config(None, env={}, cwd=tmp_path)
    settings = ServiceSettings(db_path=tmp_path / "data" / "corpus.db", corpus_dir=REPO / "corpus")
    assert await sandbox.run_sandbox(config, settings) == 0
    out = capsys.readouterr().out
    assert "Summary: sentences quoted from the text" in out
    assert "AI is by no means the first field" in out
    assert "2 authors match 'claire'" in out
    assert (tmp_path / "data" / "sandbox.db").exists() and not (
        tmp_path / "data" / "corpus.db"
    ).exists()


async def _run_cli(args: list[str], env: dict[str, str], cwd: Path) -> tuple[int, str]:
    """`python -m bot ARGS` as its own process; (exit status, stderr)."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        *args,
        cwd=cwd,
        env={**os.environ, **env},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        _, err = await asyncio.wait_for(process.communicate(), timeout=60)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    assert process.returncode is not None
    return process.returncode, err.decode(errors="replace")


def _closed_port() -> int:
    """A loopback port nothing listens on: connecting is refused at once."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.mark.parametrize("command", [["run"], ["sync"]])
async def test_discord_out_of_reach_is_one_line_and_exit_4(
    tmp_path: Path, corpus_dir: Path, command: list[str]
) -> None:
    base = f"http://127.0.0.1:{_closed_port()}/api/v10"
    env = {
        "DISCORD_TOKEN": "a-token",
        "DISCORD_API_BASE": base,
        "CORPUS_BOT_DATA_DIR": str(tmp_path / "data"),
    }
    code, err = await _run_cli(["--corpus", str(corpus_dir), *command], env, tmp_path)
    assert code == 4, err
    assert "Traceback" not in err
    ours = [line for line in err.splitlines() if line.startswith("corpus-bot:")]
    assert ours == [err.splitlines()[-1]]
    assert ours[0].startswith(
        f"corpus-bot: cannot reach Discord at {base} (Cannot connect to host 127.0.0.1:"
    )
    assert ours[0].endswith(
        "check the network connection (and DISCORD_API_BASE / DISCORD_GATEWAY_URL if set), then try again"
    )


@pytest.mark.parametrize("command", [["run"], ["sync"]])
async def test_a_token_discord_refuses_is_one_line_and_exit_2(
    emulator: DiscordEmulator, tmp_path: Path, corpus_dir: Path, command: list[str]
) -> None:
    env = {
        **emulator.bot_environment(),
        "DISCORD_TOKEN": "not-the-bot-token",
        "CORPUS_BOT_DATA_DIR": str(tmp_path / "data"),
    }
    code, err = await _run_cli(["--corpus", str(corpus_dir), *command], env, tmp_path)
    assert code == 2, err
    assert "Traceback" not in err
    assert err.splitlines()[-1] == (
        "corpus-bot: Discord refused the token in DISCORD_TOKEN (401 Unauthorized): copy the bot's token "
        "again from https://discord.com/developers/applications (Bot tab), then try again"
    )
    assert "not-the-bot-token" not in err
    assert emulator.problems == []


def test_login_faults_are_mapped_and_bugs_are_not() -> None:
    """Below the process tests: a DNS failure (which a test cannot cause without a resolver),
    Discord's 5xx after discord.py's retries, and an error that is not about reaching Discord."""
    from unittest import mock

    import aiohttp
    import discord

    from bot.discord_app.errors import DiscordUnreachable, login_fault

    key = mock.Mock(host="discord.com", port=443, ssl=True)
    dns = aiohttp.ClientConnectorDNSError(key, OSError(-2, "Name or service not known"))
    fault = login_fault(dns, "https://discord.com/api/v10")
    assert isinstance(fault, DiscordUnreachable) and fault.kind == "network"
    assert (
        "cannot reach Discord at https://discord.com/api/v10 (Cannot connect to host discord.com:443"
        in fault.message
    )
    assert "Name or service not known" in fault.message
    down = discord.DiscordServerError(
        mock.Mock(status=503, reason="Service Unavailable"), "upstream"
    )
    assert (
        "(it answered 503 Service Unavailable)"
        in login_fault(down, "https://discord.com/api/v10").message
    )  # type: ignore[union-attr]
    assert login_fault(ValueError("a bug"), "https://discord.com/api/v10") is None


async def test_gateway_out_of_reach_at_start_is_one_line_and_exit_4(
    emulator: DiscordEmulator, tmp_path: Path, corpus_dir: Path
) -> None:
    """REST answers but the gateway refuses connections: discord.py then dies of an AttributeError
    (its issue #10520) instead of retrying; it is said as the gateway out of reach, exit 4."""
    gateway = f"ws://127.0.0.1:{_closed_port()}"
    env = {
        **emulator.bot_environment(),
        "DISCORD_GATEWAY_URL": gateway,
        "CORPUS_BOT_DATA_DIR": str(tmp_path / "data"),
    }
    code, err = await _run_cli(["--corpus", str(corpus_dir), "run"], env, tmp_path)
    assert code == 4, err
    assert "Traceback" not in err
    last = err.splitlines()[-1]
    assert last.startswith(
        f"corpus-bot: cannot reach Discord at its gateway {gateway} (Cannot connect to host"
    )


async def test_losing_discord_while_running_is_one_log_line_per_reconnect_attempt(
    emulator: DiscordEmulator, tmp_path: Path, corpus_dir: Path
) -> None:
    """Connected, then Discord goes away: discord.py retries by itself (right for a bot), and each
    attempt is one log line with its reason, not a 30-line traceback; SIGTERM still stops it."""
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
        "run",
        cwd=tmp_path,
        env=env,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )
    assert process.stderr is not None
    lines: list[str] = []
    try:
        await emulator.wait_for_gateway(timeout=30)
        await emulator.stop()
        while sum("Attempting a reconnect" in line for line in lines) < 2:
            line = await asyncio.wait_for(process.stderr.readline(), timeout=30)
            assert line, "the bot stopped: " + "".join(lines)
            lines.append(line.decode(errors="replace"))
        process.send_signal(signal.SIGTERM)
        rest, _ = await asyncio.wait_for(process.communicate(), timeout=30)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    output = "".join(lines) + (rest or b"").decode(errors="replace")
    assert process.returncode == 0, output
    assert "Traceback" not in output
    attempts = [line for line in lines if "Attempting a reconnect" in line]
    assert all("(Cannot connect to host 127.0.0.1:" in line for line in attempts), attempts


async def test_a_corpus_folder_that_cannot_be_read_at_start_leaves_the_index_served(
    tmp_path: Path,
    corpus_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    from bot.composition import open_service

    settings = ServiceSettings(db_path=tmp_path / "data" / "corpus.db", corpus_dir=corpus_dir)
    async with open_service(settings):
        pass  # the last good index

    async def unreadable(self: CorpusService) -> None:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(CorpusService, "reload", unreadable)
    async with open_service(settings) as opened:
        assert (await opened.service.post("meltdown")).ref.id == MELTDOWN
    (record,) = [r for r in caplog.records if r.levelname == "ERROR"]
    assert record.getMessage() == (
        "the corpus folder could not be read (PermissionError: [Errno 13] Permission denied); "
        "serving the last good index"
    )
    assert record.exc_info is None
