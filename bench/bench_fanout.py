"""Fan-out: one new entry announced to 1,000 subscribed channels, in guilds of several shards,
against Discord's global rate limit (issue #14).

Run by hand, never by CI (it prints figures and asserts nothing). From the repository root:

    .venv/bin/python bench/bench_fanout.py --storage sqlite                   # one process, shards 0-2 of 3
    .venv/bin/python bench/bench_fanout.py --storage postgres --processes 3   # three processes, one PostgreSQL
    .venv/bin/python bench/bench_fanout.py --storage sqlite --channels 200    # a quicker look

How: the emulator runs in this process; the bot runs as real `corpus-bot run` processes
(`python -m bot run`, tests/scale/processes.py starts them), over a copy of the bundled corpus:

- `--storage sqlite`: one process running every shard (`shard_ids: [0, 1, 2]` of 3), its SQLite
  file holding everything, as the bot runs today.
- `--storage postgres --processes P`: P processes, shard i of P each, configured with `storage:
  postgres` and the URL in CORPUS_BOT_DATABASE_URL, on one PostgreSQL started here as the tests
  start theirs (tests/postgres_server.py: initdb into a temporary folder, Unix socket only). One
  of them holds the feed's lease and sends every announcement over REST, for every shard's guilds.

The guilds are spread over the shards (ids decide the shard, as on Discord) and hold `--channels`
text channels in all, each subscribed with `/subscribe` (the command every server uses; it reaches
the process of the guild's shard). The corpus as it is becomes the feed's baseline (`/feed retry
source:corpus`), and the bench waits (15 s at most) until a process logs that it runs the feed's
loops, so that a fresh start's lease takeover is not timed. Then the emulator's limits start afresh (Discord's: 50 requests a second for the
bot, across every process on its token, and 5 messages per 5 s per channel), a new corpus file
appears and `/reload` runs in one guild: detection, outbox and sending follow in the bot. The clock
runs from that `/reload` (so it includes the reload, and with PostgreSQL the publish and the
notification that makes the lease holder detect the entry) to the last announcement the emulator
accepted. Each channel must then hold the entry exactly once (counted after the bots stopped).

The floor: N posts at 50 a second need N / 50 seconds (20 s for 1,000); the emulator's windows are
fixed and start at a window's first request, so the very best is one window less. The target is
the whole wall time within 1.2x the floor. 429s: at most one per global window is unavoidable for
a client that only learns from a 429 that the window is full (discord.py does).
"""

from __future__ import annotations

import argparse
import asyncio
import math
import os
import shutil
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:  # run as `python bench/bench_fanout.py`
    sys.path.insert(0, str(REPO))

from bench._harness import BUNDLED_CORPUS, Report, invocation, load_note, machine_lines, verdict  # noqa: E402
from discord_emulator import DEFAULT_ROUTE_LIMITS, DiscordEmulator  # noqa: E402
from discord_emulator.core import RequestRecord  # noqa: E402
from tests.conftest import write_doc  # noqa: E402
from tests.postgres_server import PostgresServer, find_binaries, missing_reason  # noqa: E402
from tests.scale.processes import (  # noqa: E402
    BotLauncher,
    BotProcess,
    ShardedGuild,
    add_guilds,
    bot_launcher,
    command_reply,
    postgres_environment,
    wait_until_connected,
)

TARGET_RATIO = 1.2
DISCORD_GLOBAL_LIMIT = 50
SETUP_TIMEOUT = 300.0
"""Starting the processes (discord.py waits 5 s between two shards of one process)."""
SUBSCRIBE_CONCURRENCY = 16
"""/subscribe commands in flight at once while setting up (interactions are outside the global
limit; this only bounds the emulator's and the bots' work at a time)."""
ENTRY_TITLE = "Fan-out Entry"
LOOPS_LINE = "runs the poll, send and digest loops"
"""What the feed's lease holder logs once its loops run (bot/discord_app/exts/feed/loops.py)."""
LOOPS_WAIT_S = 15.0


