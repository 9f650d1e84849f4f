"""Slash commands at scale: the real bot, the emulator, 200 commands at once.

Run by hand, never by CI (it prints figures and asserts nothing). From the repository root:

    .venv/bin/python bench/bench_commands.py --count 100000     # ~3 min with a kept index
    .venv/bin/python bench/bench_commands.py --bundled          # the bundled 11 documents only
    .venv/bin/python bench/bench_commands.py --count 100000 --profile   # + where the bot's time goes

One run measures the bundled corpus, then `--count` synthetic documents (skip the first with
--no-bundled), and prints them side by side: the machine is shared and noisy, so only figures
from one run are compared. For each corpus the index is built through the service (or a kept
one reused, see --work); the emulator starts in this process and the bot in its own (`python -m
bot run`, pointed at the emulator through DISCORD_API_BASE, DISCORD_GATEWAY_URL and
DISCORD_TOKEN; see _harness.py for why a separate process). Once the bot is connected, synced,
ready and idle:

1. warm-up: 20 commands one at a time (not counted);
2. bursts: `--rounds` (3) times, `--commands` (200) commands sent at once, each by a different
   member (so per-user cooldowns never refuse one), a fixed mix of /post, /author, /search,
   /summarize and /ask with inputs drawn from the index (see `_harness.command_mix`); every round other
   inputs, the bot idle in between;
3. sequential: `--sequential` (200) other commands of the same mix, one at a time (no
   queueing), to tell the cost of one command from the wait behind 199 others.

The floor (skip it with --no-floor): after the first corpus, the same warm-up, bursts and
sequential run against `bench/_floor_bot.py`, the real bot's client (same intents,
AllowedMentions.none(), same emulator and harness) whose /post, /author, /search and
/summarize only reply at once with a fixed short text: no corpus, no SQLite. Its figures,
printed beside the bot's, are what discord.py + aiohttp + the gateway cost on this machine;
the difference is ours.

For each command two latencies, stamped when the emulator records the bot's request: from
INTERACTION_CREATE to the *acknowledgement* (the first response: an answer, or a defer for
/summarize) and to the *reply* a user reads (the answer, or the followup after a defer).
Target: p99 under 1% of Discord's 3 s deadline, 30 ms.

--profile runs the same bot code under cProfile during the bursts (switched on and off by
signals; the profile slows the bot, so its latencies are not the reference) and prints where
the loop thread spent its time (cProfile's clock is wall time: waits for the GIL count).
--validate has the emulator check every request body against Discord's OpenAPI description.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import os
import pstats
import signal
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:  # run as `python bench/bench_commands.py`
    sys.path.insert(0, str(REPO))

from bench._floor_bot import REPLY as FLOOR_REPLY  # noqa: E402
from bench._harness import (  # noqa: E402
    BUNDLED_CORPUS,
    DISCORD_DEADLINE_S,
    PLAIN_BOT,
    CorpusChoice,
    Report,
    RunResult,
    TimedCommand,
    add_corpus_arguments,
    command_mix,
    corpus_files,
    index_path,
    invocation,
    latency_rows,
    launch_bot,
    load_note,
    machine_lines,
    outcome_counts,
    percentile,
    prepare_index,
    probed_bot,
    run_burst,
    run_sequential,
    start_world,
    synthetic_corpus,
    verdict,
    wait_until_serving,
)

TARGET_P99_MS = DISCORD_DEADLINE_S * 1000 / 100
FLOOR_BOT = (str(Path(__file__).resolve().parent / "_floor_bot.py"),)
"""The floor: the real bot's client whose commands only reply "ok" (see _floor_bot.py)."""
FLOOR_LABEL = "floor: a bot that does nothing but reply"
WARM_UP = 20
KINDS = ("post", "author", "search", "summarize", "ask")
HEADER = f"{'':<36}{'n':>3} {'min':>7} {'p50':>8} {'p90':>8} {'p99':>8} {'max':>8}"


