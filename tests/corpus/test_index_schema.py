"""Migration 3 (title index, post counts, dated author links, covering indexes) on old and new indexes."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from bot.corpus import schema
from bot.corpus.service import CorpusService, ServiceSettings
from tests.conftest import write_doc


def _v2_database(path: Path) -> None:
    """An index as the code before migration 3 wrote it: two documents, one shared author."""
    path.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(path, isolation_level=None)
    for version in range(2):
        for statement in schema._statements(schema.MIGRATIONS[version]):
            conn.execute(statement)
    conn.execute("PRAGMA user_version = 2")
    for pk, doc_id, title, published in (
        (1, "old-one", "Old Bridges of Paris", "2019-05-01"),
        (2, "old-two", "Rivers Without Bridges", None),
    ):
        conn.execute(
            "INSERT INTO documents (pk, id, origin, source_path, title, display_title, title_source, "
            "title_key, authors, published, kind, excerpt, body, word_count, content_hash, added_at, "
            "updated_at) VALUES (?, ?, 'corpus', ?, ?, ?, 'given', lower(?), 'Ann Old', ?, 'post', 0, "
            "'Some body.', 2, 'h', 'now', 'now')",
            (pk, doc_id, f"{doc_id}.md", title, title, title, published),
        )
    conn.execute("INSERT INTO authors (id, key, name) VALUES (7, 'ann old', 'Ann Old')")
    conn.executemany(
        "INSERT INTO document_authors (doc_id, position, author_id) VALUES (?, 0, 7)",
        [("old-one",), ("old-two",)],
    )
    conn.execute(
        "INSERT INTO summaries (content_hash, params, sentences) VALUES ('h', 'p', '[\"Some body.\"]')"
    )
    conn.close()


async def test_a_version_2_index_migrates_forward(tmp_path: Path) -> None:
    db = tmp_path / "data" / "old.db"
    _v2_database(db)
    svc = await CorpusService.open(ServiceSettings(db_path=db, corpus_dir=tmp_path / "nothing"))
    try:
        assert (await svc.stats()).schema_version == schema.SCHEMA_VERSION >= 3
        assert [(a.name, a.posts) for a in await svc.authors()] == [("Ann Old", 2)]
        answer = await svc.author("ann old")
        assert [p.id for p in answer.posts] == ["old-one", "old-two"], "dated first, undated last"
        assert (await svc.post("bridges of")).ref.id == "old-one"  # the title index was filled
        assert {c.value for c in await svc.post_choices("bri")} == {"old-one", "old-two"}
        assert await svc.store.cached_summary("h", "p") == ["Some body."]
    finally:
        await svc.close()


async def test_post_counts_follow_every_change(service: CorpusService, corpus_dir: Path) -> None:
    """Counts are kept by triggers: adding, removing and re-reading files keeps them exact."""

    async def counts() -> dict[str, int]:
        return {a.name: a.posts for a in await service.authors()}

    before = await counts()
    write_doc(
        corpus_dir,
        "12-new.md",
        front="id: twice-named\ntitle: Twice\nauthors: [Emily Saltz, emily saltz, Zed Writer]\nkind: post\nexcerpt: false",
    )
    await service.reload()
    after_add = await counts()
    assert after_add["Emily Saltz"] == before["Emily Saltz"] + 1, (
        "a byline naming someone twice is one post"
    )
    assert after_add["Zed Writer"] == 1
    assert (await service.author("zed writer")).author.posts == 1
    (corpus_dir / "12-new.md").unlink()
    await service.reload()
    assert await counts() == before
    with pytest.raises(Exception, match="No author matches"):
        await service.author("Zed Writer")


async def test_reasons_and_file_facts_use_their_indexes(
    service: CorpusService, settings: ServiceSettings
) -> None:
    """The columns after the body are read from covering or partial indexes, not the table."""
    conn = sqlite3.connect(settings.db_path)
    try:
        plans = {
            "files": "SELECT source_path, id, file_size, file_mtime_ns, content_hash FROM documents WHERE origin = 'corpus'",
            "reasons": "SELECT id FROM documents WHERE reasons != '[]' ORDER BY published DESC, id",
        }
        for name, sql in plans.items():
            detail = " ".join(row[3] for row in conn.execute("EXPLAIN QUERY PLAN " + sql))
            assert "INDEX" in detail and "TEMP B-TREE" not in detail, (name, detail)
    finally:
        conn.close()
    assert (await service.reasons()).ref.id == "access-now-resigns-from-pai"


def _v4_database(path: Path) -> None:
    """An index as version 4 wrote it (before migration 6): author names joined by '; ' only."""
    path.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(path, isolation_level=None)
    for version in range(4):
        for statement in schema._statements(schema.MIGRATIONS[version]):
            conn.execute(statement)
    conn.execute("PRAGMA user_version = 4")
    authors = {
        "smith; jones": "Smith; Jones",
        "ann old": "Ann Old",
        "bo two": "Bo Two",
        "emily saltz": "Emily Saltz",
    }
    conn.executemany(
        "INSERT INTO authors (id, key, name) VALUES (?, ?, ?)",
        [(number, key, name) for number, (key, name) in enumerate(authors.items(), start=1)],
    )
    documents = (  # id, the joined text, the linked author keys in byline order
        ("one-name-with-a-semicolon", "Smith; Jones", ["smith; jones"]),
        ("two-names", "Ann Old; Bo Two", ["ann old", "bo two"]),
        ("named-twice", "Emily Saltz; emily saltz", ["emily saltz"]),
        ("no-byline", "", []),
    )
    for pk, (doc_id, joined, keys) in enumerate(documents, start=1):
        conn.execute(
            "INSERT INTO documents (pk, id, origin, source_path, title, display_title, title_source, "
            "title_key, authors, kind, excerpt, body, word_count, content_hash, added_at, updated_at) "
            "VALUES (?, ?, 'corpus', ?, ?, ?, 'given', ?, ?, 'post', 0, 'Some body.', 2, 'h', 'now', 'now')",
            (pk, doc_id, f"{doc_id}.md", doc_id, doc_id, doc_id, joined),
        )
        conn.executemany(
            "INSERT INTO document_authors (doc_id, position, author_id) "
            "VALUES (?, ?, (SELECT id FROM authors WHERE key = ?))",
            [(doc_id, position, key) for position, key in enumerate(keys)],
        )
    conn.close()


async def test_a_version_4_index_gets_author_names_that_no_separator_splits(tmp_path: Path) -> None:
    db = tmp_path / "data" / "old.db"
    _v4_database(db)
    svc = await CorpusService.open(ServiceSettings(db_path=db, corpus_dir=tmp_path / "nothing"))
    try:
        assert (await svc.stats()).schema_version == schema.SCHEMA_VERSION >= 6
        shown = {
            doc_id: (await svc.post(doc_id)).ref.authors
            for doc_id in ("one-name-with-a-semicolon", "two-names", "named-twice", "no-byline")
        }
        assert shown == {
            "one-name-with-a-semicolon": ("Smith; Jones",),
            "two-names": ("Ann Old", "Bo Two"),
            "named-twice": ("Emily Saltz",),
            "no-byline": (),
        }
    finally:
        await svc.close()


async def test_an_author_name_holding_the_separator_is_one_author_everywhere(
    service: CorpusService, corpus_dir: Path
) -> None:
    write_doc(
        corpus_dir,
        "12-pair.md",
        front='id: the-pair\ntitle: The Pair\nauthors: ["Smith; Jones", "Ann Example"]\nkind: post\nexcerpt: false',
    )
    await service.reload()
    assert (await service.post("the-pair")).ref.authors == ("Smith; Jones", "Ann Example")
    assert [
        (a.name, a.posts)
        for a in await service.authors()
        if a.name in ("Smith; Jones", "Smith", "Jones")
    ] == [("Smith; Jones", 1)]
    assert [p.id for p in (await service.author("Smith; Jones")).posts] == ["the-pair"]
