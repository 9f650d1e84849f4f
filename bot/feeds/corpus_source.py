"""The corpus folder as a feed source: new files are announced, changed files edit their posts.

Detection compares the index's corpus documents with the corpus's own seen-set (document id ->
content hash), not with a reload's report. That makes it exact whatever happened in between: a
file added while the bot was down (picked up by the launcher's reload before the bot started)
is still new to the seen-set and gets announced; a reload that happened twice before detection
ran loses nothing. A reload's report is only the signal to look.

The first check ever (a fresh index, or a bot that just gained the feed) records the corpus as
it is and announces nothing.

Memory does not grow with the corpus: the new and changed documents are found in SQL and walked
a page (``FACTS_BATCH``) at a time in id order, and the baseline is one ``INSERT ... SELECT``.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime

from bot.feeds.filters import entry_facts
from bot.feeds.models import CORPUS_SOURCE, EntryFacts
from bot.feeds.store import FeedStore
from bot.storage.sql import Writer

FACTS_BATCH = 500
"""Corpus documents walked at once: the ids and hashes of one page of new or changed documents,
and the bodies of its new ones (a reload may add 100,000). Python never holds more than this
many, whatever the corpus size; tests lower it."""

SAMPLE_SIZE = 25
"""How many new and changed ids a detection reports by name (the counts are exact)."""


@dataclass(frozen=True, slots=True)
class CorpusDetection:
    """What one check found. ``new_entries``/``changed_entries`` are the first ``SAMPLE_SIZE``
    ids of each kind in id order, not all of them: a reload may add 100,000, and a report must
    not hold what the detection itself avoids holding. ``new_count``/``changed_count`` are exact.
    At the baseline they count what was recorded without being announced."""

    baseline: bool
    new_count: int = 0
    changed_count: int = 0
    new_entries: tuple[str, ...] = ()
    changed_entries: tuple[str, ...] = ()
    queued: int = 0


async def detect_corpus_changes(
    feeds: FeedStore, now: datetime, *, failure: str | None = None
) -> CorpusDetection:
    """Diff the corpus documents against the seen-set and queue announcements, in ONE transaction.

    Detection, the seen-set and the outbox stay atomic: a crash anywhere leaves none of it done,
    and the next check finds the same documents again.

    ``failure``: why re-reading the folder failed (bad files, say); detection still runs on the
    index, which kept the last good corpus, and the failure is recorded in the corpus source's
    state (error streak, last error) for ``/feed status``, as a feed's failed fetch is.
    """
    async with feeds.db.transaction() as writer:
        state = await feeds.source_state(CORPUS_SOURCE, conn=writer)
        if state.baseline_at is None:
            found = await _record_baseline(feeds, writer, now)
        else:
            found = await _announce_changes(feeds, writer, now)
        await feeds.write_source_state(
            writer,
            replace(
                state,
                baseline_at=state.baseline_at or now,
                last_fetch_at=now,
                last_success_at=state.last_success_at if failure else now,
                last_new_item_at=now
                if found.new_count and not found.baseline
                else state.last_new_item_at,
                error_streak=state.error_streak + 1 if failure else 0,
                last_error=failure,
                next_attempt_at=None,
                failing=False,
            ),
        )
    return found


async def record_corpus_failure(feeds: FeedStore, now: datetime, error: str) -> None:
    """Record a corpus check that failed before detection could run (a database error, a bug),
    so ``/feed status`` says so instead of showing the last good check as current."""
    state = await feeds.source_state(CORPUS_SOURCE)
    await feeds.save_source_state(
        replace(state, last_fetch_at=now, error_streak=state.error_streak + 1, last_error=error)
    )


async def _record_baseline(feeds: FeedStore, writer: Writer, now: datetime) -> CorpusDetection:
    """The first check ever: the whole corpus goes into the seen-set in SQL, nothing is queued."""
    new_sample = await feeds.corpus_changes(
        writer, CORPUS_SOURCE, after=None, limit=SAMPLE_SIZE, kind="new"
    )
    changed_sample = await feeds.corpus_changes(
        writer, CORPUS_SOURCE, after=None, limit=SAMPLE_SIZE, kind="changed"
    )
    new_count, changed_count = await feeds.seed_corpus_seen(writer, CORPUS_SOURCE, now)
    return CorpusDetection(
        baseline=True,
        new_count=new_count,
        changed_count=changed_count,
        new_entries=tuple(doc_id for doc_id, _digest, _new in new_sample),
        changed_entries=tuple(doc_id for doc_id, _digest, _new in changed_sample),
    )


async def _announce_changes(feeds: FeedStore, writer: Writer, now: datetime) -> CorpusDetection:
    """Walk the new and changed documents a page at a time in id order: queue the new ones, flag
    the changed ones' posts for an edit, then mark the page seen and continue after its last id."""
    new_count = changed_count = queued = 0
    new_sample: list[str] = []
    changed_sample: list[str] = []
    after: str | None = None
    while True:
        page = await feeds.corpus_changes(writer, CORPUS_SOURCE, after=after, limit=FACTS_BATCH)
        if not page:
            break
        fresh = [doc_id for doc_id, _digest, new in page if new]
        changed = [doc_id for doc_id, _digest, new in page if not new]
        if fresh:
            rows = await feeds.entry_facts_rows(writer, fresh)
            facts = await asyncio.to_thread(_facts_of_rows, rows)
            queued += await feeds.queue_entries(writer, facts, now)
        await feeds.flag_edits(writer, changed)
        await feeds.mark_seen(
            writer, CORPUS_SOURCE, [(doc_id, doc_id, digest) for doc_id, digest, _new in page], now
        )
        new_count += len(fresh)
        changed_count += len(changed)
        new_sample.extend(fresh[: SAMPLE_SIZE - len(new_sample)])
        changed_sample.extend(changed[: SAMPLE_SIZE - len(changed_sample)])
        if len(page) < FACTS_BATCH:
            break  # the last page: another query would only scan the corpus again to find nothing
        after = page[-1][0]
    return CorpusDetection(
        baseline=False,
        new_count=new_count,
        changed_count=changed_count,
        new_entries=tuple(new_sample),
        changed_entries=tuple(changed_sample),
        queued=queued,
    )


def _facts_of_rows(rows: Iterable[Sequence[str]]) -> list[EntryFacts]:
    """Fold each new document's title, authors and text for matching. CPU work proportional to
    the text (a reload of 100,000 documents folds hundreds of MB): run in a worker thread, never
    on the event loop."""
    return [
        entry_facts(doc_id, CORPUS_SOURCE, title, json.loads(author_names), body)
        for doc_id, title, author_names, body in rows
    ]