def run_table(out: Report, title: str, run: RunResult) -> float:
    """Print one run's latencies; returns the p99 of the final replies."""
    commands = run.commands
    replied = sorted(c.reply_ms for c in commands if c.reply_ms is not None)
    out(title)
    out(f"  ms from INTERACTION_CREATE        {HEADER.strip()}")
    out(latency_rows("acknowledged (first response)", (c.ack_ms for c in commands)))
    out(latency_rows("final reply (what the user reads)", (c.reply_ms for c in commands)))
    for kind in KINDS:
        of_kind = [c for c in commands if c.spec.name == kind]
        out(latency_rows(f"  reply, /{kind}", (c.reply_ms for c in of_kind)))
        if kind == "summarize":
            out(latency_rows("  acknowledged, /summarize (defer)", (c.ack_ms for c in of_kind)))
    classes = sorted({c.spec.kind for c in commands})
    out("  by input class (reply)")
    for name in classes:
        out(latency_rows(f"    {name}", (c.reply_ms for c in commands if c.spec.kind == name)))
    n = len(commands)
    out(
        f"  {n} commands in {run.seconds:.2f} s ({n / run.seconds:.0f}/s); CPU per command: "
        f"bot {run.bot_cpu_s / n * 1000:.1f} ms, emulator (this process) {run.bench_cpu_s / n * 1000:.1f} ms"
    )
    out(f"  answers: {outcome_counts(commands)}")
    late = [c for c in commands if c.ack_ms is None or c.ack_ms > DISCORD_DEADLINE_S * 1000]
    out(f"  acknowledged after Discord's 3 s deadline (or never): {len(late)}")
    # A deferred command costs a second request; with the emulator's clock once behind, every
    # command was deferred and the figures described that bot, so say how many were.
    deferred = [c for c in commands if c.handle.deferred]
    out(f"  deferred first ('thinking…', then a followup): {len(deferred)} of {n}")
    out()
    return percentile(replied, 99)


def package_of(filename: str) -> str:
    """Who owns a profiled function: the bot's code, a library, asyncio, or C built-ins."""
    if filename.startswith(str(REPO / "bot")):
        return "bot/ (" + filename[len(str(REPO)) + 1 :].split(os.sep)[1] + ")"
    for name in ("discord", "aiohttp", "aiosqlite", "yarl", "multidict"):
        if f"site-packages{os.sep}{name}{os.sep}" in filename:
            return name
    if f"{os.sep}asyncio{os.sep}" in filename:
        return "asyncio"
    if filename == "~":
        return "C built-ins (sockets, epoll, json, re…)"
    return "other standard library"


def profile_table(out: Report, folder: Path, limit: int = 18) -> None:
    """The last profiled window: the loop thread's profile, and the reader threads' summed."""
    loops = sorted(folder.glob("profile-*.prof"), key=lambda p: int(p.stem.split("-")[1]))
    if not loops:
        out("(no profile was written)")
        return
    window = loops[-1].stem.split("-")[1]
    thread_profile_table(out, [loops[-1]], "loop thread", limit)
    readers = sorted(folder.glob(f"reader-profile-{window}-*.prof"))
    if readers:
        thread_profile_table(out, readers, f"index reader threads ({len(readers)})", limit)
    else:
        out("(no profile of the index's reader threads was written)")


def thread_profile_table(out: Report, paths: list[Path], thread: str, limit: int) -> None:
    stats = pstats.Stats(*(str(path) for path in paths))
    own: dict[str, float] = {}
    for (filename, _, _), (_, _, tottime, _, _) in stats.stats.items():  # type: ignore[attr-defined]
        own[package_of(filename)] = own.get(package_of(filename), 0.0) + tottime
    total = sum(own.values()) or 1.0
    waits = "epoll wait included" if thread == "loop thread" else "from each read's start to end"
    out(f"Profile of the bot's {thread} during the burst: own time by owner ({waits})")
    for owner, seconds in sorted(own.items(), key=lambda item: -item[1]):
        out(f"  {owner:<44}{seconds * 1000:8.0f} ms {seconds / total:6.1%}")
    out()
    for order, label in (("tottime", "own time"), ("cumulative", "cumulative time")):
        text = io.StringIO()
        stats.stream = text  # type: ignore[attr-defined]
        stats.sort_stats(order).print_stats(limit)
        lines = [line for line in text.getvalue().splitlines() if line.strip()]
        start = next((i for i, line in enumerate(lines) if line.lstrip().startswith("ncalls")), 0)
        out(f"Profile of the bot's {thread} during the burst, top {limit} by {label}:")
        for line in lines[start:]:
            out(f"  {line.replace(str(REPO) + os.sep, '')}")
        out()


