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
    # 2: the feed (bot/feeds/store.py runs the same SQL here as on SQLite): each source's fetch
    # state and seen-set, the feeds followed, subscriptions with their filters and formats, the
    # outbox, its batches ("+N more", digests) and publishes. The same tables and columns as
    # SQLite's (bot/corpus/schema.py, migrations 2, 5, 8, 11 and 12), typed as the store writes
    # them there: times as ISO-8601 text (to_iso: one fixed-width form, so text order is time
    # order), flags and counts as integer, JSON as text, Discord ids as bigint, and an identity
    # where SQLite has INTEGER PRIMARY KEY (the outbox's id is its creation order: the sender
    # drains oldest first). documents_corpus_ids: corpus detection's keyset walk over the corpus
    # documents in id order (feeds.store.corpus_changes), a range scan per page.
    """
    CREATE TABLE feed_sources (
        name text PRIMARY KEY,
        url text,
        baseline_at text,
        etag text,
        last_modified text,
        last_fetch_at text,
        last_success_at text,
        last_new_item_at text,
        error_streak integer NOT NULL DEFAULT 0,
        last_error text,
        next_attempt_at text,
        failing integer NOT NULL DEFAULT 0,
        warnings text NOT NULL DEFAULT '[]'
    );

    CREATE TABLE feed_seen (
        source text NOT NULL,
        item_key text NOT NULL,
        entry_id text NOT NULL,
        content_hash text NOT NULL,
        first_seen_at text NOT NULL,
        PRIMARY KEY (source, item_key)
    );

    CREATE TABLE feed_source_list (
        name text PRIMARY KEY,
        url text NOT NULL,
        origin text NOT NULL CHECK (origin IN ('config', 'added')),
        added_at text NOT NULL,
        added_by text
    );

    CREATE TABLE feed_subscriptions (
        id bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
        guild_id bigint NOT NULL,
        channel_id bigint NOT NULL UNIQUE,
        source text,
        author text,
        keyword text,
        mention_role_id bigint,
        mode text NOT NULL CHECK (mode IN ('instant', 'digest')),
        digest_minute integer CHECK (digest_minute BETWEEN 0 AND 1439),
        created_by bigint NOT NULL,
        created_at text NOT NULL,
        paused_reason text,
        paused_detail text,
        paused_at text,
        pause_reported_at text,
        retry_at text,
        retry_streak integer NOT NULL DEFAULT 0,
        last_error text,
        last_announced_at text,
        last_digest_at text,
        destination text NOT NULL DEFAULT 'channel'
            CHECK (destination IN ('channel', 'forum', 'thread')),
        forum_tag_ids text NOT NULL DEFAULT '[]',
        publish integer NOT NULL DEFAULT 0,
        discussion_thread integer NOT NULL DEFAULT 0,
        match_mode text NOT NULL DEFAULT 'all' CHECK (match_mode IN ('all', 'any')),
        message_format text NOT NULL DEFAULT 'embed'
            CHECK (message_format IN ('embed', 'compact', 'components')),
        filter_conditions text NOT NULL DEFAULT '[]'
            CHECK (json_typeof(filter_conditions::json) = 'array')
    );
    CREATE INDEX feed_subscriptions_guild ON feed_subscriptions (guild_id);

    CREATE TABLE feed_batches (
        id bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
        subscription_id bigint NOT NULL REFERENCES feed_subscriptions (id) ON DELETE CASCADE,
        kind text NOT NULL CHECK (kind IN ('more', 'digest')),
        created_at text NOT NULL,
        message_id bigint,
        sent_at text,
        attempted_at text
    );
    CREATE INDEX feed_batches_subscription ON feed_batches (subscription_id);

    CREATE TABLE feed_outbox (
        id bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
        subscription_id bigint NOT NULL REFERENCES feed_subscriptions (id) ON DELETE CASCADE,
        entry_id text NOT NULL,
        source text NOT NULL,
        state text NOT NULL DEFAULT 'pending'
            CHECK (state IN ('pending', 'sent', 'rejected', 'skipped')),
        batch_id bigint REFERENCES feed_batches (id) ON DELETE SET NULL,
        attempts integer NOT NULL DEFAULT 0,
        last_error text,
        created_at text NOT NULL,
        sent_at text,
        message_id bigint,
        posted_hash text,
        needs_edit integer NOT NULL DEFAULT 0,
        attempted_at text,
        UNIQUE (subscription_id, entry_id)
    );
    CREATE INDEX feed_outbox_pending ON feed_outbox (subscription_id, id) WHERE state = 'pending';
    CREATE INDEX feed_outbox_edits ON feed_outbox (subscription_id) WHERE needs_edit = 1;
    CREATE INDEX feed_outbox_entry ON feed_outbox (entry_id);
    CREATE INDEX feed_outbox_batch ON feed_outbox (batch_id) WHERE batch_id IS NOT NULL;

    CREATE TABLE feed_publishes (
        message_id bigint PRIMARY KEY,
        subscription_id bigint NOT NULL REFERENCES feed_subscriptions (id) ON DELETE CASCADE,
        channel_id bigint NOT NULL,
        state text NOT NULL CHECK (state IN ('pending', 'published', 'failed')),
        due_at text NOT NULL,
        published_at text,
        last_error text
    );
    CREATE INDEX feed_publishes_due ON feed_publishes (subscription_id, state, due_at);
    CREATE INDEX feed_publishes_hour ON feed_publishes (channel_id, published_at)
        WHERE published_at IS NOT NULL;

    CREATE INDEX documents_corpus_ids ON documents (origin, id, content_hash);
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
