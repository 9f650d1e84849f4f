"""Peak resident memory of the bot serving commands: the bundled corpus vs. N synthetic documents.

Run by hand, never by CI (it prints figures and asserts nothing). From the repository root:

    .venv/bin/python bench/bench_memory.py --count 100000                 # ~2 min with a kept index
    .venv/bin/python bench/bench_memory.py --count 100000 --full-reload   # + a /reload of all N (~4 min)

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
  kept after a burst of work.

The claim to check: serving memory does not grow with the corpus beyond SQLite's page cache. So
the report also gives SQLite's cache setting (PRAGMA cache_size as the bot's connections get it:
the bot sets none, see the grep line) and how many connections the bot holds on the index (its
open file descriptors on the file), which bound what the cache may add.

--full-reload adds a third bot started on an empty folder and an empty index; the folder is then
filled with the N documents (hard links) and an admin runs /reload: the peak of a full build.
"""

from __future__ import annotations

import argparse
import asyncio
import re
import sqlite3
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

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
    python_blocks: int
    threads: int
    connections: int
    note: str


def sqlite_settings() -> list[str]:
    """SQLite's defaults, and whether the bot's code overrides the cache or memory-maps the file."""
    with tempfile.TemporaryDirectory() as folder:  # mmap_size answers only for a file
        conn = sqlite3.connect(Path(folder) / "probe.db")
        (cache,) = conn.execute("PRAGMA cache_size").fetchone()
        (mmap,) = conn.execute("PRAGMA mmap_size").fetchone()
        conn.close()
    size = f"{-cache:,} KiB" if cache < 0 else f"{cache:,} pages"
    pragmas = sorted(
        {
            f"{path.relative_to(REPO)}: {match}"
            for path in (REPO / "bot").rglob("*.py")
            for match in re.findall(r"PRAGMA\s+(?:cache_size|mmap_size|cache_spill)[^\"']*", path.read_text("utf-8"))
        }
    )
    return [
        f"SQLite default cache_size {cache} (= {size} per connection), mmap_size {mmap}",
        "bot/ sets: " + ("; ".join(pragmas) if pragmas else "no PRAGMA cache_size / mmap_size (grep of bot/**/*.py)"),
    ]


async def serving_row(corpus: CorpusChoice, work: Path, commands: int, seed: int) -> tuple[MemoryRow, str]:
    db_path = index_path(work, corpus)
    index_note = await prepare_index(corpus.path, db_path)
    world = await start_world(members=2 * commands + 10)
    name = "memory-bundled" if corpus.path == BUNDLED_CORPUS else f"memory-n{corpus.count}"
    report = fresh_report(work, name)
    entry = probed_bot(memory_report=report)
    bot = launch_bot(world, corpus=corpus.path, db_path=db_path, work=work, name=name, entry=entry)
    try:
        await wait_until_serving(world, bot)
        startup = bot.memory()
        startup_trim = await bot.trim_report(report)
        connections = bot.open_database_files()
        if not bot.reset_peak():
            raise RuntimeError("cannot reset VmHWM (/proc/PID/clear_refs): the serving peak would include startup")
        burst = await run_burst(world, bot, command_mix(db_path, commands, seed=seed, salt="memory-burst"))
        await bot.wait_idle()
        sequential = await run_sequential(world, bot, command_mix(db_path, commands, seed=seed, salt="memory-seq"))
        serving = bot.memory()
        serving_trim = await bot.trim_report(report)
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
        python_blocks=serving_trim["blocks"],
        threads=serving.threads,
        connections=connections,
        note=f"{answered}/{2 * commands} commands answered; log {bot.log_path}",
    )
    return row, index_note


def fresh_report(work: Path, name: str) -> Path:
    path = work / "runs" / f"{name}-memory.jsonl"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.unlink(missing_ok=True)
    return path