@dataclass
class CorpusFigures:
    """One bot's run: `column` heads its column in the side-by-side table."""

    label: str
    column: str
    bursts: list[RunResult]
    sequential: RunResult
    problems: list[str]


async def measure(out: Report, args: argparse.Namespace, corpus: CorpusChoice) -> CorpusFigures:
    """The real bot on one corpus: its index, then `measure_bot`."""
    db_path = index_path(args.work, corpus)
    out(f"== {corpus.label}")
    out(f"Corpus   {corpus.note}")
    out(f"Index    {await prepare_index(corpus.path, db_path)}")
    label = "bundled" if corpus.path == BUNDLED_CORPUS else f"n{corpus.count}"
    profile_dir = args.work / "runs" / f"commands-{label}-profile" if args.profile else None
    if profile_dir is not None:
        for old in profile_dir.glob("*profile-*.prof"):
            old.unlink()
    entry: Sequence[str] = probed_bot(profile_dir=profile_dir) if profile_dir else PLAIN_BOT
    figures = await measure_bot(
        out,
        args,
        label=corpus.label,
        column=f"{corpus.count:,} docs",
        name=f"commands-{label}",
        corpus=corpus.path,
        db_path=db_path,
        entry=entry,
        profile_dir=profile_dir,
    )
    if profile_dir is not None:
        profile_table(out, profile_dir)
    return figures


async def measure_floor(
    out: Report, args: argparse.Namespace, corpus: CorpusChoice
) -> CorpusFigures:
    """The floor bot (_floor_bot.py), sent commands drawn from `corpus`'s index like the real bot's."""
    out(f"== {FLOOR_LABEL}")
    out(
        "Bot code bench/_floor_bot.py: the real bot's client (CorpusBot: same intents, AllowedMentions.none(),"
    )
    out(
        "         same logging), commands /post /author /search /summarize with the same options, each"
    )
    out(f"         replying at once with {FLOOR_REPLY!r}: no corpus, no SQLite, no embed, no defer")
    out(f"Inputs   drawn from {corpus.label} (the floor ignores them)")
    return await measure_bot(
        out,
        args,
        label=FLOOR_LABEL,
        column="floor",
        name="commands-floor",
        corpus=corpus.path,
        db_path=index_path(args.work, corpus),
        entry=FLOOR_BOT,
        profile_dir=None,
    )