@dataclass
class FanOut:
    """What one fan-out measured."""

    channels: int
    wall_s: float
    """From /reload (detection) to the last announcement the emulator accepted."""
    span_s: float
    """From the first announcement POST the emulator accepted to the last."""
    rejected: Counter[str]
    """429s of the emulated limits, by scope (global / user)."""
    post_attempts: int
    bot_cpu_s: float
    """CPU seconds of the bot processes (all threads) during the fan-out."""
    emulator_cpu_s: float
    load_before: str
    load_after: str
    wrong_counts: dict[int, int] = field(default_factory=dict)


@dataclass
class PostLog:
    """The announcement POSTs the emulator answered, stamped when it answered them."""

    after: float = math.inf
    accepted: dict[int, float] = field(default_factory=dict)
    """Channel -> when its first announcement was accepted."""
    times: list[float] = field(default_factory=list)
    attempts: int = 0

    def record(self, record: RequestRecord) -> None:
        now = time.perf_counter()
        if now < self.after or record.method != "POST":
            return
        parts = record.path.split("/")  # "", "channels", id, "messages"
        if len(parts) != 4 or parts[1] != "channels" or parts[3] != "messages":
            return
        self.attempts += 1
        if record.status == 200:
            self.times.append(now)
            self.accepted.setdefault(int(parts[2]), now)


