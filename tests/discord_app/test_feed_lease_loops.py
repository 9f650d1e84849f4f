"""FeedLoops under a lease, below Discord: a pass under way when the lease is lost is cancelled
at once (its transaction rolls back), the loops wait for the lease again and restart when it is
back; with sqlite's `AlwaysHeld` they run at once. The bot and the feed are stand-ins here (the
end-to-end behaviour with PostgreSQL and the emulator is in test_feed_lease_e2e.py)."""

from __future__ import annotations

import asyncio
from typing import Any, cast

from bot.discord_app.exts.feed.loops import FeedLoops
from bot.storage.lease import AlwaysHeld
from tests.conftest import HANG_GUARD_SECONDS, eventually


class StandInBot:
    async def wait_until_ready(self) -> None:
        return None


class BlockingFeed:
    """A feed whose poll pass blocks until `finish` is set or it is cancelled, recording how
    it ended."""

    def __init__(self) -> None:
        self.polls_started = 0
        self.polls_cancelled = 0
        self.polling = asyncio.Event()
        self.finish = asyncio.Event()

    async def poll_once(self, *, reload_corpus: bool = True) -> None:
        self.polls_started += 1
        self.polling.set()
        try:
            await self.finish.wait()  # a pass that would run on past the lease
        except asyncio.CancelledError:
            self.polls_cancelled += 1
            raise

    async def send_once(self) -> None:
        return None

    async def digest_once(self) -> None:
        return None

    async def unreported_pauses(self) -> list[Any]:
        return []


class HandedLease:
    """A lease the test hands over and takes away, as a database session would."""

    label = "here pid 1"

    def __init__(self) -> None:
        self.held = False
        self.granted = asyncio.Event()
        self.lost = asyncio.Event()
        self.attempts = 0

    async def acquire(self) -> None:
        self.attempts += 1
        await self.granted.wait()
        self.granted.clear()
        self.lost.clear()
        self.held = True

    async def wait_lost(self) -> None:
        await self.lost.wait()

    def lose(self) -> None:
        self.held = False
        self.lost.set()

    async def release(self) -> None:
        self.held = False

    async def holder(self) -> str | None:
        return "elsewhere pid 2" if not self.held else self.label


async def test_a_lost_lease_cancels_the_pass_under_way_and_the_loops_wait_to_hold_it_again() -> (
    None
):
    feed, lease = BlockingFeed(), HandedLease()
    loops = FeedLoops(cast(Any, StandInBot()), cast(Any, feed), lease)
    loops.start(poll_seconds=3600)
    try:
        await eventually(lambda: lease.attempts == 1, "lease.attempts == 1")
        assert not loops.running and feed.polls_started == 0, "nothing runs without the lease"
        assert await loops.holder() == "another process (elsewhere pid 2)"

        lease.granted.set()
        await asyncio.wait_for(feed.polling.wait(), HANG_GUARD_SECONDS)
        assert loops.running
        assert await loops.holder() == "this process (here pid 1)"

        lease.lose()
        await eventually(lambda: not loops.running, "not loops.running")
        assert feed.polls_cancelled == 1, "the pass under way was cancelled, not left running"
        await eventually(lambda: lease.attempts == 2, "lease.attempts == 2")  # contending again

        feed.polling.clear()
        lease.granted.set()
        await asyncio.wait_for(feed.polling.wait(), HANG_GUARD_SECONDS)
        assert loops.running and feed.polls_started == 2
    finally:
        feed.finish.set()  # unloading lets a pass finish (a few seconds) before cancelling it
        await loops.stop()
    assert not loops.running and not lease.held


async def test_with_sqlite_the_loops_run_at_once_in_this_process() -> None:
    feed = BlockingFeed()
    loops = FeedLoops(cast(Any, StandInBot()), cast(Any, feed), AlwaysHeld("box pid 7"))
    loops.start(poll_seconds=3600)
    try:
        await asyncio.wait_for(feed.polling.wait(), HANG_GUARD_SECONDS)
        assert loops.running
        assert await loops.holder() == "this process (box pid 7)"
    finally:
        feed.finish.set()
        await loops.stop()
    assert feed.polls_cancelled == 0 and not loops.running


class CountingFeed(BlockingFeed):
    def __init__(self) -> None:
        super().__init__()
        self.detections = 0

    async def corpus_reloaded(self) -> None:
        self.detections += 1


async def test_only_the_holder_detects_after_a_reload_or_a_pull() -> None:
    """/reload (and a pull of another process's documents) runs corpus detection in the lease
    holder only: the others' replicas follow, the holder announces, once."""
    feed, lease = CountingFeed(), HandedLease()
    loops = FeedLoops(cast(Any, StandInBot()), cast(Any, feed), lease)
    await loops.corpus_reloaded()
    assert feed.detections == 0
    lease.held = True
    await loops.corpus_reloaded()
    assert feed.detections == 1
