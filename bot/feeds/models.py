"""The feed's records: subscriptions, source state and outbox rows, as plain frozen values.

These mirror the feed tables (migration 2 in ``bot/corpus/schema.py``). Times are aware UTC
datetimes in Python and ISO-8601 text in SQLite; :func:`to_iso` / :func:`from_iso` are the only
conversions, so every stored time has one format and compares correctly as text.
"""

from __future__ import annotations

from dataclasses import dataclass
from dataclasses import field as dataclass_field
from datetime import UTC, datetime
from typing import Literal

# The seen-set and status name of the corpus folder (feed sources use their config name),
# defined in bot.config, whose check refuses it as a feed source's name.
from bot.config import CORPUS_SOURCE as CORPUS_SOURCE

Mode = Literal["instant", "digest"]
Destination = Literal["channel", "forum", "thread"]
"""Where announcements go: messages in a text or announcement channel, a post per entry in a
forum or media channel, or messages in an existing thread."""
ConditionField = Literal["title", "author", "summary", "categories", "text"]
"""What a filter condition looks at; ``text`` is the title and the summary together."""
MatchKind = Literal["contains", "words", "regex"]
MatchMode = Literal["all", "any"]
MessageFormat = Literal["embed", "compact", "components"]
"""How a subscription's announcements look: today's embed, one compact line, or a Components V2
layout (``bot/discord_app/feed_formats.py``)."""
PauseReason = Literal["missing_permission", "channel_missing", "rejected"]

PAUSE_REASON_TEXT: dict[str, str] = {
    "missing_permission": "missing permission",
    "channel_missing": "channel missing",
    "rejected": "Discord rejected an announcement",
}
"""How each pause reason is shown to people."""


