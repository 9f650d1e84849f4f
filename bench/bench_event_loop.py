"""How long the bot's event loop stalls during a full reload and a long summary.

Run by hand, never by CI (it prints figures and asserts nothing). From the repository root:

    .venv/bin/python bench/bench_event_loop.py --count 100000    # ~5 min: the reload is a full build
    .venv/bin/python bench/bench_event_loop.py --count 10000     # a quick run
    .venv/bin/python bench/bench_event_loop.py --count 100000 --asyncio-debug   # + asyncio's own report

While the loop stalls, the bot answers nothing: no command, no heartbeat. A stall is measured
from inside the bot's process: `python bench/_harness.py bot-child --probe …` runs the same
`bot.cli.main` as `python -m bot run`, plus a task that sleeps 5 ms in a loop and records how
late it wakes, and a watchdog thread that samples the loop thread's Python stack every 10 ms
while the loop has not ticked for 50 ms (the samples name the code that blocks it).

The bot starts on an empty corpus folder and an empty index, connected to the emulator (this
process). Then, each window timed from the command to the bot going idle again:

1. baseline: 3 s connected and idle;
2. full reload: the folder is filled with hard links to the N synthetic documents and an admin
   runs /reload, as the bot calls it (`CorpusService.reload` from the admin cog), followed by
   what the bot does after the reply (the feed checks the new documents);
3. summarize: /summarize of `long-20000` (20,000 words, not cached: the index is new);
4. restart: a second bot (same probe) on the folder and index just built: its startup reload finds
   nothing changed, then the feed's first poll checks every document against the seen-set, the
   work every poll repeats (`feed.interval_seconds`, 15 min by default).

Target: max stall < 100 ms in every window. With --asyncio-debug the bot also runs in asyncio's
debug mode (slow callbacks over 100 ms are logged by asyncio; the debug mode slows the loop).
"""

from __future__ import annotations

import argparse
import asyncio
import re
import sys
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:  # run as `python bench/bench_event_loop.py`
    sys.path.insert(0, str(REPO))

from bench._harness import (  # noqa: E402
    Report,
    add_corpus_arguments,
    choose_corpus,
    empty_folder,
    fill_folder,
    invocation,
    launch_bot,
    load_note,
    load_probe,
    machine_lines,
    percentile,
    probed_bot,
    remove_database,
    start_world,
    verdict,
    wait_until_serving,
)

TARGET_STALL_MS = 100.0
BASELINE_SECONDS = 3.0
LONG_DOCUMENT = "long-20000"


@dataclass(frozen=True)
class Window:
    label: str
    start: float
    end: float
    note: str = ""
    bot: str = "first"
    """Which bot's probe holds the window: the first, or the one restarted on the built index."""

    @property
    def seconds(self) -> float:
        return self.end - self.start


def describe_reply(reply: dict[str, Any]) -> str:
    embeds = reply.get("embeds") or []
    if embeds:
        embed = embeds[0]
        text = " | ".join(
            part
            for part in (
                embed.get("title") or "",
                " ".join((embed.get("description") or "").split())[:140],
                *(
                    f"{f.get('name')}: {' '.join(str(f.get('value')).split())[:60]}"
                    for f in embed.get("fields") or []
                ),
            )
            if part
        )
        return text[:300]
    return " ".join((reply.get("content") or "").split())[:200]


def stall_row(label: str, window: Window, probe: dict[str, Any]) -> tuple[str, float]:
    # A stall belongs to the window it began in (the sleeper records it when it ends).
    late = sorted(s * 1000 for at, s in probe["late"] if window.start <= at - s <= window.end)
    ticks = [(at, n) for at, n in probe["ticks"] if window.start <= at <= window.end]
    ran = ticks[-1][1] - ticks[0][1] if len(ticks) > 1 else 0
    span = ticks[-1][0] - ticks[0][0] if len(ticks) > 1 else 0.0
    expected = span / probe["interval"] if span else 0.0
    worst = late[-1] if late else 0.0
    over = {limit: sum(1 for ms in late if ms > limit) for limit in (10, 50, 100)}
    stalled = sum(ms for ms in late if ms > 10) / 1000
    share = f"{ran / expected:5.0%}" if expected else "    -"
    row = (
        f"  {label:<46}{window.seconds:8.1f} {worst:9.1f} {percentile(late, 99) if late else 0.0:8.1f} "
        f"{over[10]:6d} {over[50]:6d} {over[100]:6d} {stalled:9.2f}  {share}"
    )
    return row, worst


def episodes(samples: list[dict[str, Any]], window: Window) -> list[list[dict[str, Any]]]:
    """Watchdog samples grouped by stall: samples of one stall share its start (the last tick)."""
    inside = [s for s in samples if window.start <= s["at"] - s["stalled"] <= window.end]
    grouped: list[list[dict[str, Any]]] = []
    for sample in inside:
        began = sample["at"] - sample["stalled"]
        if grouped and abs(began - (grouped[-1][-1]["at"] - grouped[-1][-1]["stalled"])) < 0.005:
            grouped[-1].append(sample)
        else:
            grouped.append([sample])
    return grouped