async def full_reload_row(corpus: CorpusChoice, work: Path) -> MemoryRow:
    live = work / "live-corpus"
    db_path = work / "db" / "memory-full-reload.db"
    empty_folder(live)
    remove_database(db_path)
    world = await start_world(members=2)
    report = fresh_report(work, "memory-full-reload")
    entry = probed_bot(memory_report=report)
    bot = launch_bot(world, corpus=live, db_path=db_path, work=work, name="memory-full-reload", entry=entry)
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
        await bot.wait_idle()
        after = bot.memory()
        after_trim = await bot.trim_report(report)
    finally:
        await bot.stop()
        await world.emu.stop()
        await asyncio.to_thread(empty_folder, live)
    size = database_mb(db_path)
    remove_database(db_path)
    return MemoryRow(
        label=f"/reload of {linked:,} new documents",
        documents=linked,
        db_mb=size,
        startup_rss=startup.rss_mb,
        startup_peak=startup.hwm_mb,
        startup_trimmed=startup_trim["rss_after_trim_mb"],
        serving_peak=after.hwm_mb,
        serving_rss=after.rss_mb,
        serving_trimmed=after_trim["rss_after_trim_mb"],
        python_blocks=after_trim["blocks"],
        threads=after.threads,
        connections=connections,
        note="its 'serving' columns: from the /reload until the bot was idle again (the feed's check included)",
    )


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
        row, index_note = await serving_row(corpus, args.work, args.commands, args.seed)
        out(f"{corpus.label}: {corpus.note}; {index_note}; {row.note}")
        rows.append(row)
    if args.full_reload:
        rows.append(await full_reload_row(synthetic, args.work))
        out(f"{rows[-1].label}: {rows[-1].note}")
    out()
    out(
        f"  {'bot process, MB':<34}{'index':>8}{'after':>9}{'startup':>9}{'after':>9}{'serving':>9}"
        f"{'after':>9}{'after':>9}{'Python':>9}{'threads':>8}{'SQLite':>7}"
    )
    out(
        f"  {'':<34}{'on disk':>8}{'startup':>9}{'peak':>9}{'trim':>9}{'peak':>9}"
        f"{'commands':>9}{'trim':>9}{'blocks':>9}{'':>8}{'conns':>7}"
    )
    for row in rows:
        out(
            f"  {row.label:<34}{row.db_mb:8.1f}{row.startup_rss:9.0f}{row.startup_peak:9.0f}"
            f"{row.startup_trimmed:9.0f}{row.serving_peak:9.0f}{row.serving_rss:9.0f}{row.serving_trimmed:9.0f}"
            f"{row.python_blocks / 1000:8.0f}k{row.threads:8d}{row.connections:7d}"
        )
    out("  after startup: VmRSS once connected, synced and idle; startup peak: VmHWM then; trim: VmRSS after")
    out("  gc.collect() and malloc_trim(0) in the bot (what remains is in use); serving peak: VmHWM reset")
    out("  after startup, then the commands; Python blocks: sys.getallocatedblocks() after the commands")
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
        f"SQLite's page caches may hold up to {cache_mb:.1f} MB ({large.connections} connection(s) x "
        f"{-cache if cache < 0 else cache} KiB){'' if growth <= cache_mb else ': MORE than the caches'}"
    )
    out(
        f"In use after the commands (after trim) grows by {in_use:.0f} MB; the rest of the serving peak is "
        "memory freed after startup that the allocator kept"
    )
    out(f"Startup peak grows by {startup_growth:.0f} MB (the startup reload and the feed's first check)")
    if len(rows) > 2:
        out(f"A full /reload of {rows[2].documents:,} documents peaks at {rows[2].serving_peak:.0f} MB")
    out.save(args.work / f"last-memory-n{synthetic.count}.txt")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_corpus_arguments(parser)
    parser.add_argument("--commands", type=int, default=200, help="commands in the burst, and one at a time")
    parser.add_argument(
        "--full-reload", action="store_true", help="also measure a bot doing /reload of all N documents"
    )
    args = parser.parse_args(argv)
    if args.bundled:
        parser.error("the bundled corpus is always measured; --count sets the synthetic one")
    return asyncio.run(run(args))


if __name__ == "__main__":
    sys.exit(main())
