"""/search ranks its matches with bm25 once, and makes snippets for the returned page only.

It used FTS5's `rank MATCH 'bm25(…)' … ORDER BY rank`, which also made snippets for the page only
but ran a nested sorter query that ranked every match again (and read each word's posting list a
second time for its idf). `rank_match_search_terms` below is that search, kept as the reference: the
search must give the same pages (documents, order, snippets, scores) on the bundled corpus and
on a generated one.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest

from bench.generate_corpus import build_vocabulary, generate
from bot.corpus import store as store_module
from bot.corpus.models import SearchResults
from bot.corpus.search import SearchTuning, any_of
from bot.corpus.service import CorpusService, ServiceSettings
from tests.conftest import BUNDLED_CORPUS, write_doc

LARGE = SearchTuning(common_min_documents=1, common_share=0.5, sample_documents=1000)
"""Every word in more than half of the documents counts as common (the member-filtered path)."""
PAGES = ((50, 0), (3, 0), (3, 3), (2, 7))
"""(limit, offset) of the pages compared."""


def rank_match_search_terms(
    conn: sqlite3.Connection,
    terms: list[str],
    join: Callable[[list[str]], str],
    common: set[str],
    limit: int,
    offset: int,
    tuning: SearchTuning,
) -> store_module.SearchPage:
    """`store._search_terms` as it was: count the rank window, then FTS5's rank MATCH … ORDER BY
    rank over it (a Python function admitting the documents that hold the common words too)."""
    rare = [t for t in terms if t not in common]
    if join is any_of and rare:
        terms = rare
    matching, window = join(terms), tuning.rank_window
    if not rare:
        count, _ = store_module._newest_window(conn, matching, window)
        hits = store_module._newest_hits(conn, matching, terms, limit, offset, tuning)
        return store_module.SearchPage(hits, count, count == window, False)
    ranking = join(rare)
    count, floor = store_module._newest_window(conn, ranking, window)
    if not count:
        return store_module._EMPTY_PAGE
    members = {
        row["rowid"]
        for row in conn.execute(
            "SELECT rowid FROM documents_fts WHERE documents_fts MATCH ? AND rowid >= ?",
            (matching, floor),
        )
    }
    conn.create_function("reference_member", 1, members.__contains__)
    rows = conn.execute(
        f"SELECT {store_module.REF_COLUMNS}, {store_module._snippet(tuning)} AS snippet, "  # noqa: S608 - constants
        "rank AS rank FROM documents_fts JOIN documents d ON d.pk = documents_fts.rowid "
        "WHERE documents_fts MATCH ? AND documents_fts.rowid >= ? "
        "AND reference_member(documents_fts.rowid) "
        "AND rank MATCH 'bm25(10.0, 5.0, 5.0, 1.0)' ORDER BY rank LIMIT ? OFFSET ?",
        (ranking, floor, limit, offset),
    ).fetchall()
    hits = [(store_module.ref_from_row(r), r["snippet"], -float(r["rank"])) for r in rows]
    total = count if ranking == matching else len(members)
    return store_module.SearchPage(hits, total, count == window, True)


def _page(results: SearchResults) -> list[tuple[str, str, float]]:
    return [(hit.ref.id, hit.snippet, hit.score) for hit in results.hits]


async def _compare(
    service: CorpusService,
    monkeypatch: pytest.MonkeyPatch,
    queries: list[str],
    tunings: list[SearchTuning],
) -> int:
    """Asserts every page of every query is the same with both rankings; returns the number of
    ranked, non-empty pages compared (so a test can check it compared something)."""
    compared = 0
    for tuning in tunings:
        service.store.search_tuning = tuning
        for query in queries:
            for limit, offset in PAGES:
                new = await service.search(query, limit=limit, offset=offset)
                with monkeypatch.context() as patch:
                    patch.setattr(store_module, "_search_terms", rank_match_search_terms)
                    old = await service.search(query, limit=limit, offset=offset)
                assert _page(new) == _page(old), (query, limit, offset, tuning)
                assert (new.total, new.total_is_lower_bound, new.ranked) == (
                    old.total,
                    old.total_is_lower_bound,
                    old.ranked,
                )
                compared += bool(new.hits and new.ranked)
    return compared


def _bundled_queries() -> list[str]:
    words = sorted(
        {
            w.lower()
            for path in BUNDLED_CORPUS.glob("*.md")
            for w in re.findall(r"[A-Za-z][A-Za-z0-9]{2,}", path.read_text(encoding="utf-8"))
        }
    )
    singles = words[:: max(1, len(words) // 60)]
    pairs = [f"{a} {b}" for a, b in zip(singles, singles[7:] + singles[:7], strict=True)]
    return [*singles, *pairs, "the", "ai", "media", "the media", "ai and spectre", "facial the"]


async def test_same_pages_as_rank_match_on_the_bundled_corpus(
    service: CorpusService, monkeypatch: pytest.MonkeyPatch
) -> None:
    compared = await _compare(
        service,
        monkeypatch,
        _bundled_queries(),
        [SearchTuning(), LARGE, SearchTuning(rank_window=4)],
    )
    assert compared > 200


async def test_same_pages_as_rank_match_on_a_generated_corpus(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    corpus = tmp_path / "corpus"
    generate(corpus, count=300, seed=5, words_mean=150, jobs=1)
    words = build_vocabulary(5).words
    queries = [
        *words[:10],
        *words[20:200:20],
        *words[200:1000:80],
        *words[1000::400],
        *(f"{a} {b}" for a, b in zip(words[:400:25], words[3:900:60], strict=False)),
    ]
    svc = await CorpusService.open(
        ServiceSettings(db_path=tmp_path / "index.db", corpus_dir=corpus)
    )
    try:
        assert (await svc.reload()).added_count == 300
        bounded = SearchTuning(
            rank_window=60, common_min_documents=1, common_share=0.4, sample_documents=300
        )
        compared = await _compare(svc, monkeypatch, queries, [SearchTuning(), bounded])
    finally:
        await svc.close()
    assert compared > 200


async def test_ties_keep_the_order_of_rank_match(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Documents of the same lengths holding the word as often get the same bm25: the order
    among them (ascending rowid under FTS5's sorter) must not change either."""
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for n, name in enumerate(["one", "two", "six", "ten", "red", "tan", "sky", "fir"]):
        write_doc(
            corpus,
            f"{n:02d}-{name}.md",
            front=f"id: same-{name}\ntitle: Same shape {name}\nauthors: [Ann Lee]\nkind: post\nexcerpt: false",
            body="A plain body about tides, the same length in every document here.",
        )
    svc = await CorpusService.open(ServiceSettings(db_path=tmp_path / "i.db", corpus_dir=corpus))
    try:
        await svc.reload()
        everything = await svc.search("tides", limit=50)
        assert len(everything.hits) == 8
        assert len({hit.score for hit in everything.hits}) == 1
        assert await _compare(svc, monkeypatch, ["tides", "plain tides"], [SearchTuning()]) > 0
    finally:
        await svc.close()


async def test_matches_are_ranked_in_one_pass_and_snippets_made_for_the_page(
    service: CorpusService,
) -> None:
    """One statement computes bm25 (no nested "-- SELECT … ORDER BY bm25" sorter query, which
    ranked every match again), and one computes snippets, letting through the page's rows only."""
    statements: list[str] = []

    def trace(conn: sqlite3.Connection, on: bool) -> None:
        conn.set_trace_callback(statements.append if on else None)

    for tuning in (SearchTuning(), LARGE):
        service.store.search_tuning = tuning
        statements.clear()
        await service.store._reader.run(trace, True)
        try:
            results = await service.search("media the", limit=2)
        finally:
            await service.store._reader.run(trace, False)
        assert results.ranked and results.total == 4 and len(results.hits) == 2
        ranking = [s for s in statements if "bm25" in s]
        assert len(ranking) == 1, ranking
        assert "rank MATCH" not in ranking[0]
        (snippets,) = [s for s in statements if "snippet(" in s]
        page = re.search(r"\+documents_fts\.rowid IN \(([0-9, ]*)\)", snippets)
        assert page is not None and len(page[1].split(",")) == len(results.hits), snippets
