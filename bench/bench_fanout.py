"""Fan-out: one new entry announced to 1,000 subscribed channels under Discord's rate limits.

Run by hand, never by CI (it prints figures and asserts nothing). From the repository root:

    .venv/bin/python bench/bench_fanout.py                       # 1,000 channels, concurrency 1/4/8/16
    .venv/bin/python bench/bench_fanout.py --channels 200 --concurrency 4

How: the emulator and the real bot (every cog, the feed included) run in this process over
loopback, the bot over a fresh index of a copy of the bundled corpus. One server gets
`--channels` text channels; each gets an instant subscription written **directly through the
feed store** (`FeedStore.subscribe`, what `/subscribe` calls once its checks pass: 1,000 slash
commands would only time the setup). Then, for each sender concurrency measured side by side:
the emulator's rate limits are switched on afresh (Discord's: 5 messages per 5 s per channel and
50 requests per second for the whole bot, `discord_emulator/ratelimits.py`), a new corpus file
appears, the cog's `poll_once()` detects it (what the poll loop and `/reload` run) and wakes the
sender, and the clock runs until every channel holds that entry's announcement.

The floor. Each channel gets one post, so the per-channel bucket (5 per 5 s) never binds; the
global bucket does. Its windows are fixed and start with a window's first request, so N posts
under G requests per W seconds need at least ceil(N / G) windows, the last of which only has to
be entered:  floor = (ceil(N / G) - 1) * W   (1,000 posts, 50/s: 19 s from the first post to the
last). Measured against it: the span from the first POST to the last (the rate-limited part),
and the wall time from detection to the last post (adds detection and queueing).

429s. "No 429 beyond a bucket's first": per global window at most one 429 (the request that
discovers the window is full), so the allowance is the number of windows, ceil(N / G) - 1.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import shutil
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:  # run as `python bench/bench_fanout.py`
    sys.path.insert(0, str(REPO))

from bench._harness import BUNDLED_CORPUS, Report, invocation, machine_lines, verdict  # noqa: E402

TARGET_RATIO = 1.2
MESSAGE_ROUTE = "/channels/{channel_id}/messages"


@dataclass(frozen=True)
class FanOutResult:
    concurrency: int
    posts: int
    wall_s: float
    """From detection (poll_once called) to the last announcement recorded by the emulator."""
    span_s: float
    """From the first announcement POST to the last."""
    rejected: Counter[str]
    """429s of the emulated limits, by scope (global / user)."""
    requests: int
    bot_and_emulator_cpu_s: float


def floor_seconds(posts: int, global_limit: int, global_window: float) -> float:
    """(ceil(N / G) - 1) * W: see the module docstring."""
    return (math.ceil(posts / global_limit) - 1) * global_window


def allowed_429s(posts: int, global_limit: int) -> int:
    return max(0, math.ceil(posts / global_limit) - 1)


def new_entry(corpus: Path, n: int) -> None:
    """A new corpus file: an entry the feed has never seen."""
    (corpus / f"zz-fanout-{n}.md").write_text(
        f"---\nid: fanout-entry-{n}\ntitle: Fan-out Entry {n}\nauthors: [Bench Writer]\nkind: post\n"
        "excerpt: false\n---\nA new entry for the fan-out benchmark. It is announced everywhere.\n",
        encoding="utf-8",
    )


async def run(args: argparse.Namespace, out: Report) -> list[FanOutResult]:
    import discord

    from bot.config import Config, DiscordConfig, FeedConfig
    from bot.corpus.service import CorpusService, ServiceSettings
    from bot.discord_app.client import create_bot
    from discord_emulator import DiscordEmulator

    work = Path(tempfile.mkdtemp(prefix="bench-fanout-"))
    corpus = work / "corpus"
    shutil.copytree(BUNDLED_CORPUS, corpus)
    settings = ServiceSettings(db_path=work / "data" / "corpus.db", corpus_dir=corpus)
    service = await CorpusService.open(settings)
    await service.reload()
    emu = DiscordEmulator(validate_schema=not args.no_validate)
    await emu.start()
    stamps: list[tuple[float, Any]] = []
    log_request = emu.core.log_request

    def stamped(record: Any) -> None:  # when the emulator answered each request
        stamps.append((time.perf_counter(), record))
        log_request(record)

    emu.core.log_request = stamped  # type: ignore[method-assign]
    guild = emu.add_guild("fan-out")
    channels = [emu.add_channel(guild.id, f"news-{i}").id for i in range(args.channels)]
    config = Config(
        corpus_dir=corpus,
        data_dir=work / "data",
        discord=replace(DiscordConfig(), token=emu.bot_token, cooldown_seconds=60.0),
        feed=FeedConfig(interval_seconds=3600, max_announcements_per_cycle=3),
    )
    results: list[FanOutResult] = []
    try:
        with emu.patch_discord_py():
            bot = create_bot(config, service, guild_ready_timeout=0.05)
            task = asyncio.create_task(bot.start(emu.bot_token))
            try:
                await asyncio.wait_for(bot.wait_until_ready(), timeout=60)
                cog = bot.get_cog("Feed")
                # Not isinstance: discord.py loads an extension as a fresh module object.
                assert cog is not None, "the feed cog is not loaded"
                for channel in channels:
                    await cog.feed.store.subscribe(
                        guild_id=guild.id,
                        channel_id=channel,
                        source=None,
                        author=None,
                        keyword=None,
                        mention_role_id=None,
                        mode="instant",
                        digest_minute=None,
                        created_by=emu.bot_user_id,
                        now=cog.feed.clock(),
                    )
                await cog.loops.poll_once()  # the baseline: nothing old is announced
                for n, concurrency in enumerate(args.concurrency):
                    results.append(
                        await one_fan_out(args, emu, cog, corpus, channels, stamps, n, concurrency)
                    )
                    r = results[-1]
                    out(
                        f"  concurrency {concurrency:>2}: {r.posts} posts in {r.span_s:.2f} s, "
                        f"429s {dict(r.rejected)}"
                    )
            finally:
                await bot.close()
                await asyncio.wait_for(task, timeout=30)
    finally:
        await emu.stop()
        await service.close()
        shutil.rmtree(work, ignore_errors=True)
    if emu.problems:
        out(f"emulator problems: {emu.problems[:5]}")
    _ = discord  # imported first so that discord.py's logging is configured before the bot's
    return results


async def one_fan_out(
    args: argparse.Namespace,
    emu: Any,
    cog: Any,
    corpus: Path,
    channels: Sequence[int],
    stamps: list[tuple[float, Any]],
    n: int,
    concurrency: int,
) -> FanOutResult:
    cog.feed.engine.sender.concurrency = concurrency
    before = {c: len(emu.channel_messages(c)) for c in channels}
    limits = emu.enable_rate_limits(
        global_limit=args.global_limit, global_window=args.global_window
    )
    first_stamp = len(stamps)
    new_entry(corpus, n)
    cpu0 = time.process_time()
    started = time.perf_counter()
    await cog.loops.poll_once()
    wanted = set(channels)

    def all_posted() -> bool:
        posted = {
            int(r.path.split("/")[2])
            for _, r in stamps[first_stamp:]
            if r.method == "POST" and r.status == 200 and r.path.endswith("/messages")
        }
        return wanted <= posted

    await emu.wait_for(all_posted, args.give_up_after, describe="every channel announced")
    await cog.loops.send_once()  # one more pass: a duplicate would show now
    cpu = time.process_time() - cpu0
    posts = [
        (t, r)
        for t, r in stamps[first_stamp:]
        if r.method == "POST" and r.path.endswith("/messages")
    ]
    ok = [t for t, r in posts if r.status == 200]
    after = {c: len(emu.channel_messages(c)) - before[c] for c in channels}
    extra = [c for c, k in after.items() if k != 1]
    if extra:
        raise RuntimeError(f"{len(extra)} channels did not get exactly one announcement")
    rejected = Counter(hit.scope for hit in limits.hits)
    emu.disable_rate_limits()
    return FanOutResult(
        concurrency, len(ok), max(ok) - started, max(ok) - min(ok), rejected, len(posts), cpu
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--channels", type=int, default=1000)
    parser.add_argument(
        "--concurrency",
        type=int,
        nargs="+",
        default=[4, 1, 8, 16],
        help="sender concurrencies to measure side by side (the first is the default's)",
    )
    parser.add_argument("--global-limit", type=int, default=50)
    parser.add_argument("--global-window", type=float, default=1.0)
    parser.add_argument(
        "--no-validate", action="store_true", help="skip the emulator's OpenAPI checks"
    )
    parser.add_argument("--give-up-after", type=float, default=600.0)
    args = parser.parse_args(argv)
    out = Report()
    out("# Fan-out under Discord's rate limits")
    for line in machine_lines():
        out(line)
    out(f"Command  {invocation()}")
    floor = floor_seconds(args.channels, args.global_limit, args.global_window)
    allowance = allowed_429s(args.channels, args.global_limit)
    out(
        f"Setup    {args.channels} channels, subscriptions written through the feed store; limits: "
        f"{args.global_limit} req / {args.global_window:g} s global, 5 messages / 5 s per channel"
    )
    out(
        f"Floor    (ceil(N/G) - 1) * W = {floor:.1f} s; 429s allowed: one per global window = {allowance}"
    )
    out()
    results = asyncio.run(run(args, out))
    out()
    out(
        "| sender concurrency | posts | first→last post | ÷ floor | detection→last post | ÷ floor | "
        "429 global | 429 per-channel | requests | CPU (bot + emulator) | verdict |"
    )
    out("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|")
    for r in results:
        ratio, wall_ratio = (
            r.span_s / floor if floor else math.nan,
            r.wall_s / floor if floor else math.nan,
        )
        total_429 = sum(r.rejected.values())
        good = wall_ratio <= TARGET_RATIO and total_429 <= allowance
        out(
            f"| {r.concurrency} | {r.posts} | {r.span_s:.2f} s | {ratio:.2f}× | {r.wall_s:.2f} s | "
            f"{wall_ratio:.2f}× | {r.rejected.get('global', 0)} | {r.rejected.get('user', 0)} | {r.requests} | "
            f"{r.bot_and_emulator_cpu_s:.1f} s | {verdict(good)} |"
        )
    out()
    out(
        f"Targets: detection→last post within {TARGET_RATIO}× the floor; at most {allowance} 429s "
        "(one per global window)."
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
