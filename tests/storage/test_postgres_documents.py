"""The corpus in PostgreSQL (bot/storage/postgres/documents.py), against a real server."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses

import asyncpg
import pytest

from bot.corpus.models import HIGHLIGHT_CLOSE, HIGHLIGHT_OPEN
from bot.corpus.search import MAX_TERMS, query_terms
from bot.corpus.service import CorpusService
from bot.storage.postgres.documents import PostgresCorpusStore
from bot.storage.postgres.errors import (
    DatabaseFault,
    DocumentNotStorable,
    SchemaTooNew,
    server_of,
)
from bot.storage.postgres.schema import SCHEMA_VERSION
from tests.postgres_server import PostgresServer, find_binaries, missing_reason
from tests.storage.conftest import bundled_documents

HOSTILE_QUERIES = [
    "\"unbalanced 'quotes",
    "a & b | !c <-> d:* (e",
    "media:* & !!!",
    "'; DROP TABLE documents; --",
    "1' OR '1'='1",
    "$1 $$ $2::text[] \\x00",
    "media\x00 manipulated\x00\x00",
    "\x00",
    "NEAR(a b) AND OR NOT *",
    "🙂 ⟦ ⟧ \u202e\u200b",
    "media " * 2000,
    "x" * 10_000,
    "".join(chr(c) for c in range(0x20, 0x3000, 7)),
]


async def test_migrations_run_once_even_when_processes_start_together(postgres_dsn: str) -> None:
    stores = await asyncio.gather(*(PostgresCorpusStore.open(postgres_dsn) for _ in range(3)))
    for store in stores:
        await store.close()
    conn = await asyncpg.connect(postgres_dsn)
    try:
        assert await conn.fetchval("SELECT version FROM corpus_bot_schema") == SCHEMA_VERSION
        assert await conn.fetchval("SELECT count(*) FROM corpus_bot_schema") == 1
    finally:
        await conn.close()


async def test_a_database_newer_than_the_code_is_refused(postgres_dsn: str) -> None:
    store = await PostgresCorpusStore.open(postgres_dsn)
    await store.close()
    conn = await asyncpg.connect(postgres_dsn)
    try:
        await conn.execute("UPDATE corpus_bot_schema SET version = 999")
    finally:
        await conn.close()
    with pytest.raises(SchemaTooNew, match="version 999, newer than"):
        await PostgresCorpusStore.open(postgres_dsn)


async def test_an_unreachable_server_is_one_clear_fault_without_the_password() -> None:
    dsn = "postgresql://bot:s3cret@/corpus?host=/nonexistent-corpus-bot-socket&port=5432"
    with pytest.raises(DatabaseFault) as caught:
        await PostgresCorpusStore.open(dsn)
    message = caught.value.message
    assert "/nonexistent-corpus-bot-socket" in message and "/corpus" in message
    assert "CORPUS_BOT_DATABASE_URL" in message
    assert "s3cret" not in message and "s3cret" not in caught.value.user_message


async def test_the_bundled_corpus_reads_back_as_the_sqlite_index_serves_it(
    pg_store: PostgresCorpusStore, service: CorpusService
) -> None:
    assert await pg_store.count_documents() == await service.store.count_documents()
    assert await pg_store.authors() == await service.store.authors()
    for author in await service.store.authors():
        assert await pg_store.posts_of_author(author.key) == await service.store.posts_of_author(
            author.key
        )
    for doc in bundled_documents():
        post = await pg_store.post(doc.id)
        stored = await service.store.document(doc.id)
        assert post is not None and stored is not None
        assert (post.ref, post.body, post.word_count) == (
            stored.ref,
            stored.body,
            stored.word_count,
        )
    assert await pg_store.post("no-such-post") is None


async def test_replacing_a_document_keeps_one_copy_and_its_new_authors(
    pg_store: PostgresCorpusStore,
) -> None:
    doc = next(d for d in bundled_documents() if d.id == "access-now-resigns-from-pai")
    changed = dataclasses.replace(doc, body=doc.body + "\n\nA zanzibarian postscript.")
    await pg_store.replace_documents([changed])
    assert await pg_store.count_documents() == len(bundled_documents())
    page = await pg_store.search_page(["zanzibarian"], limit=5)
    assert [ref.id for ref, _, _ in page.hits] == [doc.id]


@pytest.mark.parametrize("field", ["body", "title", "url"])
async def test_a_nul_character_in_a_document_is_refused_by_name_and_field(
    pg_store: PostgresCorpusStore, field: str
) -> None:
    doc = bundled_documents()[0]
    hostile = dataclasses.replace(doc, **{field: f"{getattr(doc, field)}\x00tail"})
    with pytest.raises(DocumentNotStorable, match=rf"document '{doc.id}': {field} holds a NUL"):
        await pg_store.replace_documents([hostile])
    post = await pg_store.post(doc.id)  # the stored version is untouched
    assert post is not None and post.body == doc.body


async def test_a_document_too_long_to_index_is_refused_by_name(
    pg_store: PostgresCorpusStore,
) -> None:
    doc = dataclasses.replace(bundled_documents()[0], id="huge", body="word " * 220_000)
    with pytest.raises(DocumentNotStorable, match="document 'huge': body is longer than"):
        await pg_store.copy_documents([doc])
    assert await pg_store.post("huge") is None


@pytest.mark.parametrize("text", HOSTILE_QUERIES, ids=range(len(HOSTILE_QUERIES)))
async def test_any_typed_input_is_a_search_never_an_error(
    pg_store: PostgresCorpusStore, text: str
) -> None:
    terms = query_terms(text)
    assert len(terms) <= MAX_TERMS
    if not terms:
        return  # the service answers "type at least one word" before the store is asked
    page = await pg_store.search_page(terms, limit=10)
    assert page.total >= len(page.hits)
    assert await pg_store.count_documents() == len(bundled_documents())


@pytest.mark.parametrize(
    "terms",
    [
        ["'", '"', "&", "|", "!", ":*", "<->", "(", ")"],
        ["drop table documents", "'; select pg_sleep(10); --"],
        ["a" * 5000, "b:*A", "c & d"],
    ],
)
async def test_terms_reaching_the_store_raw_are_still_only_words(
    pg_store: PostgresCorpusStore, terms: list[str]
) -> None:
    """Even terms that bypassed query_terms cannot reach tsquery's syntax or SQL."""
    page = await pg_store.search_page(terms, limit=10)
    assert page.total >= 0
    assert await pg_store.count_documents() == len(bundled_documents())


