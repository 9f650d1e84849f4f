"""When a daily digest is due. Pure functions of an injected ``now``: no clock is read here.

A digest subscription names a time of day in UTC. The digest for a day is due from that moment
on, once: the subscription remembers the moment of the last digest it got. A bot that was down
at 09:00 sends the day's digest when it comes back (late, but nothing is lost), and a bot down
for three days sends one digest with everything, not three.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from bot.feeds.models import Subscription

_HH_MM = re.compile(r"\s*([01]?\d|2[0-3])\s*:\s*([0-5]\d)\s*(?:utc|z)?\s*", re.IGNORECASE)


def parse_digest_time(text: str) -> int | None:
    """``"09:30"`` -> 570 (minutes after midnight UTC); None when it is not a valid HH:MM."""
    match = _HH_MM.fullmatch(text)
    if match is None:
        return None
    return int(match.group(1)) * 60 + int(match.group(2))


def latest_digest_moment(now: datetime, minute: int) -> datetime:
    """The most recent moment at or before ``now`` that is ``minute`` minutes after midnight UTC."""
    now = now.astimezone(UTC)
    today = now.replace(hour=minute // 60, minute=minute % 60, second=0, microsecond=0)
    return today if today <= now else today - timedelta(days=1)


def due_digest_moment(subscription: Subscription, now: datetime) -> datetime | None:
    """The moment whose digest ``subscription`` should get now, or None if none is due.

    Due when the latest scheduled moment is after both the last digest sent and the
    subscription's creation (a subscription made at 10:00 for 09:00 waits for tomorrow).
    """
    if subscription.mode != "digest" or subscription.digest_minute is None:
        return None
    moment = latest_digest_moment(now, subscription.digest_minute)
    since = subscription.last_digest_at or subscription.created_at
    return moment if moment > since else None


def next_digest_moment(subscription: Subscription, now: datetime) -> datetime | None:
    """When the next digest will be sent (shown in `/subscriptions`)."""
    if subscription.mode != "digest" or subscription.digest_minute is None:
        return None
    due = due_digest_moment(subscription, now)
    if due is not None:
        return due
    return latest_digest_moment(now, subscription.digest_minute) + timedelta(days=1)
