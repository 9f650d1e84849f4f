"""What an announcement says about an entry: title, authors, date, link and a two-sentence summary
(sentences of the text, verbatim, computed in a worker thread and cached by content hash like
every other summary).

The entry is read from the feed's database, the record the poller and detection wrote it to
(on PostgreSQL the shared documents table, which this process's replica may not have pulled
yet: reading the replica could find a just-polled entry missing and skip its announcement); the
summary cache is the corpus store's."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import UTC, date, datetime, time

from bot.corpus.models import DocumentRef, shown_title
from bot.corpus.store import CorpusStore, StoredDocument
from bot.corpus.summaries import SUMMARY_VERSION, summarize_document
from bot.feeds.models import CORPUS_SOURCE
from bot.storage.sql import FeedDatabase

SUMMARY_SENTENCES = 2
SUMMARY_CHARS = 600
"""A short summary: it shares the embed with the title, byline and date."""


@dataclass(frozen=True, slots=True)
class Announcement:
    """An entry as announced. No Discord types: the Discord layer renders it."""

    entry_id: str
    title: str
    url: str | None
    authors: tuple[str, ...]
    publisher: str | None
    published: datetime | None
    """Noon UTC of the publication date when only the date is known."""
    summary: tuple[str, ...]
    source: str
    """'corpus' or the feed's name."""
    excerpt: bool
    content_hash: str


def source_of(origin: str) -> str:
    return origin.split(":", 1)[1] if origin.startswith("feed:") else CORPUS_SOURCE


def _published(ref: DocumentRef, annotations: dict[str, object]) -> datetime | None:
    exact = annotations.get("published_at")
    if isinstance(exact, str):
        try:
            moment = datetime.fromisoformat(exact)
        except ValueError:
            moment = None
        if moment is not None:
            return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    if isinstance(ref.published, date):
        return datetime.combine(ref.published, time(12, 0), tzinfo=UTC)
    return None


class Announcer:
    """Builds announcements, summarizing each entry at most once per content version."""

    def __init__(self, store: CorpusStore, records: FeedDatabase) -> None:
        self.store = store
        self.records = records

    async def announcement(self, entry_id: str) -> Announcement | None:
        """The announcement of a stored entry; None when the entry no longer exists."""
        doc = await self.records.document(entry_id)
        if doc is None:
            return None
        return Announcement(
            entry_id=doc.ref.id,
            title=shown_title(doc.ref.title, doc.ref.title_source),
            url=doc.ref.url,
            authors=doc.ref.authors,
            publisher=doc.ref.publisher,
            published=_published(doc.ref, doc.annotations),
            summary=tuple(await self._summary(doc)),
            source=source_of(doc.origin),
            excerpt=doc.ref.excerpt,
            content_hash=doc.content_hash,
        )

    async def _summary(self, doc: StoredDocument) -> list[str]:
        params = f"v{SUMMARY_VERSION}:{SUMMARY_SENTENCES}:{SUMMARY_CHARS}"
        cached = await self.store.cached_summary(doc.content_hash, params)
        if cached is not None:
            return cached
        result = await asyncio.to_thread(
            summarize_document,
            doc.body,
            title=doc.ref.title,
            sentences=SUMMARY_SENTENCES,
            max_chars=SUMMARY_CHARS,
            excerpt=doc.ref.excerpt,
        )
        await self.store.cache_summary(doc.content_hash, params, result.sentences)
        return result.sentences
