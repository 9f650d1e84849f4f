"""Corpus documents, their authors and their full-text search, in PostgreSQL.

The PostgreSQL counterpart of the parts of bot/corpus/store.py that answers read: documents by
id, authors with their post counts, an author's posts, and `search_page`, which returns the
same `SearchPage` as the SQLite store, from the same folded query terms
(`bot.corpus.search.query_terms`), so a front end cannot tell the backends apart.

Search (the decision and its figures are in README, "Running on many machines"):

- Terms become a `tsquery` with `plainto_tsquery`, one term at a time for the any-term
  fallback: PostgreSQL parses each word itself, so no input can reach tsquery's syntax (quotes,
  `&`, `|`, `!`, `<->`, `:*`), and a term that is a stop word ("the") simply drops out.
- Documents holding every term, else any term, as in SQLite; at most `rank_window` of them,
  the most recently stored (highest `pk`), are ranked with `ts_rank_cd` (title and authors weigh
  more than the body, length-normalised), as SQLite ranks its newest 500 matches with bm25.
- Snippets come from `ts_headline` over the subtitle, authors and body (SQLite's snippet picks the
  column that matches best: a word found only in the subtitle is shown there), made for the
  page's rows only, since it re-parses the text.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

import asyncpg

from bot.corpus.models import (
    HIGHLIGHT_CLOSE,
    HIGHLIGHT_OPEN,
    AuthorCount,
    Document,
    DocumentRef,
)
from bot.corpus.names import title_key
from bot.corpus.search import SearchTuning
from bot.corpus.store import AUTHOR_SEPARATOR, SearchPage, StoredDocument
from bot.corpus.titles import display_title
from bot.storage.postgres.errors import (
    DocumentNotStorable,
    database_faults,
)
from bot.storage.postgres.pool import open_shared_pool
from bot.storage.postgres.schema import Connection

TSVECTOR_MAX_BYTES = 1_048_575
"""PostgreSQL's limit on a tsvector's lexemes ("string is too long for tsvector"): the text it
is made of, in UTF-8, stays under it, so a document is refused by name before it is sent."""
RANK_WEIGHTS = [0.1, 0.5, 0.5, 1.0]
"""ts_rank_cd's weights of D, C, B, A: body 0.1, subtitle and authors 0.5, title 1.0, the ratios
of SQLite's bm25(10, 5, 5, 1)."""
RANK_NORMALIZATION = 1
"""Rank divided by 1 + log(document length): a long document does not win by length alone
(bm25 normalises by length too)."""
HEADLINE_OPTIONS = (
    f"StartSel={HIGHLIGHT_OPEN}, StopSel={HIGHLIGHT_CLOSE}, MaxWords=24, MinWords=12, "
    "ShortWord=2, MaxFragments=1, FragmentDelimiter=…"
)

_REF_COLUMNS = (
    "d.id, d.display_title, d.title_source, d.author_names, d.published, d.url, d.publisher, "
    "d.kind, d.excerpt, d.subtitle"
)
_QUERIES = """
SELECT plainto_tsquery('corpus_english', array_to_string($1::text[], ' '))::text AS every_term,
    (SELECT coalesce(string_agg(t.q::text, ' | '), '') FROM unnest($1::text[]) AS w,
        LATERAL plainto_tsquery('corpus_english', w) AS t(q) WHERE numnode(t.q) > 0) AS any_term
"""
"""The tsqueries of the terms, made by PostgreSQL's own parser (the configuration is
schema.SEARCH_CONFIG, spelled out: statements are constants): every term (plainto_tsquery ANDs
the words it keeps), and any term (each word parsed alone, the non-empty results ORed). Their
text form is tsquery's own quoting of lexemes, so reading it back as a tsquery is exact: no input
reaches tsquery's syntax. Made first, apart, so the search below is planned knowing the query
(with plan_cache_mode=force_custom_plan): how common its words are decides between walking the
newest documents and reading the GIN index."""
_SEARCH = f"""
WITH matches AS (
    SELECT d.pk FROM documents d WHERE d.search @@ $1::tsquery ORDER BY d.pk DESC LIMIT $2
),
ranked AS (
    SELECT m.pk, ts_rank_cd($5::float4[], d.search, $1::tsquery, {RANK_NORMALIZATION}) AS score
    FROM matches m JOIN documents d ON d.pk = m.pk
    ORDER BY score DESC, m.pk DESC LIMIT $3 OFFSET $4
)
SELECT (SELECT count(*) FROM matches) AS total, p.score, {_REF_COLUMNS},
    ts_headline('corpus_english', concat_ws(E'\\n', d.subtitle, d.authors, d.body), $1::tsquery, $6)
        AS snippet
FROM ranked p JOIN documents d ON d.pk = p.pk
ORDER BY p.score DESC, p.pk DESC
"""  # noqa: S608 - constants
"""Three steps, so each costs what it must: the newest `rank_window` matches by pk alone (from
the GIN index for rarer words, walking pk backwards for common ones: no tsvector is read for the
thousands of matches a rare-ish word has), then those ranked (each tsvector read once), then the
page's rows with their snippets."""
_COUNT = "SELECT count(*) FROM (SELECT 1 FROM documents d WHERE d.search @@ $1::tsquery LIMIT $2) m"
_DOCUMENT_COLUMNS = (
    "id",
    "origin",
    "source_path",
    "title",
    "display_title",
    "title_source",
    "title_key",
    "subtitle",
    "authors",
    "author_names",
    "published",
    "url",
    "publisher",
    "kind",
    "excerpt",
    "body",
    "word_count",
    "annotations",
    "reasons",
    "content_hash",
)
_TEXT_FIELDS = ("id", "source_path", "title", "subtitle", "url", "publisher", "kind", "body")


