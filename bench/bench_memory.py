"""Peak resident memory of the bot serving commands: the bundled corpus vs. N synthetic documents.

Run by hand, never by CI (it prints figures and asserts nothing). From the repository root:

    .venv/bin/python bench/bench_memory.py --count 100000                 # ~9 min with a kept index
    .venv/bin/python bench/bench_memory.py --count 100000 --no-wait-pages # ~3 min
    .venv/bin/python bench/bench_memory.py --count 100000 --full-reload   # + a /reload of all N (~8 min)

For each corpus the index is built through the service (or a kept one reused, see --work), then
the bot runs in its own process against the emulator in this one: `bot.cli.main` as `python -m
bot run` runs it, plus one signal handler (`_harness.py bot-child --memory-report`, see
MemoryReporter). This benchmark reads the bot's /proc/PID/status:

- after startup: VmRSS, and VmHWM, the peak so far (the startup reload, which at N documents
  stats every file and reads every known file's size and mtime from the index; the command sync;
  the feed's first check of the corpus);
- serving: VmHWM is reset (`echo 5 > /proc/PID/clear_refs`), then 200 commands at once and 200
  one at a time (the mix of bench_commands.py); the new VmHWM is the serving peak;
- after each phase, "trim": the bot collects garbage and hands free heap pages back to the
  system (malloc_trim); the VmRSS left is memory in use, the difference memory the allocator
  kept after a burst of work;
- "pagers gone": trimmed again once every paged answer (/author, /search) has timed out (its view
  keeps every page until then), so what is left is what the bot keeps for good.

The claim to check: memory does not grow with the corpus beyond SQLite's cache. So the report
also gives SQLite's cache settings (PRAGMA cache_size as connections get it, and what the bot's
code sets: a larger cache for the writer during a reload, see the grep line), how many
connections the bot holds on the index (its open file descriptors on the file), and SQLite's own
heap at its peaks as SQLite counts it (sqlite3_memory_highwater in the bot: page caches,
statements, temp tables); the verdict compares the growth of each peak with the growth of
SQLite's heap in the same phase.

--full-reload adds a third bot started on an empty folder and an empty index; the folder is then
filled with the N documents (hard links) and an admin runs /reload: the peak of a full build.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import re
import sqlite3
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:  # run as `python bench/bench_memory.py`
    sys.path.insert(0, str(REPO))

from bench._harness import (  # noqa: E402
    BUNDLED_CORPUS,
    CorpusChoice,
    Report,
    add_corpus_arguments,
    command_mix,
    corpus_files,
    database_mb,
    empty_folder,
    fill_folder,
    index_path,
    invocation,
    launch_bot,
    load_note,
    machine_lines,
    prepare_index,
    probed_bot,
    remove_database,
    run_burst,
    run_sequential,
    start_world,
    synthetic_corpus,
    wait_until_serving,
)
from bot.discord_app.views import PAGE_TIMEOUT_SECONDS  # noqa: E402


@dataclass(frozen=True)
class MemoryRow:
    label: str
    documents: int
    db_mb: float
    startup_rss: float
    startup_peak: float
    startup_trimmed: float
    serving_peak: float
    serving_rss: float
    serving_trimmed: float
    settled_trimmed: float
    python_blocks: int
    traced: str
    threads: int
    connections: int
    note: str
    sqlite_startup_peak: float = float("nan")
    """SQLite's own heap at its peak from the bot's start to the first trim (startup reload)"""
    sqlite_serving_peak: float = float("nan")
    """SQLite's own heap at its peak during the commands"""
    objects: dict[str, int] = field(default_factory=dict)
    """objects the garbage collector tracks, by type, after the commands (then trim)"""
    settled_objects: dict[str, int] = field(default_factory=dict)
    """the same once the paged answers' views timed out"""


GROWTH_TOLERANCE_MB = 5.0
"""Growth beyond SQLite's heap still called flat: allocator slack (glibc arenas per thread, pools
of Python's allocator) moves peaks by a few MB whatever the corpus."""


def _mb(value: float) -> str:
    return "-" if math.isnan(value) else f"{value:.0f}"


def sqlite_settings() -> list[str]:
    """SQLite's defaults, and whether the bot's code overrides the cache or memory-maps the file."""
    with tempfile.TemporaryDirectory() as folder:  # mmap_size answers only for a file
        conn = sqlite3.connect(Path(folder) / "probe.db")
        (cache,) = conn.execute("PRAGMA cache_size").fetchone()
        (mmap,) = conn.execute("PRAGMA mmap_size").fetchone()
        conn.close()
    size = f"{-cache:,} KiB" if cache < 0 else f"{cache:,} pages"
    pragmas = [
        f"{path.relative_to(REPO)}:{number}: {line.strip()[:100]}"
        for path in sorted((REPO / "bot").rglob("*.py"))
        for number, line in enumerate(path.read_text("utf-8").splitlines(), start=1)
        if re.search(r"PRAGMA\s+(?:\w+\.)?(cache_size|mmap_size|cache_spill)\s*=", line)
    ]
    return [
        f"SQLite default cache_size {cache} (= {size} per connection), mmap_size {mmap}",
        "bot/ sets (grep of bot/**/*.py): "
        + ("" if pragmas else "no PRAGMA cache_size / mmap_size"),
        *(f"  {line}" for line in pragmas),
    ]


