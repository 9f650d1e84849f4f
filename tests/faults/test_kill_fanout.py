"""SIGKILL at random points of a fan-out: every subscribed channel gets the entry exactly once.

Why: the outbox promises once-and-only-once delivery across crashes: a deterministic nonce per
(subscription, entry), sent with `enforce_nonce`, makes a resend after "Discord created it but
the bot died before recording the id" return the existing message; the id is committed right
after each post. Only a real SIGKILL, at any point (mid-request, mid-commit), tests that.

Default variant (engine level, fast enough for CI): the test process runs the Discord emulator
and prepares an index with 60 subscribed channels and one new corpus entry queued for all of
them. A subprocess runs the real feed engine with the real `DiscordDeliverer` over discord.py's
real HTTP client (`Client.login`, REST only, no gateway: the fan-out does not need it) against
the emulator, and is killed with SIGKILL after a random number of new posts (0 or 1) plus a
random few milliseconds, 20 times with a fixed seed; each kill is followed by a restart. Why not
a full `python -m bot run` per kill: a full start (gateway identify, guild streaming, command
sync, the launcher's reload) costs seconds, 20 of them would dominate the CI budget, and the
fan-out path under test is the same code.

Heavy variant, only with `CORPUS_BOT_HEAVY_FAULTS=1` (a few seconds per start, a minute in all):
the same 20 kills on the whole bot, `python -m bot --config … run` pointed at the emulator
through DISCORD_TOKEN / DISCORD_API_BASE / DISCORD_GATEWAY_URL / CORPUS_BOT_DATA_DIR, the fan-out
driven by the bot's own feed loops (its first poll pass wakes the sender). Each run is killed
after 1 or 2 new posts (or, once all are delivered, right after it connects to the gateway).
"""

from __future__ import annotations

import asyncio
import os
import random
import signal
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from bot.config import FeedConfig
from bot.corpus.service import CorpusService, ServiceSettings
from bot.feeds.delivery import DeliveryError, Outgoing
from bot.feeds.engine import FeedEngine
from bot.feeds.models import Subscription
from discord_emulator import DiscordEmulator
from tests.conftest import write_doc

REPO = Path(__file__).resolve().parents[2]
CHANNELS = 60
KILLS = 20
SEED = 5150
HEAVY = os.environ.get("CORPUS_BOT_HEAVY_FAULTS") == "1"
LOOKAHEAD = 3
"""Senders spawned ahead: their interpreter starts and imports overlap the runs before them."""
NEW_ENTRY = "fanout-fresh-post"

SENDER_SCRIPT = """
import asyncio, sys
from datetime import UTC, datetime
from pathlib import Path
import discord
from bot.config import FeedConfig
from bot.corpus.service import CorpusService, ServiceSettings
from bot.discord_app.exts.feed import DiscordDeliverer
from bot.feeds.engine import FeedEngine

api_base, token, db, corpus = sys.argv[1:5]

async def main() -> None:
    print("ready", flush=True)
    await asyncio.to_thread(sys.stdin.readline)
    discord.http.Route.BASE = api_base
    client = discord.Client(intents=discord.Intents.none())
    await client.login(token)
    service = await CorpusService.open(ServiceSettings(db_path=Path(db), corpus_dir=Path(corpus)))
    engine = FeedEngine(service, FeedConfig(max_announcements_per_cycle=10), DiscordDeliverer(client))
    print("sending", flush=True)
    while await engine.feeds.subscriptions_with_work(datetime.now(UTC)):
        report = await engine.send(datetime.now(UTC))
        if report.retrying or report.paused:
            print(f"failed {report}", flush=True)
            break
    await service.close()
    await client.close()
    print("done", flush=True)

asyncio.run(main())
"""


class NoDelivery:
    """The test process only detects and queues; posting is the subprocess's job."""

    async def post(self, subscription: Subscription, message: Outgoing, nonce: str) -> int:
        raise DeliveryError(None, "the test process never posts")

    async def edit(self, subscription: Subscription, message_id: int, message: Outgoing) -> None:
        raise DeliveryError(None, "the test process never edits")