def culprit_lines(window: Window, probe: dict[str, Any], *, limit: int = 8) -> list[str]:
    found = episodes(probe["samples"], window)
    if not found:
        return ["    (no stall of 50 ms or more was sampled)"]
    found.sort(key=lambda e: -e[-1]["stalled"])
    lines: list[str] = []
    for episode in found[:limit]:
        longest = episode[-1]["stalled"] * 1000
        project = Counter(" <- ".join(reversed(s["project"][-3:])) for s in episode if s["project"])
        innermost = Counter(s["stack"][-1] for s in episode if s["stack"])
        at = episode[0]["at"] - episode[0]["stalled"] - window.start
        lines.append(
            f"    {longest:8.0f} ms from +{at:.1f} s into the window, {len(episode)} sample(s); most seen:"
        )
        for where, seen in project.most_common(2) or [
            ("(no frame of bot/ on the stack)", len(episode))
        ]:
            lines.append(f"      {seen:4d} x {where}")
        if innermost:
            where, seen = innermost.most_common(1)[0]
            lines.append(f"      {seen:4d} x innermost frame {where}")
        waiting = [s for s in episode if "others" in s]
        if waiting:
            holders = Counter(o for s in waiting for o in s["others"])
            lines.append(
                f"      {len(waiting):4d} x the loop thread back from epoll, waiting for the GIL; running then:"
            )
            for where, seen in holders.most_common(2) or [("(no other thread running Python)", 0)]:
                lines.append(f"             {seen:4d} x {where}")
    if len(found) > limit:
        lines.append(f"    … and {len(found) - limit} shorter episode(s) of 50 ms or more")
    return lines


def debug_lines(log_path: Path, *, limit: int = 12) -> list[str]:
    """asyncio's own slow-callback warnings (debug mode), shortened."""
    text = log_path.read_text(encoding="utf-8", errors="replace")
    found = re.findall(r"Executing (.{0,240}?) took ([0-9.]+) seconds", text)
    found.sort(key=lambda item: -float(item[1]))
    return [f"    {float(seconds) * 1000:7.0f} ms  {what}" for what, seconds in found[:limit]] or [
        "    (asyncio logged no slow callback)"
    ]


async def timed_command(
    world: Any, name: str, options: dict[str, Any], *, wait_s: float
) -> tuple[float, float, dict[str, Any]]:
    started = time.monotonic()
    handle = await world.emu.send_command(
        name, options, user=world.admin_id, guild=world.guild_id, channel=world.channel_id
    )
    reply = await handle.wait_reply(timeout=wait_s)
    return started, time.monotonic(), reply


