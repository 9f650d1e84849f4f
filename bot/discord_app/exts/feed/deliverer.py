"""`DiscordDeliverer`: the feed's sender posts, edits and finds announcements through discord.py.

The core (`bot.feeds.delivery.OutboxSender`) decides what to send and when; this renders each
message, sends it with the outbox's nonce and maps what discord.py raises to `DeliveryError`,
which the sender turns into a pause, a retry later or a back-off.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

import aiohttp
import discord

from bot.discord_app.exts.feed.checks import missing_post_permissions
from bot.discord_app.feed_render import outgoing_parts
from bot.feeds.delivery import DeliveryError, EntryMessage, Outgoing
from bot.feeds.models import Subscription

if TYPE_CHECKING:
    from bot.discord_app.client import CorpusBot

MISSING_PERMISSION = 50013
RECONCILE_LOOKBACK = 100
"""Messages read (one request) when looking for a post a crash left unrecorded."""
RECONCILE_SLACK = timedelta(minutes=1)
"""Looked for from this long before the attempt: the bot's clock and Discord's may differ."""


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
            raise DeliveryError(
                403, f"Missing Permissions: {', '.join(missing)}", code=MISSING_PERMISSION
            )

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

    async def find(
        self, subscription: Subscription, message: Outgoing, since: datetime
    ) -> int | None:
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
                if (
                    found.author.id == me
                    and found.embeds
                    and _marker(found.embeds[0], whole=whole) == wanted
                ):
                    return found.id
        return None


def _marker(embed: discord.Embed, *, whole: bool) -> tuple[str | None, str | None]:
    """What identifies an announcement's embed: (title, footer) for a batch, (None, footer) for
    an entry (its title may have been edited since; its footer names its id)."""
    return (embed.title if whole else None, embed.footer.text)
