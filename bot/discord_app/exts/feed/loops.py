"""The feed's three loops (poll, send, digest) and the pause reports they lead to.

Each loop runs one `FeedService` pass per tick. Loops are `discord.ext.tasks` loops whose bodies
catch everything, so one bad pass never stops them; they do not depend on the gateway, so
reconnects do not stop them either. Detection wakes the sender (`request_send`) instead of
waiting for its idle tick. Unloading lets a pass under way (a transaction, a post) finish.

They run only while this process holds the feed's lease (`bot.storage.lease.LoopLease`; issue
#14, decision 6): with `storage: sqlite` it is always held (`AlwaysHeld`), with `storage:
postgres` exactly one process of those sharing the database holds it (a session advisory lock,
`bot.storage.postgres.lease.Lease`). A process without it contends again every
`LeaseTiming.retry_s` (2 s) and runs the loops at most `TAKEOVER_BOUND_S` (6 s) after the
holder's session ended; a holder whose session ends stops its loops at once (a pass under way is
cancelled: its transaction rolls back, a post already attempted is found again by its nonce or
footer) and contends again. The sender posts over REST, so the holder serves every shard's guilds.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

import discord
from discord.ext import tasks

from bot.discord_app.exts.feed.checks import missing_post_permissions
from bot.discord_app.feed_render import pause_report_text
from bot.feeds.service import FeedService
from bot.storage.lease import LoopLease

if TYPE_CHECKING:
    from bot.discord_app.client import CorpusBot

log = logging.getLogger(__name__)

SEND_IDLE_SECONDS = 30.0
"""The sender looks at the outbox at least this often (retries come due); detection wakes it."""
DIGEST_TICK_SECONDS = 30.0
STOP_GRACE_SECONDS = 5.0
"""On unload, a loop may finish its current pass (a transaction) for this long before it is cancelled."""
HOLDER_TIMEOUT_SECONDS = 1.0
"""`/feed status` asks the database who holds the loops for at most this long (it answers
within Discord's 3 s)."""
LEASE_FAULT_RETRY_SECONDS = 5.0
"""After an unexpected failure to contend for the lease or to start the loops (a bug, not a
database that is down: the lease retries that itself), try again after this long rather than
never, and not in a tight loop."""


class FeedLoops:
    """The poll, send and digest loops over one `FeedService`, run while `lease` is held, and
    the pause reports."""

    def __init__(self, bot: CorpusBot, feed: FeedService, lease: LoopLease) -> None:
        self.bot = bot
        self.feed = feed
        self.lease = lease
        self._send_wanted = asyncio.Event()
        self._may_run = False
        """Passes run only while True: the lease is held and the cog is not unloading."""
        self._corpus_fresh = True
        """The launcher reloaded the corpus just before the bot started: the first poll pass
        checks what that reload found instead of reading the whole folder a second time."""
        self._active_passes = 0
        self._idle = asyncio.Event()
        self._idle.set()
        self._report_lock = asyncio.Lock()
        self._keeper: asyncio.Task[None] | None = None
        self._loops: tuple[tasks.Loop, ...] = (self.poll_loop, self.send_loop, self.digest_loop)

    @property
    def running(self) -> bool:
        """Whether this process runs the loops now."""
        return any(loop.is_running() for loop in self._loops)

    def start(self, poll_seconds: float) -> None:
        """Contend for the lease and run the loops whenever it is held (at once with sqlite)."""
        self.poll_loop.change_interval(seconds=poll_seconds)
        if self._keeper is None or self._keeper.done():
            self._keeper = asyncio.create_task(self._keep_lease(), name="feed lease")

    async def _keep_lease(self) -> None:
        """Hold the lease, run the loops while it is held; when it is lost, stop them at once
        and contend again, for as long as the cog is loaded."""
        while True:
            try:
                await self.lease.acquire()
            except Exception:
                log.exception("feed: contending for the feed lease failed; trying again")
                await asyncio.sleep(LEASE_FAULT_RETRY_SECONDS)
                continue
            try:
                await self._start_loops()
                await self.lease.wait_lost()
                log.warning(
                    "feed: this process (%s) lost the feed lease (its database session ended): "
                    "its loops stop now, another process takes them over, this one contends "
                    "again",
                    self.lease.label,
                )
            except Exception:
                log.exception("feed: running the loops under the lease failed; contending again")
                await self._halt(grace=0.0)
                await self.lease.release()
                await asyncio.sleep(LEASE_FAULT_RETRY_SECONDS)
                continue
            await self._halt(grace=0.0)

    async def _start_loops(self) -> None:
        for loop in self._loops:  # a loop cancelled on a lost lease ends before it restarts
            task = loop.get_task()
            if task is not None and not task.done():
                await asyncio.wait([task])
        self._may_run = True
        for loop in self._loops:
            loop.start()
        log.info("feed: this process (%s) runs the poll, send and digest loops", self.lease.label)

    async def _halt(self, *, grace: float) -> None:
        """Stop the loops: a pass under way may finish within `grace` (a transaction, a post),
        then it is cancelled (its transaction rolls back); idle loops are cancelled at once."""
        self._may_run = False
        for loop in self._loops:
            loop.stop()
        self._send_wanted.set()
        if grace > 0:
            with contextlib.suppress(TimeoutError):
                # asyncio.timeout: 3.11's wait_for can lose a cancellation racing the event
                async with asyncio.timeout(grace):
                    await self._idle.wait()
        running = [
            task
            for loop in self._loops
            if (task := loop.get_task()) is not None and not task.done()
        ]
        for task in running:
            task.cancel()
        if running:
            await asyncio.wait(running, timeout=STOP_GRACE_SECONDS)

    async def stop(self) -> None:
        """Stop the loops without cutting a pass (a transaction, a post) in half: a pass under
        way gets a few seconds to finish, idle loops are cancelled at once. Then give the lease
        up, so another process takes the loops over without waiting for this one's session."""
        keeper, self._keeper = self._keeper, None
        if keeper is not None:
            keeper.cancel()
            await asyncio.wait([keeper])  # not `await keeper`: stop()'s own cancel must pass
        await self._halt(grace=STOP_GRACE_SECONDS)
        await self.lease.release()

    async def holder(self) -> str:
        """Which process runs the loops, for `/feed status` (one query with postgres)."""
        if self.running or self.lease.held:  # held: the loops start after the lease's grace
            return f"this process ({self.lease.label})"
        try:
            async with asyncio.timeout(HOLDER_TIMEOUT_SECONDS):
                label = await self.lease.holder()
        except Exception:  # noqa: BLE001 - the status shows the rest; the log says why
            log.warning("feed: could not ask which process holds the feed lease", exc_info=True)
            return "unknown (the database could not be asked)"
        if label is None:
            return "no process at this moment (one takes them over within seconds)"
        return f"another process ({label})"

    async def _guarded_pass(self, work: Callable[[], Awaitable[None]], on_failure: str) -> None:
        """Run one loop pass: marked as under way (so unloading waits for it instead of cutting a
        transaction or a post in half), skipped when stopping, and never fatal to its loop (a
        failed pass is logged; the next one runs on schedule)."""
        self._active_passes += 1
        self._idle.clear()
        try:
            if self._may_run:
                await work()
        except Exception:
            log.exception("feed: %s", on_failure)
        finally:
            self._active_passes -= 1
            if self._active_passes == 0:
                self._idle.set()

    # --- the work (the loops call these; tests may call them directly) -----------------------

    async def poll_once(self, *, reload_corpus: bool = True) -> None:
        """Check the corpus folder and every due feed (`FeedService.poll_once`), then wake the sender."""
        await self.feed.poll_once(reload_corpus=reload_corpus)
        self.request_send()

    def request_send(self) -> None:
        self._send_wanted.set()

    async def send_once(self) -> None:
        await self.feed.send_once()
        await self.report_pauses()

    async def digest_once(self) -> None:
        await self.feed.digest_once()
        await self.report_pauses()

    async def report_pauses(self) -> None:
        """Tell each server's admins once about each newly paused subscription: in the server's
        system channel when the bot may post there, else in the log. Serialized: the send and
        digest loops both call it, and two passes must not both report the same pause."""
        async with self._report_lock:
            for sub in await self.feed.unreported_pauses():
                target = await self._system_channel(sub.guild_id)
                told = False
                if target is not None and target[0].id != sub.channel_id:
                    channel, me = target
                    if not missing_post_permissions(channel, me):
                        try:
                            await channel.send(
                                pause_report_text(sub),
                                allowed_mentions=discord.AllowedMentions.none(),
                            )
                            told = True
                        except discord.HTTPException:
                            log.warning(
                                "feed: could not post the pause notice in guild %s",
                                sub.guild_id,
                                exc_info=True,
                            )
                if not told:
                    log.warning("feed: guild %s: %s", sub.guild_id, pause_report_text(sub))
                await self.feed.mark_pause_reported(sub.id)

    async def _system_channel(
        self, guild_id: int
    ) -> tuple[discord.TextChannel, discord.Member] | None:
        """A server's system channel and the bot's member there, for a pause report: from the
        cache when this process's shards serve the server, else over REST, since the lease holder
        runs the loops for every shard's servers (four requests, once per pause)."""
        guild = self.bot.get_guild(guild_id)
        if guild is not None:
            channel, me = guild.system_channel, guild.me
            return (channel, me) if channel is not None and me is not None else None
        if self.bot.user is None:
            return None
        try:
            raw = await self.bot.http.get_guild(guild_id)
            system_channel_id = raw.get("system_channel_id")
            if system_channel_id is None:
                return None
            fetched = await self.bot.fetch_guild(guild_id)  # its roles, for permissions
            channels = await fetched.fetch_channels()  # with their overwrites
            found = next((c for c in channels if c.id == int(system_channel_id)), None)
            if not isinstance(found, discord.TextChannel):
                return None
            member = await fetched.fetch_member(self.bot.user.id)
        except discord.HTTPException:
            log.warning(
                "feed: could not look up guild %s's system channel", guild_id, exc_info=True
            )
            return None
        return found, member

    # --- loops -------------------------------------------------------------------------------

    @tasks.loop(seconds=900)
    async def poll_loop(self) -> None:
        reload_corpus, self._corpus_fresh = not self._corpus_fresh, False
        await self._guarded_pass(
            lambda: self.poll_once(reload_corpus=reload_corpus),
            "a poll pass failed; the next one runs on schedule",
        )

    @tasks.loop(seconds=0)
    async def send_loop(self) -> None:
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(SEND_IDLE_SECONDS):
                await self._send_wanted.wait()
        self._send_wanted.clear()
        await self._guarded_pass(
            self.send_once, "a send pass failed; the outbox keeps everything for the next one"
        )

    @tasks.loop(seconds=DIGEST_TICK_SECONDS)
    async def digest_loop(self) -> None:
        await self._guarded_pass(
            self.digest_once, "a digest pass failed; it is retried on the next tick"
        )

    @poll_loop.before_loop
    @send_loop.before_loop
    @digest_loop.before_loop
    async def _wait_until_ready(self) -> None:
        await self.bot.wait_until_ready()

    async def corpus_reloaded(self) -> None:
        """`/reload` just applied a diff: announce what is new to the seen-set now. Only the
        process holding the lease detects (with postgres the others' replicas follow the shared
        documents; the holder's next poll pass, or its corpus-changed notice, announces)."""
        if not self.lease.held:
            return
        try:
            await self.feed.corpus_reloaded()
        except Exception:
            log.exception(
                "feed: checking the corpus after /reload failed; the poll loop will retry"
            )
        self.request_send()