async def test_a_nul_in_raw_terms_is_a_clear_error(pg_store: PostgresCorpusStore) -> None:
    with pytest.raises(ValueError, match="must not hold NUL"):
        await pg_store.search_page(["media\x00"], limit=10)


SAME_ANSWERS = [
    "facial recognition",
    "manipulated media",
    "synthetic media",
    "diversity",
    "algorithmic fairness",
    "deepfakes",
    "ethics",
    "Saltz",
    "xyzzy plugh",
]


@pytest.mark.parametrize("query", SAME_ANSWERS)
async def test_search_finds_what_the_sqlite_index_finds(
    pg_store: PostgresCorpusStore, service: CorpusService, query: str
) -> None:
    """Same best hit and same documents as SQLite's FTS5 on the bundled corpus. The order after
    the first may differ where scores are close (bm25 and ts_rank_cd weigh length differently):
    "algorithmic fairness" and "Saltz" swap their 2nd and 3rd hits."""
    terms = query_terms(query)
    pg = await pg_store.search_page(terms, limit=10)
    sqlite = await service.store.search_page(terms, limit=10)
    assert pg.total == sqlite.total
    assert {ref.id for ref, _, _ in pg.hits} == {ref.id for ref, _, _ in sqlite.hits}
    if sqlite.hits:
        assert pg.hits[0][0] == sqlite.hits[0][0]
        snippet = pg.hits[0][1]
        assert HIGHLIGHT_OPEN in snippet and HIGHLIGHT_CLOSE in snippet
        assert len(snippet.split()) <= 40


