"""The answers: one service every front end (CLI, Discord) calls, and nothing else.

Each method returns a typed answer that carries what a front end needs to cite it, or raises
`AnswerError` (unknown, ambiguous or invalid input, with "did you mean" candidates). Blocking work
(reading and parsing files, summarizing) runs in worker threads; the index is read on its reader's
thread, each answer's reads as one function (`CorpusStore.read`, bot/corpus/lookup.py), and
written through aiosqlite's.

With `storage: postgres` the index is this process's replica of the shared database, and a
`SharedCorpus` given at construction keeps it so (bot/storage/postgres/replica.py): answers still
read only the local index; a reload publishes what it changed; `sync()` pulls.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Protocol

from bot.corpus import search as fts
from bot.corpus.ask import AskTuning, idf, question_terms, rank_passages
from bot.corpus.errors import AnswerError, CorpusInvalid
from bot.corpus.loader import BATCH_FILES, CorpusScanner
from bot.corpus.lookup import (
    MAX_CHOICES,
    MAX_QUERY_CHARS,
    FindPost,
    UnknownAuthor,
    author_candidate,
    author_posts,
    candidate,
    count,
    find_author,
    find_linked,
    find_post,
    letter,
    post_document,
    shorten,
    summary_source,
)
from bot.corpus.models import (
    Answer,
    AuthorCount,
    AuthorPosts,
    Candidate,
    CorpusStats,
    Document,
    DocumentRef,
    Passage,
    Post,
    Problem,
    Reasons,
    ReloadReport,
    SearchHit,
    SearchResults,
    Summary,
)
from bot.corpus.names import fold, name_key, title_key
from bot.corpus.quotes import filter_reasons
from bot.corpus.reload import ReloadSettings, reload_corpus
from bot.corpus.search import NameIndex
from bot.corpus.sentences import split_sentences
from bot.corpus.store import CorpusStore, IndexReads
from bot.corpus.summaries import SUMMARY_VERSION, summarize_document

MAX_SUMMARY_SENTENCES = 10
DEFAULT_SUMMARY_SENTENCES = 3
DEFAULT_SUMMARY_CHARS = 3500
"""Fits an embed description (4096) with room for the excerpt note."""
AUTHOR_PAGE = 100
"""Posts of an author returned at once by default (the newest); ask with an offset for more."""
MAX_AUTHOR_PAGE = 1000
DEFAULT_ASK_PASSAGES = 3
MAX_ASK_PASSAGES = 10


@dataclass(frozen=True, slots=True)
class ServiceSettings:
    db_path: Path
    corpus_dir: Path
    max_file_bytes: int = 1_000_000
    reload_batch_files: int = BATCH_FILES
    """Files a reload parses per batch (memory holds about two batches of documents)."""


@dataclass(frozen=True, slots=True)
class _AuthorList:
    version: str | None
    """`CorpusStore.corpus_generation()` when it was read"""
    authors: tuple[AuthorCount, ...]
    by_key: dict[str, AuthorCount]
    index: NameIndex


class SharedCorpus(Protocol):
    """The shared part of a service whose index is a replica of a database other processes
    share (`bot.storage.postgres.replica.CorpusReplica`); the core never imports it."""

    async def start(self) -> None:
        """Fill the replica from the shared database, then follow its changes."""

    async def close(self) -> None: ...

    def exclusive(self) -> AbstractAsyncContextManager[None]:
        """Held around a reload and its publish: no pull lands between the two."""

    async def pull(self) -> object:
        """Apply to the replica what the shared database changed since the last pull."""

    async def publish(self, *, changed: bool) -> object:
        """Make the shared database's corpus-folder documents equal the replica's, after a
        reload (`changed`: whether it changed anything)."""

    def share_summary(
        self, digest: str, params: str, sentences: Sequence[str], total_sentences: int | None
    ) -> None:
        """Offer a summary computed here to the other processes (not waited for)."""


async def check_corpus(settings: ServiceSettings) -> list[Problem]:
    """Every problem of the corpus folder, reading every file, without the index: `corpus-bot
    check` works whatever state the index is in (damaged, locked, on a full disk).

    Batch by batch in a worker thread, keeping only the problems (memory stays flat)."""
    scanner = CorpusScanner(settings.corpus_dir, max_bytes=settings.max_file_bytes)
    while await asyncio.to_thread(scanner.next_batch) is not None:
        pass
    return scanner.all_problems


class CorpusService:
    def __init__(
        self, store: CorpusStore, settings: ServiceSettings, shared: SharedCorpus | None = None
    ) -> None:
        self.store = store
        self.settings = settings
        self.shared = shared
        """None with `storage: sqlite`: the index is this process's own."""
        self._reload_lock = asyncio.Lock()
        self._authors_cache: _AuthorList | None = None
        self.ask_tuning = AskTuning()
        """The ranking's weights and refusal threshold (tests and the bench try others)."""
        self.corpus_problems: tuple[Problem, ...] = ()
        """What the last reload refused the corpus folder for (empty when it applied): a reload
        made by one front end (the launcher, /reload) is what the feed's status reports."""

    @classmethod
    async def open(
        cls,
        settings: ServiceSettings,
        *,
        shared: Callable[[CorpusStore], SharedCorpus] | None = None,
    ) -> CorpusService:
        """Open the index at `settings.db_path`; with `shared` (made from the opened index), it is
        a replica: started here (filled, then following the shared database), stopped by
        `close`."""
        store = await CorpusStore.open(settings.db_path)
        if shared is None:
            return cls(store, settings)
        try:
            part = shared(store)
            await part.start()
        except BaseException:
            await store.close()
            raise
        return cls(store, settings, part)

    async def close(self) -> None:
        if self.shared is not None:
            await self.shared.close()
        await self.store.close()

    async def sync(self) -> None:
        """Pull what the shared database changed into the replica now (no-op with sqlite).
        Notifications and a timer do it anyway; this is for a caller that needs the replica
        current at once (a test, a command run right after a change elsewhere)."""
        if self.shared is not None:
            await self.shared.pull()

    # --- reload ------------------------------------------------------------------------------

    async def check(self) -> list[Problem]:
        """Every problem of the corpus folder, reading every file; the index is not touched."""
        return await check_corpus(self.settings)

    async def reload(self) -> ReloadReport:
        """Re-read the corpus folder and apply what changed, all or nothing.

        Raises `CorpusInvalid` listing every problem when any file is bad; the index then keeps
        serving the previous corpus unchanged. Files whose size and mtime did not change are not
        read; files whose bytes did not change are not parsed. Memory stays flat whatever the
        corpus size (see `bot.corpus.reload`).

        With a shared part, what the folder holds is then published to the shared database, all
        or nothing there too. A document it refuses is a `CorpusInvalid` naming the file, a
        database out of reach a `Fault`; this process's replica serves the new corpus either
        way, and the next reload publishes it.
        """
        exclusive = self.shared.exclusive() if self.shared else contextlib.nullcontext()
        async with self._reload_lock, exclusive:
            try:
                report = await reload_corpus(
                    self.store,
                    ReloadSettings(
                        self.settings.corpus_dir,
                        max_file_bytes=self.settings.max_file_bytes,
                        batch_files=self.settings.reload_batch_files,
                    ),
                )
                if self.shared is not None:
                    await self.shared.publish(changed=report.changed_anything)
            except CorpusInvalid as exc:
                self.corpus_problems = tuple(exc.problems)
                raise
            self.corpus_problems = ()
            return report

    async def add_documents(self, documents: Sequence[Document]) -> None:
        """Store documents that come from elsewhere than the corpus folder (feed entries)."""
        await self.store.upsert_documents(documents)

    # --- post --------------------------------------------------------------------------------

    async def post(self, query: str) -> Post:
        """The post `query` names (id, title, title words, a typo'd title), whole: one read."""
        doc = await self.store.read(post_document, query)
        return Post(
            ref=doc.ref, body=doc.body, word_count=doc.word_count, annotations=doc.annotations
        )

    async def resolve_ref(self, query: str) -> DocumentRef:
        """Find one post by id, exact title, title prefix or fuzzy title (`lookup.find_post`).

        Ambiguous or unknown input raises AnswerError with the closest candidates.
        """
        return await self.store.read(find_post, query)

    async def linked_ref(self, text: str) -> DocumentRef:
        """The corpus document a message links to (`lookup.find_linked`): its first link whose
        URL is a document's, else its first word that is a document's id."""
        return await self.store.read(find_linked, text)

    async def post_choices(self, text: str, *, limit: int = MAX_CHOICES) -> list[Candidate]:
        """Autocomplete: posts whose id or title starts with, or contains words starting with, the text."""
        limit = max(1, min(limit, MAX_CHOICES))
        refs = await self.store.read(_post_choices, text, limit)
        return [candidate(r) for r in refs]

    # --- authors -----------------------------------------------------------------------------

    async def authors(self) -> list[AuthorCount]:
        """Every author with their post count, most prolific first."""
        return list((await self._author_list()).authors)

    async def author(self, name: str, *, limit: int = AUTHOR_PAGE, offset: int = 0) -> AuthorPosts:
        """An author's posts, newest first, matched on the normalized name.

        One page of `limit` posts from `offset`; `total` (and `author.posts`) count them all and
        `has_more` says whether to ask for the next page.
        """
        if not 1 <= limit <= MAX_AUTHOR_PAGE:
            raise AnswerError(
                "bad_input", f"limit must be between 1 and {MAX_AUTHOR_PAGE}, not {limit}."
            )
        if offset < 0:
            raise AnswerError("bad_input", "offset cannot be negative.")
        found = await self.store.read(author_posts, name, limit, offset)
        if isinstance(found, UnknownAuthor):
            raise await self._no_author(found)
        return found

    async def _author_list(self) -> _AuthorList:
        """Every author, and a NameIndex over them, kept until the index changes."""
        version = await self.store.corpus_generation()
        cached = self._authors_cache
        if cached is None or cached.version != version:
            everyone = tuple(await self.store.authors())
            index = await asyncio.to_thread(NameIndex, [a.key for a in everyone])
            cached = self._authors_cache = _AuthorList(
                version, everyone, {a.key: a for a in everyone}, index
            )
        return cached

    async def resolve_author(self, name: str) -> AuthorCount:
        found = await self.store.read(find_author, name)
        if isinstance(found, UnknownAuthor):
            raise await self._no_author(found)
        return found

    async def _no_author(self, unknown: UnknownAuthor) -> AnswerError:
        """ "No author matches", with the closest names of every author as candidates."""
        known = await self._author_list()
        close = known.index.close(unknown.key, n=5, cutoff=0.6)
        if not close:  # "wardel" should still suggest "Claire Wardle": compare word by word
            close = known.index.with_close_word(unknown.terms, n=5, cutoff=0.75)
        return AnswerError(
            "not_found",
            f"No author matches '{unknown.shown}'.",
            [author_candidate(known.by_key[k]) for k in close],
        )

    async def author_choices(self, text: str, *, limit: int = MAX_CHOICES) -> list[Candidate]:
        limit = max(1, min(limit, MAX_CHOICES))
        key = name_key(text[:MAX_QUERY_CHARS])
        if not key:
            return [author_candidate(a) for a in await self.store.authors(limit=limit)]
        matches = await self.store.authors_matching(
            fts.all_of(key.split()[: fts.MAX_TERMS], prefix=True), limit=limit
        )
        return [author_candidate(a) for a in matches]

    # --- summaries ---------------------------------------------------------------------------

    async def summarize(
        self,
        query: str,
        *,
        sentences: int = DEFAULT_SUMMARY_SENTENCES,
        max_chars: int = DEFAULT_SUMMARY_CHARS,
        find: FindPost = find_post,
    ) -> Summary:
        """An extractive summary: sentences of the text, verbatim, in text order.

        Cached by content hash, so a changed document gets a fresh summary and an unchanged one is
        never summarized twice. The post (named as `find` takes it) and its cached summary are
        read at once.
        """
        if not 1 <= sentences <= MAX_SUMMARY_SENTENCES:
            raise AnswerError(
                "bad_input",
                f"A summary has 1 to {MAX_SUMMARY_SENTENCES} sentences, not {sentences}.",
            )
        params = f"v{SUMMARY_VERSION}:{sentences}:{max_chars}"
        doc, entry = await self.store.read(summary_source, query, params, find)
        if entry is None:
            picked, total = await asyncio.to_thread(
                _summary_and_count,
                doc.body,
                title=doc.ref.title,
                sentences=sentences,
                max_chars=max_chars,
                excerpt=doc.ref.excerpt,
            )
            await self._cache_summary(doc.content_hash, params, picked, total)
        else:
            picked, known_total = entry
            if known_total is None:  # cached without it (by the feed's announcer, or before)
                total = await asyncio.to_thread(_sentence_count, doc.body)
                await self._cache_summary(doc.content_hash, params, picked, total)
            else:
                total = known_total
        return Summary(
            ref=doc.ref, sentences=tuple(picked), excerpt=doc.ref.excerpt, total_sentences=total
        )

    async def _cache_summary(
        self, digest: str, params: str, sentences: list[str], total: int
    ) -> None:
        """Keep a summary in the index, and offer it to the other processes (shared mode)."""
        await self.store.cache_summary(digest, params, sentences, total)
        if self.shared is not None:
            self.shared.share_summary(digest, params, sentences, total)

    async def summarize_linked(
        self, text: str, *, sentences: int = DEFAULT_SUMMARY_SENTENCES
    ) -> Summary:
        """The summary of the corpus document a message links to (`linked_ref`), as /summarize
        gives it. For the "Summarize linked post" context menu."""
        return await self.summarize(text, sentences=sentences, find=find_linked)

    # --- reasons -----------------------------------------------------------------------------

    async def reasons(self, topic: str | None = None) -> Reasons:
        """Access Now's reasons for resigning, verbatim, optionally only those about a topic."""
        doc = await self.store.read(letter)
        if doc is None:
            raise AnswerError(
                "not_found", "No document in the corpus records reasons for resigning."
            )
        topic = " ".join(topic.split())[:MAX_QUERY_CHARS] if topic else None
        if not topic:
            return Reasons(ref=doc.ref, reasons=doc.reasons, topic=None)
        if not fold(topic):
            raise AnswerError("bad_input", "A topic is a word or two, e.g. 'facial recognition'.")
        chosen = filter_reasons(doc.reasons, topic)
        if not chosen:
            raise AnswerError(
                "not_found",
                f"None of the {count(len(doc.reasons), 'reason')} mentions '{shorten(topic)}'.",
                [Candidate(value=r.label, label=r.label) for r in doc.reasons],
                heading="The reasons are",
            )
        return Reasons(ref=doc.ref, reasons=tuple(chosen), topic=topic)

    # --- search ------------------------------------------------------------------------------

    async def search(self, query: str, *, limit: int = 10, offset: int = 0) -> SearchResults:
        """Ranked full-text search with highlighted snippets. Any input is safe (see search.py).

        Documents holding every word, or any word when none holds them all. On a large corpus
        the work is bounded (CorpusStore.search_page says how): `total` may then be a lower bound,
        and a query made only of very common words lists the newest matches unranked.
        """
        if not 1 <= limit <= 50:
            raise AnswerError("bad_input", f"limit must be between 1 and 50, not {limit}.")
        if offset < 0:
            raise AnswerError("bad_input", "offset cannot be negative.")
        terms = fts.query_terms(query)
        if not terms:
            raise AnswerError(
                "bad_input", "Type at least one word (letters or digits) to search for."
            )
        page = await self.store.search_page(terms, limit=limit, offset=offset)
        hits = tuple(
            SearchHit(ref=ref, snippet=snippet, score=score) for ref, snippet, score in page.hits
        )
        return SearchResults(
            query=" ".join(terms),
            hits=hits,
            total=page.total,
            total_is_lower_bound=page.total_is_lower_bound,
            ranked=page.ranked,
        )

    # --- ask ---------------------------------------------------------------------------------

    async def ask(self, question: str, *, limit: int = DEFAULT_ASK_PASSAGES) -> Answer:
        """The passages of the corpus that best answer `question`, each quoted verbatim (1-3
        whole sentences), best first; never generated text. Ranking and refusal: bot/corpus/ask.py.

        Raises `AnswerError` "not_found" when no passage answers closely enough ("The corpus does
        not say…"), "bad_input" for a bad limit or a question with no word to look for.
        """
        if not 1 <= limit <= MAX_ASK_PASSAGES:
            raise AnswerError(
                "bad_input", f"limit must be between 1 and {MAX_ASK_PASSAGES}, not {limit}."
            )
        terms = question_terms(question)
        if not terms:
            raise AnswerError(
                "bad_input",
                "Ask about something: the question needs a word beyond question words like "
                "'what' or 'does'.",
            )
        tuning = self.ask_tuning
        hits = await self.store.passage_hits(terms, tuning)
        weights = {t: idf(hits.total, hits.holding.get(t, 0)) for t in terms}
        # Re-ranking splits each candidate into sentences: milliseconds of Python, off the loop.
        ranked = await asyncio.to_thread(rank_passages, hits.candidates, terms, weights, tuning)
        kept = [r for r in ranked if r.coverage >= tuning.min_coverage][:limit]
        if not kept:
            raise AnswerError(
                "not_found", f"The corpus does not say: no passage answers “{shorten(question)}”."
            )
        passages = tuple(
            Passage(
                ref=r.candidate.ref,
                quote=r.quote,
                paragraph=r.candidate.paragraph,
                start=r.quote_start,
                score=round(r.score, 4),
            )
            for r in kept
        )
        return Answer(question=" ".join(question.split())[:MAX_QUERY_CHARS], passages=passages)

    # --- about -------------------------------------------------------------------------------

    async def stats(self) -> CorpusStats:
        return await self.store.read(_stats)