@dataclass
class FanOut:
    emu: DiscordEmulator
    settings: ServiceSettings
    guild_id: int
    channels: list[int]

    def announcements(self, channel_id: int) -> list[dict[str, Any]]:
        return [
            m
            for m in self.emu.channel_messages(channel_id, include_ephemeral=False)
            if m["author"]["id"] == str(self.emu.bot_user_id) and m.get("nonce") is not None
        ]

    def counts(self) -> list[int]:
        return [len(self.announcements(c)) for c in self.channels]

    def posted(self) -> int:
        return sum(self.counts())


async def queue_one_entry_for_every_channel(fan: FanOut) -> None:
    """Subscribe every channel, then add one corpus file: one outbox row per channel."""
    now = datetime.now(UTC)
    service = await CorpusService.open(fan.settings)
    try:
        await service.reload()
        engine = FeedEngine(service, FeedConfig(), NoDelivery())
        await engine.check_corpus(now, reload=False)  # the baseline: nothing old is announced
        for channel in fan.channels:
            await engine.feeds.subscribe(
                guild_id=fan.guild_id,
                channel_id=channel,
                source=None,
                author=None,
                keyword=None,
                mention_role_id=None,
                mode="instant",
                digest_minute=None,
                created_by=1,
                now=now,
            )
        write_doc(
            fan.settings.corpus_dir,
            "99-fanout.md",
            body="Fan-out under fire. Every channel once.",
            front=f"id: {NEW_ENTRY}\ntitle: Fan-Out Under Fire\nauthors: [Kim Killer]\nkind: post\nexcerpt: false",
        )
        detection = await engine.check_corpus(now, reload=True)
        assert detection.new_entries == (NEW_ENTRY,) and detection.queued == CHANNELS
    finally:
        await service.close()


@pytest.fixture
async def fan(tmp_path: Path, corpus_dir: Path) -> AsyncIterator[FanOut]:
    async with DiscordEmulator() as emu:
        guild = emu.add_guild("fan-out")
        channels = [emu.add_channel(guild.id, f"news-{i}").id for i in range(CHANNELS)]
        settings = ServiceSettings(db_path=tmp_path / "data" / "corpus.db", corpus_dir=corpus_dir)
        world = FanOut(emu, settings, guild.id, channels)
        await queue_one_entry_for_every_channel(world)
        yield world
        assert emu.problems == [], emu.problems


class Sender:
    """One sender subprocess: spawned early (its imports overlap the previous run), started on `go`."""

    def __init__(self, proc: asyncio.subprocess.Process) -> None:
        self.proc = proc

    @classmethod
    async def spawn(cls, fan: FanOut) -> Sender:
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-c",
            SENDER_SCRIPT,
            fan.emu.api_base,
            fan.emu.bot_token,
            str(fan.settings.db_path),
            str(fan.settings.corpus_dir),
            cwd=REPO,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        return cls(proc)

    async def line(self) -> str:
        assert self.proc.stdout is not None
        return (await asyncio.wait_for(self.proc.stdout.readline(), 30)).decode().strip()

    async def expect(self, wanted: str) -> None:
        said = await self.line()
        if said != wanted:
            await self.kill()
            raise AssertionError(f"the sender said {said!r}, not {wanted!r}: {await self.stderr()}")

    async def go(self) -> None:
        await self.expect("ready")
        assert self.proc.stdin is not None
        self.proc.stdin.write(b"go\n")
        await self.proc.stdin.drain()
        await self.expect("sending")

    async def until_posted_or_exited(self, fan: FanOut, posts: int) -> None:
        """Wait until the emulator holds `posts` announcements, or the sender has exited."""
        seen = asyncio.ensure_future(
            fan.emu.wait_for(lambda: fan.posted() >= posts, 30, describe=f"{posts} posts")
        )
        exited = asyncio.ensure_future(self.proc.wait())
        done, _ = await asyncio.wait(
            {seen, exited}, timeout=30, return_when=asyncio.FIRST_COMPLETED
        )
        for waiter in (seen, exited):
            waiter.cancel()
        assert done, f"neither {posts} posts nor an exit within 30 s"
        if seen in done:
            seen.result()

    async def kill(self) -> None:
        if self.proc.returncode is None:
            self.proc.send_signal(signal.SIGKILL)
        await asyncio.wait_for(self.proc.wait(), 30)

    async def stderr(self) -> str:
        assert self.proc.stderr is not None
        return (await self.proc.stderr.read()).decode(errors="replace")