def ref_from_record(row: asyncpg.Record) -> DocumentRef:
    """A DocumentRef from a row selected with _REF_COLUMNS (read by name)."""
    return DocumentRef(
        id=row["id"],
        title=row["display_title"],
        title_source=row["title_source"],
        authors=tuple(json.loads(row["author_names"])),
        published=row["published"],
        url=row["url"],
        publisher=row["publisher"],
        kind=row["kind"],
        excerpt=row["excerpt"],
        subtitle=row["subtitle"],
    )


def check_storable(doc: Document) -> None:
    """Refuse, by document and field, what PostgreSQL text or tsvector cannot hold."""
    for name in _TEXT_FIELDS:
        value = getattr(doc, name)
        if isinstance(value, str) and "\x00" in value:
            raise DocumentNotStorable(doc.id, name, "holds a NUL character (U+0000)")
    for author in doc.authors:
        if "\x00" in author.name or "\x00" in (author.affiliation or ""):
            raise DocumentNotStorable(doc.id, "authors", "holds a NUL character (U+0000)")
    searched = (doc.title or "", doc.subtitle or "", *(a.name for a in doc.authors), doc.body)
    if sum(len(text.encode()) for text in searched) > TSVECTOR_MAX_BYTES:
        raise DocumentNotStorable(
            doc.id,
            "body",
            f"is longer than full-text search indexes ({TSVECTOR_MAX_BYTES:,} bytes)",
        )


def document_record(doc: Document) -> tuple[Any, ...]:
    """The values of _DOCUMENT_COLUMNS for `doc`, in that order (checked by check_storable)."""
    check_storable(doc)
    shown, source = display_title(doc)
    values: dict[str, Any] = {
        "id": doc.id,
        "origin": doc.origin,
        "source_path": doc.source_path or None,
        "title": doc.title,
        "display_title": shown,
        "title_source": source,
        "title_key": title_key(shown),
        "subtitle": doc.subtitle,
        "authors": AUTHOR_SEPARATOR.join(a.name for a in doc.authors),
        "author_names": json.dumps([a.name for a in doc.authors], ensure_ascii=False),
        "published": doc.published,
        "url": doc.url,
        "publisher": doc.publisher,
        "kind": doc.kind,
        "excerpt": doc.excerpt,
        "body": doc.body,
        "word_count": len(doc.body.split()),
        "annotations": json.dumps(doc.annotations, ensure_ascii=False, sort_keys=True),
        "reasons": json.dumps(
            [[r.label, r.quote, r.paragraph] for r in doc.reasons], ensure_ascii=False
        ),
        "content_hash": doc.content_hash,
    }
    return tuple(values[name] for name in _DOCUMENT_COLUMNS)


_UPSERT_DOCUMENT = (
    f"INSERT INTO documents ({', '.join(_DOCUMENT_COLUMNS)}) VALUES "  # noqa: S608 - constants
    f"({', '.join(f'${i}' for i in range(1, len(_DOCUMENT_COLUMNS) + 1))}) "
    "ON CONFLICT (id) DO UPDATE SET "
    + ", ".join(f"{name} = excluded.{name}" for name in _DOCUMENT_COLUMNS if name != "id")
    + ", updated_at = now()"
)
"""Insert a document, or update the stored one of the same id in place: an update, never a
delete and an insert, so the row keeps its key and a change log on the table sees one change."""