async def run(args: argparse.Namespace) -> int:
    out = Report()
    corpus = choose_corpus(args)
    runs = args.work / "runs"
    runs.mkdir(parents=True, exist_ok=True)
    live = args.work / "live-corpus"
    db_path = args.work / "db" / "event-loop.db"
    probe_paths = {
        "first": runs / "event-loop-probe.json",
        "restarted": runs / "event-loop-restart-probe.json",
    }
    empty_folder(live)
    remove_database(db_path)
    for path in probe_paths.values():
        path.unlink(missing_ok=True)

    out(f"corpus-bot event-loop benchmark: {corpus.label}")
    out(f"  command: {invocation()}")
    out()
    out("Machine")
    for line in machine_lines():
        out(f"  {line}")
    out()
    out(f"Corpus   {corpus.note}; served from {live} (hard links), index {db_path} (new)")

    world = await start_world(members=2)
    env = {"PYTHONASYNCIODEBUG": "1"} if args.asyncio_debug else None
    entry = probed_bot(probe=probe_paths["first"])
    bot = launch_bot(
        world,
        corpus=live,
        db_path=db_path,
        work=args.work,
        name="event-loop",
        entry=entry,
        extra_env=env,
    )
    restarted = None
    windows: list[Window] = []
    memory: list[tuple[str, float, float]] = []
    try:
        marks = await wait_until_serving(world, bot)
        out(
            f"Bot      pid {bot.pid}; {', '.join(f'{k} {v:.1f} s' for k, v in marks.items())}; log {bot.log_path}"
        )
        out(f"         asyncio debug mode: {args.asyncio_debug}")
        out()
        memory.append(("connected, empty index", bot.memory().rss_mb, bot.memory().hwm_mb))

        started = time.monotonic()
        await asyncio.sleep(BASELINE_SECONDS)
        windows.append(Window("baseline: connected, idle", started, time.monotonic()))

        linked = await asyncio.to_thread(fill_folder, corpus.path, live)
        bot.reset_peak()
        started, replied, reply = await timed_command(world, "reload", {}, wait_s=3600)
        memory.append(
            (
                f"at the reply to /reload of {linked:,} documents",
                bot.memory().rss_mb,
                bot.memory().hwm_mb,
            )
        )
        bot.reset_peak()
        await bot.wait_idle()
        windows.append(
            Window(f"/reload of {linked:,} new documents", started, replied, describe_reply(reply))
        )
        windows.append(Window("  then, until idle (the feed's check)", replied, time.monotonic()))
        memory.append(
            ("then after the feed's check, idle", bot.memory().rss_mb, bot.memory().hwm_mb)
        )

        bot.reset_peak()
        started, replied, reply = await timed_command(
            world, "summarize", {"post": LONG_DOCUMENT}, wait_s=600
        )
        await bot.wait_idle()
        windows.append(
            Window(
                f"/summarize {LONG_DOCUMENT} (not cached)", started, replied, describe_reply(reply)
            )
        )
        windows.append(Window("  then, until idle", replied, time.monotonic()))
        memory.append(
            (f"after /summarize {LONG_DOCUMENT}", bot.memory().rss_mb, bot.memory().hwm_mb)
        )
        await bot.stop()

        # A restart on the built index: the startup reload finds nothing changed, then the feed's
        # first poll checks every document against the seen-set, as every later poll does.
        entry = probed_bot(probe=probe_paths["restarted"])
        restarted = launch_bot(
            world,
            corpus=live,
            db_path=db_path,
            work=args.work,
            name="event-loop-restart",
            entry=entry,
            extra_env=env,
        )
        marks = await wait_until_serving(world, restarted)
        connected = restarted.started + marks["gateway connected"]
        windows.append(
            Window(
                "restart: launch to gateway (startup reload)",
                restarted.started,
                connected,
                bot="restarted",
            )
        )
        windows.append(
            Window(
                "  connected to idle (the feed's first poll)",
                connected,
                time.monotonic(),
                bot="restarted",
            )
        )
        memory.append(
            (
                f"restarted on {linked:,} documents, idle",
                restarted.memory().rss_mb,
                restarted.memory().hwm_mb,
            )
        )
        problems = list(world.emu.problems)
    finally:
        await bot.stop()
        if restarted is not None:
            await restarted.stop()
        await world.emu.stop()
        await asyncio.to_thread(empty_folder, live)
    probes = {name: load_probe(path) for name, path in probe_paths.items() if path.exists()}

    out("What the bot answered")
    for window in windows:
        if window.note:
            out(f"  {window.label}: {window.seconds:.1f} s -> {window.note}")
    out()
    out("Event-loop stalls: how late a 5 ms sleeper woke, in ms")
    out(
        f"  {'window':<46}{'seconds':>8} {'max':>9} {'p99*':>8} {'>10ms':>6} {'>50ms':>6} {'>100ms':>6} "
        f"{'stalled s':>9}  ticks run"
    )
    worst_by_window: list[tuple[str, float]] = []
    for window in windows:
        row, worst = stall_row(window.label, window, probes[window.bot])
        out(row)
        worst_by_window.append((window.label.strip(), worst))
    out(
        "  (* p99 of the wake-ups later than 1 ms; 'stalled s' sums stalls over 10 ms; 'ticks run' is"
    )
    out("   the share of the 5 ms ticks the loop managed, lower when worker threads hold the GIL)")
    out()
    out(
        "Where the loop thread was during stalls of 50 ms or more (watchdog samples, longest first)"
    )
    for window in windows:
        out(f"  {window.label.strip()}")
        for line in culprit_lines(window, probes[window.bot]):
            out(line)
    out()
    if args.asyncio_debug:
        out("asyncio debug mode: slow callbacks it logged (longest first)")
        for line in debug_lines(bot.log_path):
            out(line)
        out()
    out("Bot memory, MB                                   VmRSS   peak VmHWM in the phase")
    for label, rss, hwm in memory:
        out(f"  {label:<46}{rss:7.0f}   {hwm:7.0f}")
    out()
    out(f"Emulator problems (invalid bodies, late or double acknowledgements): {len(problems)}")
    for problem in problems[:10]:
        out(f"  {problem}")
    out()
    out(f"Load {load_note('at the end')}")
    measured = [
        (label, worst) for label, worst in worst_by_window if not label.startswith("baseline")
    ]
    summary = "; ".join(
        f"{label} {worst:.0f} ms {verdict(worst < TARGET_STALL_MS)}" for label, worst in measured
    )
    out(f"Target max stall < {TARGET_STALL_MS:.0f} ms: {summary}")
    out.save(args.work / f"last-event-loop-n{corpus.count}.txt")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_corpus_arguments(parser)
    parser.add_argument(
        "--asyncio-debug", action="store_true", help="run the bot in asyncio's debug mode as well"
    )
    args = parser.parse_args(argv)
    if args.bundled:
        parser.error(
            f"the event-loop benchmark needs the synthetic corpus ({LONG_DOCUMENT} is in it)"
        )
    return asyncio.run(run(args))


if __name__ == "__main__":
    sys.exit(main())
