"""The feed's SQL, one implementation for both backends (bot/storage/sql.py is the seam).

With ``storage: sqlite`` it runs over the corpus index's SQLite file (one writer, WAL); with
``storage: postgres`` over the shared PostgreSQL database (bot/storage/postgres/sql.py). The
statements are written in the dialect both share (``ON CONFLICT … DO UPDATE/NOTHING``,
``RETURNING``, ``coalesce``, ``CASE``; no ``INSERT OR REPLACE``, rowid, scalar ``min``/``max``
or JSON functions); where the two truly differ (row locks) the statement takes a named fragment
of the database's ``dialect``.

Every write goes through the database's ``transaction()``, so detection writes documents, seen
rows and outbox rows in ONE transaction; reads use ``reader`` and see the last committed state.
The sender claims each announcement before posting it (``claim_row``, ``claim_batch``): on
PostgreSQL the row stays locked (``FOR UPDATE SKIP LOCKED``) until it is recorded as sent, so two
senders overlapping during a lease takeover never post the same one. Nothing user-supplied is
ever spliced into SQL: every value is a bound parameter and the only built fragments are runs of
``?`` marks and the dialect's constants.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, Generic, Literal, TypeVar, get_args

from bot.feeds.filters import wanting_pairs
from bot.feeds.models import (
    Batch,
    Condition,
    ConditionField,
    Destination,
    EntryFacts,
    FilterChange,
    FollowedSource,
    MatchKind,
    Mode,
    OutboxRow,
    PendingPublish,
    SourceOrigin,
    SourceState,
    Subscription,
    SubscriptionHealth,
    from_iso,
    to_iso,
)
from bot.storage.sql import FeedDatabase, Reader, Row, Transactions, Writer

T = TypeVar("T")

_SUBSCRIPTION_COLUMNS = (
    "id, guild_id, channel_id, source, author, keyword, mention_role_id, mode, digest_minute, "
    "created_by, created_at, paused_reason, paused_detail, paused_at, pause_reported_at, "
    "retry_at, retry_streak, last_error, last_announced_at, last_digest_at, "
    "destination, forum_tag_ids, publish, discussion_thread, match_mode, message_format, "
    "filter_conditions"
)
_SOURCE_COLUMNS = (
    "name, url, baseline_at, etag, last_modified, last_fetch_at, last_success_at, "
    "last_new_item_at, error_streak, last_error, next_attempt_at, failing, warnings"
)
_OUTBOX_COLUMNS = (
    "id, subscription_id, entry_id, source, state, batch_id, attempts, created_at, message_id, "
    "posted_hash, needs_edit, last_error, attempted_at"
)
_CHUNK = 500
_OUTBOX_VALUES = "(?, ?, ?, ?)"

CorpusChange = Literal["new", "changed"]
_CORPUS_CHANGES: dict[CorpusChange | None, str] = {
    None: "(s.item_key IS NULL OR s.content_hash != d.content_hash)",
    "new": "s.item_key IS NULL",
    "changed": "s.content_hash != d.content_hash",
}


def _subscription(row: Row) -> Subscription:
    created_at = from_iso(row["created_at"])
    assert created_at is not None
    return Subscription(
        id=row["id"],
        guild_id=row["guild_id"],
        channel_id=row["channel_id"],
        source=row["source"],
        author=row["author"],
        keyword=row["keyword"],
        mention_role_id=row["mention_role_id"],
        mode=row["mode"],
        digest_minute=row["digest_minute"],
        created_by=row["created_by"],
        created_at=created_at,
        paused_reason=row["paused_reason"],
        paused_detail=row["paused_detail"],
        paused_at=from_iso(row["paused_at"]),
        pause_reported_at=from_iso(row["pause_reported_at"]),
        retry_at=from_iso(row["retry_at"]),
        retry_streak=row["retry_streak"],
        last_error=row["last_error"],
        last_announced_at=from_iso(row["last_announced_at"]),
        last_digest_at=from_iso(row["last_digest_at"]),
        destination=_destination(row["destination"]),
        forum_tag_ids=tuple(int(t) for t in json.loads(row["forum_tag_ids"] or "[]")),
        publish=bool(row["publish"]),
        discussion_thread=bool(row["discussion_thread"]),
        match_mode=row["match_mode"],
        message_format=row["message_format"],
        conditions=conditions_from_json(row["filter_conditions"]),
    )


_CONDITION_FIELDS = frozenset(get_args(ConditionField))
_MATCH_KINDS = frozenset(get_args(MatchKind))


def conditions_from_json(text: str) -> tuple[Condition, ...]:
    """The stored conditions; an element that is not a condition (a row edited by hand) is
    skipped rather than guessed at."""
    out: list[Condition] = []
    for item in json.loads(text or "[]"):
        if (
            isinstance(item, dict)
            and item.get("field") in _CONDITION_FIELDS
            and item.get("match") in _MATCH_KINDS
            and isinstance(item.get("value"), str)
        ):
            out.append(
                Condition(item["field"], item["match"], item["value"], bool(item.get("negate")))
            )
    return tuple(out)


def conditions_to_json(conditions: Sequence[Condition]) -> str:
    return json.dumps(
        [
            {"field": c.field, "match": c.match, "value": c.value, "negate": c.negate}
            for c in conditions
        ],
        ensure_ascii=False,
    )


def _pending_publish(row: Row) -> PendingPublish:
    due_at = from_iso(row["due_at"])
    assert due_at is not None
    return PendingPublish(row["message_id"], row["subscription_id"], row["channel_id"], due_at)


def _destination(text: str) -> Destination:
    if text == "forum":
        return "forum"
    return "thread" if text == "thread" else "channel"


def _source(row: Row) -> SourceState:
    return SourceState(
        name=row["name"],
        url=row["url"],
        baseline_at=from_iso(row["baseline_at"]),
        etag=row["etag"],
        last_modified=row["last_modified"],
        last_fetch_at=from_iso(row["last_fetch_at"]),
        last_success_at=from_iso(row["last_success_at"]),
        last_new_item_at=from_iso(row["last_new_item_at"]),
        error_streak=row["error_streak"],
        last_error=row["last_error"],
        next_attempt_at=from_iso(row["next_attempt_at"]),
        failing=bool(row["failing"]),
        warnings=tuple(json.loads(row["warnings"] or "[]")),
    )


def _followed(row: Row) -> FollowedSource:
    added_at = from_iso(row["added_at"])
    assert added_at is not None  # noqa: S101 - NOT NULL in the schema
    origin: SourceOrigin = "config" if row["origin"] == "config" else "added"
    return FollowedSource(row["name"], row["url"], origin, added_at, row["added_by"])


def _outbox(row: Row) -> OutboxRow:
    created_at = from_iso(row["created_at"])
    assert created_at is not None
    return OutboxRow(
        id=row["id"],
        subscription_id=row["subscription_id"],
        entry_id=row["entry_id"],
        source=row["source"],
        state=row["state"],
        batch_id=row["batch_id"],
        attempts=row["attempts"],
        created_at=created_at,
        message_id=row["message_id"],
        posted_hash=row["posted_hash"],
        needs_edit=bool(row["needs_edit"]),
        last_error=row["last_error"],
        attempted_at=from_iso(row["attempted_at"]),
    )


def _iso_or_none(moment: datetime | None) -> str | None:
    return to_iso(moment) if moment is not None else None


def _chunks(values: Sequence[Any]) -> Iterable[Sequence[Any]]:
    for start in range(0, len(values), _CHUNK):
        yield values[start : start + _CHUNK]


def _marks(count: int) -> str:
    return ",".join("?" * count)


@dataclass(frozen=True, slots=True)
class Claimed(Generic[T]):
    """An outbox row or batch this sender holds until the claim ends, as stored when claimed;
    what is recorded about it goes through ``within`` (the claim's transactions)."""

    item: T
    within: Transactions


class FeedStore:
    """Storage for the feed behind an API: the rest of the feed never writes SQL."""

    def __init__(self, db: FeedDatabase) -> None:
        self.db = db

    @property
    def _reader(self) -> Reader:
        return self.db.reader

    # --- sources -----------------------------------------------------------------------------

    async def source_state(self, name: str, *, conn: Reader | None = None) -> SourceState:
        """The stored state of a source, or a blank one for a source never checked.

        ``conn``: the writer inside a transaction, to read what that transaction sees.
        """
        rows = await (conn or self._reader).execute_fetchall(
            f"SELECT {_SOURCE_COLUMNS} FROM feed_sources WHERE name = ?",  # noqa: S608 - constant columns
            (name,),
        )
        row = next(iter(rows), None)  # the name is the key
        return SourceState(name=name) if row is None else _source(row)

    async def source_states(self) -> dict[str, SourceState]:
        """Every stored source with how many entries its seen-set holds."""
        rows = await self._reader.execute_fetchall(
            f"SELECT {_SOURCE_COLUMNS}, (SELECT count(*) FROM feed_seen s WHERE s.source = f.name) AS entries "  # noqa: S608
            "FROM feed_sources f"
        )
        return {row["name"]: replace(_source(row), entries=row["entries"]) for row in rows}

    async def write_source_state(self, writer: Writer, state: SourceState) -> None:
        """Inside a transaction: store a source's whole state (insert or replace)."""
        await writer.execute(
            f"INSERT INTO feed_sources ({_SOURCE_COLUMNS}) "  # noqa: S608 - constant columns
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (name) DO UPDATE SET "
            + ", ".join(
                f"{column} = excluded.{column}"
                for column in _SOURCE_COLUMNS.split(", ")
                if column != "name"
            ),
            (
                state.name,
                state.url,
                _iso_or_none(state.baseline_at),
                state.etag,
                state.last_modified,
                _iso_or_none(state.last_fetch_at),
                _iso_or_none(state.last_success_at),
                _iso_or_none(state.last_new_item_at),
                state.error_streak,
                state.last_error,
                _iso_or_none(state.next_attempt_at),
                int(state.failing),
                json.dumps(list(state.warnings), ensure_ascii=False),
            ),
        )

    async def save_source_state(self, state: SourceState) -> None:
        async with self.db.transaction() as writer:
            await self.write_source_state(writer, state)

    # --- the sources followed ----------------------------------------------------------------

    async def followed_sources(self) -> list[FollowedSource]:
        """Every feed followed, config ones first, each group by name."""
        rows = await self._reader.execute_fetchall(
            "SELECT name, url, origin, added_at, added_by FROM feed_source_list "
            "ORDER BY origin = 'added', name"
        )
        return [_followed(row) for row in rows]

    async def seed_config_sources(
        self, sources: Sequence[tuple[str, str]], now: datetime
    ) -> list[FollowedSource]:
        """Make the config's ``(name, url)`` sources the ``config`` rows, in one transaction.

        A config row the config no longer lists is dropped (the config owns it); a source an
        admin added under a name the config now uses becomes the config's (the config wins, and
        its URL with it). Returns every followed source afterwards."""
        names = [name for name, _url in sources]
        async with self.db.transaction() as writer:
            await writer.execute(
                f"DELETE FROM feed_source_list WHERE origin = 'config' "  # noqa: S608 - marks only
                f"AND name NOT IN ({_marks(len(names))})"
                if names
                else "DELETE FROM feed_source_list WHERE origin = 'config'",
                names,
            )
            await writer.executemany(
                "INSERT INTO feed_source_list (name, url, origin, added_at) "
                "VALUES (?, ?, 'config', ?) ON CONFLICT (name) DO UPDATE SET "
                "url = excluded.url, origin = 'config', "
                "added_at = CASE WHEN feed_source_list.origin = 'config' "
                "THEN feed_source_list.added_at ELSE excluded.added_at END, added_by = NULL",
                [(name, url, to_iso(now)) for name, url in sources],
            )
        return await self.followed_sources()

    async def add_source(self, name: str, url: str, added_by: str | None, now: datetime) -> bool:
        """Follow a feed an admin added; False when the name is taken (nothing written)."""
        async with self.db.transaction() as writer:
            cursor = await writer.execute(
                "INSERT INTO feed_source_list (name, url, origin, added_at, added_by) "
                "VALUES (?, ?, 'added', ?, ?) ON CONFLICT (name) DO NOTHING",
                (name, url, to_iso(now), added_by),
            )
            return cursor.rowcount > 0

    async def remove_source(self, name: str) -> bool:
        """Stop following an added feed: its row, fetch state and seen-set go (re-adding it later
        takes a new silent baseline). Subscriptions naming it stay (they announce nothing until
        a source of that name exists again), as do entries already announced."""
        async with self.db.transaction() as writer:
            cursor = await writer.execute(
                "DELETE FROM feed_source_list WHERE name = ? AND origin = 'added'", (name,)
            )
            if cursor.rowcount == 0:
                return False
            await writer.execute("DELETE FROM feed_sources WHERE name = ?", (name,))
            await writer.execute("DELETE FROM feed_seen WHERE source = ?", (name,))
            return True

    # --- seen-sets ---------------------------------------------------------------------------

    async def seen(
        self,
        writer: Writer,
        source: str,
        keys: Sequence[str],
        *,
        legacy: Mapping[str, tuple[str, str]] | None = None,
    ) -> dict[str, tuple[str, str]]:
        """Inside a transaction: item key -> (entry id, content hash) for the keys already seen.

        ``legacy`` maps a key to (the key an earlier version gave the same item, its content
        hash now), for seen-sets written before a key scheme changed: without it an upgrade
        would announce every such item again. A legacy row is claimed by at most one item (an
        older key could stand for several items, which it merged): the one whose content is
        unchanged, else the last in feed order (feeds list the newest first, so the item seen
        before sits below the ones that arrived since), and never when an item of this fetch
        has that key exactly. The claimed row is moved to the new key (so this happens once per item)
        and keeps its entry id: ids never change, the caller must keep the returned one.
        """
        found: dict[str, tuple[str, str]] = {}
        for chunk in _chunks(list(keys)):
            rows = await writer.execute_fetchall(
                f"SELECT item_key, entry_id, content_hash FROM feed_seen WHERE source = ? "  # noqa: S608 - only ? marks
                f"AND item_key IN ({_marks(len(chunk))})",
                (source, *chunk),
            )
            found.update({row["item_key"]: (row["entry_id"], row["content_hash"]) for row in rows})
        if legacy:
            await self._claim_legacy_keys(writer, source, keys, legacy, found)
        return found

    async def _claim_legacy_keys(
        self,
        writer: Writer,
        source: str,
        keys: Sequence[str],
        legacy: Mapping[str, tuple[str, str]],
        found: dict[str, tuple[str, str]],
    ) -> None:
        present = set(keys)
        claimants: dict[str, list[tuple[str, str]]] = {}  # legacy key -> [(key, hash)], feed order
        for key in keys:
            if key in found or key not in legacy:
                continue
            old_key, digest = legacy[key]
            if old_key not in present:
                claimants.setdefault(old_key, []).append((key, digest))
        for chunk in _chunks(list(claimants)):
            rows = await writer.execute_fetchall(
                f"SELECT item_key, entry_id, content_hash FROM feed_seen WHERE source = ? "  # noqa: S608 - only ? marks
                f"AND item_key IN ({_marks(len(chunk))})",
                (source, *chunk),
            )
            for row in rows:
                candidates = claimants[row["item_key"]]
                unchanged = [key for key, digest in candidates if digest == row["content_hash"]]
                key = unchanged[0] if unchanged else candidates[-1][0]
                await writer.execute(
                    "UPDATE feed_seen SET item_key = ? WHERE source = ? AND item_key = ?",
                    (key, source, row["item_key"]),
                )
                found[key] = (row["entry_id"], row["content_hash"])

    async def mark_seen(
        self,
        writer: Writer,
        source: str,
        seen: Sequence[tuple[str, str, str]],
        now: datetime,
    ) -> None:
        """Inside a transaction: record (item key, entry id, content hash) rows, new or changed."""
        await writer.executemany(
            "INSERT INTO feed_seen (source, item_key, entry_id, content_hash, first_seen_at) "
            "VALUES (?, ?, ?, ?, ?) ON CONFLICT (source, item_key) DO UPDATE SET "
            "entry_id = excluded.entry_id, content_hash = excluded.content_hash",
            [(source, key, entry, digest, to_iso(now)) for key, entry, digest in seen],
        )

    async def document_origins(self, writer: Writer, ids: Sequence[str]) -> dict[str, str]:
        """Inside a transaction: id -> origin for the given ids that already exist as documents."""
        found: dict[str, str] = {}
        for chunk in _chunks(list(ids)):
            rows = await writer.execute_fetchall(
                f"SELECT id, origin FROM documents WHERE id IN ({_marks(len(chunk))})",  # noqa: S608 - only ? marks
                chunk,
            )
            found.update({row["id"]: row["origin"] for row in rows})
        return found

    async def corpus_changes(
        self,
        writer: Writer,
        source: str,
        *,
        after: str | None,
        limit: int,
        kind: CorpusChange | None = None,
    ) -> list[tuple[str, str, bool]]:
        """Inside a transaction: the next ``limit`` corpus documents after ``after`` (id order)
        that are new to the ``source`` seen-set or whose content hash changed, as (id, content
        hash, is new); ``kind`` keeps only one of the two.

        Keyset pagination, so a caller walks any corpus holding one page at a time (memory does
        not grow with the corpus), and marking a page seen cannot hide a later one. SQLite answers
        it from the covering index ``documents_corpus_ids (origin, id, content_hash)``, a range
        scan per page, never from the document rows, whose hash follows the body and would walk
        every body's overflow pages.
        """
        keyset, parameters = (
            ("AND d.id > ? ", (source, after, limit)) if after else ("", (source, limit))
        )
        rows = await writer.execute_fetchall(
            "SELECT d.id AS id, d.content_hash AS content_hash, s.item_key IS NULL AS is_new FROM documents d "  # noqa: S608 - constant fragments
            "LEFT JOIN feed_seen s ON s.source = ? AND s.item_key = d.id "
            f"WHERE d.origin = 'corpus' {keyset}AND {_CORPUS_CHANGES[kind]} "
            "ORDER BY d.id LIMIT ?",
            parameters,
        )
        return [(row["id"], row["content_hash"], bool(row["is_new"])) for row in rows]

    async def seed_corpus_seen(self, writer: Writer, source: str, now: datetime) -> tuple[int, int]:
        """Inside a transaction: record every corpus document in the ``source`` seen-set as it is
        now (the baseline), entirely in SQL; (how many were new, how many had changed)."""
        changed = await writer.execute(
            "UPDATE feed_seen SET entry_id = d.id, content_hash = d.content_hash FROM documents d "
            "WHERE feed_seen.source = ? AND d.id = feed_seen.item_key AND d.origin = 'corpus' "
            "AND d.content_hash != feed_seen.content_hash",
            (source,),
        )
        fresh = await writer.execute(
            "INSERT INTO feed_seen (source, item_key, entry_id, content_hash, first_seen_at) "
            "SELECT ?, id, id, content_hash, ? FROM documents WHERE origin = 'corpus' "
            "ON CONFLICT (source, item_key) DO NOTHING",
            (source, to_iso(now)),
        )
        return max(fresh.rowcount, 0), max(changed.rowcount, 0)

    async def entry_facts_rows(
        self, writer: Writer, ids: Sequence[str]
    ) -> list[tuple[str, str, str, str]]:
        """Inside a transaction: (id, shown title, author names as a JSON array, body) per document."""
        out: list[tuple[str, str, str, str]] = []
        for chunk in _chunks(list(ids)):
            rows = await writer.execute_fetchall(
                f"SELECT id, display_title, author_names, body FROM documents WHERE id IN ({_marks(len(chunk))})",  # noqa: S608
                chunk,
            )
            out.extend(
                (row["id"], row["display_title"], row["author_names"], row["body"]) for row in rows
            )
        order = {doc_id: index for index, doc_id in enumerate(ids)}
        return sorted(out, key=lambda facts: order[facts[0]])

    # --- detection -> outbox -----------------------------------------------------------------

    async def queue_entries(
        self, writer: Writer, entries: Sequence[EntryFacts], now: datetime
    ) -> int:
        """Inside the detection transaction: one outbox row per (wanting subscription, entry).

        Every subscription that exists now counts, paused ones too (they catch up when resumed);
        a subscription created later never sees these entries. ``ON CONFLICT DO NOTHING`` on the
        (subscription, entry) key makes queueing the same entry twice harmless. Rows go in
        multi-row INSERTs of ``_CHUNK``, whose counts add up to the rows written (an asyncpg
        ``executemany`` reports none).
        """
        if not entries:
            return 0
        rows = await writer.execute_fetchall(
            f"SELECT {_SUBSCRIPTION_COLUMNS} FROM feed_subscriptions ORDER BY id"  # noqa: S608 - constant
        )
        subscriptions = [_subscription(row) for row in rows]
        stamp = to_iso(now)
        # Conditions may be regexes over 20,000 characters of text: matched in a worker thread.
        pairs = await asyncio.to_thread(wanting_pairs, subscriptions, entries)
        queued = [(sub.id, entry.entry_id, entry.source, stamp) for sub, entry in pairs]
        if not queued:
            return 0
        written = 0
        for chunk in _chunks(queued):
            done = await writer.execute(
                "INSERT INTO feed_outbox (subscription_id, entry_id, source, created_at) VALUES "  # noqa: S608 - only ? marks
                + ", ".join([_OUTBOX_VALUES] * len(chunk))
                + " ON CONFLICT (subscription_id, entry_id) DO NOTHING",
                [value for row in chunk for value in row],
            )
            written += max(done.rowcount, 0)
        return written

    async def flag_edits(self, writer: Writer, entry_ids: Sequence[str]) -> None:
        """Inside a transaction: posts of these (changed) entries must be edited."""
        for chunk in _chunks(list(entry_ids)):
            await writer.execute(
                f"UPDATE feed_outbox SET needs_edit = 1 WHERE state = 'sent' AND batch_id IS NULL "  # noqa: S608
                f"AND message_id IS NOT NULL AND entry_id IN ({_marks(len(chunk))})",
                chunk,
            )

    # --- subscriptions -----------------------------------------------------------------------

    async def subscribe(
        self,
        *,
        guild_id: int,
        channel_id: int,
        source: str | None,
        author: str | None,
        keyword: str | None,
        mention_role_id: int | None,
        mode: Mode,
        digest_minute: int | None,
        created_by: int,
        now: datetime,
    ) -> tuple[Subscription, bool]:
        """Create the channel's subscription, or change its settings; True when it is new.

        Changing settings keeps the subscription's id, history and pending announcements.
        Inserted first, changed when the channel has one: two processes subscribing the same
        channel at once (on PostgreSQL) make one subscription, the second one's settings last.
        """
        settings = (source, author, keyword, mention_role_id, mode, digest_minute)
        async with self.db.transaction() as writer:
            inserted = await writer.execute_fetchall(
                "INSERT INTO feed_subscriptions (source, author, keyword, mention_role_id, mode, "
                "digest_minute, guild_id, channel_id, created_by, created_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
                "ON CONFLICT (channel_id) DO NOTHING RETURNING id",
                (*settings, guild_id, channel_id, created_by, to_iso(now)),
            )
            if inserted:
                sub_id, created = inserted[0]["id"], True
            else:
                (existing,) = await writer.execute_fetchall(
                    "UPDATE feed_subscriptions SET source = ?, author = ?, keyword = ?, "
                    "mention_role_id = ?, mode = ?, digest_minute = ?, guild_id = ? "
                    "WHERE channel_id = ? RETURNING id",
                    (*settings, guild_id, channel_id),
                )
                sub_id, created = existing["id"], False
            (stored,) = await writer.execute_fetchall(
                f"SELECT {_SUBSCRIPTION_COLUMNS} FROM feed_subscriptions WHERE id = ?",  # noqa: S608
                (sub_id,),
            )
        return _subscription(stored), created

    async def set_destination(
        self,
        sub_id: int,
        *,
        destination: Destination,
        forum_tag_ids: Sequence[int],
        publish: bool,
        discussion_thread: bool,
    ) -> Subscription:
        """Where and how a subscription announces (set by /subscribe after `subscribe`)."""
        async with self.db.transaction() as writer:
            await writer.execute(
                "UPDATE feed_subscriptions SET destination = ?, forum_tag_ids = ?, publish = ?, "
                "discussion_thread = ? WHERE id = ?",
                (
                    destination,
                    json.dumps([str(t) for t in forum_tag_ids]),
                    int(publish),
                    int(discussion_thread),
                    sub_id,
                ),
            )
            (stored,) = await writer.execute_fetchall(
                f"SELECT {_SUBSCRIPTION_COLUMNS} FROM feed_subscriptions WHERE id = ?",  # noqa: S608
                (sub_id,),
            )
        return _subscription(stored)

    # --- publishing (crossposts) --------------------------------------------------------------

    async def add_publish(
        self, sub_id: int, channel_id: int, message_id: int, due_at: datetime
    ) -> None:
        """Record an announcement to publish (once: a resend finds the same message id)."""
        async with self.db.transaction() as writer:
            await writer.execute(
                "INSERT INTO feed_publishes (message_id, subscription_id, channel_id, "
                "state, due_at) VALUES (?, ?, ?, 'pending', ?) ON CONFLICT (message_id) DO NOTHING",
                (message_id, sub_id, channel_id, to_iso(due_at)),
            )

    async def due_publishes(self, sub_id: int, now: datetime) -> list[PendingPublish]:
        """A subscription's announcements waiting to be published and due now, oldest first."""
        rows = await self._reader.execute_fetchall(
            "SELECT message_id, subscription_id, channel_id, due_at FROM feed_publishes "
            "WHERE subscription_id = ? AND state = 'pending' AND due_at <= ? ORDER BY message_id",
            (sub_id, to_iso(now)),
        )
        return [_pending_publish(row) for row in rows]

    async def subscriptions_with_due_publishes(self, now: datetime) -> list[Subscription]:
        rows = await self._reader.execute_fetchall(
            f"SELECT {_SUBSCRIPTION_COLUMNS} FROM feed_subscriptions s "  # noqa: S608
            "WHERE s.paused_reason IS NULL AND EXISTS (SELECT 1 FROM feed_publishes p "
            "WHERE p.subscription_id = s.id AND p.state = 'pending' AND p.due_at <= ?) ORDER BY id",
            (to_iso(now),),
        )
        return [_subscription(row) for row in rows]

    async def published_since(self, channel_id: int, since: datetime) -> list[datetime]:
        """When the channel's announcements published after ``since`` were, oldest first."""
        rows = await self._reader.execute_fetchall(
            "SELECT published_at FROM feed_publishes WHERE channel_id = ? "
            "AND published_at IS NOT NULL AND published_at > ? ORDER BY published_at",
            (channel_id, to_iso(since)),
        )
        return [moment for row in rows if (moment := from_iso(row["published_at"])) is not None]

    async def mark_published(self, message_id: int, now: datetime) -> None:
        async with self.db.transaction() as writer:
            await writer.execute(
                "UPDATE feed_publishes SET state = 'published', published_at = ?, "
                "last_error = NULL WHERE message_id = ?",
                (to_iso(now), message_id),
            )

    async def postpone_publishes(
        self, sub_id: int, due_at: datetime, reason: str | None = None
    ) -> None:
        """Every waiting publish of the subscription not before ``due_at`` (the hour's 10 are
        used, or Discord said when to try again)."""
        async with self.db.transaction() as writer:
            await writer.execute(
                "UPDATE feed_publishes SET due_at = CASE WHEN due_at > ? THEN due_at ELSE ? END, "
                "last_error = ? WHERE subscription_id = ? AND state = 'pending'",
                (to_iso(due_at), to_iso(due_at), reason, sub_id),
            )

    async def fail_publish(self, message_id: int, reason: str) -> None:
        """Discord refused to publish this one (deleted, permission): left unpublished."""
        async with self.db.transaction() as writer:
            await writer.execute(
                "UPDATE feed_publishes SET state = 'failed', last_error = ? WHERE message_id = ?",
                (reason, message_id),
            )

    async def unsubscribe(self, channel_id: int) -> bool:
        """Remove a channel's subscription and its queue (a person asked; failures never do)."""
        async with self.db.transaction() as writer:
            cursor = await writer.execute(
                "DELETE FROM feed_subscriptions WHERE channel_id = ?", (channel_id,)
            )
            return cursor.rowcount > 0

    async def change_filters(
        self, sub_id: int, change: Callable[[Subscription], FilterChange]
    ) -> Subscription | None:
        """Apply ``change`` (computed from the subscription as stored, in the same transaction,
        so two edits at once cannot lose one; what it raises rolls back) and return the
        subscription as it is now; None when it does not exist."""
        async with self.db.transaction() as writer:
            rows = await writer.execute_fetchall(
                f"SELECT {_SUBSCRIPTION_COLUMNS} FROM feed_subscriptions WHERE id = ?"  # noqa: S608
                f"{self.db.dialect.lock_row}",
                (sub_id,),
            )
            current = next(iter(rows), None)
            if current is None:
                return None
            edit = change(_subscription(current))
            await writer.execute(
                "UPDATE feed_subscriptions SET "
                "filter_conditions = coalesce(?, filter_conditions), "
                "match_mode = coalesce(?, match_mode), "
                "message_format = coalesce(?, message_format), "
                "author = CASE WHEN ? THEN NULL ELSE author END, "
                "keyword = CASE WHEN ? THEN NULL ELSE keyword END WHERE id = ?",
                (
                    None if edit.conditions is None else conditions_to_json(edit.conditions),
                    edit.match_mode,
                    edit.message_format,
                    edit.clear_author,
                    edit.clear_keyword,
                    sub_id,
                ),
            )
            rows = await writer.execute_fetchall(
                f"SELECT {_SUBSCRIPTION_COLUMNS} FROM feed_subscriptions WHERE id = ?",  # noqa: S608
                (sub_id,),
            )
        found = next(iter(rows), None)
        return _subscription(found) if found is not None else None

    async def subscription(self, sub_id: int) -> Subscription | None:
        rows = await self._reader.execute_fetchall(
            f"SELECT {_SUBSCRIPTION_COLUMNS} FROM feed_subscriptions WHERE id = ?",  # noqa: S608
            (sub_id,),
        )
        return _subscription(rows[0]) if rows else None

    async def subscription_for_channel(self, channel_id: int) -> Subscription | None:
        rows = await self._reader.execute_fetchall(
            f"SELECT {_SUBSCRIPTION_COLUMNS} FROM feed_subscriptions WHERE channel_id = ?",  # noqa: S608
            (channel_id,),
        )
        return _subscription(rows[0]) if rows else None

    async def guild_subscriptions(self, guild_id: int) -> list[SubscriptionHealth]:
        """A server's subscriptions with their pending and refused counts and Discord's reason
        for the latest refusal, oldest first."""
        rows = await self._reader.execute_fetchall(
            f"SELECT {_SUBSCRIPTION_COLUMNS}, "  # noqa: S608 - constant columns
            "(SELECT count(*) FROM feed_outbox o WHERE o.subscription_id = s.id AND o.state = 'pending') "
            " AS pending, "
            "(SELECT count(*) FROM feed_outbox o WHERE o.subscription_id = s.id AND o.state = 'rejected') "
            " AS rejected, "
            "(SELECT o.last_error FROM feed_outbox o WHERE o.subscription_id = s.id AND o.state = 'rejected' "
            " ORDER BY o.id DESC LIMIT 1) AS refused_reason, "
            "(SELECT count(*) FROM feed_publishes p WHERE p.subscription_id = s.id "
            " AND p.state = 'pending') AS publishes_waiting, "
            "(SELECT count(*) FROM feed_publishes p WHERE p.subscription_id = s.id "
            " AND p.state = 'failed') AS publishes_failed "
            "FROM feed_subscriptions s WHERE guild_id = ? ORDER BY id",
            (guild_id,),
        )
        return [
            SubscriptionHealth(
                _subscription(row),
                row["pending"],
                row["rejected"],
                row["refused_reason"],
                publishes_waiting=row["publishes_waiting"],
                publishes_failed=row["publishes_failed"],
            )
            for row in rows
        ]

    async def all_subscriptions(self) -> list[Subscription]:
        rows = await self._reader.execute_fetchall(
            f"SELECT {_SUBSCRIPTION_COLUMNS} FROM feed_subscriptions ORDER BY id"  # noqa: S608
        )
        return [_subscription(row) for row in rows]

    async def resume(self, sub_id: int) -> Subscription | None:
        """Clear a pause and any back-off; rejected announcements get one more try."""
        async with self.db.transaction() as writer:
            await writer.execute(
                "UPDATE feed_subscriptions SET paused_reason = NULL, paused_detail = NULL, "
                "paused_at = NULL, pause_reported_at = NULL, retry_at = NULL, retry_streak = 0 "
                "WHERE id = ?",
                (sub_id,),
            )
            await writer.execute(
                "UPDATE feed_outbox SET state = 'pending' WHERE subscription_id = ? AND state = 'rejected'",
                (sub_id,),
            )
        return await self.subscription(sub_id)

    async def pause(self, sub_id: int, reason: str, detail: str, now: datetime) -> None:
        """Pause a subscription after a Discord refusal; its settings and queue stay."""
        async with self.db.transaction() as writer:
            await writer.execute(
                "UPDATE feed_subscriptions SET paused_reason = ?, paused_detail = ?, paused_at = ?, "
                "pause_reported_at = NULL, retry_at = NULL, retry_streak = 0, last_error = ? WHERE id = ?",
                (reason, detail, to_iso(now), detail, sub_id),
            )

    async def set_aside(
        self, row_ids: Sequence[int], reason: str, *, within: Transactions | None = None
    ) -> None:
        """Announcements Discord refused as they are (a 400): 'rejected' with its reason, so the
        sender moves on to the next ones; `/feed retry` of a paused subscription retries them."""
        async with (within or self.db).transaction() as writer:
            await writer.executemany(
                "UPDATE feed_outbox SET state = 'rejected', attempts = attempts + 1, last_error = ? "
                "WHERE id = ? AND state = 'pending'",
                [(reason, row_id) for row_id in row_ids],
            )

    async def set_aside_batch(
        self, batch_id: int, reason: str, *, within: Transactions | None = None
    ) -> None:
        """A refused "+N more" or digest message: its entries are set aside together."""
        async with (within or self.db).transaction() as writer:
            await writer.execute(
                "UPDATE feed_outbox SET state = 'rejected', attempts = attempts + 1, last_error = ? "
                "WHERE batch_id = ? AND state = 'pending'",
                (reason, batch_id),
            )

    async def retry_later(
        self,
        sub_id: int,
        retry_at: datetime,
        error: str,
        *,
        row_id: int | None,
        within: Transactions | None = None,
    ) -> None:
        # The outbox row first, then the subscription, as mark_sent: two senders at once take
        # their row locks in the same order, so neither waits for the other in a cycle.
        async with (within or self.db).transaction() as writer:
            if row_id is not None:
                await writer.execute(
                    "UPDATE feed_outbox SET attempts = attempts + 1, last_error = ? WHERE id = ?",
                    (error, row_id),
                )
            await writer.execute(
                "UPDATE feed_subscriptions SET retry_at = ?, retry_streak = retry_streak + 1, "
                "last_error = ? WHERE id = ?",
                (to_iso(retry_at), error, sub_id),
            )

    async def unreported_pauses(self) -> list[Subscription]:
        rows = await self._reader.execute_fetchall(
            f"SELECT {_SUBSCRIPTION_COLUMNS} FROM feed_subscriptions "  # noqa: S608
            "WHERE paused_reason IS NOT NULL AND pause_reported_at IS NULL ORDER BY id"
        )
        return [_subscription(row) for row in rows]

    async def mark_pause_reported(self, sub_id: int, now: datetime) -> None:
        async with self.db.transaction() as writer:
            await writer.execute(
                "UPDATE feed_subscriptions SET pause_reported_at = ? WHERE id = ? AND paused_reason IS NOT NULL",
                (to_iso(now), sub_id),
            )

    # --- the sender's queue ------------------------------------------------------------------

    async def subscriptions_with_work(self, now: datetime) -> list[Subscription]:
        """Active subscriptions not backing off that have something to post or edit, ordered by
        their oldest waiting announcement (so the whole queue drains roughly oldest first)."""
        rows = await self._reader.execute_fetchall(
            # Two subqueries, so each is answered from its partial index (pending rows, edits)
            # instead of scanning every row a subscription ever had; the smaller of the two by
            # min() over their union (the scalar min/least is spelled differently per dialect).
            "SELECT * FROM ("  # noqa: S608 - constant columns
            f"SELECT {_SUBSCRIPTION_COLUMNS}, (SELECT min(w.id) FROM ("
            " SELECT min(o.id) AS id FROM feed_outbox o WHERE o.subscription_id = s.id "
            "  AND o.state = 'pending' AND (o.batch_id IS NOT NULL OR s.mode = 'instant') "
            " UNION ALL SELECT min(o.id) AS id FROM feed_outbox o WHERE o.subscription_id = s.id "
            "  AND o.needs_edit = 1) w) AS oldest "
            "FROM feed_subscriptions s WHERE s.paused_reason IS NULL AND (s.retry_at IS NULL OR s.retry_at <= ?)"
            ") q WHERE q.oldest IS NOT NULL ORDER BY q.oldest",
            (to_iso(now),),
        )
        return [_subscription(row) for row in rows]

    async def pending_rows(self, sub_id: int) -> list[OutboxRow]:
        """Announcements waiting for their own message (not in a batch), oldest first."""
        rows = await self._reader.execute_fetchall(
            f"SELECT {_OUTBOX_COLUMNS} FROM feed_outbox WHERE subscription_id = ? "  # noqa: S608
            "AND state = 'pending' AND batch_id IS NULL ORDER BY id",
            (sub_id,),
        )
        return [_outbox(row) for row in rows]

    async def edit_rows(self, sub_id: int) -> list[OutboxRow]:
        rows = await self._reader.execute_fetchall(
            f"SELECT {_OUTBOX_COLUMNS} FROM feed_outbox WHERE subscription_id = ? "  # noqa: S608
            "AND needs_edit = 1 ORDER BY id",
            (sub_id,),
        )
        return [_outbox(row) for row in rows]

    async def open_batches(self, sub_id: int) -> list[Batch]:
        """Batches created but not yet posted (a crash may leave one), oldest first."""
        rows = await self._reader.execute_fetchall(
            "SELECT b.id AS batch_id, b.kind, b.created_at, b.attempted_at, o.entry_id "
            "FROM feed_batches b JOIN feed_outbox o ON o.batch_id = b.id AND o.state = 'pending' "
            "WHERE b.subscription_id = ? AND b.message_id IS NULL ORDER BY b.id, o.id",
            (sub_id,),
        )
        entries: dict[int, list[str]] = {}
        firsts: dict[int, Row] = {}
        for row in rows:
            entries.setdefault(row["batch_id"], []).append(row["entry_id"])
            firsts.setdefault(row["batch_id"], row)
        batches: list[Batch] = []
        for batch_id, row in firsts.items():
            created_at = from_iso(row["created_at"])
            assert created_at is not None
            entry_ids = tuple(entries[batch_id])
            batches.append(
                Batch(
                    batch_id,
                    sub_id,
                    row["kind"],
                    created_at,
                    entry_ids,
                    attempted_at=from_iso(row["attempted_at"]),
                )
            )
        return batches

    async def batch_overflow(self, sub_id: int, row_ids: Sequence[int], now: datetime) -> int:
        """Put rows into one "+N more" batch before anything of this round is sent, so a crash
        and restart post the same split, not a second overflow."""
        async with self.db.transaction() as writer:
            return await self._new_batch(writer, sub_id, "more", row_ids, now)

    async def batch_digest(self, sub_id: int, moment: datetime, now: datetime) -> int | None:
        """Gather a digest subscription's pending rows into one digest batch and record that the
        digest of ``moment`` is done, atomically. None when nothing was pending."""
        async with self.db.transaction() as writer:
            rows = await writer.execute_fetchall(
                "SELECT id FROM feed_outbox WHERE subscription_id = ? AND state = 'pending' "  # noqa: S608 - a constant fragment
                f"AND batch_id IS NULL ORDER BY id{self.db.dialect.lock_rows}",
                (sub_id,),
            )
            batch_id = None
            if rows:
                batch_id = await self._new_batch(
                    writer, sub_id, "digest", [row["id"] for row in rows], now
                )
            await writer.execute(
                "UPDATE feed_subscriptions SET last_digest_at = ? WHERE id = ?",
                (to_iso(moment), sub_id),
            )
            return batch_id

    async def _new_batch(
        self,
        writer: Writer,
        sub_id: int,
        kind: str,
        row_ids: Sequence[int],
        now: datetime,
    ) -> int:
        (inserted,) = await writer.execute_fetchall(
            "INSERT INTO feed_batches (subscription_id, kind, created_at) VALUES (?, ?, ?) "
            "RETURNING id",
            (sub_id, kind, to_iso(now)),
        )
        batch_id: int = inserted["id"]
        # Rows another sender batched meanwhile (an overlap at a lease takeover) stay in theirs.
        await writer.executemany(
            "UPDATE feed_outbox SET batch_id = ? WHERE id = ? AND state = 'pending' "
            "AND batch_id IS NULL",
            [(batch_id, row_id) for row_id in row_ids],
        )
        return batch_id

    @contextlib.asynccontextmanager
    async def claim_row(self, row_id: int) -> AsyncIterator[Claimed[OutboxRow] | None]:
        """Hold an announcement waiting for its own message while it is posted and recorded;
        None when it is no longer waiting or another sender holds it (then leave it: that
        sender posts it). On PostgreSQL the row stays locked until the claim ends, and what is
        recorded through ``within`` commits with the claim; record the attempt (``mark_attempt``)
        BEFORE claiming, so it is committed before the post whatever happens to the claim."""
        async with self.db.claim() as claim:
            async with claim.transaction() as conn:
                rows = await conn.execute_fetchall(
                    f"SELECT {_OUTBOX_COLUMNS} FROM feed_outbox WHERE id = ? "  # noqa: S608 - constants
                    f"AND state = 'pending'{self.db.dialect.lock_rows}",
                    (row_id,),
                )
            yield Claimed(_outbox(rows[0]), claim) if rows else None

    @contextlib.asynccontextmanager
    async def claim_batch(self, batch: Batch) -> AsyncIterator[Claimed[Batch] | None]:
        """``claim_row`` for a "+N more" or digest message not yet posted; the batch comes back
        with its attempt time as stored now."""
        async with self.db.claim() as claim:
            async with claim.transaction() as conn:
                rows = await conn.execute_fetchall(
                    "SELECT attempted_at FROM feed_batches WHERE id = ? AND message_id IS NULL"  # noqa: S608 - a constant fragment
                    f"{self.db.dialect.lock_rows}",
                    (batch.id,),
                )
            yield (
                Claimed(replace(batch, attempted_at=from_iso(rows[0]["attempted_at"])), claim)
                if rows
                else None
            )

    async def mark_attempt(self, row_id: int, now: datetime) -> bool:
        """Committed before a post is sent: after a crash, a resend knows the message may exist.
        The first attempt's time stays (the message, if any, is no older than it). False, and
        nothing written, when the announcement is no longer waiting or another sender holds
        it: it never waits for that sender's post (whose process may be frozen mid-takeover)."""
        async with self.db.transaction() as writer:
            done = await writer.execute(
                "UPDATE feed_outbox SET attempted_at = coalesce(attempted_at, ?) WHERE id = "  # noqa: S608 - a constant fragment
                "(SELECT id FROM feed_outbox WHERE id = ? AND state = 'pending'"
                f"{self.db.dialect.lock_rows})",
                (to_iso(now), row_id),
            )
        return done.rowcount > 0

    async def mark_batch_attempt(self, batch_id: int, now: datetime) -> bool:
        """``mark_attempt`` for a "+N more" or digest message not yet posted."""
        async with self.db.transaction() as writer:
            done = await writer.execute(
                "UPDATE feed_batches SET attempted_at = coalesce(attempted_at, ?) WHERE id = "  # noqa: S608 - a constant fragment
                "(SELECT id FROM feed_batches WHERE id = ? AND message_id IS NULL"
                f"{self.db.dialect.lock_rows})",
                (to_iso(now), batch_id),
            )
        return done.rowcount > 0

    async def mark_sent(
        self,
        row_id: int,
        message_id: int,
        posted_hash: str | None,
        now: datetime,
        *,
        within: Transactions | None = None,
    ) -> None:
        async with (within or self.db).transaction() as writer:
            await writer.execute(
                "UPDATE feed_outbox SET state = 'sent', message_id = ?, posted_hash = ?, sent_at = ?, "
                "attempts = attempts + 1, needs_edit = 0, last_error = NULL WHERE id = ?",
                (message_id, posted_hash, to_iso(now), row_id),
            )
            await self._delivered(writer, row_id, now)

    async def mark_batch_sent(
        self, batch_id: int, message_id: int, now: datetime, *, within: Transactions | None = None
    ) -> None:
        async with (within or self.db).transaction() as writer:
            await writer.execute(
                "UPDATE feed_batches SET message_id = ?, sent_at = ? WHERE id = ?",
                (message_id, to_iso(now), batch_id),
            )
            await writer.execute(
                "UPDATE feed_outbox SET state = 'sent', message_id = ?, sent_at = ?, "
                "attempts = attempts + 1 WHERE batch_id = ? AND state = 'pending'",
                (message_id, to_iso(now), batch_id),
            )
            await writer.execute(
                "UPDATE feed_subscriptions SET last_announced_at = ?, retry_at = NULL, retry_streak = 0, "
                "last_error = NULL WHERE id = (SELECT subscription_id FROM feed_batches WHERE id = ?)",
                (to_iso(now), batch_id),
            )

    async def mark_skipped(self, row_ids: Sequence[int], why: str) -> None:
        """Rows whose entry disappeared before it was announced (a corpus file removed)."""
        async with self.db.transaction() as writer:
            await writer.executemany(
                "UPDATE feed_outbox SET state = 'skipped', last_error = ? WHERE id = ?",
                [(why, row_id) for row_id in row_ids],
            )

    async def mark_edited(self, row_id: int, posted_hash: str | None) -> None:
        async with self.db.transaction() as writer:
            await writer.execute(
                "UPDATE feed_outbox SET needs_edit = 0, posted_hash = ? WHERE id = ?",
                (posted_hash, row_id),
            )

    async def _delivered(self, writer: Writer, row_id: int, now: datetime) -> None:
        await writer.execute(
            "UPDATE feed_subscriptions SET last_announced_at = ?, retry_at = NULL, retry_streak = 0, "
            "last_error = NULL WHERE id = (SELECT subscription_id FROM feed_outbox WHERE id = ?)",
            (to_iso(now), row_id),
        )

    async def outbox_counts(self) -> dict[str, int]:
        """How many announcements are in each state, for `/feed status`."""
        rows = await self._reader.execute_fetchall(
            "SELECT state, count(*) AS count FROM feed_outbox GROUP BY state"
        )
        counts = {row["state"]: row["count"] for row in rows}
        # Publishes (announcement channels): 'publish_pending', 'publish_failed'.
        publishes = await self._reader.execute_fetchall(
            "SELECT state, count(*) AS count FROM feed_publishes "
            "WHERE state IN ('pending', 'failed') GROUP BY state"
        )
        counts.update({f"publish_{row['state']}": row["count"] for row in publishes})
        return counts

    async def latest_refusal(self) -> str | None:
        """Discord's reason for the most recent announcement it refused, for `/feed status`."""
        rows = await self._reader.execute_fetchall(
            "SELECT last_error AS reason FROM feed_outbox WHERE state = 'rejected' ORDER BY id DESC LIMIT 1"
        )
        return rows[0]["reason"] if rows else None

    async def sent_rows(self, sub_id: int) -> list[OutboxRow]:
        """Posted announcements of a subscription, for tests and diagnostics."""
        rows = await self._reader.execute_fetchall(
            f"SELECT {_OUTBOX_COLUMNS} FROM feed_outbox WHERE subscription_id = ? AND state = 'sent' ORDER BY id",  # noqa: S608
            (sub_id,),
        )
        return [_outbox(row) for row in rows]