def to_iso(moment: datetime) -> str:
    """The one text form of a time in the database: UTC, microseconds, ``+00:00``."""
    if moment.tzinfo is None:
        raise ValueError("feed times must be timezone-aware")
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def from_iso(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text else None


SourceOrigin = Literal["config", "added"]


@dataclass(frozen=True, slots=True)
class FollowedSource:
    """A feed the bot follows, as stored in ``feed_source_list``.

    ``origin`` says who owns it: ``config`` (seeded from ``feed.sources`` at each start; only
    the config can drop it, or a restart would bring it back) or ``added`` (by an admin, from
    Discord or the CLI; it stays until removed the same way)."""

    name: str
    url: str
    origin: SourceOrigin
    added_at: datetime
    added_by: str | None = None


@dataclass(frozen=True, slots=True)
class Condition:
    """One filter condition of a subscription (``bot.feeds.filters`` says what each match means).

    ``negate`` inverts a condition on a field the entry has; a condition on a field the entry
    lacks (no categories, no byline) never matches, negated or not: the bot does not guess."""

    field: ConditionField
    match: MatchKind
    value: str
    negate: bool = False


@dataclass(frozen=True, slots=True)
class Subscription:
    """A channel that wants announcements, with its filters and its delivery health.

    A failure never deletes a subscription: it sets ``paused_reason`` (403/404/400 from Discord)
    or ``retry_at`` (5xx/429/network: try again later). ``/feed retry`` clears the pause.
    """

    id: int
    guild_id: int
    channel_id: int
    source: str | None
    """Only entries of this source ('corpus' or a feed name); None means every source."""
    author: str | None
    keyword: str | None
    mention_role_id: int | None
    mode: Mode
    digest_minute: int | None
    """Minutes after midnight UTC when a digest subscription gets its daily digest."""
    created_by: int
    created_at: datetime
    paused_reason: str | None = None
    paused_detail: str | None = None
    paused_at: datetime | None = None
    pause_reported_at: datetime | None = None
    retry_at: datetime | None = None
    retry_streak: int = 0
    last_error: str | None = None
    last_announced_at: datetime | None = None
    last_digest_at: datetime | None = None
    destination: Destination = "channel"
    forum_tag_ids: tuple[int, ...] = ()
    """The tags of each forum post (a forum or media destination)."""
    publish: bool = False
    """Publish (crosspost) each announcement of an announcement channel to its followers."""
    discussion_thread: bool = False
    """Open a thread on each announcement, named after its title."""
    match_mode: MatchMode = "all"
    """Whether an entry must pass all of the filter conditions or any one of them."""
    message_format: MessageFormat = "embed"
    conditions: tuple[Condition, ...] = ()
    """Conditions added with ``/feed filter add`` (``author``/``keyword`` are read as two more,
    first: ``bot.feeds.filters.effective_conditions``)."""

    @property
    def paused(self) -> bool:
        return self.paused_reason is not None

    @property
    def digest_time(self) -> str | None:
        """``HH:MM`` (UTC) for digest subscriptions."""
        if self.digest_minute is None:
            return None
        return f"{self.digest_minute // 60:02d}:{self.digest_minute % 60:02d}"


@dataclass(frozen=True, slots=True)
class SubscriptionHealth:
    """A subscription with the counts `/subscriptions` shows next to it."""

    subscription: Subscription
    pending: int
    rejected: int
    """Announcements Discord refused (400) and set aside."""
    refused_reason: str | None = None
    """Discord's reason for the latest of them (bounded: ``delivery.REFUSAL_CHARS``)."""
    publishes_waiting: int = 0
    """Announcements posted but not yet published: the channel's 10 publishes an hour are used."""
    publishes_failed: int = 0
    """Announcements Discord refused to publish (left unpublished)."""


@dataclass(frozen=True, slots=True)
class SourceState:
    """What is persisted about one source between polls (conditional GET, backoff, status)."""

    name: str
    url: str | None = None
    baseline_at: datetime | None = None
    """When the first successful check recorded what existed; None until then."""
    etag: str | None = None
    last_modified: str | None = None
    last_fetch_at: datetime | None = None
    last_success_at: datetime | None = None
    last_new_item_at: datetime | None = None
    error_streak: int = 0
    last_error: str | None = None
    next_attempt_at: datetime | None = None
    failing: bool = False
    """Failed ``pause_after_failures`` times in a row: shown as paused, still retried at the cap."""
    warnings: tuple[str, ...] = ()
    entries: int = 0
    """How many entries of this source the seen-set holds."""


@dataclass(frozen=True, slots=True)
class OutboxRow:
    """One (subscription, entry) announcement: pending, sent (with its message) or rejected."""

    id: int
    subscription_id: int
    entry_id: str
    source: str
    state: Literal["pending", "sent", "rejected", "skipped"]
    batch_id: int | None
    attempts: int
    created_at: datetime
    message_id: int | None = None
    posted_hash: str | None = None
    needs_edit: bool = False
    last_error: str | None = None
    attempted_at: datetime | None = None
    """When its post was first attempted (None: never); see ``delivery`` on reconciling."""


@dataclass(frozen=True, slots=True)
class Batch:
    """Several entries announced in one message: a "+N more" overflow or a daily digest."""

    id: int
    subscription_id: int
    kind: Literal["more", "digest"]
    created_at: datetime
    entry_ids: tuple[str, ...]
    attempted_at: datetime | None = None
    """When its post was first attempted (None: never)."""


@dataclass(frozen=True, slots=True)
class EntryFacts:
    """What subscription filters look at, folded once per entry (not once per subscription)."""

    entry_id: str
    source: str
    author_keys: tuple[str, ...]
    """Each author's name folded (``names.name_key``)."""
    folded_text: str
    """Title and text folded (``names.fold``), padded with spaces for whole-word matching."""
    fields: dict[str, tuple[str, ...]] = dataclass_field(default_factory=dict)
    """Each condition field's values as the entry has them (an absent field: no key)."""
    normalized: dict[tuple[str, str], tuple[str, ...]] = dataclass_field(
        default_factory=dict, compare=False, repr=False
    )
    """(form, field) -> the field's values in that form, computed the first time a condition
    needs them (``filters.field_values``): once per entry, not per subscription, and never for
    an entry no condition looks at."""


@dataclass(frozen=True, slots=True)
class PendingPublish:
    """An announcement to publish (crosspost) once its channel may publish again."""

    message_id: int
    subscription_id: int
    channel_id: int
    due_at: datetime


@dataclass(frozen=True, slots=True)
class FilterChange:
    """A change to a subscription's filters or format, computed from the subscription as stored
    (``FeedStore.change_filters`` reads and writes it in one transaction). None: unchanged."""

    conditions: tuple[Condition, ...] | None = None
    match_mode: MatchMode | None = None
    message_format: MessageFormat | None = None
    clear_author: bool = False
    clear_keyword: bool = False
