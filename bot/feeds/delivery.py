"""Drain the outbox into Discord: each (subscription, entry) posted once, whatever fails.

Written against a small :class:`Deliverer` protocol so this core never imports discord; the
Discord layer implements it (render an embed, ``channel.send``, map ``HTTPException`` to
:class:`DeliveryError`). Why each rule:

- **Deterministic nonce.** A post's nonce is derived from its subscription and entry; discord.py
  sends ``enforce_nonce`` with it, so if the bot dies after Discord created the message but
  before the message id was recorded, the resend returns the existing message instead of
  posting a second one. Discord keeps nonces only for a few minutes, though.
- **Attempted, then reconciled.** So each post is first recorded as attempted (with its time).
  A resend of a row attempted longer ago than ``nonce_trust_seconds`` (a crash, then a restart
  after the nonce is forgotten) first looks for the message in the channel (the deliverer's
  ``find``: the bot's recent messages there, after the attempt) and records the one it finds
  instead of posting again; only when none is there is it posted.
- **Record, then move on.** The message id is committed right after each post, so a restart
  resumes exactly where the last one stopped.
- **Claimed while posted.** Each announcement (or batch) is claimed from the store before it is
  posted and until its message id is recorded (``FeedStore.claim_row``): on PostgreSQL a row lock
  taken ``FOR UPDATE SKIP LOCKED``, so two senders overlapping during a lease takeover never post
  the same one; one that finds a row claimed or already sent leaves that subscription to the
  other for this pass (posting the next one would break the channel's order).
- **Classify failures.** 403 pauses the subscription as "missing permission", 404 as "channel
  missing"; 5xx, 429 and network errors back the subscription off and retry. A 400 refuses
  *that message* (too long, a bad URL...): Discord will never accept it as it is, so resending
  it would block every later announcement of the channel behind it for ever. That one
  announcement is set aside ('rejected', with Discord's reason, shown in `/subscriptions` and
  `/feed status`) and the rest of the queue is delivered; the subscription is not paused. Only
  the few 400s that are about the channel, not the message, pause it. Nothing is ever deleted
  by a failure.
- **Small concurrency.** A few subscriptions are served at once, each strictly in order;
  discord.py's HTTP client already waits out per-route buckets and 429s, so a thousand channels
  make a steady stream, not a 429 storm.
- **Capped rounds.** A subscription with more than ``cap`` waiting entries (after downtime) gets
  the oldest ``cap`` as announcements and the rest in one "+N more" message, decided (and
  committed) before anything of the round is posted so a crash cannot change the split.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Literal, Protocol

from bot.feeds.announce import Announcement, Announcer
from bot.feeds.digest import due_digest_moment
from bot.feeds.models import Batch, OutboxRow, Subscription
from bot.feeds.store import FeedStore
from bot.storage.sql import Transactions

log = logging.getLogger(__name__)

NONCE_CHARS = 25
"""Discord's limit for a message nonce."""
BATCH_SHOWN = 15
"""A "+N more" or digest message lists at most this many entries by name."""
DEFAULT_CONCURRENCY = 4
NONCE_TRUST_SECONDS = 60.0
"""How long after an attempt a resend relies on Discord's nonce deduplication alone. Discord
keeps a nonce "for a few minutes" (no exact figure is published); a minute stays well inside."""
RETRY_BASE_SECONDS = 30.0
RETRY_MAX_SECONDS = 3600.0
UNKNOWN_CHANNEL = 10003
UNKNOWN_MESSAGE = 10008
CHANNEL_REFUSALS = frozenset({40058, 40067, 50008, 50024, 50083})
"""400s about the channel, not the message (a forum channel, a forum that requires a tag the
subscription no longer has, a non-text channel, an action the channel type forbids, an archived
thread): every message would be refused there, so they pause the subscription instead of
setting each announcement aside."""
REFUSAL_CHARS = 300
"""A set-aside announcement keeps at most this much of Discord's reason (its error lists can be
long; `/subscriptions` shows it next to every subscription)."""


