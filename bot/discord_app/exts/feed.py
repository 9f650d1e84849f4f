"""The feed in Discord: `/subscribe`, `/unsubscribe`, `/subscriptions`, `/feed status|preview|retry`
and the three loops (poll, send, digest) that run the core in `bot.feeds`.

The cog decides nothing about what is announced: it schedules the engine, supplies the
`DiscordDeliverer` (render, `send` with the outbox's nonce, map Discord errors), and reports
paused subscriptions to each server's admins once. Loops are `discord.ext.tasks` loops whose
bodies catch everything, so one bad pass never stops them; they do not depend on the gateway,
so reconnects do not stop them either. `clock` is injectable: tests set a fixed time of day.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

import aiohttp
import discord
from discord import app_commands
from discord.ext import commands, tasks

from bot.corpus.errors import AnswerError
from bot.corpus.models import ReloadReport
from bot.discord_app.checks import (
    ADMIN_REQUIRED,
    NotAdmin,
    feed_manager_refusal,
    is_admin,
    mention_role_refusal,
)
from bot.discord_app.exts._base import to_choices
from bot.discord_app.feed_render import (
    announcement_embed,
    outgoing_parts,
    pause_report_text,
    status_embed,
    subscribed_embed,
    subscriptions_pages,
)
from bot.discord_app.limits import CHOICES, clip, fit_content, safe
from bot.discord_app.views import Paginator
from bot.feeds.delivery import DeliveryError, EntryMessage, Outgoing
from bot.feeds.digest import parse_digest_time
from bot.feeds.engine import FeedEngine
from bot.feeds.models import CORPUS_SOURCE, Subscription

if TYPE_CHECKING:
    from bot.discord_app.client import CorpusBot

log = logging.getLogger(__name__)

SEND_IDLE_SECONDS = 30.0
"""The sender looks at the outbox at least this often (retries come due); detection wakes it."""
DIGEST_TICK_SECONDS = 30.0
DEFAULT_DIGEST_MINUTE = 9 * 60
STOP_GRACE_SECONDS = 5.0
"""On unload, a loop may finish its current pass (a transaction) for this long before it is cancelled."""
MISSING_PERMISSION = 50013
RECONCILE_LOOKBACK = 100
"""Messages read (one request) when looking for a post a crash left unrecorded."""
RECONCILE_SLACK = timedelta(minutes=1)
"""Looked for from this long before the attempt: the bot's clock and Discord's may differ."""


def utc_now() -> datetime:
    return datetime.now(UTC)


def channel_manager_only() -> Callable[[app_commands.Command], app_commands.Command]:  # type: ignore[type-arg]
    """Manage Channels in the channel the command is typed in, or a user id listed in
    `discord.admin_user_ids`: for commands that act on no channel in particular (listing, status,
    preview). Those that act on a channel check the member there (`checks.feed_manager_refusal`)."""

    def predicate(interaction: discord.Interaction) -> bool:
        admins = interaction.client.config.discord.admin_user_ids  # type: ignore[attr-defined]
        if interaction.user.id in admins:
            return True
        if interaction.guild is not None and interaction.permissions.manage_channels:
            return True
        raise NotAdmin("You need the Manage Channels permission (or to be a configured admin) for this.")

    return app_commands.check(predicate)


def missing_post_permissions(channel: discord.abc.GuildChannel, me: discord.Member) -> list[str]:
    """What the bot lacks to post announcements in `channel` (names as Discord shows them)."""
    perms = channel.permissions_for(me)
    # Read Message History: after a crash the sender looks for an unrecorded post in the channel
    # before resending it (without it Discord lists no messages, and the post could be doubled).
    needed = (
        ("view_channel", "View Channel"),
        ("send_messages", "Send Messages"),
        ("embed_links", "Embed Links"),
        ("read_message_history", "Read Message History"),
    )
    return [label for attribute, label in needed if not getattr(perms, attribute)]


@contextlib.contextmanager
def _as_delivery_errors() -> Iterator[None]:
    """Turn what discord.py raises for a post or an edit into the `DeliveryError` the feed's
    sender decides on (pause, retry later, back off)."""
    try:
        yield
    except discord.HTTPException as exc:
        raise DeliveryError(exc.status, exc.text or str(exc), code=exc.code or None) from exc
    except discord.RateLimited as exc:
        raise DeliveryError(429, str(exc), retry_after=exc.retry_after) from exc
    except (aiohttp.ClientError, OSError, TimeoutError) as exc:
        raise DeliveryError(None, f"network error: {exc!r}") from exc


class DiscordDeliverer:
    """`bot.feeds.delivery.Deliverer` over discord.py: REST only, no cache needed to post."""

    def __init__(self, bot: CorpusBot) -> None:
        self.bot = bot

    def _channel(self, subscription: Subscription) -> discord.PartialMessageable:
        return self.bot.get_partial_messageable(
            subscription.channel_id, guild_id=subscription.guild_id, type=discord.ChannelType.text
        )

    def _precheck(self, subscription: Subscription) -> None:
        """Refuse before sending when the cache already says the post would fail or lose its
        embed (Discord silently strips embeds from a message with text and no Embed Links)."""
        guild = self.bot.get_guild(subscription.guild_id)
        channel = guild.get_channel(subscription.channel_id) if guild else None
        if guild is None or channel is None or guild.me is None:
            return  # unknown to the cache: let Discord answer
        missing = missing_post_permissions(channel, guild.me)
        if missing:
            raise DeliveryError(403, f"Missing Permissions: {', '.join(missing)}", code=MISSING_PERMISSION)

    async def post(self, subscription: Subscription, message: Outgoing, nonce: str) -> int:
        self._precheck(subscription)
        content, embed, allowed = outgoing_parts(message)
        with _as_delivery_errors():
            # discord.py ≥ 2.5 sends `enforce_nonce: true` with every explicit nonce.
            sent = await self._channel(subscription).send(
                content=content, embed=embed, nonce=nonce, allowed_mentions=allowed
            )
        return sent.id

    async def edit(self, subscription: Subscription, message_id: int, message: Outgoing) -> None:
        content, embed, allowed = outgoing_parts(message)
        target = self._channel(subscription).get_partial_message(message_id)
        with _as_delivery_errors():
            await target.edit(content=content, embed=embed, allowed_mentions=allowed)

    async def find(self, subscription: Subscription, message: Outgoing, since: datetime) -> int | None:
        """The bot's message for ``message`` among the first ``RECONCILE_LOOKBACK`` messages of
        the channel since ``since`` (less ``RECONCILE_SLACK`` for clock skew), one request.

        Discord does not return a message's nonce when messages are listed, so a message is
        recognised by its embed as rendered now: an entry's footer (it names the entry's id,
        and a channel has one subscription), a "+N more" or digest's title and footer.
        """
        _content, embed, _allowed = outgoing_parts(message)
        whole = not isinstance(message, EntryMessage)
        wanted = _marker(embed, whole=whole)
        me = self.bot.user.id if self.bot.user else None
        after = discord.Object(discord.utils.time_snowflake(since - RECONCILE_SLACK))
        with _as_delivery_errors():
            async for found in self._channel(subscription).history(
                limit=RECONCILE_LOOKBACK, after=after, oldest_first=True
            ):
                if found.author.id == me and found.embeds and _marker(found.embeds[0], whole=whole) == wanted:
                    return found.id
        return None


def _marker(embed: discord.Embed, *, whole: bool) -> tuple[str | None, str | None]:
    """What identifies an announcement's embed: (title, footer) for a batch, (None, footer) for
    an entry (its title may have been edited since; its footer names its id)."""
    return (embed.title if whole else None, embed.footer.text)


class Feed(commands.Cog):
    feed = app_commands.Group(
        name="feed",
        description="The feed of new entries: status, preview, retry (Manage Channels).",
        guild_only=True,
        default_permissions=discord.Permissions(manage_channels=True),
    )

    def __init__(self, bot: CorpusBot) -> None:
        self.bot = bot
        self.clock: Callable[[], datetime] = utc_now
        self.engine = FeedEngine(bot.service, bot.config.feed, DiscordDeliverer(bot))
        self.session: aiohttp.ClientSession | None = None
        self._send_wanted = asyncio.Event()
        self._poll_lock = asyncio.Lock()
        self._stopping = False
        self._active_passes = 0
        self._idle = asyncio.Event()
        self._idle.set()
        self._report_lock = asyncio.Lock()
        self._loops: tuple[tasks.Loop, ...] = (self.poll_loop, self.send_loop, self.digest_loop)  # type: ignore[type-arg]

    # --- lifecycle ---------------------------------------------------------------------------

    async def cog_load(self) -> None:
        self.session = aiohttp.ClientSession()
        self.poll_loop.change_interval(seconds=self.bot.config.feed.interval_seconds)
        for loop in self._loops:
            loop.start()

    async def cog_unload(self) -> None:
        """Stop the loops without cutting a pass (a transaction, a post) in half: a pass under
        way gets a few seconds to finish, idle loops are cancelled at once."""
        self._stopping = True
        for loop in self._loops:
            loop.stop()
        self._send_wanted.set()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._idle.wait(), STOP_GRACE_SECONDS)
        running = [task for loop in self._loops if (task := loop.get_task()) is not None and not task.done()]
        for task in running:
            task.cancel()
        if running:
            await asyncio.wait(running, timeout=STOP_GRACE_SECONDS)
        if self.session is not None:
            await self.session.close()

    async def _guarded_pass(self, work: Callable[[], Awaitable[None]], on_failure: str) -> None:
        """Run one loop pass: marked as under way (so unloading waits for it instead of cutting a
        transaction or a post in half), skipped when the cog is stopping, and never fatal to its
        loop (a failed pass is logged; the next one runs on schedule)."""
        self._active_passes += 1
        self._idle.clear()
        try:
            if not self._stopping:
                await work()
        except Exception:
            log.exception("feed: %s", on_failure)
        finally:
            self._active_passes -= 1
            if self._active_passes == 0:
                self._idle.set()

    # --- the work (the loops call these; tests may call them directly) -----------------------

    async def poll_once(self, *, reload_corpus: bool = True) -> None:
        """Check the corpus folder and every due feed, then wake the sender.

        Each step runs whatever the other did: a corpus check that raised used to end the pass
        before any feed was polled, so every feed stopped while /feed status said OK. A failed
        step is logged here and recorded in its source's state by the engine (the corpus check)
        or the poller (each feed), where /feed status reads it.
        """
        async with self._poll_lock:
            now = self.clock()
            await self._poll_step("checking the corpus folder", lambda: self.engine.check_corpus(now, reload=reload_corpus))
            if self.session is not None:
                session = self.session
                await self._poll_step("polling the feeds", lambda: self.engine.poll_sources(session, now))
        self.request_send()

    @staticmethod
    async def _poll_step(what: str, step: Callable[[], Awaitable[object]]) -> None:
        try:
            await step()
        except Exception:
            log.exception("feed: %s failed; the rest of the poll pass goes on", what)

    def request_send(self) -> None:
        self._send_wanted.set()

    async def send_once(self) -> None:
        await self.engine.send(self.clock())
        await self.report_pauses()

    async def digest_once(self) -> None:
        await self.engine.digest(self.clock())
        await self.report_pauses()

    async def report_pauses(self) -> None:
        """Tell each server's admins once about each newly paused subscription: in the server's
        system channel when the bot may post there, else in the log. Serialized: the send and
        digest loops both call it, and two passes must not both report the same pause."""
        async with self._report_lock:
            await self._report_pauses()

    async def _report_pauses(self) -> None:
        for sub in await self.engine.feeds.unreported_pauses():
            guild = self.bot.get_guild(sub.guild_id)
            channel = guild.system_channel if guild else None
            told = False
            if guild is not None and channel is not None and channel.id != sub.channel_id and guild.me is not None:
                if not missing_post_permissions(channel, guild.me):
                    try:
                        await channel.send(pause_report_text(sub), allowed_mentions=discord.AllowedMentions.none())
                        told = True
                    except discord.HTTPException:
                        log.warning("feed: could not post the pause notice in guild %s", sub.guild_id, exc_info=True)
            if not told:
                log.warning("feed: guild %s: %s", sub.guild_id, pause_report_text(sub))
            await self.engine.feeds.mark_pause_reported(sub.id, self.clock())

    # --- loops -------------------------------------------------------------------------------

    @tasks.loop(seconds=900)
    async def poll_loop(self) -> None:
        # The launcher reloads the corpus just before the bot starts: the first pass only checks
        # what that reload found instead of reading the whole folder a second time.
        first = self.poll_loop.current_loop == 0
        await self._guarded_pass(
            lambda: self.poll_once(reload_corpus=not first), "a poll pass failed; the next one runs on schedule"
        )

    @tasks.loop(seconds=0)
    async def send_loop(self) -> None:
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(SEND_IDLE_SECONDS):
                await self._send_wanted.wait()
        self._send_wanted.clear()
        await self._guarded_pass(self.send_once, "a send pass failed; the outbox keeps everything for the next one")

    @tasks.loop(seconds=DIGEST_TICK_SECONDS)
    async def digest_loop(self) -> None:
        await self._guarded_pass(self.digest_once, "a digest pass failed; it is retried on the next tick")

    @poll_loop.before_loop
    @send_loop.before_loop
    @digest_loop.before_loop
    async def _wait_until_ready(self) -> None:
        await self.bot.wait_until_ready()

    @commands.Cog.listener()
    async def on_corpus_reloaded(self, report: ReloadReport) -> None:
        """`/reload` just applied a diff: announce what is new to the seen-set now."""
        try:
            await self.engine.check_corpus(self.clock(), reload=False)
        except Exception:
            log.exception("feed: checking the corpus after /reload failed; the poll loop will retry")
        self.request_send()

    # --- commands ----------------------------------------------------------------------------

    async def source_choices(self, interaction: discord.Interaction, current: str) -> list[app_commands.Choice[str]]:
        names = [CORPUS_SOURCE, *(s.name for s in self.bot.config.feed.sources)]
        typed = current.strip().lower()
        return [app_commands.Choice(name=n, value=n) for n in names if typed in n][:CHOICES]

    @app_commands.command(name="subscribe", description="Announce new entries in a channel (Manage Channels).")
    @app_commands.guild_only()
    @app_commands.default_permissions(manage_channels=True)
    @app_commands.describe(
        channel="Where to announce (default: this channel)",
        author="Only entries by this author",
        keyword="Only entries whose title or text has this word or phrase",
        source="Only entries from this source (the corpus folder or one feed)",
        mention_role="A role to mention with each announcement (never @everyone)",
        mode="Announce each entry at once, or once a day in a digest",
        digest_time="Digest time, HH:MM in UTC (default 09:00)",
    )
    @app_commands.choices(
        mode=[app_commands.Choice(name="instant", value="instant"), app_commands.Choice(name="daily digest", value="digest")]
    )
    @app_commands.autocomplete(source=source_choices)
    async def subscribe(
        self,
        interaction: discord.Interaction,
        channel: discord.TextChannel | None = None,
        author: app_commands.Range[str, 1, 100] | None = None,
        keyword: app_commands.Range[str, 1, 100] | None = None,
        source: app_commands.Range[str, 1, 40] | None = None,
        mention_role: discord.Role | None = None,
        mode: app_commands.Choice[str] | None = None,
        digest_time: app_commands.Range[str, 1, 20] | None = None,
    ) -> None:
        guild = interaction.guild
        if guild is None:  # guild_only tells Discord where to offer it; a DM may still arrive
            raise app_commands.NoPrivateMessage()
        target = channel or interaction.channel
        if not isinstance(target, discord.TextChannel):
            await self._refuse(interaction, "Name a text channel to announce in.")
            return
        refusal = feed_manager_refusal(interaction, target)
        if refusal is None and mention_role is not None:
            refusal = mention_role_refusal(interaction, mention_role, target)
        if refusal is not None:
            await self._refuse(interaction, refusal)
            return
        mode_value = mode.value if mode else ("digest" if digest_time else "instant")
        minute = None
        if mode_value == "digest":
            minute = parse_digest_time(digest_time) if digest_time else DEFAULT_DIGEST_MINUTE
            if minute is None:
                await self._refuse(interaction, f"“{safe(digest_time or '')}” is not a time; use HH:MM in UTC, e.g. 09:00.")
                return
        elif digest_time:
            await self._refuse(interaction, "digest_time only applies to mode: daily digest.")
            return
        if source is not None and source not in (CORPUS_SOURCE, *(s.name for s in self.bot.config.feed.sources)):
            await self._refuse(interaction, f"There is no source “{safe(source)}”; `/feed status` lists them.")
            return
        me = guild.me
        missing = missing_post_permissions(target, me) if me is not None else []
        if missing:
            await self._refuse(
                interaction,
                f"I can't announce in {target.mention}: I'm missing {', '.join(missing)} there. "
                "Give me those permissions in that channel and run `/subscribe` again.",
            )
            return
        notes = []
        if mention_role is not None and not mention_role.mentionable and me is not None and not me.guild_permissions.mention_everyone:
            notes.append(f"{mention_role.mention} is not mentionable and I can't mention all roles, so it won't be pinged.")
        sub, created = await self.engine.feeds.subscribe(
            guild_id=guild.id,
            channel_id=target.id,
            source=source,
            author=author,
            keyword=keyword,
            mention_role_id=mention_role.id if mention_role else None,
            mode="digest" if mode_value == "digest" else "instant",
            digest_minute=minute,
            created_by=interaction.user.id,
            now=self.clock(),
        )
        await interaction.response.send_message(embed=subscribed_embed(sub, created=created, notes=notes), ephemeral=True)

    @app_commands.command(name="unsubscribe", description="Stop announcing new entries in a channel (Manage Channels).")
    @app_commands.guild_only()
    @app_commands.default_permissions(manage_channels=True)
    @app_commands.describe(channel="The channel to stop (default: this channel)")
    async def unsubscribe(self, interaction: discord.Interaction, channel: discord.TextChannel | None = None) -> None:
        target = channel or interaction.channel
        if not isinstance(target, discord.abc.GuildChannel | discord.Thread):
            await self._refuse(interaction, "Name a channel of this server.")
            return
        refusal = feed_manager_refusal(interaction, target)
        if refusal is not None:
            await self._refuse(interaction, refusal)
            return
        target_id = target.id
        existing = await self.engine.feeds.subscription_for_channel(target_id or 0)
        if existing is None or interaction.guild is None or existing.guild_id != interaction.guild.id:
            await self._refuse(interaction, f"<#{target_id}> has no feed subscription.")
            return
        await self.engine.feeds.unsubscribe(existing.channel_id)
        await interaction.response.send_message(
            f"<#{existing.channel_id}> no longer gets announcements; waiting ones were dropped.", ephemeral=True
        )

    @app_commands.command(name="subscriptions", description="This server's feed subscriptions and their health.")
    @app_commands.guild_only()
    @app_commands.default_permissions(manage_channels=True)
    @channel_manager_only()
    async def subscriptions(self, interaction: discord.Interaction) -> None:
        assert interaction.guild is not None
        healths = await self.engine.feeds.guild_subscriptions(interaction.guild.id)
        await Paginator.send(interaction, subscriptions_pages(healths, self.clock()), ephemeral=True)

    @feed.command(name="status", description="Each source's last check, last new item, errors and next attempt.")
    @channel_manager_only()
    async def status(self, interaction: discord.Interaction) -> None:
        states = await self.engine.feeds.source_states()
        counts = await self.engine.feeds.outbox_counts()
        refused = await self.engine.feeds.latest_refusal() if counts.get("rejected") else None
        embed = status_embed(states, self.bot.config.feed, counts, self.clock(), refused)
        await interaction.response.send_message(embed=embed, ephemeral=True)

    @feed.command(name="preview", description="How an announcement will look (only you see it).")
    @channel_manager_only()
    @app_commands.describe(post="An entry to preview (default: the newest)")
    async def preview(self, interaction: discord.Interaction, post: app_commands.Range[str, 1, 300] | None = None) -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)
        if post:
            ref = await self.bot.service.resolve_ref(post)
        else:
            newest = await self.bot.service.store.fetch_refs("1", limit=1)
            if not newest:
                raise AnswerError("not_found", "The index holds no entries yet.")
            ref = newest[0]
        announcement = await self.engine.announcer.announcement(ref.id)
        if announcement is None:
            raise AnswerError("not_found", "That entry was just removed.")
        sub = await self.engine.feeds.subscription_for_channel(interaction.channel_id or 0)
        role = f" mentioning <@&{sub.mention_role_id}>" if sub and sub.mention_role_id else ""
        note = f"Preview: this is how a new entry is announced{role}." if sub else (
            "Preview: this is how a new entry would be announced (this channel has no subscription)."
        )
        await interaction.followup.send(note, embed=announcement_embed(announcement), ephemeral=True)

    @preview.autocomplete("post")
    async def _post_choices(self, interaction: discord.Interaction, current: str) -> list[app_commands.Choice[str]]:
        return to_choices(await self.bot.service.post_choices(current))

    @feed.command(name="retry", description="Resume a paused subscription, or check a source now.")
    @app_commands.describe(
        channel="Resume this channel's subscription",
        source="Check this source now (the corpus folder or a feed)",
    )
    @app_commands.autocomplete(source=source_choices)
    async def retry(
        self,
        interaction: discord.Interaction,
        channel: discord.TextChannel | None = None,
        source: app_commands.Range[str, 1, 40] | None = None,
    ) -> None:
        guild = interaction.guild
        if guild is None:
            raise app_commands.NoPrivateMessage()
        refusal = self._retry_refusal(interaction, channel, source)
        if refusal is not None:
            await self._refuse(interaction, refusal)
            return
        await interaction.response.defer(ephemeral=True, thinking=True)
        lines: list[str] = []
        if source is not None:
            lines.append(await self._retry_source(source))
        if channel is not None or source is None:
            lines.extend(await self._resume(interaction, guild, channel))
        self.request_send()
        await interaction.followup.send(fit_content("\n".join(lines)), ephemeral=True)

    def _retry_refusal(
        self, interaction: discord.Interaction, channel: discord.TextChannel | None, source: str | None
    ) -> str | None:
        """Who may retry what, checked where it takes effect: re-reading the corpus is a reload,
        so only who may /reload (`checks.is_admin`); a channel's subscription needs Manage
        Channels there; checking a feed now, or resuming every subscription one may manage,
        Manage Channels where the command is typed (or a configured admin)."""
        admins = self.bot.config.discord.admin_user_ids
        if source == CORPUS_SOURCE and not is_admin(interaction, admins):
            return f"Checking the corpus folder re-reads the corpus, as /reload does. {ADMIN_REQUIRED}"
        if channel is not None:
            return feed_manager_refusal(interaction, channel)
        if interaction.user.id in admins or interaction.permissions.manage_channels:
            return None
        return "You need the Manage Channels permission (or to be a configured admin) for this."

    async def _retry_source(self, name: str) -> str:
        if name == CORPUS_SOURCE:
            found = await self.engine.check_corpus(self.clock(), reload=True)
            return f"Checked the corpus folder: {found.new_count} new, {found.changed_count} changed."
        source = self.engine.source_config(name)
        if source is None or self.session is None:
            return f"There is no source “{safe(name)}”; `/feed status` lists them."
        async with self._poll_lock:
            (report,) = await self.engine.poll_sources(self.session, self.clock(), only=name, force=True)
        if report.outcome == "error":
            return f"Checked {name}: it failed again: {clip(safe(report.error or ''), 500)}"
        return f"Checked {name}: {report.outcome.replace('_', ' ')}, {len(report.new_entries)} new."

    async def _resume(
        self, interaction: discord.Interaction, guild: discord.Guild, channel: discord.TextChannel | None
    ) -> list[str]:
        """Resume `channel`'s subscription, or (no channel) every paused one in a channel the
        member may manage (`feed_manager_refusal`); the others are counted, not touched."""
        healths = await self.engine.feeds.guild_subscriptions(guild.id)
        chosen = [h for h in healths if channel is None or h.subscription.channel_id == channel.id]
        if channel is not None and not chosen:
            return [f"{channel.mention} has no feed subscription."]
        lines = []
        not_yours = 0
        for health in chosen:
            sub = health.subscription
            # Announcements Discord refused were set aside without pausing: a retry tries them again.
            if not sub.paused and sub.retry_at is None and not health.rejected:
                if channel is not None:
                    lines.append(f"<#{sub.channel_id}> is not paused.")
                continue
            target = guild.get_channel(sub.channel_id)
            if channel is None and target is not None and feed_manager_refusal(interaction, target) is not None:
                not_yours += 1
                continue
            missing = missing_post_permissions(target, guild.me) if target is not None and guild.me else []
            await self.engine.feeds.resume(sub.id)
            again = f" ({health.rejected} refused by Discord will be tried again)" if health.rejected else ""
            if target is None:
                lines.append(f"Resumed <#{sub.channel_id}>, but I can't see that channel; it will pause again if it is gone.")
            elif missing:
                lines.append(f"Resumed {target.mention}, but I'm still missing {', '.join(missing)} there.")
            else:
                lines.append(f"Resumed {target.mention}; waiting announcements are on their way{again}.")
        if not_yours:
            lines.append(f"{not_yours} paused subscription{'s are' if not_yours > 1 else ' is'} in channels you can't manage; left as they are.")
        return lines or ["No subscription here is paused."]

    async def _refuse(self, interaction: discord.Interaction, text: str) -> None:
        await interaction.response.send_message(fit_content(text), ephemeral=True)


async def setup(bot: CorpusBot) -> None:
    await bot.add_cog(Feed(bot))


__all__ = ["DiscordDeliverer", "Feed", "setup"]
