"""Finding what a person named (a post, an author) and reading what an answer needs of it, as
plain functions of `IndexReads`, run on the reader's thread by `CorpusStore.read`.

Why here and not as async methods of the service: every `await` of a read is one hop to the
reader's thread, and in a burst each hop waits behind every other command's queued reads. A
/post by title made five hops (id, exact title, prefix, title words, then the document), so it
answered after every one-hop /search of the burst. Written as one function, each answer is one
hop whatever it reads, and all its reads see one snapshot (a post found cannot vanish before it
is fetched). The service composes these functions; it never chains two reads of its own.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from rapidfuzz.distance import Indel

from bot.corpus import search as fts
from bot.corpus.errors import AnswerError
from bot.corpus.links import id_words_in, links_in, url_forms
from bot.corpus.models import AuthorCount, AuthorPosts, Candidate, DocumentRef, shown_title
from bot.corpus.names import name_key, title_key
from bot.corpus.store import IndexReads, StoredDocument

MAX_CHOICES = 25
"""Discord allows at most 25 autocomplete choices; the CLI shows as many."""
MAX_QUERY_CHARS = 300
FUZZY_FULL_SCAN_LIMIT = 1000
"""Up to this many documents, fuzzy title matching compares against every title (~2 ms with
rapidfuzz; it was 75-200 ms of the event loop with difflib)."""
FUZZY_COMPARED = 10
"""Titles proposed by the index that are compared letter by letter."""
MAX_SUGGESTIONS = 5
"""Candidates a "no post matches" answer offers."""
RELATED_SIMILARITY = 0.6
"""Letter-level likeness of a whole title that makes it a candidate by itself (a typo or two)."""

FindPost = Callable[[IndexReads, str], DocumentRef]
"""How a post is named: `find_post` (id or title) or `find_linked` (a message linking it)."""


def candidate(ref: DocumentRef) -> Candidate:
    return Candidate(value=ref.id, label=shown_title(ref.title, ref.title_source))


def author_candidate(author: AuthorCount) -> Candidate:
    plural = "post" if author.posts == 1 else "posts"
    return Candidate(value=author.name, label=f"{author.name} ({author.posts} {plural})")


def shorten(text: str, limit: int = 80) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def count(n: int, noun: str) -> str:
    shown = f"{MAX_CHOICES}+" if n > MAX_CHOICES else str(n)
    return f"{shown} {noun}{'' if n == 1 else 's'}"


# --- posts ----------------------------------------------------------------------------------


def find_post(reads: IndexReads, query: str) -> DocumentRef:
    """One post by id, exact title, title prefix, title words, id words or fuzzy title.

    Each way is tried only when the ones before found nothing (a match by exact title does not
    pay for the slower prefix and word lookups). Ambiguous or unknown input raises AnswerError
    with the closest candidates.
    """
    text = " ".join(query.split())[:MAX_QUERY_CHARS]
    key = title_key(text)
    if not key:
        raise AnswerError("bad_input", "Name a post: its id or a few words of its title.")
    exact_id = reads.ref_by_id(text.lower())
    if exact_id is not None:
        return exact_id
    shown = shorten(text)
    lookups: tuple[Callable[[], list[DocumentRef]], ...] = (
        lambda: reads.titles_with_key(key),
        lambda: reads.titles_with_prefix(key, key.replace(" ", "-")),
        lambda: reads.titles_matching(fts.all_of(fts.query_terms(text), prefix=True)),
        lambda: reads.ids_with_words(key.split()),
    )
    for lookup in lookups:
        refs = lookup()
        if len(refs) == 1:
            return refs[0]
        if refs:
            raise AnswerError(
                "ambiguous",
                f"{count(len(refs), 'post')} match '{shown}'; say which one.",
                [candidate(r) for r in refs[:MAX_CHOICES]],
            )
    return _fuzzy_title(reads, text, key, shown)


def find_linked(reads: IndexReads, text: str) -> DocumentRef:
    """The corpus document a message links to: its first link whose URL is a document's
    `url` (compared normalised: scheme, "www.", trailing slash), else its first word that is
    a document's id, as /post takes it. For "Summarize linked post".

    Raises `AnswerError` "not_found" when it links none, "bad_input" when it has no text.
    """
    if not text.strip():
        raise AnswerError("bad_input", "This message has no text to look for a link in.")
    for link in links_in(text):
        refs = reads.refs_by_urls(url_forms(link), limit=1)
        if refs:
            return refs[0]
    for word in id_words_in(text):
        ref = reads.ref_by_id(word)
        if ref is not None:
            return ref
    raise AnswerError(
        "not_found", "This message links no document of the corpus (by its URL or its id)."
    )


def post_document(reads: IndexReads, query: str, find: FindPost = find_post) -> StoredDocument:
    """The whole stored document of the post `query` names."""
    ref = find(reads, query)
    doc = reads.document(ref.id)
    if doc is None:  # cannot happen within one snapshot; said plainly if it ever does
        raise AnswerError("not_found", f"The post '{ref.id}' is not in the corpus any more.")
    return doc


def summary_source(
    reads: IndexReads, query: str, params: str, find: FindPost = find_post
) -> tuple[StoredDocument, tuple[list[str], int | None] | None]:
    """The post to summarize and its cached summary for `params`, when there is one."""
    doc = post_document(reads, query, find)
    return doc, reads.cached_summary_entry(doc.content_hash, params)


def _fuzzy_title(reads: IndexReads, text: str, key: str, shown: str) -> DocumentRef:
    """A title with a typo or two: candidates by their words, then compared letter by letter.

    The index proposes titles holding the input's correctly spelled words (at most 50); the
    ten sharing the most words are compared letter by letter (`_similarity`, ~1 µs a title).
    Small corpora compare every title, so a one-word typo ("meltdwn") still finds its title.
    """
    pool: dict[str, str] = dict(reads.title_candidates(fts.query_terms(text)))
    if len(pool) > FUZZY_COMPARED:
        words = set(key.split())
        closest = sorted(pool.items(), key=lambda item: -len(words.intersection(item[1].split())))
        pool = dict(closest[:FUZZY_COMPARED])
    if not reads.has_more_documents_than(FUZZY_FULL_SCAN_LIMIT):
        pool.update(reads.all_titles(limit=FUZZY_FULL_SCAN_LIMIT))
    scored = sorted(
        ((_similarity(key, candidate_key), doc_id) for doc_id, candidate_key in pool.items()),
        reverse=True,
    )
    if scored and scored[0][0] >= 0.8 and (len(scored) == 1 or scored[1][0] < scored[0][0] - 0.1):
        best = reads.refs_by_ids([scored[0][1]])
        if best:
            return best[0]
    close = [doc_id for score, doc_id in scored if _related(key, pool[doc_id], score)][
        :MAX_SUGGESTIONS
    ]
    suggested = reads.refs_by_ids(close)
    if len(suggested) < MAX_SUGGESTIONS:
        suggested += _mentioned_in(reads, text, exclude={ref.id for ref in suggested})
    raise AnswerError(
        "not_found",
        f"No post matches '{shown}'.",
        [candidate(r) for r in suggested[:MAX_SUGGESTIONS]],
    )


def _mentioned_in(reads: IndexReads, text: str, *, exclude: set[str]) -> list[DocumentRef]:
    """Posts whose text holds every word typed: "did you mean" for a word of the text that no
    title has. Nothing for words the corpus does not hold, so nonsense gets no candidates."""
    terms = fts.query_terms(text)
    if not terms:
        return []
    page = reads.search_page(terms, limit=MAX_SUGGESTIONS, offset=0)
    if page.hits and len(terms) > 1 and not page.ranked:
        return []  # only words too common to mean anything
    return [ref for ref, _snippet, _score in page.hits if ref.id not in exclude]


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


# --- authors --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class UnknownAuthor:
    """No author matches the name: the service suggests close names from its cached list of every
    author (reading all 2,000 names is not worth doing on the reader's thread for every miss)."""

    key: str
    terms: list[str]
    shown: str


def find_author(reads: IndexReads, name: str) -> AuthorCount | UnknownAuthor:
    """One author by normalized full name, or by the words of their name when only one has them.
    Several raise AnswerError "ambiguous"; none is an `UnknownAuthor`."""
    key = name_key(name[:MAX_QUERY_CHARS])
    if not key:
        raise AnswerError("bad_input", "Name an author, e.g. 'Emily Saltz' or just 'saltz'.")
    exact = reads.author_by_key(key)
    if exact is not None:
        return exact
    shown = shorten(name)
    terms = key.split()[: fts.MAX_TERMS]
    matches = reads.authors_matching(fts.all_of(terms, prefix=True))
    if len(matches) == 1:
        return matches[0]
    if matches:
        raise AnswerError(
            "ambiguous",
            f"{count(len(matches), 'author')} match '{shown}'; say which one.",
            [author_candidate(a) for a in matches[:MAX_CHOICES]],
        )
    return UnknownAuthor(key, terms, shown)


def author_posts(
    reads: IndexReads, name: str, limit: int, offset: int
) -> AuthorPosts | UnknownAuthor:
    """The author `name` names and one page of their posts, newest first."""
    author = find_author(reads, name)
    if isinstance(author, UnknownAuthor):
        return author
    posts = reads.posts_of_author(author.key, limit=limit, offset=offset)
    return AuthorPosts(author=author, posts=tuple(posts), total=author.posts, offset=offset)


def letter(reads: IndexReads) -> StoredDocument | None:
    """The newest document that records reasons for resigning (Access Now's letter)."""
    ids = reads.documents_with_reasons()
    return reads.document(ids[0]) if ids else None