class DeliveryError(Exception):
    """A post or edit failed; ``status`` is the HTTP status (None: no answer at all)."""

    def __init__(
        self,
        status: int | None,
        text: str,
        *,
        code: int | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(f"{status or 'no answer'}: {text}")
        self.status = status
        self.code = code
        self.text = text
        self.retry_after = retry_after


Action = Literal["pause", "retry", "drop", "set_aside"]


@dataclass(frozen=True, slots=True)
class Verdict:
    action: Action
    reason: str | None = None
    detail: str = ""


def refusal_reason(text: str) -> str:
    """Discord's refusal on one line, at most ``REFUSAL_CHARS``: discord.py puts each field error
    on a line of its own ("Invalid Form Body\\nIn embeds.0.url: Must be 2048 or fewer in
    length."), shown as "Invalid Form Body (embeds.0.url: Must be 2048 or fewer in length.)"."""
    lines = [line.strip() for line in (text or "").splitlines() if line.strip()]
    if not lines:
        return "no details"
    fields = [line.removeprefix("In ") for line in lines[1:]]
    reason = f"{lines[0]} ({'; '.join(fields)})" if fields else lines[0]
    return reason if len(reason) <= REFUSAL_CHARS else reason[: REFUSAL_CHARS - 1].rstrip() + "…"


def classify_post(error: DeliveryError) -> Verdict:
    """What to do after a failed post (see the module docstring for why)."""
    text = error.text or "no details"
    if error.status == 403:
        return Verdict("pause", "missing_permission", f"Discord said: {text}")
    if error.status == 404:
        return Verdict("pause", "channel_missing", f"Discord said: {text}")
    if error.status == 400 and error.code not in CHANNEL_REFUSALS:
        return Verdict("set_aside", None, refusal_reason(text))
    # 401 is about the bot's token, not this subscription: retried like an outage, never paused.
    if (
        error.status is not None
        and 400 <= error.status < 500
        and error.status not in (401, 408, 429)
    ):
        return Verdict("pause", "rejected", f"HTTP {error.status}: {text}")
    return Verdict("retry", None, f"HTTP {error.status}: {text}" if error.status else text)


def classify_edit(error: DeliveryError) -> Verdict:
    """After a failed edit: a deleted message or a refused edit is dropped (the post stands);
    a missing channel or permission pauses the subscription like a failed post."""
    if error.status == 404 and error.code != UNKNOWN_CHANNEL:
        return Verdict("drop", None, "the announcement was deleted")
    if error.status == 400:
        return Verdict("drop", None, f"Discord refused the edit: {error.text}")
    return classify_post(error)


def entry_nonce(subscription_id: int, entry_id: str) -> str:
    """The nonce of one entry's post in one subscription: same inputs, same nonce, 25 chars."""
    digest = hashlib.sha256(f"{subscription_id}\0{entry_id}".encode()).hexdigest()
    return ("e" + digest)[:NONCE_CHARS]


def batch_nonce(subscription_id: int, batch_id: int) -> str:
    digest = hashlib.sha256(f"{subscription_id}\0batch\0{batch_id}".encode()).hexdigest()
    return ("b" + digest)[:NONCE_CHARS]


@dataclass(frozen=True, slots=True)
class EntryMessage:
    """One entry's announcement."""

    announcement: Announcement
    mention_role_id: int | None


@dataclass(frozen=True, slots=True)
class BatchMessage:
    """Several entries in one message: the "+N more" of a capped round, or a daily digest."""

    kind: Literal["more", "digest"]
    announcements: tuple[Announcement, ...]
    """The first few entries (at most ``BATCH_SHOWN``), oldest first."""
    total: int
    mention_role_id: int | None
    created_at: datetime


Outgoing = EntryMessage | BatchMessage


class Deliverer(Protocol):
    """How announcements reach a channel; raises :class:`DeliveryError` on any failure."""

    async def post(self, subscription: Subscription, message: Outgoing, nonce: str) -> int:
        """Post ``message`` with ``nonce`` (enforced); return the message id."""
        ...

    async def edit(
        self, subscription: Subscription, message_id: int, message: Outgoing
    ) -> None: ...

    async def find(
        self, subscription: Subscription, message: Outgoing, since: datetime
    ) -> int | None:
        """The id of the bot's message for ``message`` posted in the subscription's channel at or
        after ``since``, if there is one (a post whose id a crash kept from being recorded)."""
        ...

    async def publish(self, subscription: Subscription, message_id: int) -> None:
        """Publish (crosspost) a posted announcement to the channels following the
        subscription's announcement channel (only asked when ``subscription.publish``)."""
        ...


@dataclass
class SendReport:
    posted: int = 0
    batches: int = 0
    edited: int = 0
    skipped: int = 0
    refused: int = 0
    """Announcements Discord refused (400) and that were set aside."""
    reconciled: int = 0
    """Posts found already in their channel (a crash kept their id from being recorded)."""
    published: int = 0
    """Announcements published that waited for their channel's hour (`publishing`)."""
    paused: list[tuple[int, str]] = field(default_factory=list)
    retrying: list[int] = field(default_factory=list)


def retry_delay(streak: int, retry_after: float | None) -> float:
    """30 s, 60 s, 120 s … up to an hour; never sooner than Discord's ``retry_after``."""
    exponent = min(max(streak - 1, 0), 20)
    return max(min(RETRY_MAX_SECONDS, RETRY_BASE_SECONDS * 2**exponent), retry_after or 0.0)


class OutboxSender:
    """One drain of the outbox at a time; each subscription served in order."""

    def __init__(
        self,
        feeds: FeedStore,
        announcer: Announcer,
        deliverer: Deliverer,
        *,
        cap: int,
        concurrency: int = DEFAULT_CONCURRENCY,
        nonce_trust_seconds: float = NONCE_TRUST_SECONDS,
    ) -> None:
        self.feeds = feeds
        self.announcer = announcer
        self.deliverer = deliverer
        self.cap = max(1, cap)
        self.concurrency = max(1, concurrency)
        self.nonce_trust_seconds = nonce_trust_seconds
        self._lock = asyncio.Lock()
        # Imported here: publishing builds on this module (DeliveryError, the Deliverer).
        from bot.feeds.publishing import Publisher

        self.publisher = Publisher(feeds, deliverer)
        """Publishes what subscriptions with ``publish`` post, 10 an hour per channel."""

    async def send_pass(self, now: datetime) -> SendReport:
        """Post, batch and edit whatever is due now, for every active subscription."""
        async with self._lock:
            report = SendReport()
            queue = list(await self.feeds.subscriptions_with_work(now))
            memo: dict[str, Announcement | None] = {}

            async def worker() -> None:
                while queue:
                    subscription = queue.pop(0)
                    await self._serve(subscription, now, report, memo)

            # A TaskGroup, not gather: if anything escapes a worker, the others stop too.
            async with asyncio.TaskGroup() as group:
                for _ in range(min(self.concurrency, len(queue))):
                    group.create_task(worker())
            try:
                report.published = await self.publisher.publish_pass(now)
            except Exception:  # noqa: BLE001 - a publish must not stop the feed's passes
                log.exception("feed: the publish pass failed unexpectedly")
            return report

    async def digest_pass(self, now: datetime) -> int:
        """Gather every due digest into a batch (committed with the digest's moment), then send.
        Returns how many digests were created."""
        created = 0
        for subscription in await self.feeds.all_subscriptions():
            if subscription.paused:
                continue  # its digest is sent once it is resumed, not lost
            moment = due_digest_moment(subscription, now)
            if moment is None:
                continue
            if await self.feeds.batch_digest(subscription.id, moment, now) is not None:
                created += 1
        if created:
            await self.send_pass(now)
        return created

    async def _serve(
        self,
        subscription: Subscription,
        now: datetime,
        report: SendReport,
        memo: dict[str, Announcement | None],
    ) -> None:
        try:
            await self._deliver(subscription, now, report, memo)
        except DeliveryError as error:  # a deliverer that raised outside a post/edit
            await self._failed(subscription, error, now, report, row=None)
        except Exception as exc:  # noqa: BLE001 - one broken subscription must not stop the rest
            log.exception(
                "feed: delivering to channel %s failed unexpectedly", subscription.channel_id
            )
            retry_at = now + timedelta(seconds=retry_delay(subscription.retry_streak + 1, None))
            await self.feeds.retry_later(
                subscription.id, retry_at, f"internal error: {exc!r}", row_id=None
            )
            report.retrying.append(subscription.id)

    async def _deliver(
        self,
        subscription: Subscription,
        now: datetime,
        report: SendReport,
        memo: dict[str, Announcement | None],
    ) -> None:
        if subscription.mode == "instant":
            pending = await self.feeds.pending_rows(subscription.id)
            if len(pending) > self.cap:
                await self.feeds.batch_overflow(
                    subscription.id, [row.id for row in pending[self.cap :]], now
                )
                pending = pending[: self.cap]
            for row in pending:
                if not await self._post_row(subscription, row, now, report, memo):
                    return
        for batch in await self.feeds.open_batches(subscription.id):
            if not await self._post_batch(subscription, batch, now, report, memo):
                return
        for row in await self.feeds.edit_rows(subscription.id):
            if not await self._edit_row(subscription, row, now, report, memo):
                return

    async def _announcement(
        self, entry_id: str, memo: dict[str, Announcement | None]
    ) -> Announcement | None:
        if entry_id not in memo:
            memo[entry_id] = await self.announcer.announcement(entry_id)
        return memo[entry_id]

    async def _post_row(
        self,
        subscription: Subscription,
        row: OutboxRow,
        now: datetime,
        report: SendReport,
        memo: dict[str, Announcement | None],
    ) -> bool:
        announcement = await self._announcement(row.entry_id, memo)
        if announcement is None:
            await self.feeds.mark_skipped([row.id], "the entry was removed before it was announced")
            report.skipped += 1
            return True
        message = EntryMessage(announcement, subscription.mention_role_id)
        # Committed before the claim (whose writes commit only when it ends): after a crash, a
        # resend knows the message may exist. The first attempt's time stays.
        if not await self.feeds.mark_attempt(row.id, now):
            return False  # another sender holds or has sent it: this queue is theirs now
        async with self.feeds.claim_row(row.id) as claimed:
            if claimed is None:
                return False  # another sender holds or has sent it: this queue is theirs now
            try:
                message_id, found = await self._send(
                    subscription,
                    message,
                    entry_nonce(subscription.id, row.entry_id),
                    claimed.item.attempted_at,
                    now,
                )
            except DeliveryError as error:
                return await self._failed(
                    subscription, error, now, report, row=row, within=claimed.within
                )
            await self.feeds.mark_sent(
                row.id, message_id, announcement.content_hash, now, within=claimed.within
            )
        await self.publisher.posted(subscription, message_id, now)
        if found:
            report.reconciled += 1
        else:
            report.posted += 1
        return True

    async def _send(
        self,
        subscription: Subscription,
        message: Outgoing,
        nonce: str,
        attempted_at: datetime | None,
        now: datetime,
    ) -> tuple[int, bool]:
        """Post ``message`` once: (message id, whether it was found already posted).

        A post attempted before (a crash, or a failure that may have reached Discord) longer ago
        than Discord still remembers its nonce is looked for in the channel first. The caller
        recorded this attempt already (its time is kept only when there was none before).
        """
        if (
            attempted_at is not None
            and (now - attempted_at).total_seconds() > self.nonce_trust_seconds
        ):
            found = await self.deliverer.find(subscription, message, attempted_at)
            if found is not None:
                log.info(
                    "feed: channel %s already had message %s for a post a crash left unrecorded",
                    subscription.channel_id,
                    found,
                )
                return found, True
        return await self.deliverer.post(subscription, message, nonce), False

    async def _post_batch(
        self,
        subscription: Subscription,
        batch: Batch,
        now: datetime,
        report: SendReport,
        memo: dict[str, Announcement | None],
    ) -> bool:
        shown: list[Announcement] = []
        for entry_id in batch.entry_ids[:BATCH_SHOWN]:
            announcement = await self._announcement(entry_id, memo)
            if announcement is not None:
                shown.append(announcement)
        message = BatchMessage(
            batch.kind,
            tuple(shown),
            len(batch.entry_ids),
            subscription.mention_role_id,
            batch.created_at,
        )
        if not await self.feeds.mark_batch_attempt(batch.id, now):  # before the claim, as rows
            return False
        async with self.feeds.claim_batch(batch) as claimed:
            if claimed is None:
                return False
            try:
                message_id, found = await self._send(
                    subscription,
                    message,
                    batch_nonce(subscription.id, batch.id),
                    claimed.item.attempted_at,
                    now,
                )
            except DeliveryError as error:
                return await self._failed(
                    subscription, error, now, report, row=None, batch=batch, within=claimed.within
                )
            await self.feeds.mark_batch_sent(batch.id, message_id, now, within=claimed.within)
        await self.publisher.posted(subscription, message_id, now)
        if found:
            report.reconciled += 1
        else:
            report.batches += 1
        return True

    async def _edit_row(
        self,
        subscription: Subscription,
        row: OutboxRow,
        now: datetime,
        report: SendReport,
        memo: dict[str, Announcement | None],
    ) -> bool:
        announcement = await self._announcement(row.entry_id, memo)
        if announcement is None or row.message_id is None:
            await self.feeds.mark_edited(row.id, row.posted_hash)
            return True
        try:
            await self.deliverer.edit(
                subscription,
                row.message_id,
                EntryMessage(announcement, subscription.mention_role_id),
            )
        except DeliveryError as error:
            verdict = classify_edit(error)
            if verdict.action == "drop":
                log.info("feed: not editing message %s: %s", row.message_id, verdict.detail)
                await self.feeds.mark_edited(row.id, row.posted_hash)
                return True
            return await self._failed(subscription, error, now, report, row=None, verdict=verdict)
        await self.feeds.mark_edited(row.id, announcement.content_hash)
        report.edited += 1
        return True

    async def _failed(
        self,
        subscription: Subscription,
        error: DeliveryError,
        now: datetime,
        report: SendReport,
        *,
        row: OutboxRow | None,
        batch: Batch | None = None,
        verdict: Verdict | None = None,
        within: Transactions | None = None,
    ) -> bool:
        """Record a failure. True when only that message was set aside (serve the rest of the
        subscription's queue); False when the subscription stops for this pass. ``within``: the
        claim of the row or batch that failed (what is recorded about it goes through it)."""
        verdict = verdict or classify_post(error)
        if verdict.action == "set_aside" and (row is not None or batch is not None):
            if row is not None:
                await self.feeds.set_aside([row.id], verdict.detail, within=within)
            else:
                assert batch is not None
                await self.feeds.set_aside_batch(batch.id, verdict.detail, within=within)
            report.refused += 1
            log.warning(
                "feed: Discord refused an announcement in channel %s; set aside, the rest goes on: %s",
                subscription.channel_id,
                verdict.detail,
            )
            return True
        if verdict.action in ("pause", "set_aside"):
            # A refusal with no message of its own to set aside pauses, as before.
            reason = verdict.reason or "rejected"
            detail = verdict.detail if verdict.reason else f"HTTP {error.status}: {verdict.detail}"
            await self.feeds.pause(subscription.id, reason, detail, now)
            report.paused.append((subscription.id, reason))
            log.warning(
                "feed: paused the subscription of channel %s (%s): %s",
                subscription.channel_id,
                reason,
                detail,
            )
        else:
            retry_at = now + timedelta(
                seconds=retry_delay(subscription.retry_streak + 1, error.retry_after)
            )
            await self.feeds.retry_later(
                subscription.id,
                retry_at,
                verdict.detail,
                row_id=row.id if row else None,
                within=within,
            )
            report.retrying.append(subscription.id)
            log.info(
                "feed: channel %s will be retried at %s: %s",
                subscription.channel_id,
                retry_at,
                verdict.detail,
            )
        return False
