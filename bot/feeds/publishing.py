"""Publishing announcements of an announcement channel to the channels that follow it.

Discord lets a channel publish (crosspost) 10 messages an hour; past that it answers 429 with a
``retry_after`` of up to an hour. Asking anyway would not only fail: discord.py waits out a 429
before it returns, which would hold the sender (and every subscription behind it) for that
hour. So each publish is recorded (``feed_publishes``) and counted per channel, and the 11th
announcement of an hour is posted at once and published when the oldest of the hour's 10 is an
hour old: it waits as 'pending' with that due time, shown in `/subscriptions`, and the sender
publishes it on a later pass (after a restart too). Should Discord still answer 429 (the
channel also publishes by hand), its ``retry_after`` postpones the channel's waiting publishes
the same way. A publish Discord refuses for good (the message was deleted, a permission was
taken away) is left unpublished with its reason; the announcement itself stands.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from bot.feeds.delivery import Deliverer, DeliveryError, refusal_reason, retry_delay
from bot.feeds.models import Subscription
from bot.feeds.store import FeedStore

log = logging.getLogger(__name__)

PUBLISHES_PER_WINDOW = 10
PUBLISH_WINDOW = timedelta(hours=1)
"""Discord: an announcement channel publishes at most 10 messages an hour."""
ALREADY_CROSSPOSTED = 40033
HOUR_USED = "the channel's 10 publishes of the hour are used"


class Publisher:
    """Records, paces and sends the publishes of subscriptions with ``publish`` set."""

    def __init__(self, feeds: FeedStore, deliverer: Deliverer) -> None:
        self.feeds = feeds
        self.deliverer = deliverer

    async def posted(self, subscription: Subscription, message_id: int, now: datetime) -> None:
        """An announcement was posted: publish it now if the channel may, else record it."""
        if not subscription.publish or subscription.destination != "channel":
            return
        await self.feeds.add_publish(subscription.id, subscription.channel_id, message_id, now)
        await self.publish_due(subscription, now)

    async def publish_pass(self, now: datetime) -> int:
        """Publish what waited for its hour, in every subscription; returns how many."""
        published = 0
        for subscription in await self.feeds.subscriptions_with_due_publishes(now):
            published += await self.publish_due(subscription, now)
        return published

    async def publish_due(self, subscription: Subscription, now: datetime) -> int:
        """Publish the subscription's due announcements, oldest first, until the channel's
        hour is used or Discord says to wait; returns how many were published."""
        published = 0
        for pending in await self.feeds.due_publishes(subscription.id, now):
            recent = await self.feeds.published_since(subscription.channel_id, now - PUBLISH_WINDOW)
            if len(recent) >= PUBLISHES_PER_WINDOW:
                free_at = recent[len(recent) - PUBLISHES_PER_WINDOW] + PUBLISH_WINDOW
                await self.feeds.postpone_publishes(subscription.id, free_at, HOUR_USED)
                return published
            try:
                await self.deliverer.publish(subscription, pending.message_id)
            except DeliveryError as error:
                if not await self._failed(subscription, pending.message_id, error, now):
                    return published
                continue
            await self.feeds.mark_published(pending.message_id, now)
            published += 1
        return published

    async def _failed(
        self, subscription: Subscription, message_id: int, error: DeliveryError, now: datetime
    ) -> bool:
        """Record a failed publish; True when the next one may be tried now."""
        if error.status == 400 and error.code == ALREADY_CROSSPOSTED:
            await self.feeds.mark_published(message_id, now)  # published before a crash
            return True
        if error.status is not None and 400 <= error.status < 500 and error.status != 429:
            reason = refusal_reason(error.text)
            await self.feeds.fail_publish(message_id, reason)
            log.warning(
                "feed: Discord refused to publish message %s in channel %s: %s",
                message_id,
                subscription.channel_id,
                reason,
            )
            return True
        wait = error.retry_after
        if wait is None:
            wait = PUBLISH_WINDOW.total_seconds() if error.status == 429 else retry_delay(1, None)
        reason = HOUR_USED if error.status == 429 else f"HTTP {error.status}: {error.text}"
        await self.feeds.postpone_publishes(
            subscription.id, now + timedelta(seconds=wait), reason[:300]
        )
        log.info(
            "feed: publishing in channel %s waits %.0f s: %s",
            subscription.channel_id,
            wait,
            reason,
        )
        return False