async def replace_documents(conn: Connection, documents: Sequence[Document]) -> None:
    """Inside the caller's transaction on `conn`: store `documents`, replacing those of the same
    id (their author links made anew). The one writer of documents: the store's
    `replace_documents` and the feed's poller (whose transaction also holds its seen-set and
    outbox rows) both call it. A document PostgreSQL cannot hold is refused by id and field
    (`DocumentNotStorable`) before anything is sent."""
    if not documents:
        return
    records = [document_record(doc) for doc in documents]
    await conn.executemany(_UPSERT_DOCUMENT, records)
    await conn.execute(
        "DELETE FROM document_authors WHERE doc_pk IN "
        "(SELECT pk FROM documents WHERE id = ANY($1::text[]))",
        [doc.id for doc in documents],
    )
    await _link_authors(conn, documents)


async def _link_authors(conn: Connection, documents: Sequence[Document]) -> None:
    names: dict[str, str] = {}
    links: list[tuple[str, int, str, str | None, date | None]] = []
    for doc in documents:
        linked: set[str] = set()
        for position, author in enumerate(doc.authors):
            if author.key in linked:  # a byline naming someone twice is one post of theirs
                continue
            linked.add(author.key)
            names.setdefault(author.key, author.name)
            links.append((doc.id, position, author.key, author.affiliation, doc.published))
    if not links:
        return
    await conn.execute(
        "INSERT INTO authors (key, name) SELECT * FROM unnest($1::text[], $2::text[]) "
        "ON CONFLICT (key) DO NOTHING",
        list(names),
        list(names.values()),
    )
    ids, positions, keys, affiliations, published = (list(c) for c in zip(*links, strict=True))
    await conn.execute(
        "INSERT INTO document_authors (doc_pk, position, author_id, affiliation, published) "
        "SELECT d.pk, l.position, a.id, l.affiliation, l.published "
        "FROM unnest($1::text[], $2::int[], $3::text[], $4::text[], $5::date[]) "
        "AS l(doc_id, position, key, affiliation, published) "
        "JOIN documents d ON d.id = l.doc_id JOIN authors a ON a.key = l.key",
        ids,
        positions,
        keys,
        affiliations,
        published,
    )


async def stored_document(conn: Connection, doc_id: str) -> StoredDocument | None:
    """A document as the shared table holds it now, as the SQLite store's `document` returns
    it (the feed's announcer reads entries here: a replica may not have pulled them yet)."""
    row = await conn.fetchrow(
        f"SELECT {_REF_COLUMNS}, d.body, d.word_count, d.annotations, d.reasons, "  # noqa: S608 - constants
        "d.content_hash, d.origin FROM documents d WHERE d.id = $1",
        doc_id,
    )
    if row is None:
        return None
    return StoredDocument.from_row(row, ref_from_record(row))


@dataclass(frozen=True, slots=True)
class StoredPost:
    ref: DocumentRef
    body: str
    word_count: int


