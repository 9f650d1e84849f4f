"""The answers: one service every front end (CLI, Discord) calls, and nothing else.

Each method returns a typed answer that carries what a front end needs to cite it, or raises
`AnswerError` (unknown, ambiguous or invalid input, with "did you mean" candidates). Blocking work
(reading and parsing files, summarizing) runs in worker threads; SQLite runs in aiosqlite's.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from rapidfuzz.distance import Indel

from bot.corpus import search as fts
from bot.corpus.ask import AskTuning, idf, question_terms, rank_passages
from bot.corpus.errors import AnswerError, CorpusInvalid
from bot.corpus.links import id_words_in, links_in, url_forms
from bot.corpus.loader import BATCH_FILES, CorpusScanner
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
    shown_title,
)
from bot.corpus.names import fold, name_key, title_key
from bot.corpus.quotes import filter_reasons
from bot.corpus.reload import ReloadSettings, reload_corpus
from bot.corpus.search import NameIndex
from bot.corpus.sentences import split_sentences
from bot.corpus.store import (
    CorpusStore,
    StoredDocument,
)
from bot.corpus.summaries import SUMMARY_VERSION, summarize_document

MAX_CHOICES = 25
"""Discord allows at most 25 autocomplete choices; the CLI shows as many."""
MAX_QUERY_CHARS = 300
MAX_SUMMARY_SENTENCES = 10
DEFAULT_SUMMARY_SENTENCES = 3
DEFAULT_SUMMARY_CHARS = 3500
"""Fits an embed description (4096) with room for the excerpt note."""
FUZZY_FULL_SCAN_LIMIT = 1000
"""Up to this many documents, fuzzy title matching compares against every title (~2 ms with
rapidfuzz; it was 75-200 ms of the event loop with difflib)."""
AUTHOR_PAGE = 100
"""Posts of an author returned at once by default (the newest); ask with an offset for more."""
MAX_AUTHOR_PAGE = 1000
FUZZY_COMPARED = 10
"""Titles proposed by the index that are compared letter by letter."""
MAX_SUGGESTIONS = 5
DEFAULT_ASK_PASSAGES = 3
MAX_ASK_PASSAGES = 10
"""Candidates a "no post matches" answer offers."""
RELATED_SIMILARITY = 0.6
"""Letter-level likeness of a whole title that makes it a candidate by itself (a typo or two)."""


@dataclass(frozen=True, slots=True)
class ServiceSettings:
    db_path: Path
    corpus_dir: Path
    max_file_bytes: int = 1_000_000
    reload_batch_files: int = BATCH_FILES
    """Files a reload parses per batch (memory holds about two batches of documents)."""


def _candidate(ref: DocumentRef) -> Candidate:
    return Candidate(value=ref.id, label=shown_title(ref.title, ref.title_source))


def _author_candidate(author: AuthorCount) -> Candidate:
    plural = "post" if author.posts == 1 else "posts"
    return Candidate(value=author.name, label=f"{author.name} ({author.posts} {plural})")


@dataclass(frozen=True, slots=True)
class _AuthorList:
    version: int
    """`CorpusStore.data_version()` when it was read"""
    authors: tuple[AuthorCount, ...]
    by_key: dict[str, AuthorCount]
    index: NameIndex


async def check_corpus(settings: ServiceSettings) -> list[Problem]:
    """Every problem of the corpus folder, reading every file, without the index: `corpus-bot
    check` works whatever state the index is in (damaged, locked, on a full disk).

    Batch by batch in a worker thread, keeping only the problems (memory stays flat)."""
    scanner = CorpusScanner(settings.corpus_dir, max_bytes=settings.max_file_bytes)
    while await asyncio.to_thread(scanner.next_batch) is not None:
        pass
    return scanner.all_problems


class CorpusService:
    def __init__(self, store: CorpusStore, settings: ServiceSettings) -> None:
        self.store = store
        self.settings = settings
        self._reload_lock = asyncio.Lock()
        self._authors_cache: _AuthorList | None = None
        self.ask_tuning = AskTuning()
        """The ranking's weights and refusal threshold (tests and the bench try others)."""
        self.corpus_problems: tuple[Problem, ...] = ()
        """What the last reload refused the corpus folder for (empty when it applied): a reload
        made by one front end (the launcher, /reload) is what the feed's status reports."""

    @classmethod
    async def open(cls, settings: ServiceSettings) -> CorpusService:
        store = await CorpusStore.open(settings.db_path)
        return cls(store, settings)

    async def close(self) -> None:
        await self.store.close()

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
        """
        async with self._reload_lock:
            try:
                report = await reload_corpus(
                    self.store,
                    ReloadSettings(
                        self.settings.corpus_dir,
                        max_file_bytes=self.settings.max_file_bytes,
                        batch_files=self.settings.reload_batch_files,
                    ),
                )
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
        doc = await self._resolve(query)
        return Post(
            ref=doc.ref, body=doc.body, word_count=doc.word_count, annotations=doc.annotations
        )

    async def _resolve(self, query: str) -> StoredDocument:
        ref = await self.resolve_ref(query)
        doc = await self.store.document(ref.id)
        if doc is None:  # removed by a reload between the two reads
            raise AnswerError("not_found", f"The post '{ref.id}' was just removed from the corpus.")
        return doc

    async def resolve_ref(self, query: str) -> DocumentRef:
        """Find one post by id, exact title, title prefix or fuzzy title.

        Ambiguous or unknown input raises AnswerError with the closest candidates.
        """
        text = " ".join(query.split())[:MAX_QUERY_CHARS]
        key = title_key(text)
        if not key:
            raise AnswerError("bad_input", "Name a post: its id or a few words of its title.")
        exact_id = await self.store.ref_by_id(text.lower())
        if exact_id is not None:
            return exact_id
        shown = _shorten(text)
        # Callables, awaited one at a time: a match by exact title must not pay for the slower
        # prefix and word lookups that a tuple of awaited calls would run first.
        lookups: tuple[Callable[[], Awaitable[list[DocumentRef]]], ...] = (
            lambda: self.store.titles_with_key(key),
            lambda: self.store.titles_with_prefix(key, key.replace(" ", "-")),
            lambda: self.store.titles_matching(fts.all_of(fts.query_terms(text), prefix=True)),
            lambda: self.store.ids_with_words(key.split()),
        )
        for lookup in lookups:
            refs = await lookup()
            if len(refs) == 1:
                return refs[0]
            if refs:
                raise AnswerError(
                    "ambiguous",
                    f"{_count(len(refs), 'post')} match '{shown}'; say which one.",
                    [_candidate(r) for r in refs[:MAX_CHOICES]],
                )
        return await self._fuzzy_title(text, key, shown)

    async def linked_ref(self, text: str) -> DocumentRef:
        """The corpus document a message links to: its first link whose URL is a document's
        `url` (compared normalised: scheme, "www.", trailing slash), else its first word that is
        a document's id, as /post takes it. For "Summarize linked post".

        Raises `AnswerError` "not_found" when it links none, "bad_input" when it has no text.
        """
        if not text.strip():
            raise AnswerError("bad_input", "This message has no text to look for a link in.")
        for link in links_in(text):
            refs = await self.store.refs_by_urls(url_forms(link), limit=1)
            if refs:
                return refs[0]
        for word in id_words_in(text):
            ref = await self.store.ref_by_id(word)
            if ref is not None:
                return ref
        raise AnswerError(
            "not_found", "This message links no document of the corpus (by its URL or its id)."
        )

    async def _fuzzy_title(self, text: str, key: str, shown: str) -> DocumentRef:
        """A title with a typo or two: candidates by their words, then compared letter by letter.

        The index proposes titles holding the input's correctly spelled words (at most 50); the
        ten sharing the most words are compared letter by letter (`_similarity`, ~1 µs a title).
        Small corpora compare every title, so a one-word typo ("meltdwn") still finds its title.
        """
        pool: dict[str, str] = dict(await self.store.title_candidates(fts.query_terms(text)))
        if len(pool) > FUZZY_COMPARED:
            words = set(key.split())
            closest = sorted(
                pool.items(), key=lambda item: -len(words.intersection(item[1].split()))
            )
            pool = dict(closest[:FUZZY_COMPARED])
        if not await self.store.has_more_documents_than(FUZZY_FULL_SCAN_LIMIT):
            pool.update(await self.store.all_titles(limit=FUZZY_FULL_SCAN_LIMIT))
        scored = sorted(
            ((_similarity(key, candidate_key), doc_id) for doc_id, candidate_key in pool.items()),
            reverse=True,
        )
        if (
            scored
            and scored[0][0] >= 0.8
            and (len(scored) == 1 or scored[1][0] < scored[0][0] - 0.1)
        ):
            best = await self.store.refs_by_ids([scored[0][1]])
            if best:
                return best[0]
        close = [doc_id for score, doc_id in scored if _related(key, pool[doc_id], score)][
            :MAX_SUGGESTIONS
        ]
        suggested = await self.store.refs_by_ids(close)
        if len(suggested) < MAX_SUGGESTIONS:
            suggested += await self._mentioned_in(text, exclude={ref.id for ref in suggested})
        raise AnswerError(
            "not_found",
            f"No post matches '{shown}'.",
            [_candidate(r) for r in suggested[:MAX_SUGGESTIONS]],
        )

    async def _mentioned_in(self, text: str, *, exclude: set[str]) -> list[DocumentRef]:
        """Posts whose text holds every word typed: "did you mean" for a word of the text that no
        title has. Nothing for words the corpus does not hold, so nonsense gets no candidates."""
        terms = fts.query_terms(text)
        if not terms:
            return []
        page = await self.store.search_page(terms, limit=MAX_SUGGESTIONS, offset=0)
        if page.hits and len(terms) > 1 and not page.ranked:
            return []  # only words too common to mean anything
        return [ref for ref, _snippet, _score in page.hits if ref.id not in exclude]

    async def post_choices(self, text: str, *, limit: int = MAX_CHOICES) -> list[Candidate]:
        """Autocomplete: posts whose id or title starts with, or contains words starting with, the text."""
        limit = max(1, min(limit, MAX_CHOICES))
        key = title_key(text[:MAX_QUERY_CHARS])
        if not key:
            return [_candidate(r) for r in await self.store.fetch_refs("1", limit=limit)]
        found: dict[str, DocumentRef] = {}
        for ref in await self.store.titles_with_prefix(key, key.replace(" ", "-"), limit=limit):
            found.setdefault(ref.id, ref)
        if len(found) < limit:  # unranked: the newest titles with words starting so
            matching = fts.all_of(fts.query_terms(text), prefix=True)
            for ref in await self.store.titles_matching(matching, limit=limit, ranked=False):
                found.setdefault(ref.id, ref)
        return [_candidate(r) for r in list(found.values())[:limit]]

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
        author = await self.resolve_author(name)
        posts = await self.store.posts_of_author(author.key, limit=limit, offset=offset)
        return AuthorPosts(author=author, posts=tuple(posts), total=author.posts, offset=offset)

    async def _author_list(self) -> _AuthorList:
        """Every author, and a NameIndex over them, kept until the index changes."""
        version = await self.store.data_version()
        cached = self._authors_cache
        if cached is None or cached.version != version:
            everyone = tuple(await self.store.authors())
            index = await asyncio.to_thread(NameIndex, [a.key for a in everyone])
            cached = self._authors_cache = _AuthorList(
                version, everyone, {a.key: a for a in everyone}, index
            )
        return cached

    async def resolve_author(self, name: str) -> AuthorCount:
        key = name_key(name[:MAX_QUERY_CHARS])
        if not key:
            raise AnswerError("bad_input", "Name an author, e.g. 'Emily Saltz' or just 'saltz'.")
        exact = await self.store.author_by_key(key)
        if exact is not None:
            return exact
        shown = _shorten(name)
        terms = key.split()[: fts.MAX_TERMS]
        matches = await self.store.authors_matching(fts.all_of(terms, prefix=True))
        if len(matches) == 1:
            return matches[0]
        if matches:
            raise AnswerError(
                "ambiguous",
                f"{_count(len(matches), 'author')} match '{shown}'; say which one.",
                [_author_candidate(a) for a in matches[:MAX_CHOICES]],
            )
        known = await self._author_list()
        close = known.index.close(key, n=5, cutoff=0.6)
        if not close:  # "wardel" should still suggest "Claire Wardle": compare word by word
            close = known.index.with_close_word(terms, n=5, cutoff=0.75)
        raise AnswerError(
            "not_found",
            f"No author matches '{shown}'.",
            [_author_candidate(known.by_key[k]) for k in close],
        )

    async def author_choices(self, text: str, *, limit: int = MAX_CHOICES) -> list[Candidate]:
        limit = max(1, min(limit, MAX_CHOICES))
        key = name_key(text[:MAX_QUERY_CHARS])
        if not key:
            return [_author_candidate(a) for a in await self.store.authors(limit=limit)]
        matches = await self.store.authors_matching(
            fts.all_of(key.split()[: fts.MAX_TERMS], prefix=True), limit=limit
        )
        return [_author_candidate(a) for a in matches]

    # --- summaries ---------------------------------------------------------------------------

    async def summarize(
        self,
        query: str,
        *,
        sentences: int = DEFAULT_SUMMARY_SENTENCES,
        max_chars: int = DEFAULT_SUMMARY_CHARS,
    ) -> Summary:
        """An extractive summary: sentences of the text, verbatim, in text order.

        Cached by content hash, so a changed document gets a fresh summary and an unchanged one is
        never summarized twice.
        """
        if not 1 <= sentences <= MAX_SUMMARY_SENTENCES:
            raise AnswerError(
                "bad_input",
                f"A summary has 1 to {MAX_SUMMARY_SENTENCES} sentences, not {sentences}.",
            )
        doc = await self._resolve(query)
        params = f"v{SUMMARY_VERSION}:{sentences}:{max_chars}"
        entry = await self.store.cached_summary_entry(doc.content_hash, params)
        if entry is None:
            picked, total = await asyncio.to_thread(
                _summary_and_count,
                doc.body,
                title=doc.ref.title,
                sentences=sentences,
                max_chars=max_chars,
                excerpt=doc.ref.excerpt,
            )
            await self.store.cache_summary(doc.content_hash, params, picked, total)
        else:
            picked, known_total = entry
            if known_total is None:  # cached without it (by the feed's announcer, or before)
                total = await asyncio.to_thread(_sentence_count, doc.body)
                await self.store.cache_summary(doc.content_hash, params, picked, total)
            else:
                total = known_total
        return Summary(
            ref=doc.ref, sentences=tuple(picked), excerpt=doc.ref.excerpt, total_sentences=total
        )

    async def summarize_linked(
        self, text: str, *, sentences: int = DEFAULT_SUMMARY_SENTENCES
    ) -> Summary:
        """The summary of the corpus document a message links to (`linked_ref`), as /summarize
        gives it. For the "Summarize linked post" context menu."""
        ref = await self.linked_ref(text)
        return await self.summarize(ref.id, sentences=sentences)

    # --- reasons -----------------------------------------------------------------------------

    async def reasons(self, topic: str | None = None) -> Reasons:
        """Access Now's reasons for resigning, verbatim, optionally only those about a topic."""
        ids = await self.store.documents_with_reasons()
        if not ids:
            raise AnswerError(
                "not_found", "No document in the corpus records reasons for resigning."
            )
        doc = await self.store.document(ids[0])
        if doc is None:
            raise AnswerError("not_found", "The letter was just removed from the corpus.")
        topic = " ".join(topic.split())[:MAX_QUERY_CHARS] if topic else None
        if not topic:
            return Reasons(ref=doc.ref, reasons=doc.reasons, topic=None)
        if not fold(topic):
            raise AnswerError("bad_input", "A topic is a word or two, e.g. 'facial recognition'.")
        chosen = filter_reasons(doc.reasons, topic)
        if not chosen:
            raise AnswerError(
                "not_found",
                f"None of the {_count(len(doc.reasons), 'reason')} mentions '{_shorten(topic)}'.",
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
                "not_found", f"The corpus does not say: no passage answers “{_shorten(question)}”."
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
        last = await self.store.meta("last_reload")
        return CorpusStats(
            documents=await self.store.count_documents(),
            authors=await self.store.count_authors(),
            last_reload=datetime.fromisoformat(last) if last else None,
            schema_version=await self.store.schema_version(),
        )


def _related(key: str, title_key: str, similarity: float) -> bool:
    """Whether a title is worth offering for what was typed: close as a whole, or sharing a word
    (or a word with a typo) of four letters or more. Letter-level likeness alone is not enough:
    "h5n1" is 36% alike "how new…" and has nothing to do with it."""
    if similarity >= RELATED_SIMILARITY:
        return True
    typed = [word for word in key.split() if len(word) >= 4]
    words = title_key.split()
    return any(
        word == other or Indel.normalized_similarity(word, other, score_cutoff=0.8) >= 0.8
        for word in typed
        for other in words
        if abs(len(word) - len(other)) <= 2
    )


def _similarity(a: str, b: str) -> float:
    """How alike two folded titles are; a typed prefix of a long title still scores well.

    rapidfuzz's Indel similarity is difflib's `ratio()` formula, 2·matches / total length, with
    matches counted as the longest common subsequence, where difflib's heuristic blocks may
    count fewer: it scores the same or higher, and on 400 typo'd titles every decision (match,
    suggestions) was the same as difflib's, at 175-350x the speed (pyproject.toml has the
    figures)."""
    whole = Indel.normalized_similarity(a, b)
    head = Indel.normalized_similarity(a, b[: len(a) + 3]) if len(b) > len(a) else 0.0
    return max(whole, head * 0.95)


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


def _shorten(text: str, limit: int = 80) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _count(n: int, noun: str) -> str:
    shown = f"{MAX_CHOICES}+" if n > MAX_CHOICES else str(n)
    return f"{shown} {noun}{'' if n == 1 else 's'}"