async def serving_row(
    corpus: CorpusChoice, work: Path, commands: int, seed: int, *, wait_pages: bool, trace: bool
) -> tuple[MemoryRow, str]:
    db_path = index_path(work, corpus)
    index_note = await prepare_index(corpus.path, db_path)
    world = await start_world(members=2 * commands + 10)
    name = "memory-bundled" if corpus.path == BUNDLED_CORPUS else f"memory-n{corpus.count}"
    report = fresh_report(work, name)
    entry = probed_bot(memory_report=report)
    env = {"PYTHONTRACEMALLOC": "1"} if trace else None
    bot = launch_bot(
        world, corpus=corpus.path, db_path=db_path, work=work, name=name, entry=entry, extra_env=env
    )
    try:
        await wait_until_serving(world, bot)
        startup = bot.memory()
        startup_trim = await bot.trim_report(report)
        connections = bot.open_database_files()
        if not bot.reset_peak():
            raise RuntimeError(
                "cannot reset VmHWM (/proc/PID/clear_refs): the serving peak would include startup"
            )
        burst = await run_burst(
            world, bot, command_mix(db_path, commands, seed=seed, salt="memory-burst")
        )
        await bot.wait_idle()
        sequential = await run_sequential(
            world, bot, command_mix(db_path, commands, seed=seed, salt="memory-seq")
        )
        serving = bot.memory()
        serving_trim = await bot.trim_report(report)
        settled = float("nan")
        settled_report: dict[str, Any] = {}
        if wait_pages:
            # Each paged answer (/author, /search) keeps its pages in a view until it times out.
            await asyncio.sleep(PAGE_TIMEOUT_SECONDS + 5)
            await bot.wait_idle()
            settled_report = await bot.trim_report(report)
            settled = settled_report["rss_after_trim_mb"]
    finally:
        await bot.stop()
        await world.emu.stop()
    answered = sum(1 for c in [*burst.commands, *sequential.commands] if c.replied is not None)
    row = MemoryRow(
        label=corpus.label,
        documents=corpus.count,
        db_mb=database_mb(db_path),
        startup_rss=startup.rss_mb,
        startup_peak=startup.hwm_mb,
        startup_trimmed=startup_trim["rss_after_trim_mb"],
        serving_peak=serving.hwm_mb,
        serving_rss=serving.rss_mb,
        serving_trimmed=serving_trim["rss_after_trim_mb"],
        settled_trimmed=settled,
        python_blocks=serving_trim["blocks"],
        traced=traced_note(startup_trim, serving_trim),
        threads=serving.threads,
        connections=connections,
        note=f"{answered}/{2 * commands} commands answered; log {bot.log_path}",
        sqlite_startup_peak=startup_trim.get("sqlite_peak_mb", float("nan")),
        sqlite_serving_peak=serving_trim.get("sqlite_peak_mb", float("nan")),
        objects=serving_trim.get("objects", {}),
        settled_objects=settled_report.get("objects", {}),
    )
    return row, index_note


def traced_note(startup: dict[str, Any], serving: dict[str, Any]) -> str:
    """With --tracemalloc: the memory Python objects hold after startup and after the commands."""
    if "traced_mb" not in startup:
        return ""
    return (
        f"Python objects (tracemalloc): {startup['traced_mb']:.1f} MB after startup (peak "
        f"{startup['traced_peak_mb']:.0f} MB), {serving['traced_mb']:.1f} MB after the commands (peak "
        f"{serving['traced_peak_mb']:.0f} MB); largest after startup: {', '.join(startup['traced_top'][:5])}"
    )


def fresh_report(work: Path, name: str) -> Path:
    path = work / "runs" / f"{name}-memory.jsonl"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.unlink(missing_ok=True)
    return path