async def measure_bot(
    out: Report,
    args: argparse.Namespace,
    *,
    label: str,
    column: str,
    name: str,
    corpus: Path,
    db_path: Path,
    entry: Sequence[str],
    profile_dir: Path | None,
) -> CorpusFigures:
    """One bot process: warm-up, `--rounds` bursts, then the sequential run; prints its tables."""
    members = WARM_UP + args.rounds * args.commands + args.sequential + 10
    world = await start_world(members=members, validate=args.validate)
    bot = launch_bot(world, corpus=corpus, db_path=db_path, work=args.work, name=name, entry=entry)
    bursts: list[RunResult] = []
    try:
        marks = await wait_until_serving(world, bot)
        started = ", ".join(f"{k} {v:.1f} s" for k, v in marks.items())
        out(f"Bot      pid {bot.pid}, {' '.join(entry)}; {started}; log {bot.log_path}")
        out(
            f"Emulator in this process; request bodies validated against Discord's OpenAPI: {args.validate}"
        )
        out(f"Load     {load_note('before the commands')}")
        out()
        await run_sequential(
            world, bot, command_mix(db_path, WARM_UP, seed=args.seed, salt="warm-up")
        )
        for round_number in range(args.rounds):
            await bot.wait_idle()
            specs = command_mix(
                db_path, args.commands, seed=args.seed, salt=f"burst-{round_number}"
            )
            if profile_dir is not None:
                os.kill(bot.pid, signal.SIGUSR1)
            bursts.append(await run_burst(world, bot, specs))
            if profile_dir is not None:
                os.kill(bot.pid, signal.SIGUSR2)
        await bot.wait_idle()
        sequential = await run_sequential(
            world, bot, command_mix(db_path, args.sequential, seed=args.seed, salt="sequential")
        )
        problems = list(world.emu.problems)
    finally:
        await bot.stop()
        await world.emu.stop()

    pooled = RunResult(
        [c for b in bursts for c in b.commands],
        sum(b.seconds for b in bursts),
        max(b.dispatch_ms for b in bursts),
        sum(b.bot_cpu_s for b in bursts),
        sum(b.bench_cpu_s for b in bursts),
    )
    rounds = "; ".join(
        f"round {i + 1}: p99 {reply_p99(b):.0f} ms in {b.seconds:.2f} s"
        for i, b in enumerate(bursts)
    )
    run_table(
        out,
        f"Burst: {args.commands} commands sent at once (each sent within {pooled.dispatch_ms:.0f} ms), "
        f"{len(bursts)} round(s) pooled; {label}",
        pooled,
    )
    out(f"  per round (final reply): {rounds}")
    out()
    run_table(
        out,
        f"Sequential: {len(sequential.commands)} other commands, one at a time; {label}",
        sequential,
    )
    out(f"Emulator problems (invalid bodies, late or double acknowledgements): {len(problems)}")
    for problem in problems[:10]:
        out(f"  {problem}")
    out()
    return CorpusFigures(label, column, bursts, sequential, problems)


def reply_p99(run: RunResult) -> float:
    return percentile(sorted(c.reply_ms for c in run.commands if c.reply_ms is not None), 99)


def figures_of(figures: CorpusFigures) -> dict[str, float]:
    """The side-by-side numbers: p50/p99 of each run, and the bot's CPU per command."""
    burst = [c for b in figures.bursts for c in b.commands]
    sequential = figures.sequential.commands

    def pct(commands: list[TimedCommand], q: float, ack: bool = False) -> float:
        values = sorted(v for c in commands if (v := c.ack_ms if ack else c.reply_ms) is not None)
        return percentile(values, q)

    return {
        "burst: acknowledged p50": pct(burst, 50, ack=True),
        "burst: acknowledged p99": pct(burst, 99, ack=True),
        "burst: final reply p50": pct(burst, 50),
        "burst: final reply p99": pct(burst, 99),
        "burst: commands per second": len(burst) / sum(b.seconds for b in figures.bursts),
        "sequential: final reply p50": pct(sequential, 50),
        "sequential: final reply p99": pct(sequential, 99),
        "bot CPU per command, burst (ms)": sum(b.bot_cpu_s for b in figures.bursts)
        / len(burst)
        * 1000,
        "bot CPU per command, sequential (ms)": figures.sequential.bot_cpu_s
        / len(sequential)
        * 1000,
    }


