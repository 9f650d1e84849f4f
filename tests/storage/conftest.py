"""Fixtures of the PostgreSQL backend's tests: a store over a fresh database of the session's
real server (tests/postgres_server.py), holding the bundled corpus."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from bot.corpus.loader import scan_corpus
from bot.corpus.models import Document
from bot.storage.postgres.documents import PostgresCorpusStore
from tests.conftest import BUNDLED_CORPUS


def bundled_documents() -> list[Document]:
    """The bundled corpus, parsed as a reload parses it."""
    files = scan_corpus(BUNDLED_CORPUS, max_bytes=1_000_000).files
    return [f.document for f in files if f.document is not None]


@pytest.fixture
async def pg_store(postgres_dsn: str) -> AsyncIterator[PostgresCorpusStore]:
    """A PostgreSQL store holding the bundled corpus."""
    store = await PostgresCorpusStore.open(postgres_dsn)
    try:
        await store.copy_documents(bundled_documents())
        await store.analyze()
        yield store
    finally:
        await store.close()