async def full_reload_rows(corpus: CorpusChoice, work: Path) -> list[MemoryRow]:
    """A bot on an empty folder and index; the folder filled with N documents; an admin's /reload.

    Two phases, each with its own peak: the reload until its reply, then what follows until the
    bot is idle (the feed checks the N new documents against the subscriptions)."""
    live = work / "live-corpus"
    db_path = work / "db" / "memory-full-reload.db"
    empty_folder(live)
    remove_database(db_path)
    world = await start_world(members=2)
    report = fresh_report(work, "memory-full-reload")
    entry = probed_bot(memory_report=report)
    bot = launch_bot(
        world, corpus=live, db_path=db_path, work=work, name="memory-full-reload", entry=entry
    )
    try:
        await wait_until_serving(world, bot)
        startup = bot.memory()
        startup_trim = await bot.trim_report(report)
        connections = bot.open_database_files()
        linked = await asyncio.to_thread(fill_folder, corpus.path, live)
        bot.reset_peak()
        handle = await world.emu.send_command(
            "reload", {}, user=world.admin_id, guild=world.guild_id, channel=world.channel_id
        )
        await handle.wait_reply(timeout=3600)
        at_reply = bot.memory()
        bot.reset_peak()
        await bot.wait_idle()
        after = bot.memory()
        after_trim = await bot.trim_report(report)
    finally:
        await bot.stop()
        await world.emu.stop()
        await asyncio.to_thread(empty_folder, live)
    size = database_mb(db_path)
    remove_database(db_path)
    common = {
        "documents": linked,
        "db_mb": size,
        "startup_rss": startup.rss_mb,
        "startup_peak": startup.hwm_mb,
        "startup_trimmed": startup_trim["rss_after_trim_mb"],
        "connections": connections,
    }
    return [
        MemoryRow(
            label=f"/reload of {linked:,} new, to reply",
            serving_peak=at_reply.hwm_mb,
            serving_rss=at_reply.rss_mb,
            serving_trimmed=float("nan"),
            settled_trimmed=float("nan"),
            python_blocks=0,
            traced="",
            threads=at_reply.threads,
            note="'serving' columns: from the /reload to its reply",
            **common,
        ),
        MemoryRow(
            label="  then the feed's check, to idle",
            serving_peak=after.hwm_mb,
            serving_rss=after.rss_mb,
            serving_trimmed=after_trim["rss_after_trim_mb"],
            settled_trimmed=float("nan"),
            python_blocks=after_trim["blocks"],
            traced="",
            threads=after.threads,
            note="'serving' columns: from the reply until the bot was idle again",
            **common,
        ),
    ]