def side_by_side(out: Report, measured: list[CorpusFigures]) -> None:
    """One column per bot, then ratios: each corpus to the floor, and the larger corpus to the smaller."""
    table = [figures_of(f) for f in measured]
    floor = next((row for f, row in zip(measured, table, strict=True) if f.column == "floor"), None)
    corpora = [(f, row) for f, row in zip(measured, table, strict=True) if f.column != "floor"]
    ratios: list[tuple[str, dict[str, float], dict[str, float]]] = []
    if floor is not None:
        ratios += [(f"{f.column} / floor", row, floor) for f, row in corpora]
    if len(corpora) == 2:
        ratios.append(("ratio", corpora[1][1], corpora[0][1]))
    widths = [max(20, len(name) + 2) for name, _, _ in ratios]
    out(
        "Side by side, ms unless said"
        + " " * 14
        + "".join(f"{f.column:>16}" for f in measured)
        + "".join(f"{name:>{w}}" for (name, _, _), w in zip(ratios, widths, strict=True))
    )
    for key in table[0]:
        cells = "".join(f"{row[key]:16.1f}" for row in table)
        cells += "".join(
            f"{top[key] / bottom[key]:{w - 1}.1f}x" if bottom[key] else f"{'-':>{w}}"
            for (_, top, bottom), w in zip(ratios, widths, strict=True)
        )
        out(f"  {key:<40}{cells}")
    if floor is not None:
        out()
        out(
            "Ours = the bot minus the floor (what our code adds to discord.py + aiohttp + the gateway):"
        )
        for f, row in corpora:
            burst = row["burst: final reply p99"] - floor["burst: final reply p99"]
            cpu = row["bot CPU per command, burst (ms)"] - floor["bot CPU per command, burst (ms)"]
            share = (
                cpu / row["bot CPU per command, burst (ms)"]
                if row["bot CPU per command, burst (ms)"]
                else 0.0
            )
            out(
                f"  {f.column:>14}: burst reply p99 +{burst:.0f} ms; CPU per command in a burst +{cpu:.1f} ms ({share:.0%} of the bot's)"
            )
    out()


async def run(args: argparse.Namespace) -> int:
    out = Report()
    corpora: list[CorpusChoice] = []
    if args.bundled or not args.no_bundled:
        count = len(corpus_files(BUNDLED_CORPUS))
        corpora.append(
            CorpusChoice(
                f"bundled corpus ({count} docs)", BUNDLED_CORPUS, count, str(BUNDLED_CORPUS)
            )
        )
    if not args.bundled:
        corpora.append(
            synthetic_corpus(args.work, args.count, args.seed, args.words_mean, args.jobs)
        )
    out(
        f"corpus-bot commands benchmark: {' vs. '.join(c.label for c in corpora)}"
        f"{'' if args.no_floor else ' vs. the floor (a bot that does nothing but reply)'}; "
        f"{args.commands} commands at once x {args.rounds}, then {args.sequential} one at a time"
    )
    out(f"  command: {invocation()}")
    out()
    out("Machine")
    for line in machine_lines():
        out(f"  {line}")
    out()
    measured: list[CorpusFigures] = []
    for number, corpus in enumerate(corpora):
        measured.append(await measure(out, args, corpus))
        if number == 0 and not args.no_floor:  # next to the first corpus, while the load is alike
            measured.insert(0, await measure_floor(out, args, corpus))

    side_by_side(out, measured)
    out(f"Load {load_note('at the end')}")
    verdicts = []
    for f in measured:
        row = figures_of(f)
        burst, sequential = row["burst: final reply p99"], row["sequential: final reply p99"]
        verdicts.append(
            f"{f.column}: burst {burst:.0f} ms {verdict(burst < TARGET_P99_MS)}, "
            f"sequential {sequential:.0f} ms {verdict(sequential < TARGET_P99_MS)}"
        )
    out(
        f"Target final-reply p99 < {TARGET_P99_MS:.0f} ms (1% of Discord's 3 s): "
        + "; ".join(verdicts)
    )
    name = "bundled" if args.bundled else f"n{args.count}"
    out.save(args.work / f"last-commands-{name}.txt")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_corpus_arguments(parser)
    parser.add_argument("--commands", type=int, default=200, help="commands in the burst")
    parser.add_argument("--rounds", type=int, default=3, help="bursts, each of other commands")
    parser.add_argument(
        "--no-bundled",
        action="store_true",
        help="skip the bundled corpus (measured first by default)",
    )
    parser.add_argument("--sequential", type=int, default=200, help="commands sent one at a time")
    parser.add_argument(
        "--validate",
        action="store_true",
        help="have the emulator check every request body against Discord's OpenAPI description "
        "(finds invalid bodies; adds ~1 ms of emulator work per request, which the latencies include)",
    )
    parser.add_argument("--profile", action="store_true", help="profile the bot during the burst")
    parser.add_argument(
        "--no-floor", action="store_true", help="skip the floor (a bot that does nothing but reply)"
    )
    args = parser.parse_args(argv)
    return asyncio.run(run(args))


if __name__ == "__main__":
    sys.exit(main())
