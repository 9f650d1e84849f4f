"""The corpus folder as a feed source: new files are announced, changed files edit their posts.

Detection compares the index's corpus documents with the corpus's own seen-set (document id ->
content hash), not with a reload's report. That makes it exact whatever happened in between: a
file added while the bot was down (picked up by the launcher's reload before the bot started)
is still new to the seen-set and gets announced; a reload that happened twice before detection
ran loses nothing. A reload's report is only the signal to look.

The first check ever (a fresh index, or a bot that just gained the feed) records the corpus as
it is and announces nothing.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime

from bot.corpus.store import AUTHOR_SEPARATOR, CorpusStore
from bot.feeds.filters import entry_facts
from bot.feeds.models import CORPUS_SOURCE, EntryFacts
from bot.feeds.store import FeedStore

FACTS_BATCH = 500
"""New documents whose bodies are loaded and folded at once (a reload may add 100,000)."""


@dataclass(frozen=True, slots=True)
class CorpusDetection:
    baseline: bool
    new_entries: tuple[str, ...] = ()
    changed_entries: tuple[str, ...] = ()
    queued: int = 0


async def detect_corpus_changes(corpus: CorpusStore, feeds: FeedStore, now: datetime) -> CorpusDetection:
    """Diff the corpus documents against the seen-set and queue announcements, in ONE transaction."""
    async with corpus.transaction() as writer:
        state = await feeds.source_state(CORPUS_SOURCE, conn=writer)
        baseline = state.baseline_at is None
        documents = await feeds.corpus_documents(writer)
        seen = await feeds.all_seen(writer, CORPUS_SOURCE)
        fresh = sorted(doc_id for doc_id in documents if doc_id not in seen)
        changed = sorted(doc_id for doc_id, digest in documents.items() if doc_id in seen and seen[doc_id] != digest)
        if fresh or changed:
            await feeds.mark_seen(
                writer, CORPUS_SOURCE, [(doc_id, doc_id, documents[doc_id]) for doc_id in [*fresh, *changed]], now
            )
        queued = 0
        if not baseline:
            for start in range(0, len(fresh), FACTS_BATCH):  # bounded memory: bodies a batch at a time
                rows = await feeds.entry_facts_rows(writer, fresh[start : start + FACTS_BATCH])
                facts = await asyncio.to_thread(_facts_of_rows, rows)
                queued += await feeds.queue_entries(writer, facts, now)
            await feeds.flag_edits(writer, changed)
        await feeds.write_source_state(
            writer,
            replace(
                state,
                baseline_at=state.baseline_at or now,
                last_fetch_at=now,
                last_success_at=now,
                last_new_item_at=now if fresh and not baseline else state.last_new_item_at,
                error_streak=0,
                last_error=None,
                next_attempt_at=None,
                failing=False,
            ),
        )
    return CorpusDetection(baseline, tuple(fresh), tuple(changed), queued)


def _facts_of_rows(rows: Iterable[Sequence[str]]) -> list[EntryFacts]:
    """Fold each new document's title, authors and text for matching. CPU work proportional to
    the text (a reload of 100,000 documents folds hundreds of MB): run in a worker thread, never
    on the event loop."""
    return [
        entry_facts(doc_id, CORPUS_SOURCE, title, [a for a in authors.split(AUTHOR_SEPARATOR) if a], body)
        for doc_id, title, authors, body in rows
    ]