class PostgresCorpusStore:
    """The corpus in PostgreSQL behind a small API: callers never write SQL of their own."""

    def __init__(self, pool: asyncpg.Pool, dsn: str, tuning: SearchTuning) -> None:
        self._pool = pool
        self.dsn = dsn
        self.tuning = tuning

    @classmethod
    async def open(
        cls,
        dsn: str,
        *,
        min_size: int = 1,
        max_size: int = 10,
        tuning: SearchTuning | None = None,
    ) -> PostgresCorpusStore:
        """Connect a pool to `dsn` and bring the schema up to date."""
        pool = await open_shared_pool(dsn, min_size=min_size, max_size=max_size)
        return cls(pool, dsn, tuning or SearchTuning())

    async def close(self) -> None:
        await self._pool.close()

    # --- writing ----------------------------------------------------------------------------

    @database_faults
    async def replace_documents(self, documents: Sequence[Document]) -> None:
        """Insert `documents`, replacing stored ones of the same id, in one transaction."""
        async with self._pool.acquire() as conn, conn.transaction():
            await replace_documents(conn, documents)

    @database_faults
    async def copy_documents(self, documents: Sequence[Document]) -> None:
        """Bulk-load new documents with COPY (ids must not be stored yet): for a first load."""
        records = [document_record(doc) for doc in documents]
        async with self._pool.acquire() as conn, conn.transaction():
            await conn.copy_records_to_table(
                "documents", records=records, columns=list(_DOCUMENT_COLUMNS)
            )
            await _link_authors(conn, documents)

    @database_faults
    async def analyze(self) -> None:
        """After a bulk load, before the first queries: VACUUM moves the GIN index's pending
        entries (fastupdate) into the index proper, which queries would otherwise scan one by one,
        and ANALYZE gives the planner each word's frequency."""
        async with self._pool.acquire() as conn:
            await conn.execute("VACUUM (ANALYZE) documents, authors, document_authors")

    # --- reading ----------------------------------------------------------------------------

    @database_faults
    async def database_bytes(self) -> int:
        """The database's size on disk (tables, TOAST, indexes): what a backup or replica copies."""
        return int(await self._pool.fetchval("SELECT pg_database_size(current_database())"))

    @database_faults
    async def count_documents(self) -> int:
        return int(await self._pool.fetchval("SELECT count(*) FROM documents"))

    @database_faults
    async def post(self, doc_id: str) -> StoredPost | None:
        row = await self._pool.fetchrow(
            f"SELECT {_REF_COLUMNS}, d.body, d.word_count FROM documents d WHERE d.id = $1",  # noqa: S608 - constants
            doc_id,
        )
        if row is None:
            return None
        return StoredPost(ref_from_record(row), row["body"], row["word_count"])

    @database_faults
    async def authors(self, *, limit: int = 10_000) -> list[AuthorCount]:
        """Every author with their post count, most prolific first."""
        rows = await self._pool.fetch(
            "SELECT a.name, a.key, count(*) AS posts FROM authors a "
            "JOIN document_authors da ON da.author_id = a.id "
            "GROUP BY a.id ORDER BY posts DESC, a.key LIMIT $1",
            limit,
        )
        return [AuthorCount(row["name"], row["key"], row["posts"]) for row in rows]

    @database_faults
    async def posts_of_author(
        self, key: str, *, limit: int = 1000, offset: int = 0
    ) -> list[DocumentRef]:
        """A page of an author's posts, newest first (undated last, then by id), read in the
        order of the index document_authors_newest."""
        rows = await self._pool.fetch(
            f"SELECT {_REF_COLUMNS} FROM document_authors da JOIN documents d ON d.pk = da.doc_pk "  # noqa: S608 - constants
            "WHERE da.author_id = (SELECT id FROM authors WHERE key = $1) "
            "ORDER BY da.published DESC NULLS LAST, d.id LIMIT $2 OFFSET $3",
            key,
            limit,
            offset,
        )
        return [ref_from_record(row) for row in rows]

    @database_faults
    async def search_page(self, terms: Sequence[str], *, limit: int, offset: int = 0) -> SearchPage:
        """Documents holding every term (or, when none does, any term), best first.

        `terms` are `query_terms(...)` of what was typed: folded words, at most 16 of 64
        characters. Any input is safe: each word is parsed by plainto_tsquery.
        """
        words = list(terms)
        if any("\x00" in word for word in words):
            # query_terms never yields one; PostgreSQL text cannot hold it.
            raise ValueError("search terms must not hold NUL (U+0000): pass query_terms(text)")
        queries = await self._pool.fetchrow(_QUERIES, words)
        assert queries is not None  # a SELECT without FROM returns one row
        page = await self._search(queries["every_term"], limit, offset)
        if page.total == 0 and len(words) > 1:
            page = await self._search(queries["any_term"], limit, offset)
        return page

    async def _search(self, query: str, limit: int, offset: int) -> SearchPage:
        if not query:  # only stop words ("the of"): nothing to look for
            return SearchPage([], 0, False, True)
        window = self.tuning.rank_window
        rows = await self._pool.fetch(
            _SEARCH, query, window, limit, offset, RANK_WEIGHTS, HEADLINE_OPTIONS
        )
        if rows:
            total = int(rows[0]["total"])
        elif offset:  # a page past the end: how many there were
            total = int(await self._pool.fetchval(_COUNT, query, window))
        else:
            total = 0
        hits = [
            (ref_from_record(row), " ".join(row["snippet"].split()), float(row["score"]))
            for row in rows
        ]
        return SearchPage(hits, total, total == window, True)
