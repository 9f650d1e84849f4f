"""Passages for `ask`: spans of the body, written and removed with their document, in the same
transaction, for corpus files and feed entries, and given to an index migrated from version 6."""

from __future__ import annotations

import sqlite3
from datetime import date
from pathlib import Path

import pytest

from bot.corpus import schema
from bot.corpus.loader import paragraphs
from bot.corpus.models import AuthorName, Document
from bot.corpus.passages import PASSAGES_PER_DOCUMENT, split_passages
from bot.corpus.sentences import split_sentences
from bot.corpus.service import CorpusService, ServiceSettings
from tests.conftest import BUNDLED_CORPUS, write_doc

ZZ = "id: zz-new\ntitle: Zebra notes\nauthors: []\nkind: post\nexcerpt: false"


def _passages(db: Path) -> list[tuple[str, int, str]]:
    """(doc id, paragraph, text) of every passage, read through the spans."""
    conn = sqlite3.connect(db)
    try:
        return conn.execute(
            f"SELECT d.id, p.paragraph, substr(d.body, p.start + 1, p.length) FROM passages p "  # noqa: S608
            f"JOIN documents d ON d.pk = p.id / {PASSAGES_PER_DOCUMENT:d} ORDER BY p.id"
        ).fetchall()
    finally:
        conn.close()


def _matching(db: Path, word: str) -> list[int]:
    conn = sqlite3.connect(db)
    try:
        return [
            row[0]
            for row in conn.execute(
                "SELECT rowid FROM passages_fts WHERE passages_fts MATCH ?", (f'"{word}"',)
            )
        ]
    finally:
        conn.close()


def test_passages_are_whole_sentences_in_their_loader_paragraph() -> None:
    long_paragraph = " ".join(
        f"Sentence number {i} says something about item {i}." for i in range(12)
    )
    body = f"Title line\n\nA short paragraph. With two sentences.\n\n{long_paragraph}\n\nLast one."
    spans = split_passages(body)
    parts = paragraphs(body)
    starts = {s.start for s in split_sentences(body)}
    ends = {s.end for s in split_sentences(body)}
    assert [p.ordinal for p in spans] == list(range(len(spans)))
    for span in spans:
        assert span.start in starts and span.end in ends, "never cut mid-sentence"
        assert body[span.start : span.end] in parts[span.paragraph - 1]
    assert [p.paragraph for p in spans if p.paragraph != 3] == [1, 2, 4]
    windows = [body[p.start : p.end] for p in spans if p.paragraph == 3]
    assert len(windows) > 1 and all(len(split_sentences(w)) <= 3 for w in windows)
    assert " ".join(windows).count("item 11.") >= 1 and windows[0].startswith("Sentence number 0 ")


async def test_every_bundled_document_has_passages_with_reasons_paragraphs(
    service: CorpusService,
) -> None:
    stored = _passages(service.settings.db_path)
    assert len({doc_id for doc_id, _, _ in stored}) == len(list(BUNDLED_CORPUS.glob("*.md"))) == 11
    letter = await service.reasons()
    assert letter.reasons
    for reason in letter.reasons:
        assert any(
            doc_id == letter.ref.id and paragraph == reason.paragraph and reason.quote in text
            for doc_id, paragraph, text in stored
        ), reason.label


async def test_passages_follow_their_document_through_reloads(
    service: CorpusService, corpus_dir: Path
) -> None:
    db = service.settings.db_path
    write_doc(corpus_dir, "zz.md", front=ZZ, body="Zebras graze at dawn.")
    await service.reload()
    assert [t for d, _, t in _passages(db) if d == "zz-new"] == ["Zebras graze at dawn."]
    assert len(_matching(db, "zebra")) == 1
    write_doc(corpus_dir, "zz.md", front=ZZ, body="Okapis browse at dusk.")
    await service.reload()
    assert [t for d, _, t in _passages(db) if d == "zz-new"] == ["Okapis browse at dusk."]
    assert _matching(db, "graze") == [] and len(_matching(db, "okapi")) == 1
    (corpus_dir / "zz.md").unlink()
    await service.reload()
    assert [t for d, _, t in _passages(db) if d == "zz-new"] == []
    assert _matching(db, "okapi") == [] and _matching(db, "zebra") == []
    conn = sqlite3.connect(db)
    try:
        conn.execute("INSERT INTO passages_fts (passages_fts, rank) VALUES ('integrity-check', 1)")
    finally:
        conn.close()


