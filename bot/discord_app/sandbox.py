"""`corpus-bot sandbox [--web]`: try the real bot with no Discord account.

Starts the bundled Discord emulator on loopback, the real bot against it (same code and cogs
as `run`, the feed included), and either a terminal prompt or (`--web`) a page in the browser
that looks like a Discord server. Both front ends drive `discord_emulator.sandbox.SandboxSession`.

What the sandbox keeps apart from a real deployment:

* the corpus: a copy in `<data_dir>/sandbox-corpus/`, made on first launch, so the person may
  add or edit files (and `/reload`) without touching the repository's `corpus/` folder;
* the index: `<data_dir>/sandbox.db`, made anew at each launch. Each launch is a new emulated
  Discord (new server, channel and user ids), so what the last one stored about Discord
  (synced commands, feed subscriptions to channels that no longer exist) must not carry over;
* the network: feed sources of the config are dropped (the sandbox reaches nothing outside);
* the log: `<data_dir>/sandbox.log`, so it never lands in the middle of the prompt.

Ctrl-C (or end of input, or `quit`) leaves at once: the line reader never holds the process.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import shutil
import signal
import sys
import threading
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

from bot.composition import open_service
from bot.config import Config
from bot.corpus.service import ServiceSettings
from bot.discord_app.client import CorpusBot, create_bot
from discord_emulator import DiscordEmulator
from discord_emulator.console import complete_line, run_console
from discord_emulator.sandbox import SandboxSession, build_world

CORPUS_COPY = "sandbox-corpus"
LOG_NAME = "sandbox.log"
MAX_PORT = 65535
STARTUP_SECONDS = 30.0
EXIT_USAGE = 2
LINE_LIMIT = 1 << 20
DB_NAME = "sandbox.db"
BOT_NAME = "corpus-bot"
"""The bot's user name in the emulated server (the emulator's default is a generic "bot")."""


def prepare_corpus(source: Path, data_dir: Path) -> tuple[Path, bool]:
    """The sandbox's own copy of the corpus (made once; later launches keep the person's
    edits). Returns (the folder, whether it was just made)."""
    target = data_dir / CORPUS_COPY
    if target.is_dir():
        return target, False
    data_dir.mkdir(parents=True, exist_ok=True)
    partial = data_dir / (CORPUS_COPY + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    if source.is_dir():
        shutil.copytree(source, partial)
    else:
        partial.mkdir()
    partial.rename(target)  # a launch stopped mid-copy leaves no half corpus behind
    return target, True


def fresh_database(data_dir: Path) -> Path:
    """A new, empty index file for this launch (with its WAL and shared-memory files gone)."""
    path = data_dir / DB_NAME
    for suffix in ("", "-wal", "-shm", "-journal"):
        with contextlib.suppress(FileNotFoundError):
            Path(str(path) + suffix).unlink()
    return path


def banner(corpus: Path, copied: bool, url: str | None, log: Path) -> str:
    where = "copied to" if copied else "the copy in"
    lines = [
        "corpus-bot sandbox: the real bot, talking to a local Discord emulator.",
        f"Corpus: {where} {corpus} (add or edit files there, then /reload).",
        f"The bot's log: {log}",
    ]
    if url:
        lines.append(f"Open {url} in your browser. Ctrl-C stops the sandbox.")
    else:
        lines += [
            "Type a slash command, e.g. /summarize post: meltdown   /reasons topic: facial recognition",
            "Feeds: /subscribe channel: #announcements, add a file to the corpus, /reload.",
            "`help` lists everything, Tab completes, a ? at the end shows choices, `quit` leaves.",
        ]
    return "\n".join(lines)


async def run_sandbox(
    config: Config, settings: ServiceSettings, *, web: bool = False, port: int = 0
) -> int:
    """Run the sandbox until the person leaves; 0, or 2 with one line on stderr when it cannot
    start (the corpus cannot be copied, the port is taken, the bot does not come up)."""
    if not 0 <= port <= MAX_PORT:
        return _fail(f"--port {port}: a port is a number from 0 (any free port) to {MAX_PORT}")
    try:
        corpus, copied = prepare_corpus(settings.corpus_dir, config.data_dir)
        db_path = fresh_database(config.data_dir)
        log_path = config.data_dir / LOG_NAME
        log_file = logging.FileHandler(log_path, mode="w", encoding="utf-8")
    except OSError as exc:
        return _fail(f"cannot prepare the sandbox in {config.data_dir}: {exc.strerror or exc}")
    with _logging_to(log_file):
        return await _run(config, settings, corpus, copied, db_path, log_path, web, port)


async def _run(
    config: Config,
    settings: ServiceSettings,
    corpus: Path,
    copied: bool,
    db_path: Path,
    log_path: Path,
    web: bool,
    port: int,
) -> int:
    sandbox_config = replace(
        config,
        corpus_dir=corpus,
        discord=replace(config.discord, api_base=None, gateway_url=None, sync_on_start=True),
        feed=replace(config.feed, sources=()),
    )
    sandbox_settings = replace(settings, db_path=db_path, corpus_dir=corpus)
    emu = DiscordEmulator(bot_name=BOT_NAME)
    world = build_world(emu)
    session = SandboxSession(emu, world)
    if web:
        from discord_emulator.web import install_page

        install_page(emu, session, title=f"{BOT_NAME} sandbox")
    try:
        await emu.start(port=port)
    except OSError as exc:
        return _fail(f"cannot listen on 127.0.0.1:{port}: {exc.strerror or exc}")
    try:
        sandbox_config = replace(
            sandbox_config, discord=replace(sandbox_config.discord, token=emu.bot_token)
        )
        with emu.patch_discord_py():
            async with open_service(sandbox_settings) as opened:  # sqlite: a world of its own
                bot = create_bot(sandbox_config, opened.service, guild_ready_timeout=0.1)
                task = asyncio.create_task(bot.start(emu.bot_token))
                try:
                    problem = await _started(emu, session, bot, task)
                    if problem is not None:
                        return _fail(f"{problem} (the log: {log_path})")
                    url = f"http://127.0.0.1:{emu.port}/" if web else None
                    _say(banner(corpus, copied, url, log_path))
                    await _until_stopped(session, web)
                finally:
                    await bot.close()
                    with contextlib.suppress(Exception):  # its failure was already told
                        await task
    finally:
        await emu.stop()
    _say("Sandbox stopped.")
    return 0


async def _started(
    emu: DiscordEmulator, session: SandboxSession, bot: CorpusBot, task: asyncio.Task[None]
) -> str | None:
    """Wait until the bot is connected and synced; what went wrong if it never is."""
    ready = asyncio.ensure_future(bot.wait_until_ready())
    done, _ = await asyncio.wait(
        {ready, task}, timeout=STARTUP_SECONDS, return_when=asyncio.FIRST_COMPLETED
    )
    if ready not in done:
        ready.cancel()
        if task.done() and not task.cancelled() and task.exception() is not None:
            return f"the bot stopped while starting: {task.exception()}"
        return f"the bot was not ready after {STARTUP_SECONDS:g} s"
    try:
        await emu.wait_for(
            session.commands, STARTUP_SECONDS, describe="the bot to sync its commands"
        )
    except TimeoutError:
        return f"the bot synced no commands within {STARTUP_SECONDS:g} s"
    return None


def _fail(message: str) -> int:
    sys.stderr.write(f"corpus-bot sandbox: {message}\n")
    sys.stderr.flush()
    return EXIT_USAGE


async def _until_stopped(session: SandboxSession, web: bool) -> None:
    """Run the front end until quit, end of input, Ctrl-C or SIGTERM."""
    if web:
        runner: asyncio.Future[None] = asyncio.get_running_loop().create_future()
    else:
        runner = asyncio.ensure_future(_console(session, TerminalOutput()))
    with _cancel_on_signals(runner), contextlib.suppress(asyncio.CancelledError):
        await runner


async def _console(session: SandboxSession, output: TerminalOutput) -> None:
    with _terminal_restored(), _readline_completion(session):
        reader = LineReader(output)
        try:
            await run_console(session, input_fn=reader.read, output_fn=output, ansi=output.ansi)
        finally:
            reader.close()


@contextlib.contextmanager
def _logging_to(handler: logging.Handler) -> Iterator[None]:
    """The bot's log goes to a file while the sandbox runs: lines written to the terminal
    would land in the middle of the person's prompt. Other handlers (a test's) stay."""
    root = logging.getLogger()
    terminals = (sys.stderr, sys.stdout, sys.__stderr__, sys.__stdout__)
    moved = [
        h
        for h in root.handlers
        if type(h) is logging.StreamHandler and getattr(h, "stream", None) in terminals
    ]
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    for old in moved:
        root.removeHandler(old)
    root.addHandler(handler)
    try:
        yield
    finally:
        root.removeHandler(handler)
        handler.close()
        for old in moved:
            root.addHandler(old)


@contextlib.contextmanager
def _cancel_on_signals(task: asyncio.Future[None]) -> Iterator[None]:
    """Ctrl-C and SIGTERM end the front end at once (asyncio's default would raise
    KeyboardInterrupt wherever the loop happens to be, and wait for the input thread)."""
    loop = asyncio.get_running_loop()
    installed = []
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
            loop.add_signal_handler(sig, task.cancel)
            installed.append(sig)
    try:
        yield
    finally:
        for sig in installed:
            loop.remove_signal_handler(sig)


class TerminalOutput:
    """Prints a block of text; while the person is typing at a terminal, the block goes
    above their prompt and half-typed line, which are drawn again below it."""

    def __init__(self) -> None:
        self.tty = sys.stdout.isatty()
        self.ansi = (
            self.tty and os.environ.get("NO_COLOR") is None and os.environ.get("TERM") != "dumb"
        )
        self.prompt: str | None = None

    def __call__(self, text: str) -> None:
        if self.prompt is not None and self.tty:
            buffer = _readline_buffer()
            sys.stdout.write("\r\x1b[K" + text + "\n" + self.prompt + buffer)
        else:
            sys.stdout.write(text + "\n")
        sys.stdout.flush()


class LineReader:
    """Reads lines without holding the process: from a pipe through the event loop, from a
    terminal through `input()` (readline's editing and Tab) in a daemon thread, which the
    interpreter does not wait for when Ctrl-C ends the sandbox."""

    def __init__(self, output: TerminalOutput) -> None:
        self.output = output
        try:
            # input() edits with readline only when both ends are a terminal; otherwise it
            # reads through sys.stdin's buffer, whose lock a daemon thread would still hold
            # when the interpreter shuts down (a fatal error): such input goes through the loop.
            self.tty = sys.stdin.isatty() and sys.stdout.isatty()
        except (ValueError, AttributeError):  # no stdin at all
            self.tty = False
        self._stream: asyncio.StreamReader | None = None
        self._transport: asyncio.BaseTransport | None = None

    async def read(self, prompt: str) -> str | None:
        if self.tty:
            return await self._read_terminal(prompt)
        if self._stream is None and not await self._open_pipe():
            return await self._read_terminal(prompt)
        assert self._stream is not None
        try:
            line = await self._stream.readline()
        except ValueError:  # longer than the limit: asyncio dropped it; say so, read on
            self.output(f"error: a line longer than {LINE_LIMIT} bytes was ignored")
            return ""
        if not line:
            return None
        return line.decode("utf-8", errors="replace").rstrip("\r\n")

    async def _open_pipe(self) -> bool:
        loop = asyncio.get_running_loop()
        stream = asyncio.StreamReader(limit=LINE_LIMIT)
        try:
            # A duplicate of the descriptor: the transport closes its file at end of input.
            pipe = os.fdopen(os.dup(sys.stdin.fileno()), "rb", buffering=0)
        except (ValueError, OSError, AttributeError):
            return False
        try:
            transport, _ = await loop.connect_read_pipe(
                lambda: asyncio.StreamReaderProtocol(stream), pipe
            )
        except (ValueError, OSError):  # a regular file: not a pipe
            pipe.close()
            return False
        self._stream, self._transport = stream, transport
        return True

    async def _read_terminal(self, prompt: str) -> str | None:
        loop = asyncio.get_running_loop()
        done: asyncio.Future[str | None] = loop.create_future()

        def settle(value: str | None) -> None:
            if not done.done():
                done.set_result(value)

        def work() -> None:
            try:
                value: str | None = input(prompt)
            except (EOFError, KeyboardInterrupt, OSError, ValueError):
                value = None
            with contextlib.suppress(RuntimeError):  # the loop is gone: nobody waits any more
                loop.call_soon_threadsafe(settle, value)

        self.output.prompt = prompt
        threading.Thread(target=work, name="sandbox-input", daemon=True).start()
        try:
            return await done
        except asyncio.CancelledError:  # Ctrl-C at the prompt: end its line before leaving
            sys.stdout.write("\n")
            raise
        finally:
            self.output.prompt = None

    def close(self) -> None:
        if self._transport is not None:
            self._transport.close()


def _readline_buffer() -> str:
    try:
        import readline
    except ImportError:
        return ""
    return readline.get_line_buffer()


@contextlib.contextmanager
def _readline_completion(session: SandboxSession) -> Iterator[None]:
    """Tab completes console words, command and option names, choices, channels and roles."""
    if not sys.stdin.isatty():
        yield
        return
    try:
        import readline
    except ImportError:
        yield
        return
    matches: list[str] = []

    def complete(_text: str, state: int) -> str | None:
        nonlocal matches
        if state == 0:
            try:
                matches = complete_line(session, readline.get_line_buffer(), readline.get_begidx())
            except Exception:  # a completer that raises is silently dropped by readline
                matches = []
        return matches[state] if state < len(matches) else None

    old_completer, old_delims = readline.get_completer(), readline.get_completer_delims()
    readline.set_completer(complete)
    readline.set_completer_delims(" \t\n")
    binding = "bind ^I rl_complete" if "libedit" in (readline.__doc__ or "") else "tab: complete"
    readline.parse_and_bind(binding)
    try:
        yield
    finally:
        readline.set_completer(old_completer)
        readline.set_completer_delims(old_delims)


@contextlib.contextmanager
def _terminal_restored() -> Iterator[None]:
    """Leave the terminal as it was, even when Ctrl-C interrupts readline mid-line."""
    try:
        import termios

        fd = sys.stdin.fileno()
        saved = termios.tcgetattr(fd) if sys.stdin.isatty() else None
    except (ImportError, OSError, ValueError):
        saved = None
    try:
        yield
    finally:
        if saved is not None:
            with contextlib.suppress(OSError):
                termios.tcsetattr(fd, termios.TCSADRAIN, saved)


def _say(text: str) -> None:
    sys.stdout.write(text + "\n")
    sys.stdout.flush()
