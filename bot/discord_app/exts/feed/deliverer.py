"""`DiscordDeliverer`: the feed's sender posts, edits and finds announcements through discord.py.

The core (`bot.feeds.delivery.OutboxSender`) decides what to send and when; this renders each
message, sends it with the outbox's nonce and maps what discord.py raises to `DeliveryError`,
which the sender turns into a pause, a retry later or a back-off.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Literal

import aiohttp
import discord

from bot.discord_app.exts.feed.checks import missing_post_permissions
from bot.discord_app.feed_formats import message_marker, message_parts, outgoing_title
from bot.feeds.delivery import DeliveryError, EntryMessage, Outgoing
from bot.feeds.models import Subscription
from bot.text_safety import strip_controls

if TYPE_CHECKING:
    from bot.discord_app.client import CorpusBot

log = logging.getLogger(__name__)

MISSING_PERMISSION = 50013
THREAD_ALREADY_CREATED = 160004
THREAD_NAME_CHARS = 100
"""Discord's limit for a thread's (and a forum post's) name."""
DISCUSSION_ARCHIVE_MINUTES: Literal[1440] = 1440
"""A discussion thread goes quiet (archived) after a day without messages."""
PUBLISH_PATIENCE = 30.0
"""Seconds a publish may take before it is taken as rate limited (discord.py waits out 429s)."""
RECONCILE_LOOKBACK = 100
"""Messages read (one request) when looking for a post a crash left unrecorded."""
RECONCILE_SLACK = timedelta(minutes=1)
"""Looked for from this long before the attempt: the bot's clock and Discord's may differ."""
RECONCILE_FORUM_POSTS = 25
"""A forum's posts by the bot since the attempt whose first message is read (one request each)
when looking for a post a crash left unrecorded, those named as the announcement first."""


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
    """`bot.feeds.delivery.Deliverer` over discord.py: REST only, no cache needed to post.

    Takes any `discord.Client` (the fan-out fault test posts from a bare client)."""

    def __init__(self, bot: CorpusBot | discord.Client) -> None:
        self.bot = bot

    def _channel(self, subscription: Subscription) -> discord.PartialMessageable:
        kind = (
            discord.ChannelType.public_thread
            if subscription.destination == "thread"
            else discord.ChannelType.text
        )
        return self.bot.get_partial_messageable(
            subscription.channel_id, guild_id=subscription.guild_id, type=kind
        )

    def _precheck(self, subscription: Subscription) -> None:
        """Refuse before sending when the cache already says the post would fail or lose its
        embed (Discord silently strips embeds from a message with text and no Embed Links)."""
        guild = self.bot.get_guild(subscription.guild_id)
        channel = guild.get_channel_or_thread(subscription.channel_id) if guild else None
        if guild is None or channel is None or guild.me is None:
            return  # unknown to the cache (an archived thread): let Discord answer
        if isinstance(channel, discord.Thread) and channel.parent is None:
            return
        moderated = isinstance(channel, discord.ForumChannel) and any(
            tag.moderated and tag.id in subscription.forum_tag_ids for tag in channel.available_tags
        )
        missing = missing_post_permissions(channel, guild.me, moderated_tags=moderated)
        if missing:
            raise DeliveryError(
                403, f"Missing Permissions: {', '.join(missing)}", code=MISSING_PERMISSION
            )

    async def post(self, subscription: Subscription, message: Outgoing, nonce: str) -> int:
        self._precheck(subscription)
        parts = message_parts(message, subscription.message_format)
        return await self.send_to_destination(
            subscription, parts.send_kwargs(), nonce, outgoing_title(message)
        )

    async def send_to_destination(
        self,
        subscription: Subscription,
        send_kwargs: dict[str, Any],
        nonce: str,
        title: str | None,
    ) -> int:
        """Post an announcement, already rendered as `Messageable.send` keyword arguments, where
        the subscription says: a message in its channel or thread, or a post (a thread and its
        first message) in its forum or media channel, with its tags; then, when asked, a
        discussion thread on it. Returns the message's id (a forum post's first message shares
        the post's id, so it is also where the post is edited).

        Publishing follows in the core (`bot.feeds.publishing`), which paces it to Discord's 10
        an hour per channel and calls `publish`.
        """
        if subscription.destination == "forum":
            return await self._forum_post(subscription, send_kwargs, title)
        with _as_delivery_errors():
            # discord.py ≥ 2.5 sends `enforce_nonce: true` with every explicit nonce.
            sent = await self._channel(subscription).send(**send_kwargs, nonce=nonce)
        if subscription.discussion_thread and subscription.destination == "channel":
            await self._open_discussion(subscription, sent.id, title)
        return sent.id

    async def _forum_post(
        self, subscription: Subscription, send_kwargs: dict[str, Any], title: str | None
    ) -> int:
        """A post per entry. Discord takes no nonce for a post's message: after a crash between
        the post and its record, `find` looks for it among the forum's posts instead."""
        params = discord.http.handle_message_parameters(
            **send_kwargs,
            channel_payload={
                "name": thread_name(title),
                "applied_tags": [str(tag) for tag in self._offered_tags(subscription)],
            },
        )
        with _as_delivery_errors():
            data = await self.bot.http.start_thread_in_forum(subscription.channel_id, params=params)
        return int(data["id"])

    def _offered_tags(self, subscription: Subscription) -> tuple[int, ...]:
        """The subscription's tags that its forum still offers. A tag deleted from the forum
        since /subscribe would have Discord refuse every post (400 on `applied_tags`), so the
        post goes out with the others; when none is left and the forum requires one, Discord's
        refusal pauses the subscription with its reason (`delivery.CHANNEL_REFUSALS`). The cache
        follows the forum's tags (CHANNEL_UPDATE); a forum unknown to it gets the tags stored."""
        forum = self.bot.get_channel(subscription.channel_id)
        if not isinstance(forum, discord.ForumChannel):
            return subscription.forum_tag_ids
        offered = {tag.id for tag in forum.available_tags}
        kept = tuple(tag for tag in subscription.forum_tag_ids if tag in offered)
        if kept != subscription.forum_tag_ids:
            log.warning(
                "feed: forum %s no longer offers %d of its subscription's tags; posting without",
                subscription.channel_id,
                len(subscription.forum_tag_ids) - len(kept),
            )
        return kept

    async def _open_discussion(
        self, subscription: Subscription, message_id: int, title: str | None
    ) -> None:
        """A thread on the announcement, named after it. The announcement stands whatever
        happens here: a failure is logged (`/subscribe` checked Create Public Threads), and a
        message that already has its thread (a resend after a crash) is left as it is."""
        try:
            await self.bot.http.start_thread_with_message(
                subscription.channel_id,
                message_id,
                name=thread_name(title),
                auto_archive_duration=DISCUSSION_ARCHIVE_MINUTES,
            )
        except discord.HTTPException as exc:
            if exc.code != THREAD_ALREADY_CREATED:
                log.warning(
                    "feed: no discussion thread on message %s in channel %s: %s",
                    message_id,
                    subscription.channel_id,
                    exc,
                )
        except (aiohttp.ClientError, OSError, TimeoutError) as exc:
            log.warning("feed: no discussion thread on message %s: %r", message_id, exc)

    async def publish(self, subscription: Subscription, message_id: int) -> None:
        """Crosspost an announcement to the channels following its announcement channel.

        discord.py waits out a 429 before returning, and Discord's publish limit answers with
        up to an hour: a publish held longer than `PUBLISH_PATIENCE` is given up as a 429, and
        the core tries it again in an hour (it counts publishes so as not to ask past 10)."""
        target = self._channel(subscription).get_partial_message(message_id)
        with _as_delivery_errors():
            try:
                async with asyncio.timeout(PUBLISH_PATIENCE):
                    await target.publish()
            except TimeoutError:
                raise DeliveryError(429, "Discord held the publish (rate limited)") from None

    async def edit(self, subscription: Subscription, message_id: int, message: Outgoing) -> None:
        parts = message_parts(message, subscription.message_format)
        channel = (
            # A forum post's first message has the post's id: it is edited in the post.
            self._post(subscription, message_id)
            if subscription.destination == "forum"
            else self._channel(subscription)
        )
        target = channel.get_partial_message(message_id)
        with _as_delivery_errors():
            await target.edit(**parts.edit_kwargs())

    async def find(
        self, subscription: Subscription, message: Outgoing, since: datetime
    ) -> int | None:
        """The bot's message for ``message`` among the first ``RECONCILE_LOOKBACK`` messages of
        the channel since ``since`` (less ``RECONCILE_SLACK`` for clock skew), one request.

        Discord does not return a message's nonce when messages are listed, so a message is
        recognised as rendered now in the subscription's format (``feed_formats.message_marker``):
        an entry's footer (it names the entry's id, and a channel has one subscription), a
        "+N more" or digest's title and footer, a compact message's text.
        """
        whole = not isinstance(message, EntryMessage)
        wanted = message_parts(message, subscription.message_format).marker(whole=whole)
        if subscription.destination == "forum":
            return await self._find_forum_post(
                subscription, wanted, whole, thread_name(outgoing_title(message)), since
            )
        me = self.bot.user.id if self.bot.user else None
        after = discord.Object(discord.utils.time_snowflake(since - RECONCILE_SLACK))
        with _as_delivery_errors():
            async for found in self._channel(subscription).history(
                limit=RECONCILE_LOOKBACK, after=after, oldest_first=True
            ):
                if found.author.id == me and message_marker(found, whole=whole) == wanted:
                    return found.id
        return None

    async def _find_forum_post(
        self,
        subscription: Subscription,
        wanted: tuple[str | None, ...],
        whole: bool,
        name: str,
        since: datetime,
    ) -> int | None:
        """The bot's post for an announcement in its forum, made since ``since`` (less
        ``RECONCILE_SLACK``): a forum has no message list, so its posts are listed (the
        guild's active threads, one request; the forum's 100 most recently archived, one more,
        for a post archived since) and the first message of at most ``RECONCILE_FORUM_POSTS``
        of them, those named as the announcement first, is compared by
        ``feed_formats.message_marker`` as in a channel. A post's first message shares its id."""
        me = str(self.bot.user.id) if self.bot.user else None
        oldest = since - RECONCILE_SLACK
        after = discord.utils.time_snowflake(oldest)
        forum = str(subscription.channel_id)
        with _as_delivery_errors():
            active = await self.bot.http.get_active_threads(subscription.guild_id)
            archived = await self.bot.http.get_public_archived_threads(
                subscription.channel_id, limit=RECONCILE_LOOKBACK
            )
            posts = {
                int(post["id"]): post.get("name") == name
                for post in [*active.get("threads", []), *archived.get("threads", [])]
                if post.get("parent_id") == forum
                and post.get("owner_id") == me
                and int(post["id"]) > after
            }
            for post_id in sorted(posts, key=lambda i: (not posts[i], i))[:RECONCILE_FORUM_POSTS]:
                try:
                    first = await self._post(subscription, post_id).fetch_message(post_id)
                except discord.NotFound:
                    continue  # its first message was deleted: not an announcement any more
                if str(first.author.id) == me and message_marker(first, whole=whole) == wanted:
                    return post_id
        return None

    def _post(self, subscription: Subscription, post_id: int) -> discord.PartialMessageable:
        """A forum post, where its first message (which has the post's id) is read and edited."""
        return self.bot.get_partial_messageable(
            post_id, guild_id=subscription.guild_id, type=discord.ChannelType.public_thread
        )


def thread_name(title: str | None) -> str:
    """A thread's or forum post's name from an announcement's title: one line without control
    characters or bidi overrides (a name is shown as typed: `\u202e` would reverse what
    follows it, "gnp.exe" shown as "exe.png"), at most 100 characters (Discord's limit), never
    empty. Mentions and Markdown in a name neither ping nor render, so they stay as written."""
    name = " ".join(strip_controls(title or "").split())
    if len(name) > THREAD_NAME_CHARS:
        name = name[: THREAD_NAME_CHARS - 1].rstrip() + "…"
    return name or "New entry"