def _sentence_count(body: str) -> int:
    return len(split_sentences(body))


def _summary_and_count(
    body: str, *, title: str | None, sentences: int, max_chars: int, excerpt: bool
) -> tuple[list[str], int]:
    """Both in one worker-thread call: a summary is cached with the count it is shown with."""
    summary = summarize_document(
        body, title=title, sentences=sentences, max_chars=max_chars, excerpt=excerpt
    )
    return summary.sentences, _sentence_count(body)


def _post_choices(reads: IndexReads, text: str, limit: int) -> list[DocumentRef]:
    key = title_key(text[:MAX_QUERY_CHARS])
    if not key:
        return reads.fetch_refs("1", limit=limit)
    found: dict[str, DocumentRef] = {}
    for ref in reads.titles_with_prefix(key, key.replace(" ", "-"), limit=limit):
        found.setdefault(ref.id, ref)
    if len(found) < limit:  # unranked: the newest titles with words starting so
        matching = fts.all_of(fts.query_terms(text), prefix=True)
        for ref in reads.titles_matching(matching, limit=limit, ranked=False):
            found.setdefault(ref.id, ref)
    return list(found.values())[:limit]


def _stats(reads: IndexReads) -> CorpusStats:
    last = reads.meta("last_reload")
    return CorpusStats(
        documents=reads.count_documents(),
        authors=reads.count_authors(),
        last_reload=datetime.fromisoformat(last) if last else None,
        schema_version=reads.schema_version(),
    )
