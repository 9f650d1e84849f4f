"""The corpus's data types: what a document is, and what each answer carries.

Every answer carries a `DocumentRef`, so any front end (CLI, Discord) can cite its source: title,
authors, date and URL. None of these types import discord; they are plain frozen dataclasses.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Literal

TitleSource = Literal["given", "inferred", "derived"]
"""Where a shown title comes from: the document's own title, a title someone inferred (marked as
such), or the document's opening words (marked as such). Unknown titles are never guessed."""


@dataclass(frozen=True, slots=True)
class Reason:
    """One of Access Now's reasons for resigning: a label and the verbatim sentence(s) stating it."""

    label: str
    quote: str
    paragraph: int
    """1-based number of the body paragraph (blank-line separated) that holds the quote."""


@dataclass(frozen=True, slots=True)
class AuthorName:
    """An author as printed (affiliation split off) and the key used to match it."""

    name: str
    key: str
    affiliation: str | None = None


@dataclass(frozen=True, slots=True)
class Document:
    """A parsed, validated corpus document, ready to be indexed."""

    id: str
    title: str | None
    subtitle: str | None
    authors: tuple[AuthorName, ...]
    published: date | None
    url: str | None
    publisher: str | None
    kind: str
    excerpt: bool
    body: str
    reasons: tuple[Reason, ...] = ()
    annotations: dict[str, object] = field(default_factory=dict)
    """Other front-matter fields (byline, note, title_inferred, …), kept for display."""
    source_path: str = ""
    content_hash: str = ""
    origin: str = "corpus"
    """'corpus' for files of the corpus folder, 'feed:<name>' for items of a configured feed."""


@dataclass(frozen=True, slots=True)
class DocumentRef:
    """What a front end needs to cite a document."""

    id: str
    title: str
    title_source: TitleSource
    authors: tuple[str, ...]
    published: date | None
    url: str | None
    publisher: str | None
    kind: str
    excerpt: bool
    subtitle: str | None = None


@dataclass(frozen=True, slots=True)
class Post:
    """A whole document as shown by `post`."""

    ref: DocumentRef
    body: str
    word_count: int
    annotations: dict[str, object] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Candidate:
    """A possible match offered when input is ambiguous or unknown ("did you mean")."""

    value: str
    """What to type to get this one (a document id, an author name)."""
    label: str
    """What to show a person."""

    @property
    def shows_value(self) -> bool:
        """Whether the label already shows what to type ("Claire Wardle (3 posts)" does, a
        title does not show its id): front ends then print it once, not twice."""
        return self.value in self.label


@dataclass(frozen=True, slots=True)
class AuthorCount:
    name: str
    key: str
    posts: int


@dataclass(frozen=True, slots=True)
class AuthorPosts:
    author: AuthorCount
    posts: tuple[DocumentRef, ...]
    """Newest first; undated documents last. One page: see `offset` and `total`."""
    total: int | None = None
    """How many posts the author has in all (None: unknown, take `posts` as complete)."""
    offset: int = 0
    """How many newer posts come before `posts[0]`."""

    @property
    def has_more(self) -> bool:
        """True when older posts follow this page (ask again with offset + len(posts))."""
        return self.total is not None and self.offset + len(self.posts) < self.total


@dataclass(frozen=True, slots=True)
class Summary:
    ref: DocumentRef
    sentences: tuple[str, ...]
    """Sentences of the text, verbatim, in text order."""
    excerpt: bool
    """True when the corpus holds only the opening of the post: the summary says so."""
    total_sentences: int


@dataclass(frozen=True, slots=True)
class Reasons:
    ref: DocumentRef
    reasons: tuple[Reason, ...]
    topic: str | None


@dataclass(frozen=True, slots=True)
class SearchHit:
    ref: DocumentRef
    snippet: str
    """Text around the match; matched terms wrapped in `HIGHLIGHT_OPEN`/`HIGHLIGHT_CLOSE`."""
    score: float
    """Higher is better (negated bm25)."""


EXCERPT_NOTE = "The corpus holds only the opening of this post; this covers that opening."
"""What every front end says beside an answer drawn from an excerpt (one wording for all)."""

HIGHLIGHT_OPEN = "\u27e6"  # ⟦ : front ends turn these into their own emphasis
HIGHLIGHT_CLOSE = "\u27e7"  # ⟧


@dataclass(frozen=True, slots=True)
class SearchResults:
    query: str
    hits: tuple[SearchHit, ...]
    total: int
    total_is_lower_bound: bool = False
    """True when more documents match than were counted: show `total` as "at least" ("1000+").
    On a large corpus a search ranks and counts only its most recently indexed matches."""
    ranked: bool = True
    """False when every word of the query is too common to rank by (in most documents of a large
    corpus): the hits are then the newest matches, in that order, each with score 0."""


@dataclass(frozen=True, slots=True)
class ReloadReport:
    """What a reload changed; returned so callers can report it and announce new entries."""

    added: tuple[str, ...] = ()
    """the first ids added, in id order (all of them up to `bot.corpus.reload.REPORT_IDS`)"""
    changed: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()
    added_count: int = 0
    changed_count: int = 0
    removed_count: int = 0
    unchanged: int = 0
    reparsed: int = 0
    """How many files were actually read and parsed (the rest were skipped by size + mtime)."""
    seconds: float = 0.0

    @property
    def changed_anything(self) -> bool:
        return bool(self.added_count or self.changed_count or self.removed_count)


@dataclass(frozen=True, slots=True)
class CorpusStats:
    documents: int
    authors: int
    last_reload: datetime | None
    schema_version: int


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with an input, and where: file and line, or a config key."""

    where: str
    line: int | None
    message: str

    def __str__(self) -> str:
        loc = f"{self.where}:{self.line}" if self.line else self.where
        return f"{loc}: {self.message}"


def shown_title(title: str, source: TitleSource) -> str:
    """The title as a person should see it: inferred and derived titles are marked as such."""
    if source == "inferred":
        return f"{title} (inferred title)"
    if source == "derived":
        return f"Untitled: “{title}”"
    return title


@dataclass(frozen=True, slots=True)
class Passage:
    """A passage of the corpus quoted as an answer to a question (`CorpusService.ask`)."""

    ref: DocumentRef
    quote: str
    """1-3 whole sentences of the document's body, verbatim (`body[start:start + len(quote)]`)."""
    paragraph: int
    """1-based paragraph of the body that holds the quote (as /reasons counts)."""
    start: int
    """Offset of the quote in the body."""
    score: float
    """Higher is better; comparable between the passages of one answer only."""

    @property
    def excerpt(self) -> bool:
        """True when the corpus holds only the opening of the post: front ends say so."""
        return self.ref.excerpt


@dataclass(frozen=True, slots=True)
class Answer:
    """The passages that best answer a question, best first. Never empty: a question the corpus
    does not answer is an `AnswerError` ("The corpus does not say…")."""

    question: str
    passages: tuple[Passage, ...]
