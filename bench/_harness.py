"""Shared pieces of the benchmarks of the bot itself: bench_commands, bench_event_loop, bench_memory.

Why the bot runs as a separate process: the emulator (Discord's side) lives in the benchmark's
process and the bot in its own, started with `python -m bot run` and pointed at the emulator by
DISCORD_API_BASE / DISCORD_GATEWAY_URL / DISCORD_TOKEN, exactly as a deployment starts it. So
the emulator's work (building interactions, validating every request body against Discord's
OpenAPI description) never runs on the bot's event loop, a latency is timed by a clock the bot
does not share, and the bot's memory is that of a process holding nothing but the bot.

Two things a plain `python -m bot run` cannot do are added by `python bench/_harness.py
bot-child [--probe FILE] [--profile-dir DIR] -- <corpus-bot arguments>`, which runs the same
`bot.cli.main` with:

- an event-loop probe (`--probe`): a task that sleeps 5 ms in a loop and records how late it
  wakes, and a watchdog thread that, whenever the loop has not ticked for 50 ms, samples the loop
  thread's Python stack, which names the function blocking it. Written as JSON at exit.
- a profiler switched by signals (`--profile-dir`): SIGUSR1 starts cProfile on the loop thread
  and on the index's reader threads, SIGUSR2 stops them and writes `DIR/profile-N.prof` and
  `DIR/reader-profile-N-K.prof` (one per reader thread).

Timestamps are `time.monotonic()`, one clock (CLOCK_MONOTONIC) for every process on the machine,
so the benchmark can cut the probe's records into the windows it measured.
"""

from __future__ import annotations

import argparse
import asyncio
import atexit
import contextlib
import json
import os
import platform
import random
import re
import shlex
import signal
import sqlite3
import subprocess
import sys
import threading
import time
import traceback
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:  # run as `python bench/<script>.py`
    sys.path.insert(0, str(REPO))

BUNDLED_CORPUS = REPO / "corpus"
DEFAULT_WORK = Path("/tmp/corpus-bot-bench")
DISCORD_DEADLINE_S = 3.0
"""Discord's deadline for acknowledging an interaction."""
MANAGE_GUILD = 1 << 5


# --- printing ---------------------------------------------------------------------------------


@dataclass
class Report:
    """Prints each line as it comes and keeps them, to save the whole report at the end."""

    lines: list[str] = field(default_factory=list)

    def __call__(self, line: str = "") -> None:
        self.lines.append(line)
        print(line, flush=True)

    def save(self, path: Path) -> None:
        path.write_text("\n".join(self.lines) + "\n", encoding="utf-8")


