"""The PostgreSQL schema and its forward migrations, as bot/corpus/schema.py has SQLite's.

`corpus_bot_schema.version` holds how many migrations were applied. They run in one
transaction under a transaction-level advisory lock, so processes that start together apply each
migration once and the others wait, then see it done; a database newer than this code is refused.

Search: a stored, generated `tsvector` per document with a GIN index, made with the text search
configuration `corpus_english`: PostgreSQL's `english` (Snowball stemming, English stop words)
with `unaccent` first, since the SQLite index folds accents too (`remove_diacritics 2`). Weights
mirror SQLite's bm25 column weights: title A, subtitle and authors B, body D.

Needs PostgreSQL 14 or later built with lz4 (bodies and tsvectors are compressed with it: a
search reads hundreds of tsvectors, and lz4 decompresses several times faster than pglz) and the
`unaccent` extension (contrib; a trusted extension, so the database's owner may create it).
Debian's and the major hosted services' PostgreSQL have both.
"""

from __future__ import annotations

from typing import TypeAlias

import asyncpg
from asyncpg.pool import PoolConnectionProxy

from bot.storage.postgres.errors import SchemaTooNew

Connection: TypeAlias = "asyncpg.Connection[asyncpg.Record] | PoolConnectionProxy[asyncpg.Record]"
"""A connection of its own or one lent by a pool: both run statements alike."""

SEARCH_CONFIG = "corpus_english"
MIGRATION_LOCK = 0x636F7270_7573_0001
"""The advisory lock key migrations hold (an arbitrary 64-bit constant: 'corpus' and 1)."""

MIGRATIONS: tuple[str, ...] = (
    # 1: documents, authors, full-text search.
    """
    CREATE EXTENSION IF NOT EXISTS unaccent;
    CREATE TEXT SEARCH CONFIGURATION corpus_english (COPY = pg_catalog.english);
    ALTER TEXT SEARCH CONFIGURATION corpus_english
        ALTER MAPPING FOR hword, hword_part, word WITH unaccent, english_stem;

    CREATE TABLE documents (
        pk bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        id text NOT NULL UNIQUE,
        origin text NOT NULL,               -- 'corpus' or 'feed:<source name>'
        source_path text,
        title text,
        display_title text NOT NULL,
        title_source text NOT NULL,         -- 'given' | 'inferred' | 'derived'
        title_key text NOT NULL,
        subtitle text,
        authors text NOT NULL DEFAULT '',   -- names joined by '; ', for search only
        author_names jsonb NOT NULL DEFAULT '[]',
        published date,
        url text,
        publisher text,
        kind text NOT NULL,
        excerpt boolean NOT NULL,
        body text COMPRESSION lz4 NOT NULL,
        word_count integer NOT NULL,
        annotations jsonb NOT NULL DEFAULT '{}',
        reasons jsonb NOT NULL DEFAULT '[]',
        content_hash text NOT NULL,
        added_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now(),
        search tsvector COMPRESSION lz4 GENERATED ALWAYS AS (
            setweight(to_tsvector('corpus_english', display_title), 'A')
            || setweight(to_tsvector('corpus_english', coalesce(subtitle, '')), 'B')
            || setweight(to_tsvector('corpus_english', authors), 'B')
            || setweight(to_tsvector('corpus_english', body), 'D')
        ) STORED
    );
    CREATE INDEX documents_search ON documents USING gin (search)
        WITH (fastupdate = on, gin_pending_list_limit = 512);
    CREATE INDEX documents_title_key ON documents (title_key);
    CREATE INDEX documents_url ON documents (url);

    CREATE TABLE authors (
        id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        key text NOT NULL UNIQUE,           -- bot.corpus.names.name_key
        name text NOT NULL                  -- as first printed
    );
    CREATE TABLE document_authors (
        doc_pk bigint NOT NULL REFERENCES documents (pk) ON DELETE CASCADE,
        position integer NOT NULL,
        author_id bigint NOT NULL REFERENCES authors (id),
        affiliation text,
        published date,
        PRIMARY KEY (doc_pk, position)
    );
    CREATE INDEX document_authors_newest
        ON document_authors (author_id, published DESC NULLS LAST, doc_pk);
    """,
)
SCHEMA_VERSION = len(MIGRATIONS)


async def migrate(conn: Connection) -> int:
    """Apply the migrations this database lacks; return the version it had before."""
    async with conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock($1)", MIGRATION_LOCK)
        await conn.execute(
            "CREATE TABLE IF NOT EXISTS corpus_bot_schema (version integer NOT NULL)"
        )
        version = await conn.fetchval("SELECT version FROM corpus_bot_schema")
        if version is None:
            await conn.execute("INSERT INTO corpus_bot_schema (version) VALUES (0)")
            version = 0
        if version > SCHEMA_VERSION:
            raise SchemaTooNew(version, SCHEMA_VERSION)
        for script in MIGRATIONS[version:]:
            await conn.execute(script)
        await conn.execute("UPDATE corpus_bot_schema SET version = $1", SCHEMA_VERSION)
    return int(version)