async def test_a_reload_that_fails_writes_no_passage(
    service: CorpusService, corpus_dir: Path
) -> None:
    db = service.settings.db_path
    before = _passages(db)
    write_doc(corpus_dir, "zz.md", front=ZZ, body="Zebras graze at dawn.")
    write_doc(corpus_dir, "zz-bad.md", front="id: [unclosed\n", body="Broken.")
    with pytest.raises(Exception, match="problem|invalid|zz-bad"):
        await service.reload()
    assert _passages(db) == before and _matching(db, "zebra") == []


async def test_feed_entries_get_passages_and_lose_them_when_replaced(
    service: CorpusService,
) -> None:
    db = service.settings.db_path

    def entry(body: str) -> Document:
        return Document(
            id="feed-kiwi",
            title="Kiwi news",
            subtitle=None,
            authors=(AuthorName("Ann Feed", "ann feed"),),
            published=date(2024, 1, 2),
            url="https://example.org/kiwi",
            publisher=None,
            kind="post",
            excerpt=True,
            body=body,
            origin="feed:example",
        )

    await service.add_documents([entry("Kiwis cannot fly. They forage at night.")])
    assert [t for d, _, t in _passages(db) if d == "feed-kiwi"] == [
        "Kiwis cannot fly. They forage at night."
    ]
    await service.add_documents([entry("Takahe are rare.")])
    assert [t for d, _, t in _passages(db) if d == "feed-kiwi"] == ["Takahe are rare."]
    assert _matching(db, "forage") == []


async def test_editing_a_body_in_place_is_refused(service: CorpusService) -> None:
    conn = sqlite3.connect(service.settings.db_path)
    try:
        with pytest.raises(sqlite3.IntegrityError, match="replaced, not edited"):
            conn.execute("UPDATE documents SET body = 'x' WHERE id = 'access-now-resigns-from-pai'")
    finally:
        conn.close()


async def test_a_version_6_index_gets_passages_when_opened(tmp_path: Path) -> None:
    db = tmp_path / "data" / "old.db"
    db.parent.mkdir(parents=True)
    conn = sqlite3.connect(db, isolation_level=None)
    for version in range(6):
        for statement in schema._statements(schema.MIGRATIONS[version]):
            conn.execute(statement)
    conn.execute("PRAGMA user_version = 6")
    body = "Heading\n\nOwls hunt by night. They hear mice under snow.\n\nHerons wade."
    for pk, origin in ((1, "corpus"), (2, "feed:birds")):
        conn.execute(
            "INSERT INTO documents (pk, id, origin, title, display_title, title_source, title_key, kind, "
            "excerpt, body, word_count, content_hash, added_at, updated_at) "
            "VALUES (?, ?, ?, 'Birds', 'Birds', 'given', 'birds', 'post', 0, ?, 12, 'h', 'now', 'now')",
            (pk, f"birds-{pk}", origin, body),
        )
    conn.close()
    svc = await CorpusService.open(ServiceSettings(db_path=db, corpus_dir=tmp_path / "nothing"))
    try:
        assert (await svc.stats()).schema_version == schema.SCHEMA_VERSION >= 7
    finally:
        await svc.close()
    expected = [
        (1, "Heading"),
        (2, "Owls hunt by night. They hear mice under snow."),
        (3, "Herons wade."),
    ]
    stored = _passages(db)
    assert [(p, t) for d, p, t in stored if d == "birds-1"] == expected
    assert [(p, t) for d, p, t in stored if d == "birds-2"] == expected
    assert len(_matching(db, "owl")) == 2