def percentile(sorted_values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile of an ascending list (q in 0..100)."""
    if not sorted_values:
        return float("nan")
    rank = max(1, min(len(sorted_values), round(q / 100 * len(sorted_values) + 0.5)))
    return sorted_values[rank - 1]


def verdict(ok: bool) -> str:
    return "ok" if ok else "MISSED"


def invocation() -> str:
    """The command as typed, for the report (run from the repository root)."""
    script = Path(sys.argv[0])
    with contextlib.suppress(ValueError):
        script = script.resolve().relative_to(REPO)
    return shlex.join([".venv/bin/python", str(script), *sys.argv[1:]])


def machine_lines() -> list[str]:
    import aiosqlite
    import discord

    cpu = "unknown CPU"
    with contextlib.suppress(OSError):
        for line in (
            Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace").splitlines()
        ):
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    usable = len(os.sched_getaffinity(0))
    ram = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return [
        f"CPU      {cpu}, {os.cpu_count()} cores ({usable} usable), {ram:.1f} GiB RAM",
        f"OS       {platform.system()} {platform.release()} {platform.machine()}",
        f"Python   {platform.python_version()} ({platform.python_implementation()}); "
        f"discord.py {discord.__version__}; aiosqlite {aiosqlite.__version__}",
        f"SQLite   {sqlite3.sqlite_version}",
        f"Code     {git_state()}",
        f"Load     {load_note('when the run started')}",
    ]


def load_note(when: str) -> str:
    """The machine's load average: above the number of cores, other work shared the CPUs."""
    one, five, fifteen = os.getloadavg()
    return f"average {one:.2f} {five:.2f} {fifteen:.2f} (1, 5, 15 min) {when}, on {os.cpu_count()} cores"


def git_state() -> str:
    """The commit measured, and whether the bot's code had uncommitted changes."""
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=REPO,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--", "bot"],
            cwd=REPO,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.split("\n")
    except (OSError, subprocess.CalledProcessError):
        return "not a git checkout"
    changed = [line for line in dirty if line.strip()]
    return f"commit {commit}" + (
        f" + {len(changed)} uncommitted file(s) under bot/" if changed else ""
    )


# --- the corpus and its index -----------------------------------------------------------------


@dataclass(frozen=True)
class CorpusChoice:
    label: str
    path: Path
    count: int
    note: str


def add_corpus_arguments(parser: argparse.ArgumentParser, *, default_count: int = 100_000) -> None:
    parser.add_argument("--count", type=int, default=default_count, help="synthetic documents")
    parser.add_argument(
        "--bundled", action="store_true", help="use the bundled corpus/ (11 documents) instead"
    )
    parser.add_argument(
        "--work",
        type=Path,
        default=DEFAULT_WORK,
        help=f"where corpora, indexes and logs are kept between runs (default {DEFAULT_WORK})",
    )
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--words-mean", type=int, default=800)
    parser.add_argument("--jobs", type=int, default=None, help="corpus generation processes")


def synthetic_corpus(
    work: Path, count: int, seed: int, words_mean: int, jobs: int | None
) -> CorpusChoice:
    """The synthetic corpus of bench/generate_corpus.py, generated once and reused."""
    from bench.generate_corpus import generate

    name = f"synthetic-n{count}-s{seed}-w{words_mean}"
    corpus = work / name
    marker = work / f"{name}.complete"
    if marker.exists() and corpus.is_dir():
        return CorpusChoice(f"{count:,} synthetic documents", corpus, count, f"reused {corpus}")
    marker.unlink(missing_ok=True)
    work.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    written = generate(corpus, count=count, seed=seed, words_mean=words_mean, jobs=jobs)
    marker.write_text(json.dumps({"count": count, "bytes": written}), encoding="utf-8")
    seconds = time.perf_counter() - started
    note = f"generated {corpus} ({written / 1e6:,.0f} MB) in {seconds:.0f} s"
    return CorpusChoice(f"{count:,} synthetic documents", corpus, count, note)


def choose_corpus(args: argparse.Namespace) -> CorpusChoice:
    if args.bundled:
        count = len(corpus_files(BUNDLED_CORPUS))
        return CorpusChoice(
            f"the bundled corpus ({count} documents)", BUNDLED_CORPUS, count, str(BUNDLED_CORPUS)
        )
    return synthetic_corpus(args.work, args.count, args.seed, args.words_mean, args.jobs)


def corpus_files(folder: Path) -> list[Path]:
    return sorted(
        p for p in folder.iterdir() if p.name.endswith(".md") and not p.name.startswith(".")
    )


def fill_folder(source: Path, live: Path) -> int:
    """Hard-link every document of `source` into `live` (instant, no copy, same bytes and mtime)."""
    files = corpus_files(source)
    for path in files:
        os.link(path, live / path.name)
    return len(files)


def empty_folder(live: Path) -> None:
    live.mkdir(parents=True, exist_ok=True)
    for path in live.glob("*.md"):
        path.unlink()


def index_path(work: Path, corpus: CorpusChoice) -> Path:
    return work / "db" / f"{corpus.path.name}.db"


def remove_database(path: Path) -> None:
    for suffix in ("", "-wal", "-shm", "-journal"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)


def database_mb(path: Path) -> float:
    return sum(p.stat().st_size for p in (path, Path(f"{path}-wal")) if p.exists()) / 1e6


async def prepare_index(corpus: Path, db_path: Path) -> str:
    """Build the index of `corpus` through the service (or bring a kept one up to date).

    Every run starts a new, empty emulator, which must see the commands synced: it does, since
    the index keys its sync fingerprints by application and API base (bot/discord_app/sync.py).
    """
    from bot.corpus.service import CorpusService, ServiceSettings

    existed = await asyncio.to_thread(db_path.exists)
    service = await CorpusService.open(ServiceSettings(db_path=db_path, corpus_dir=corpus))
    try:
        started = time.perf_counter()
        report = await service.reload()
        seconds = time.perf_counter() - started
        documents = (await service.stats()).documents
    finally:
        await service.close()
    if existed and not report.added_count:
        return (
            f"reused {db_path} ({documents:,} documents; reload with nothing new: {seconds:.1f} s)"
        )
    return f"built {db_path} ({documents:,} documents) in {seconds:.0f} s"


# --- the emulator's world ---------------------------------------------------------------------


@dataclass
class BenchWorld:
    """The emulator with one server, one channel, an admin, and many plain members.

    Every command is sent by a different member, so the bot's per-user cooldowns (3 uses of
    /search or /summarize per user per 10 s) never refuse one: the benchmarks time answers.
    """

    emu: Any  # discord_emulator.DiscordEmulator
    guild_id: int
    channel_id: int
    admin_id: int
    members: list[int]
    _next_member: int = 0

    def next_member(self) -> int:
        user = self.members[self._next_member % len(self.members)]
        self._next_member += 1
        return user


async def start_world(*, members: int, validate: bool = True) -> BenchWorld:
    from discord_emulator import DiscordEmulator

    emu = DiscordEmulator(validate_schema=validate)
    await emu.start()
    guild = emu.add_guild("bench server")
    channel = emu.add_channel(guild.id, "general")
    admins = emu.add_role(guild.id, "admins", permissions=MANAGE_GUILD)
    admin = emu.add_user("bench-admin")
    emu.add_member(guild.id, admin.id, roles=[admins.id])
    ids: list[int] = []
    for n in range(members):
        user = emu.add_user(f"member{n}")
        emu.add_member(guild.id, user.id)
        ids.append(user.id)
    return BenchWorld(emu, guild.id, channel.id, admin.id, ids)


# --- the bot's process ------------------------------------------------------------------------


@dataclass(frozen=True)
class ProcessMemory:
    rss_mb: float
    hwm_mb: float
    threads: int


@dataclass
class BotProcess:
    proc: subprocess.Popen[bytes]
    log_path: Path
    db_path: Path
    started: float

    @property
    def pid(self) -> int:
        return self.proc.pid

    def check_alive(self) -> None:
        if self.proc.poll() is not None:
            raise RuntimeError(
                f"the bot exited with status {self.proc.returncode}; the end of {self.log_path}:\n"
                + self.log_tail()
            )

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(
                self.log_path.read_text(encoding="utf-8", errors="replace").splitlines()[-lines:]
            )
        except OSError:
            return "(no log)"

    def memory(self) -> ProcessMemory:
        fields: dict[str, str] = {}
        with open(f"/proc/{self.pid}/status", encoding="ascii") as status:
            for line in status:
                key, _, value = line.partition(":")
                fields[key] = value.strip()
        return ProcessMemory(
            rss_mb=int(fields["VmRSS"].split()[0]) / 1024,
            hwm_mb=int(fields["VmHWM"].split()[0]) / 1024,
            threads=int(fields["Threads"]),
        )

    async def trim_report(self, report: Path, *, give_up_after: float = 30.0) -> dict[str, Any]:
        """Ask a bot started with `probed_bot(memory_report=…)` for a MemoryReporter line."""
        known = len(_lines_of(report))
        os.kill(self.pid, TRIM_SIGNAL)
        deadline = time.monotonic() + give_up_after
        while time.monotonic() < deadline:
            self.check_alive()
            lines = _lines_of(report)
            if len(lines) > known:
                return dict(json.loads(lines[-1]))
            await asyncio.sleep(0.1)
        raise TimeoutError("the bot wrote no memory report")

    def reset_peak(self) -> bool:
        """Reset VmHWM to the current VmRSS (Linux >= 4.0), to measure one phase's peak."""
        try:
            Path(f"/proc/{self.pid}/clear_refs").write_text("5", encoding="ascii")
        except OSError:
            return False
        return True

    def cpu_seconds(self) -> float:
        """User + system CPU time of every thread of the bot so far."""
        with open(f"/proc/{self.pid}/stat", encoding="ascii") as stat:
            after_name = stat.read().rsplit(")", 1)[1].split()
        ticks = os.sysconf("SC_CLK_TCK")
        return (int(after_name[11]) + int(after_name[12])) / ticks

    def open_database_files(self) -> int:
        """How many file descriptors the bot holds on its index file: one per SQLite connection."""
        target = str(self.db_path.resolve())
        count = 0
        for fd in Path(f"/proc/{self.pid}/fd").iterdir():
            with contextlib.suppress(OSError):
                if os.readlink(fd) == target:
                    count += 1
        return count

    async def wait_for_log(self, pattern: str, *, give_up_after: float) -> bool:
        """Poll the bot's log for a line matching `pattern` (a benchmark may poll)."""
        regex = re.compile(pattern)
        deadline = time.monotonic() + give_up_after
        while time.monotonic() < deadline:
            self.check_alive()
            with contextlib.suppress(OSError):
                if regex.search(self.log_path.read_text(encoding="utf-8", errors="replace")):
                    return True
            await asyncio.sleep(0.2)
        return False

    async def wait_idle(
        self, *, quiet: float = 1.5, busy_share: float = 0.1, give_up_after: float = 1200.0
    ) -> float:
        """Wait until the bot used under `busy_share` of one core for `quiet` seconds; returns when
        it went quiet (monotonic). Used after startup and after each phase, so a measured window
        does not overlap work left over from the previous one (the feed's first poll, a reload's
        aftermath)."""
        step = 0.25
        window: list[tuple[float, float]] = []
        deadline = time.monotonic() + give_up_after
        while time.monotonic() < deadline:
            self.check_alive()
            window.append((time.monotonic(), self.cpu_seconds()))
            while len(window) > 1 and window[-1][0] - window[1][0] >= quiet:
                window.pop(0)
            (t0, c0), (t1, c1) = window[0], window[-1]
            if t1 - t0 >= quiet and (c1 - c0) <= busy_share * (t1 - t0):
                return t0
            await asyncio.sleep(step)
        raise TimeoutError(f"the bot stayed busy for {give_up_after:.0f} s")

    async def stop(self, *, give_up_after: float = 60.0) -> int:
        """SIGTERM, as a service manager stops it: the bot closes its gateway and database."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            return await asyncio.to_thread(self.proc.wait, give_up_after)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            return await asyncio.to_thread(self.proc.wait)


def _lines_of(path: Path) -> list[str]:
    return path.read_text(encoding="utf-8").splitlines() if path.exists() else []


def write_bot_config(path: Path, *, log_level: str = "INFO") -> None:
    """The bot's defaults, spelled out; the token and the emulator's URLs come from the environment."""
    path.write_text(
        f"log_level: {log_level}\ndiscord:\n  sync_on_start: true\n  cooldown_seconds: 10\n",
        encoding="utf-8",
    )


PLAIN_BOT = ("-m", "bot")
"""`python -m bot`: exactly what a deployment runs."""


def probed_bot(
    *, probe: Path | None = None, profile_dir: Path | None = None, memory_report: Path | None = None
) -> tuple[str, ...]:
    """The same `bot.cli.main`, with the probe, the signal-switched profiler, and/or the memory
    report on TRIM_SIGNAL (see MemoryReporter)."""
    args: list[str] = [str(Path(__file__).resolve()), "bot-child"]
    if probe is not None:
        args += ["--probe", str(probe)]
    if profile_dir is not None:
        args += ["--profile-dir", str(profile_dir)]
    if memory_report is not None:
        args += ["--memory-report", str(memory_report)]
    return (*args, "--")


def launch_bot(
    world: BenchWorld,
    *,
    corpus: Path,
    db_path: Path,
    work: Path,
    name: str,
    entry: Sequence[str] = PLAIN_BOT,
    extra_env: dict[str, str] | None = None,
) -> BotProcess:
    """Start the bot with `corpus-bot --config … --corpus … --db … run` against the emulator."""
    runs = work / "runs"
    runs.mkdir(parents=True, exist_ok=True)
    config = runs / f"{name}.yaml"
    write_bot_config(config)
    log_path = runs / f"{name}.log"
    env = {
        **os.environ,
        **world.emu.bot_environment(),
        "CORPUS_BOT_DATA_DIR": str(runs / f"{name}-data"),
        "PYTHONUNBUFFERED": "1",
        **(extra_env or {}),
    }
    argv = [
        sys.executable,
        *entry,
        "--config",
        str(config),
        "--corpus",
        str(corpus),
        "--db",
        str(db_path),
        "run",
    ]
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(argv, cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT)
    return BotProcess(proc, log_path, db_path, time.monotonic())


async def wait_until_serving(
    world: BenchWorld, bot: BotProcess, *, give_up_after: float = 900.0
) -> dict[str, float]:
    """Wait for the gateway session, the command sync, `on_ready`, then for the bot to go idle.

    Returns when each happened, in seconds after the launch."""
    marks: dict[str, float] = {}
    deadline = time.monotonic() + give_up_after
    while not [s for s in world.emu.hub.live_sessions() if s.connected]:
        bot.check_alive()
        if time.monotonic() > deadline:
            raise TimeoutError("the bot never connected to the emulator's gateway")
        with contextlib.suppress(TimeoutError):
            await world.emu.wait_for_gateway(timeout=1.0)
    marks["gateway connected"] = time.monotonic() - bot.started
    while not world.emu.synced_commands():
        bot.check_alive()
        if time.monotonic() > deadline:
            raise TimeoutError("the bot never synced its commands")
        with contextlib.suppress(TimeoutError):
            await world.emu.wait_for_commands(timeout=1.0)
    marks["commands synced"] = time.monotonic() - bot.started
    if await bot.wait_for_log(r"ready as ", give_up_after=max(1.0, deadline - time.monotonic())):
        marks["ready (on_ready)"] = time.monotonic() - bot.started
    marks["idle"] = (
        await bot.wait_idle(give_up_after=max(1.0, deadline - time.monotonic())) - bot.started
    )
    return marks


# --- commands: inputs, sending, timing --------------------------------------------------------


@dataclass(frozen=True)
class CommandSpec:
    """One slash command as a member would type it: `kind` names the input class in reports."""

    name: str
    options: dict[str, Any]
    kind: str


_WORD = re.compile(r"[^\W\d_]{4,}")


def command_mix(db_path: Path, count: int, *, seed: int, salt: str) -> list[CommandSpec]:
    """`count` commands in a fixed mix (25% /post, 20% /author, 20% /search, 15% /summarize,
    20% /ask; before /ask joined: 30/25/25/20 without it),
    inputs drawn with a fixed seed from what the index holds, as people would type or pick them.

    /post and /summarize get an id (what autocomplete fills in) or typed title words; /author a
    full name, a surname or a lowercased name (half the authors drawn by number of posts); /search one or two title words or a surname;
    /ask a question made of question words and two or three title words ("What does … say about …?").
    `salt` gives another draw from the same distribution (burst and sequential runs differ).
    """
    rng = random.Random(f"commands:{seed}:{salt}")
    with sqlite3.connect(f"file:{db_path}?mode=ro", uri=True) as conn:
        titles = conn.execute(
            "SELECT id, display_title FROM documents WHERE title IS NOT NULL ORDER BY id"
        ).fetchall()
        authors = conn.execute(
            "SELECT a.name, count(*) FROM authors AS a JOIN document_authors AS d ON d.author_id = a.id "
            "GROUP BY a.id ORDER BY a.key"
        ).fetchall()
    words = sorted({w.lower() for _, t in titles[:5000] for w in _WORD.findall(t)})
    names = [name for name, _ in authors]
    posts = [n for _, n in authors]
    specs: list[CommandSpec] = []
    shares = (("post", 25), ("author", 20), ("search", 20), ("summarize", 15), ("ask", 20))
    plan = [kind for kind, share in shares for _ in range(round(count * share / 100))]
    plan = (plan + ["post"] * count)[:count]
    rng.shuffle(plan)
    for kind in plan:
        doc_id, title = rng.choice(titles)
        # Half the names by number of posts (people ask about prolific authors more), half uniform.
        name = rng.choices(names, weights=posts)[0] if rng.random() < 0.5 else rng.choice(names)
        roll = rng.random()
        if kind == "post":
            if roll < 0.5:
                specs.append(CommandSpec("post", {"post": doc_id}, "post: id (autocomplete)"))
            elif roll < 0.75:
                specs.append(CommandSpec("post", {"post": title}, "post: exact title"))
            else:
                picked = " ".join(title.split()[:3]).lower()
                specs.append(CommandSpec("post", {"post": picked}, "post: 3 first title words"))
        elif kind == "author":
            if roll < 0.6:
                specs.append(CommandSpec("author", {"name": name}, "author: full name"))
            elif roll < 0.8:
                specs.append(CommandSpec("author", {"name": name.split()[-1]}, "author: surname"))
            else:
                specs.append(
                    CommandSpec("author", {"name": name.lower()}, "author: lowercase name")
                )
        elif kind == "search":
            if roll < 0.45 and words:
                specs.append(CommandSpec("search", {"query": rng.choice(words)}, "search: 1 word"))
            elif roll < 0.85 and words:
                query = f"{rng.choice(words)} {rng.choice(words)}"
                specs.append(CommandSpec("search", {"query": query}, "search: 2 words"))
            else:
                specs.append(
                    CommandSpec("search", {"query": name.split()[-1]}, "search: a surname")
                )
        elif kind == "ask" and words:
            if roll < 0.5:
                question = (
                    f"What does the corpus say about {rng.choice(words)} and {rng.choice(words)}?"
                )
                specs.append(CommandSpec("ask", {"question": question}, "ask: 2 title words"))
            else:
                question = (
                    f"Who wrote about {rng.choice(words)} {rng.choice(words)} {rng.choice(words)}?"
                )
                specs.append(CommandSpec("ask", {"question": question}, "ask: 3 title words"))
        else:
            if roll < 0.75:
                specs.append(
                    CommandSpec("summarize", {"post": doc_id}, "summarize: id (autocomplete)")
                )
            else:
                specs.append(CommandSpec("summarize", {"post": title}, "summarize: exact title"))
    return specs


@dataclass
class TimedCommand:
    """When the emulator sent INTERACTION_CREATE, received the first response (the
    acknowledgement: a reply, or a defer) and received the reply a user reads."""

    spec: CommandSpec
    sent: float
    handle: Any  # discord_emulator.interactions.EmulatedInteraction
    acknowledged: float | None = None
    replied: float | None = None

    @property
    def ack_ms(self) -> float | None:
        return None if self.acknowledged is None else (self.acknowledged - self.sent) * 1000

    @property
    def reply_ms(self) -> float | None:
        return None if self.replied is None else (self.replied - self.sent) * 1000

    def outcome(self) -> str:
        reply = self.handle.reply
        if reply is None:
            return "no reply"
        if not reply.get("flags", 0) & 64:
            return "answered"
        content = reply.get("content") or ""
        if content.startswith("Something went wrong"):
            return "INTERNAL ERROR"
        if content.startswith("Slow down"):
            return "cooldown"
        return "not found / ambiguous (ephemeral)"


async def send_timed(
    world: BenchWorld, spec: CommandSpec, *, user: int, on_reply: Any = None
) -> TimedCommand:
    """Send one command and stamp its responses as the emulator records them.

    The stamp is taken in the emulator's request handler (EmulatedInteraction.record), the
    moment Discord would have the response: no waiter's wake-up delay is counted.
    """
    sent = time.perf_counter()
    handle = await world.emu.send_command(
        spec.name, spec.options, user=user, guild=world.guild_id, channel=world.channel_id
    )
    timed = TimedCommand(spec, sent, handle)
    record = handle.record

    def stamped(response: Any) -> None:
        now = time.perf_counter()
        record(response)
        if timed.acknowledged is None and response.kind == "callback" and response.ok:
            timed.acknowledged = now
        if timed.replied is None and handle.reply is not None:
            timed.replied = now
            if on_reply is not None:
                on_reply(timed)

    handle.record = stamped
    return timed


@dataclass
class RunResult:
    commands: list[TimedCommand]
    seconds: float
    dispatch_ms: float
    bot_cpu_s: float
    bench_cpu_s: float


async def run_burst(
    world: BenchWorld,
    bot: BotProcess,
    specs: Sequence[CommandSpec],
    *,
    give_up_after: float = 300.0,
) -> RunResult:
    """Every command sent at once (as fast as the emulator can build them), then wait for all replies."""
    done = asyncio.Event()
    replied = 0

    def on_reply(_: TimedCommand) -> None:
        nonlocal replied
        replied += 1
        if replied == len(specs):
            done.set()

    cpu0, bench0, started = bot.cpu_seconds(), time.process_time(), time.perf_counter()
    commands = await asyncio.gather(
        *(send_timed(world, spec, user=world.next_member(), on_reply=on_reply) for spec in specs)
    )
    dispatch_ms = (commands[-1].sent - commands[0].sent) * 1000
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(done.wait(), give_up_after)
    seconds = time.perf_counter() - started
    return RunResult(
        list(commands), seconds, dispatch_ms, bot.cpu_seconds() - cpu0, time.process_time() - bench0
    )


async def run_sequential(
    world: BenchWorld, bot: BotProcess, specs: Sequence[CommandSpec], *, give_up_after: float = 60.0
) -> RunResult:
    """One command at a time, each sent when the previous one got its reply: no queueing."""
    cpu0, bench0, started = bot.cpu_seconds(), time.process_time(), time.perf_counter()
    commands: list[TimedCommand] = []
    for spec in specs:
        timed = await send_timed(world, spec, user=world.next_member())
        with contextlib.suppress(TimeoutError):
            await timed.handle.wait_reply(timeout=give_up_after)
        commands.append(timed)
    seconds = time.perf_counter() - started
    return RunResult(commands, seconds, 0.0, bot.cpu_seconds() - cpu0, time.process_time() - bench0)


def latency_rows(label: str, millis: Iterable[float | None], *, width: int = 34) -> str:
    values = sorted(m for m in millis if m is not None)
    if not values:
        return f"  {label:<{width}}    0       -        -        -        -        -"
    return (
        f"  {label:<{width}}{len(values):5d} {values[0]:7.1f} {percentile(values, 50):8.1f} "
        f"{percentile(values, 90):8.1f} {percentile(values, 99):8.1f} {values[-1]:8.1f}"
    )


def outcome_counts(commands: Iterable[TimedCommand]) -> str:
    counts = Counter(c.outcome() for c in commands)
    return ", ".join(f"{k} {v}" for k, v in counts.most_common())


# --- the child: the bot with a probe and a profiler -------------------------------------------


class LoopProbe:
    """How late the bot's event loop wakes a 5 ms sleeper, and what it was doing when it stalled.

    The sleeper's lateness is the loop's stall (plus the wait for the GIL when worker threads
    run Python). The watchdog thread samples the loop thread's stack every 10 ms while the loop
    has not ticked for `watch_after` seconds; the samples name the blocking code.
    """

    def __init__(self, out: Path, *, interval: float = 0.005, watch_after: float = 0.05) -> None:
        self.out = out
        self.interval = interval
        self.watch_after = watch_after
        self.late: list[tuple[float, float]] = []  # (monotonic at wake-up, lateness s) when > 1 ms
        self.ticks: list[tuple[float, int]] = []  # (monotonic, ticks so far) once a second
        self.samples: list[dict[str, Any]] = []
        self.last_tick = time.monotonic()
        self.loop_thread = threading.get_ident()
        self._count = 0
        self._stop = threading.Event()
        self._running = False  # the watchdog waits for the loop: imports before it are no stall

    def install(self) -> None:
        """Start the sleeper in every loop the process creates (asyncio.run makes one)."""
        probe = self

        class ProbedPolicy(asyncio.DefaultEventLoopPolicy):
            def new_event_loop(self) -> asyncio.AbstractEventLoop:
                loop = super().new_event_loop()
                loop.call_soon(lambda: loop.create_task(probe.sleeper(), name="bench-loop-probe"))
                return loop

        asyncio.set_event_loop_policy(ProbedPolicy())
        threading.Thread(target=self.watch, name="bench-loop-watchdog", daemon=True).start()
        atexit.register(self.dump)

    async def sleeper(self) -> None:
        self.loop_thread = threading.get_ident()
        self.last_tick = last_second = time.monotonic()
        self._running = True
        while True:
            before = time.monotonic()
            self.last_tick = before
            await asyncio.sleep(self.interval)
            after = time.monotonic()
            self.last_tick = after
            self._count += 1
            lateness = after - before - self.interval
            if lateness > 0.001:
                self.late.append((after, lateness))
            if after - last_second >= 1.0:
                self.ticks.append((after, self._count))
                last_second = after

    def watch(self) -> None:
        me = threading.get_ident()
        while not self._stop.wait(0.01):
            now = time.monotonic()
            stalled = now - self.last_tick
            if stalled < self.watch_after or not self._running:
                continue
            frames = sys._current_frames()
            frame = frames.get(self.loop_thread)
            if frame is None:
                continue
            stack, project = _describe_stack(frame)
            sample: dict[str, Any] = {
                "at": now,
                "stalled": stalled,
                "stack": stack,
                "project": project,
            }
            if stack and stack[-1].endswith((" select", " poll")):
                # The loop is back from epoll (its timer is due) but not running: it waits for the
                # GIL. Name the threads that are running Python, one of which holds it.
                sample["others"] = [
                    " <- ".join(reversed(other_project[-2:])) + " | " + other_stack[-1]
                    for ident, other in frames.items()
                    if ident not in (me, self.loop_thread)
                    for other_stack, other_project in [_describe_stack(other)]
                    if other_stack and not other_stack[-1].endswith(_IDLE_FRAMES)
                ]
            self.samples.append(sample)

    def dump(self) -> None:
        self._stop.set()
        payload = {
            "interval": self.interval,
            "late": self.late,
            "ticks": self.ticks,
            "samples": self.samples,
        }
        self.out.write_text(json.dumps(payload), encoding="utf-8")


_IDLE_FRAMES = (
    " wait",
    " get",
    " _worker",
    " select",
    " poll",
    " acquire",
    " sleep",
    " _wait_for_tstate_lock",
)
"""Innermost frames of a thread that is parked, not running Python."""


def _describe_stack(frame: Any) -> tuple[list[str], list[str]]:
    """(last 12 frames, last 6 frames of the project's own code) of a thread's stack."""
    frames = traceback.extract_stack(frame)
    stack = [f"{Path(f.filename).name}:{f.lineno} {f.name}" for f in frames]
    project = [
        f"{_short_path(f.filename)}:{f.lineno} {f.name}"
        for f in frames
        if f"{os.sep}bot{os.sep}" in f.filename or f"{os.sep}bench{os.sep}" in f.filename
    ]
    return stack[-12:], project[-6:]


def _short_path(filename: str) -> str:
    with contextlib.suppress(ValueError):
        return str(Path(filename).resolve().relative_to(REPO))
    return Path(filename).name


TRIM_SIGNAL = signal.SIGRTMIN + 1


class MemoryReporter:
    """On TRIM_SIGNAL: collect garbage, note VmRSS and the heap blocks Python holds, return free
    heap pages to the system (glibc's malloc_trim), note VmRSS again; one JSON line per signal.

    Tells memory the bot still uses from memory freed but kept by the allocator after a burst
    of work (a reload): only the first grows with what the bot keeps alive."""

    def __init__(self, out: Path) -> None:
        self.out = out

    def install(self) -> None:
        signal.signal(TRIM_SIGNAL, self.report)

    def report(self, *_: object) -> None:
        import ctypes
        import gc

        gc.collect()
        before = _own_rss_mb()
        blocks = sys.getallocatedblocks()
        trimmed = False
        with contextlib.suppress(OSError, AttributeError):
            ctypes.CDLL("libc.so.6").malloc_trim(0)
            trimmed = True
        line = {
            "rss_mb": before,
            "blocks": blocks,
            "trimmed": trimmed,
            "rss_after_trim_mb": _own_rss_mb(),
        }
        line.update(_sqlite_memory())
        kinds = Counter(type(o).__qualname__ for o in gc.get_objects())
        line["objects"] = dict(kinds.most_common(40))
        import tracemalloc

        if tracemalloc.is_tracing():  # PYTHONTRACEMALLOC=1: what Python objects hold, exactly
            current, peak = tracemalloc.get_traced_memory()
            line["traced_mb"], line["traced_peak_mb"] = current / 2**20, peak / 2**20
            tracemalloc.reset_peak()
            top = tracemalloc.take_snapshot().statistics("filename")[:8]
            line["traced_top"] = [
                f"{_short_path(str(s.traceback[0].filename))}: {s.size / 2**20:.1f} MB" for s in top
            ]
        with self.out.open("a", encoding="utf-8") as report:
            report.write(json.dumps(line) + "\n")


def _sqlite_memory() -> dict[str, float]:
    """SQLite's own heap in this process (every connection: page caches, statements, temp
    tables), now and at its peak since the last call, from sqlite3_memory_used/highwater of the
    library the sqlite3 module runs on. Empty when that library cannot be reached."""
    import ctypes

    try:
        import _sqlite3

        lib = ctypes.CDLL(_sqlite3.__file__)
        used, highwater = lib.sqlite3_memory_used, lib.sqlite3_memory_highwater
    except (ImportError, OSError, AttributeError):
        return {}
    used.restype = highwater.restype = ctypes.c_int64
    highwater.argtypes = [ctypes.c_int]
    return {"sqlite_mb": used() / 2**20, "sqlite_peak_mb": highwater(1) / 2**20}


def _own_rss_mb() -> float:
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


class SignalProfiler:
    """cProfile of the loop thread, and of the index's reader threads, between SIGUSR1 (start)
    and SIGUSR2 (stop and write `profile-N.prof` and `reader-profile-N-K.prof`, one per reader).

    cProfile follows only the thread that enables it, so each reader thread's profile is switched
    on around each function it runs (`IndexReader._call`, wrapped here in the child only), a
    profile per thread (one profiler object enabled on two threads at once mixes their stacks).
    """

    def __init__(self, folder: Path) -> None:
        import cProfile

        self.folder = folder
        self.folder.mkdir(parents=True, exist_ok=True)
        self._make = cProfile.Profile
        self.profile: Any = None
        self.reader_profiles: dict[int, Any] | None = None
        self.written = 0

    def install(self) -> None:
        signal.signal(signal.SIGUSR1, self.start)
        signal.signal(signal.SIGUSR2, self.stop)
        from bot.corpus.store import IndexReader

        real_call = IndexReader._call
        profiler = self

        def profiled_call(reader: Any, *args: Any) -> Any:
            profiles = profiler.reader_profiles
            if profiles is None:
                return real_call(reader, *args)
            profile = profiles.setdefault(threading.get_ident(), profiler._make())
            profile.enable()
            try:
                return real_call(reader, *args)
            finally:
                profile.disable()

        IndexReader._call = profiled_call  # type: ignore[method-assign]

    def start(self, *_: object) -> None:
        self.reader_profiles = {}
        self.profile = self._make()
        self.profile.enable()

    def stop(self, *_: object) -> None:
        if self.profile is None:
            return
        self.profile.disable()
        self.written += 1
        self.profile.dump_stats(str(self.folder / f"profile-{self.written}.prof"))
        self.profile = None
        readers, self.reader_profiles = self.reader_profiles or {}, None
        for number, reader in enumerate(list(readers.values()), start=1):
            with contextlib.suppress(ValueError):  # a read still running: left out
                reader.dump_stats(str(self.folder / f"reader-profile-{self.written}-{number}.prof"))


def child_main(argv: Sequence[str]) -> int:
    parser = argparse.ArgumentParser(prog="_harness.py bot-child")
    parser.add_argument("--probe", type=Path)
    parser.add_argument("--profile-dir", type=Path)
    parser.add_argument("--memory-report", type=Path)
    parser.add_argument("rest", nargs=argparse.REMAINDER)
    args = parser.parse_args(argv)
    if args.probe is not None:
        LoopProbe(args.probe).install()
    if args.profile_dir is not None:
        SignalProfiler(args.profile_dir).install()
    if args.memory_report is not None:
        MemoryReporter(args.memory_report).install()
    rest = args.rest[1:] if args.rest[:1] == ["--"] else args.rest
    from bot.cli import main as corpus_bot

    return corpus_bot(rest)


def load_probe(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text(encoding="utf-8"))


if __name__ == "__main__":
    if sys.argv[1:2] != ["bot-child"]:
        raise SystemExit(
            "usage: _harness.py bot-child [--probe FILE] [--profile-dir DIR] -- <corpus-bot args>"
        )
    sys.exit(child_main(sys.argv[2:]))