async def test_stop_words_are_where_the_backends_differ(
    pg_store: PostgresCorpusStore, service: CorpusService
) -> None:
    """PostgreSQL's english configuration drops stop words: a query of stop words only finds
    nothing (SQLite lists the documents holding them), and a stop word in a query does not
    filter ("Access Now" is "access" there)."""
    assert (await pg_store.search_page(["the", "of"], limit=10)).total == 0
    assert (await service.store.search_page(["the", "of"], limit=10)).total > 0
    pg = await pg_store.search_page(query_terms("Access Now"), limit=10)
    sqlite = await service.store.search_page(query_terms("Access Now"), limit=10)
    assert pg.hits[0][0].id == sqlite.hits[0][0].id == "access-now-resigns-from-pai"
    assert pg.total > sqlite.total


async def test_pages_follow_each_other_and_past_the_end_is_empty_with_the_total(
    pg_store: PostgresCorpusStore,
) -> None:
    terms = query_terms("partnership")
    whole = await pg_store.search_page(terms, limit=20)
    assert whole.total == len(whole.hits) >= 3
    first = await pg_store.search_page(terms, limit=2)
    second = await pg_store.search_page(terms, limit=2, offset=2)
    assert [h[0].id for h in first.hits + second.hits] == [h[0].id for h in whole.hits[:4]]
    past = await pg_store.search_page(terms, limit=2, offset=100)
    assert past.hits == [] and past.total == whole.total


async def test_accents_fold_as_in_the_sqlite_index(pg_store: PostgresCorpusStore) -> None:
    doc = dataclasses.replace(
        bundled_documents()[0], id="accents", body="Le café de Zoë Müller est très résumé."
    )
    await pg_store.replace_documents([doc])
    for typed in ("cafe", "CAFÉ", "muller", "resume"):
        page = await pg_store.search_page(query_terms(typed), limit=5)
        assert "accents" in [ref.id for ref, _, _ in page.hits], typed


async def test_sessions_ended_under_the_store_are_replaced_by_the_pool(
    pg_store: PostgresCorpusStore, postgres_dsn: str
) -> None:
    """The server ends the pool's sessions (a failover, an operator): a search at that moment
    works or is one DatabaseFault (asyncpg may see the end mid-statement), and the pool replaces
    the dead sessions, so the searches after it work."""
    admin = await asyncpg.connect(postgres_dsn)
    try:
        ended = await admin.fetchval(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        assert ended >= 1
    finally:
        await admin.close()
    with contextlib.suppress(DatabaseFault):
        await pg_store.search_page(["media"], limit=5)
    for _ in range(3):
        assert (await pg_store.search_page(["media"], limit=5)).hits


async def test_a_server_gone_is_one_clear_fault_not_a_driver_error() -> None:
    binaries = find_binaries()
    if binaries is None:
        pytest.skip(missing_reason())
    server = PostgresServer(binaries)
    try:
        dsn = await asyncio.to_thread(server.start)
        store = await PostgresCorpusStore.open(dsn)
        await store.copy_documents(bundled_documents())
        await asyncio.to_thread(server.stop)
        for call in (
            store.search_page(["media"], limit=5),
            store.post("labeling-manipulated-media"),
            store.replace_documents(bundled_documents()[:1]),
        ):
            with pytest.raises(DatabaseFault, match="cannot be used") as caught:
                await call
            assert "CORPUS_BOT_DATABASE_URL" in caught.value.message
            assert caught.value.user_message.startswith("The bot cannot reach its database")
        store._pool.terminate()
    finally:
        await asyncio.to_thread(server.stop)


def test_messages_name_the_server_never_the_password() -> None:
    assert server_of("postgresql://bot:s3cret@db.example:6543/corpus") == "db.example:6543/corpus"
    assert server_of("postgresql://bot@/corpus?host=/run/pg") == "/run/pg/corpus"
    assert server_of("postgresql://bot:s3cret@db.example:port/corpus") == "db.example/corpus"