async def run(args: argparse.Namespace) -> int:
    out = Report()
    bundled = CorpusChoice(
        f"bundled corpus ({len(corpus_files(BUNDLED_CORPUS))} docs)",
        BUNDLED_CORPUS,
        len(corpus_files(BUNDLED_CORPUS)),
        str(BUNDLED_CORPUS),
    )
    synthetic = synthetic_corpus(args.work, args.count, args.seed, args.words_mean, args.jobs)
    out(f"corpus-bot memory benchmark: {bundled.label} vs. {synthetic.label}")
    out(f"  command: {invocation()}")
    out()
    out("Machine")
    for line in machine_lines():
        out(f"  {line}")
    for line in sqlite_settings():
        out(f"  {line}")
    out()
    rows: list[MemoryRow] = []
    for corpus in (bundled, synthetic):
        row, index_note = await serving_row(
            corpus,
            args.work,
            args.commands,
            args.seed,
            wait_pages=not args.no_wait_pages,
            trace=args.tracemalloc,
        )
        out(f"{corpus.label}: {corpus.note}; {index_note}; {row.note}")
        if row.traced:
            out(f"  {row.traced}")
        rows.append(row)
    if args.full_reload:
        for row in await full_reload_rows(synthetic, args.work):
            rows.append(row)
            out(f"{row.label.strip()}: {row.note}")
    out()
    out(
        f"  {'bot process, MB':<34}{'index':>8}{'after':>9}{'startup':>9}{'after':>9}{'serving':>9}"
        f"{'after':>9}{'after':>9}{'pagers':>9}{'Python':>9}{'threads':>8}{'SQLite':>7}"
    )
    out(
        f"  {'':<34}{'on disk':>8}{'startup':>9}{'peak':>9}{'trim':>9}{'peak':>9}"
        f"{'commands':>9}{'trim':>9}{'gone':>9}{'blocks':>9}{'':>8}{'conns':>7}"
    )
    for row in rows:
        out(
            f"  {row.label:<34}{row.db_mb:8.1f}{row.startup_rss:9.0f}{row.startup_peak:9.0f}"
            f"{row.startup_trimmed:9.0f}{row.serving_peak:9.0f}{row.serving_rss:9.0f}{_mb(row.serving_trimmed):>9}{_mb(row.settled_trimmed):>9}"
            f"{(f'{row.python_blocks / 1000:.0f}k' if row.python_blocks else '-'):>9}{row.threads:8d}{row.connections:7d}"
        )
    out(
        "  after startup: VmRSS once connected, synced and idle; startup peak: VmHWM then; trim: VmRSS after"
    )
    out(
        "  gc.collect() and malloc_trim(0) in the bot (what remains is in use); serving peak: VmHWM reset"
    )
    out(
        "  after startup, then the commands; pagers gone: trim again once every paged answer's view timed"
    )
    out(
        f"  out ({PAGE_TIMEOUT_SECONDS:.0f} s later); Python blocks: sys.getallocatedblocks() after the commands"
    )
    out()
    out(f"Load {load_note('at the end')}")
    small, large = rows[0], rows[1]
    with sqlite3.connect(":memory:") as conn:
        (cache,) = conn.execute("PRAGMA cache_size").fetchone()
    cache_mb = (-cache * 1024 if cache < 0 else cache * 4096) / 1e6 * max(large.connections, 1)
    growth = large.serving_peak - small.serving_peak
    in_use = large.serving_trimmed - small.serving_trimmed
    startup_growth = large.startup_peak - small.startup_peak
    out(
        f"Serving peak grows by {growth:.0f} MB from {small.documents:,} to {large.documents:,} documents; "
        f"SQLite's default page caches may hold up to {cache_mb:.1f} MB ({large.connections} connection(s) x "
        f"{-cache if cache < 0 else cache} KiB)"
    )
    out(
        f"In use right after the commands (after trim) grows by {in_use:.0f} MB; the rest of the serving "
        "peak was freed (the allocator kept it until trimmed)"
    )
    if not math.isnan(large.settled_trimmed):
        settled = large.settled_trimmed - small.settled_trimmed
        out(f"In use once the paged answers' views timed out grows by {settled:.0f} MB")
    out(
        f"Startup peak grows by {startup_growth:.0f} MB (the startup reload and the feed's first check)"
    )
    for label, before, after in (
        ("after the commands", small.objects, large.objects),
        ("once the views timed out", small.settled_objects, large.settled_objects),
    ):
        if before and after:
            grown = sorted(((after.get(k, 0) - before.get(k, 0), k) for k in after), reverse=True)[
                :8
            ]
            out(
                f"Objects the collector tracks, {label}, {large.label} minus {small.label}: "
                + ", ".join(f"{kind} {diff:+,}" for diff, kind in grown if diff)
            )
    if not math.isnan(large.sqlite_serving_peak):
        out()
        out(
            "SQLite's own heap (sqlite3_memory_highwater in the bot: page caches, statements, temp tables)"
        )
        out(f"  {'':<34}{'startup peak':>14}{'serving peak':>14}")
        for row in (small, large):
            out(f"  {row.label:<34}{row.sqlite_startup_peak:14.1f}{row.sqlite_serving_peak:14.1f}")
        verdicts = []
        for phase, total, sqlite_part in (
            ("serving", growth, large.sqlite_serving_peak - small.sqlite_serving_peak),
            ("startup", startup_growth, large.sqlite_startup_peak - small.sqlite_startup_peak),
        ):
            rest = total - sqlite_part
            verdicts.append(
                f"{phase} peak grows by {total:.0f} MB, SQLite's heap by {sqlite_part:.0f} MB: "
                f"{rest:+.0f} MB beyond SQLite ({'ok' if rest <= GROWTH_TOLERANCE_MB else 'MISSED'})"
            )
        out(
            f"Target: peak memory does not grow with the corpus beyond SQLite's cache (tolerance "
            f"{GROWTH_TOLERANCE_MB:.0f} MB, allocator slack):"
        )
        for verdict in verdicts:
            out(f"  {verdict}")
    if len(rows) > 3:
        out(
            f"A full /reload of {rows[2].documents:,} documents peaks at {rows[2].serving_peak:.0f} MB until its "
            f"reply, then {rows[3].serving_peak:.0f} MB while the feed checks the new documents"
        )
    out.save(args.work / f"last-memory-n{synthetic.count}.txt")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_corpus_arguments(parser)
    parser.add_argument(
        "--commands", type=int, default=200, help="commands in the burst, and one at a time"
    )
    parser.add_argument(
        "--no-wait-pages",
        action="store_true",
        help=f"skip waiting for the paged answers' views to time out ({PAGE_TIMEOUT_SECONDS:.0f} s a corpus)",
    )
    parser.add_argument(
        "--tracemalloc",
        action="store_true",
        help="run the bot with PYTHONTRACEMALLOC=1 to tell Python objects from other memory "
        "(tracing costs memory itself: compare its RSS only with other traced runs)",
    )
    parser.add_argument(
        "--full-reload",
        action="store_true",
        help="also measure a bot doing /reload of all N documents",
    )
    args = parser.parse_args(argv)
    if args.bundled:
        parser.error("the bundled corpus is always measured; --count sets the synthetic one")
    return asyncio.run(run(args))


if __name__ == "__main__":
    sys.exit(main())