async def kill_repeatedly(fan: FanOut, upcoming: list[Sender], chooser: random.Random) -> int:
    """KILLS runs, each killed at a random point; returns how many kills left channels waiting."""
    kills_mid_fan_out = 0
    for _ in range(KILLS):
        sender = upcoming.pop(0)
        upcoming.append(await Sender.spawn(fan))
        before = fan.posted()
        try:
            await sender.go()
            more = chooser.randint(0, 1)
            if more:
                await sender.until_posted_or_exited(fan, min(before + more, CHANNELS))
            await asyncio.sleep(chooser.uniform(0.0, 0.02))  # a random point, not an awaited event
            finished = sender.proc.returncode is not None
        finally:
            await sender.kill()
        kills_mid_fan_out += not finished and fan.posted() < CHANNELS
        assert max(fan.counts()) <= 1, f"a channel got the entry twice: {fan.counts()}"
    return kills_mid_fan_out


async def test_sigkill_mid_fan_out_then_restart_delivers_each_channel_exactly_once(
    fan: FanOut,
) -> None:
    upcoming = [await Sender.spawn(fan) for _ in range(LOOKAHEAD)]
    try:
        kills_mid_fan_out = await kill_repeatedly(fan, upcoming, random.Random(SEED))
        last = upcoming[0]  # a restart left alone: it finishes the fan-out
        await last.go()
        assert await last.line() == "done", await last.stderr()
    finally:
        for sender in upcoming:
            await sender.kill()
    assert fan.counts() == [1] * CHANNELS
    posts = fan.emu.requests_matching("POST", "/channels/{channel_id}/messages")
    print(
        f"{kills_mid_fan_out} of {KILLS} kills left channels waiting; {len(posts)} POSTs for {CHANNELS} messages"
    )
    assert kills_mid_fan_out >= KILLS // 4, (
        "the kills should land while channels were still waiting"
    )
    for channel in fan.channels:
        (message,) = fan.announcements(channel)
        assert "Fan-Out Under Fire" in str(message.get("embeds"))


BOT_CONFIG = """
corpus_dir: {corpus}
log_level: WARNING
discord:
  sync_on_start: true
feed:
  interval_seconds: 3600
"""


async def spawn_bot(fan: FanOut, config: Path) -> Sender:
    env = {
        **os.environ,
        **fan.emu.bot_environment(),
        "CORPUS_BOT_DATA_DIR": str(fan.settings.db_path.parent),
    }
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "--config",
        str(config),
        "run",
        cwd=REPO,
        env=env,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )
    return Sender(proc)


@pytest.mark.skipif(not HEAVY, reason="heavy fault variant: set CORPUS_BOT_HEAVY_FAULTS=1")
@pytest.mark.timeout(600)
async def test_heavy_sigkill_the_whole_bot_mid_fan_out(fan: FanOut, tmp_path: Path) -> None:
    config = tmp_path / "config.yaml"
    config.write_text(BOT_CONFIG.format(corpus=fan.settings.corpus_dir), encoding="utf-8")
    chooser = random.Random(SEED)
    bot = None
    try:
        for _ in range(KILLS):
            before, sessions = fan.posted(), len(fan.emu.gateway_sessions)
            bot = await spawn_bot(fan, config)
            if before < CHANNELS:
                await bot.until_posted_or_exited(fan, min(before + chooser.randint(1, 2), CHANNELS))
            else:
                await fan.emu.wait_for(
                    lambda n=sessions: len(fan.emu.gateway_sessions) > n,
                    30,
                    describe="a new session",
                )
            await asyncio.sleep(chooser.uniform(0.0, 0.05))  # a random point, not an awaited event
            assert bot.proc.returncode is None, "the bot exited on its own"
            await bot.kill()
            assert max(fan.counts()) <= 1, f"a channel got the entry twice: {fan.counts()}"
        bot = await spawn_bot(fan, config)
        await bot.until_posted_or_exited(fan, CHANNELS)
        assert bot.proc.returncode is None, "the bot exited on its own"
    finally:
        if bot is not None:
            await bot.kill()
    assert fan.counts() == [1] * CHANNELS