def process_cpu_seconds(pid: int) -> float:
    """utime + stime of a live process (Linux /proc), 0 when it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def bot_cpu(processes: Sequence[BotProcess]) -> float:
    return sum(process_cpu_seconds(p.proc.pid) for p in processes)


async def subscribe_all(emu: DiscordEmulator, guilds: Sequence[ShardedGuild], out: Report) -> None:
    gate = asyncio.Semaphore(SUBSCRIBE_CONCURRENCY)
    done = 0

    async def subscribe(guild: ShardedGuild, channel: int) -> None:
        nonlocal done
        async with gate:
            reply = await command_reply(
                emu,
                "subscribe",
                user=guild.moderator_id,
                guild=guild.guild_id,
                channel=channel,
                within=60,
            )
        if "Subscribed" not in reply:
            raise RuntimeError(f"/subscribe in channel {channel} answered: {reply[:300]}")
        done += 1
        if done % 250 == 0:
            out(f"  … {done} channels subscribed")

    await asyncio.gather(*(subscribe(g, c) for g in guilds for c in g.channel_ids))


def start_processes(
    args: argparse.Namespace, launcher: BotLauncher, dsn: str | None
) -> list[BotProcess]:
    if args.storage == "sqlite":
        shards = list(range(args.shards))
        return [launcher.start("bot", shard_count=args.shards, shard_ids=shards)]
    assert dsn is not None
    return [
        launcher.start(
            f"shard{shard}",
            shard_count=args.processes,
            shard_ids=[shard],
            storage="postgres",
            env=postgres_environment(dsn, f"shard{shard}"),
        )
        for shard in range(args.processes)
    ]


def spread_guilds(emu: DiscordEmulator, shard_count: int, channels: int) -> list[ShardedGuild]:
    """Guilds on every shard holding `channels` channels in all (the last ones may hold fewer)."""
    per_shard = max(1, math.ceil(channels / 40 / shard_count))  # ~40 channels a guild
    per_guild = math.ceil(channels / (per_shard * shard_count))
    guilds = add_guilds(emu, shard_count, per_shard, channels_per_guild=per_guild)
    left = channels
    for guild in guilds:
        guild.channel_ids = guild.channel_ids[: max(0, left)]
        left -= len(guild.channel_ids)
    return [g for g in guilds if g.channel_ids]


async def loops_running(processes: Sequence[BotProcess]) -> str:
    """Wait (boundedly) until a process says it runs the feed's loops: a fresh start's lease
    holder starts them a few seconds after taking the lease, and the clock should time a fan-out
    of a running bot, not a takeover. Read from the logs: the bench sees the bots from outside."""
    started = time.perf_counter()
    while time.perf_counter() - started < LOOPS_WAIT_S:
        holders = [p.name for p in processes if LOOPS_LINE in p.full_log()]
        if holders:
            return f"feed loops running in {', '.join(holders)} after {time.perf_counter() - started:.1f} s"
        await asyncio.sleep(0.2)
    return f"no process said {LOOPS_LINE!r} within {LOOPS_WAIT_S:.0f} s; timing from /reload anyway"


async def create_database(server: PostgresServer, name: str) -> str:
    import asyncpg

    admin = await asyncpg.connect(server.dsn())
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    return server.dsn(name)


async def fan_out(args: argparse.Namespace, out: Report) -> FanOut:
    work = Path(tempfile.mkdtemp(prefix="bench-fanout-"))
    corpus = work / "corpus"
    shutil.copytree(BUNDLED_CORPUS, corpus)
    emu = DiscordEmulator(validate_schema=not args.no_validate)
    await emu.start()
    posts = PostLog()
    log_request = emu.core.log_request

    def stamped(record: RequestRecord) -> None:
        posts.record(record)
        log_request(record)

    emu.core.log_request = stamped  # type: ignore[method-assign]
    shard_count = args.shards if args.storage == "sqlite" else args.processes
    guilds = spread_guilds(emu, shard_count, args.channels)
    channels = [c for g in guilds for c in g.channel_ids]
    out(
        f"World    {len(guilds)} guilds over {shard_count} shards, {len(channels)} channels "
        f"({', '.join(str(sum(len(g.channel_ids) for g in guilds if g.shard(shard_count) == s)) for s in range(shard_count))} per shard)"
    )
    server: PostgresServer | None = None
    try:
        dsn = None
        if args.storage == "postgres":
            binaries = find_binaries()
            if binaries is None:
                raise SystemExit(f"bench_fanout: {missing_reason()}")
            server = PostgresServer(binaries)
            await asyncio.to_thread(server.start)
            dsn = await create_database(server, "fanout")
            out(f"Postgres {binaries.version()}, a server of its own in {server.socket_dir}")
        with bot_launcher(emu, work, corpus) as launcher:
            processes = start_processes(args, launcher, dsn)
            started = time.perf_counter()
            await wait_until_connected(emu, processes, within=SETUP_TIMEOUT)
            await emu.wait_for_commands(timeout=SETUP_TIMEOUT)
            out(
                f"Setup    {len(processes)} process(es) connected in {time.perf_counter() - started:.1f} s"
            )
            started = time.perf_counter()
            await subscribe_all(emu, guilds, out)
            out(f"         {len(channels)} /subscribe in {time.perf_counter() - started:.1f} s")
            first = guilds[0]
            reply = await command_reply(
                emu,
                "feed retry",
                options={"source": "corpus"},
                user=first.owner_id,
                guild=first.guild_id,
                channel=first.channel_id,
                within=60,
            )
            if "Checked the corpus folder" not in reply:
                raise RuntimeError(f"the feed's baseline failed: {reply[:300]}")

            out(f"         {await loops_running(processes)}")

            limits = emu.enable_rate_limits(
                DEFAULT_ROUTE_LIMITS, global_limit=args.global_limit, global_window=1.0
            )
            load_before = load_note("before the fan-out")
            write_doc(
                corpus,
                "zz-fanout.md",
                front=f"id: fanout-entry\ntitle: {ENTRY_TITLE}\nauthors: [Bench Writer]\n"
                "kind: post\nexcerpt: false",
                body="A new entry for the fan-out benchmark. It is announced everywhere.",
            )
            cpu_bots, cpu_emulator = bot_cpu(processes), time.process_time()
            posts.after = detected = time.perf_counter()
            await command_reply(
                emu,
                "reload",
                user=guilds[-1].owner_id,
                guild=guilds[-1].guild_id,
                channel=guilds[-1].channel_id,
                within=60,
            )
            wanted = set(channels)
            await emu.wait_for(
                lambda: wanted <= posts.accepted.keys(),
                args.give_up_after,
                describe="every channel announced",
            )
            last = max(posts.times)
            bot_cpu_s = bot_cpu(processes) - cpu_bots
            emulator_cpu_s = time.process_time() - cpu_emulator
            load_after = load_note("after the fan-out")
            for process in processes:
                process.stop()  # a clean stop: no late duplicate after the count
        counts = Counter(
            int(r.path.split("/")[2])
            for r in emu.requests
            if r.method == "POST" and r.status == 200 and r.path.endswith("/messages")
        )
        wrong = {c: counts[c] for c in channels if counts[c] != 1}
        return FanOut(
            channels=len(channels),
            wall_s=last - detected,
            span_s=last - min(posts.times),
            rejected=Counter(hit.scope for hit in limits.hits),
            post_attempts=posts.attempts,
            bot_cpu_s=bot_cpu_s,
            emulator_cpu_s=emulator_cpu_s,
            load_before=load_before,
            load_after=load_after,
            wrong_counts=wrong,
        )
    finally:
        await emu.stop()
        if server is not None:
            await asyncio.to_thread(server.stop)
        if emu.problems:
            out(f"emulator problems: {emu.problems[:5]}")
        if args.keep_logs:
            out(f"logs kept in {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)


def report_result(args: argparse.Namespace, result: FanOut, out: Report) -> None:
    floor = result.channels / args.global_limit
    windows = math.ceil(result.channels / args.global_limit)
    allowance = windows
    ratio, span_ratio = result.wall_s / floor, result.span_s / floor
    total_429 = sum(result.rejected.values())
    good = ratio <= TARGET_RATIO and not result.wrong_counts
    mode = (
        f"sqlite, 1 process, shards 0-{args.shards - 1}"
        if args.storage == "sqlite"
        else f"postgres, {args.processes} processes"
    )
    out()
    out(
        "| mode | channels | floor (N / 50 per s) | /reload → last post | ÷ floor | first → last post | "
        "÷ floor | 429 global | 429 per-channel | POSTs | bot CPU | emulator CPU | verdict |"
    )
    out("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|")
    out(
        f"| {mode} | {result.channels} | {floor:.1f} s | {result.wall_s:.2f} s | {ratio:.2f}× | "
        f"{result.span_s:.2f} s | {span_ratio:.2f}× | {result.rejected.get('global', 0)} | "
        f"{result.rejected.get('user', 0)} | {result.post_attempts} | {result.bot_cpu_s:.1f} s | "
        f"{result.emulator_cpu_s:.1f} s | {verdict(good)} |"
    )
    out()
    out(f"Load     {result.load_before}; {result.load_after}")
    out(
        f"Target   /reload → last post within {TARGET_RATIO}× the floor; each channel once "
        f"({'yes' if not result.wrong_counts else f'NO: {len(result.wrong_counts)} channels differ, e.g. {dict(list(result.wrong_counts.items())[:5])}'}); "
        f"429s {total_429} (about one per global window, {allowance}, is what learning from a 429 costs)"
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--storage", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument(
        "--processes",
        type=int,
        default=None,
        help="bot processes, one shard each (postgres; default 3). sqlite runs one process.",
    )
    parser.add_argument(
        "--shards", type=int, default=3, help="shards of the one sqlite process (default 3)"
    )
    parser.add_argument("--channels", type=int, default=1000)
    parser.add_argument("--global-limit", type=int, default=DISCORD_GLOBAL_LIMIT)
    parser.add_argument(
        "--no-validate", action="store_true", help="skip the emulator's OpenAPI checks"
    )
    parser.add_argument("--give-up-after", type=float, default=600.0)
    parser.add_argument("--keep-logs", action="store_true", help="keep the bots' logs and data")
    args = parser.parse_args(argv)
    if args.storage == "sqlite" and args.processes not in (None, 1):
        parser.error("--storage sqlite runs one process (its SQLite file is its own)")
    args.processes = args.processes or (1 if args.storage == "sqlite" else 3)
    out = Report()
    out("# Fan-out under Discord's global rate limit")
    for line in machine_lines():
        out(line)
    out(f"Command  {invocation()}")
    out(
        f"Limits   {args.global_limit} requests / s for the bot (all processes), 5 messages / 5 s "
        f"per channel; floor N / {args.global_limit} per s = {args.channels / args.global_limit:.1f} s"
    )
    try:
        result = asyncio.run(fan_out(args, out))
    except (AssertionError, RuntimeError, TimeoutError) as exc:  # a bot that died or never finished
        print(f"bench_fanout: {exc}", file=sys.stderr)
        return 1
    report_result(args, result, out)
    return 0 if not result.wrong_counts else 1


if __name__ == "__main__":
    sys.exit(main())
