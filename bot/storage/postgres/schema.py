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
CHANGE_LOCK = 0x636F7270_7573_0003
"""The transaction-level advisory lock every transaction that writes documents holds from its
first document row to its commit (migration 3's trigger): change numbers commit in order."""
CHANGES_CHANNEL = "corpus_changed"
"""What a commit that changed documents notifies (LISTEN corpus_changed)."""

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
    # 3 (after the feed's 2): the document change log every process's SQLite replica pulls
    # (bot/storage/postgres/replica.py), and the summary cache they share.
    # - Every insert or update of a document takes the next `document_changes` number into
    #   `changed_seq`, and every delete leaves the id in `document_removals` with one: set by
    #   triggers, so no writer (a publish, the feed's poller, psql) can forget. An id inserted
    #   again leaves `document_removals`, so that table holds only ids absent now.
    # - Numbers are handed out in commit order: each writing transaction first takes the
    #   transaction-level advisory lock CHANGE_LOCK (held until it commits), so no number can
    #   commit after a greater one was seen. A replica's "everything up to N" is then exact.
    #   (Without it, a transaction that took 10 and committed after one that took 11 would be
    #   missed forever by a replica that read 11 in between.)
    # - TRUNCATE fires no row trigger, so it is refused: a replica would never hear of it.
    # - `NOTIFY corpus_changed` from the row triggers: PostgreSQL delivers one per transaction
    #   (identical notifications of a transaction are folded into one) at its commit, none on
    #   a rollback. The payload is empty: a listener pulls what changed.
    # - documents_origin_ids: a publish walks the corpus documents' (id, content_hash) in id
    #   order from the index alone, in byte order (collation "C"), the order SQLite and Python
    #   compare ids in.
    # - summaries: as SQLite's (content_hash, params, sentences as JSON text, total_sentences),
    #   numbered from their own sequence on every write: a cache, pulled with the documents but
    #   not under the documents' lock (a summary missed is computed again, never wrong).
    # - corpus_bot_identity: one random id per database, which a replica records: a replica.db
    #   pointed at another database (a new one, restored, recreated) is refilled, never mixed.
    f"""
    CREATE SEQUENCE document_changes AS bigint;
    ALTER TABLE documents ADD COLUMN changed_seq bigint;
    UPDATE documents SET changed_seq = nextval('document_changes');
    ALTER TABLE documents ALTER COLUMN changed_seq SET NOT NULL;
    CREATE INDEX documents_changed ON documents (changed_seq);
    CREATE INDEX documents_origin_ids ON documents (origin, id COLLATE "C") INCLUDE (content_hash);

    CREATE TABLE document_removals (
        id text PRIMARY KEY,
        removed_seq bigint NOT NULL
    );
    CREATE INDEX document_removals_changed ON document_removals (removed_seq);

    CREATE FUNCTION document_changed() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        PERFORM pg_advisory_xact_lock({CHANGE_LOCK});
        PERFORM pg_notify('{CHANGES_CHANNEL}', '');
        IF TG_OP = 'DELETE' OR (TG_OP = 'UPDATE' AND NEW.id <> OLD.id) THEN
            INSERT INTO document_removals (id, removed_seq)
            VALUES (OLD.id, nextval('document_changes'))
            ON CONFLICT (id) DO UPDATE SET removed_seq = excluded.removed_seq;
        END IF;
        IF TG_OP = 'DELETE' THEN
            RETURN OLD;
        END IF;
        IF TG_OP = 'INSERT' OR NEW.id <> OLD.id THEN
            DELETE FROM document_removals WHERE id = NEW.id;
        END IF;
        NEW.changed_seq := nextval('document_changes');
        RETURN NEW;
    END
    $$;
    CREATE TRIGGER documents_changed BEFORE INSERT OR UPDATE ON documents
        FOR EACH ROW EXECUTE FUNCTION document_changed();
    CREATE TRIGGER documents_removed AFTER DELETE ON documents
        FOR EACH ROW EXECUTE FUNCTION document_changed();
    CREATE FUNCTION documents_not_truncated() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        RAISE EXCEPTION 'documents are deleted, never truncated: replicas follow deletes only';
    END
    $$;
    CREATE TRIGGER documents_not_truncated BEFORE TRUNCATE ON documents
        FOR EACH STATEMENT EXECUTE FUNCTION documents_not_truncated();

    CREATE SEQUENCE summary_changes AS bigint;
    CREATE TABLE summaries (
        content_hash text NOT NULL,
        params text NOT NULL,
        sentences text NOT NULL,            -- JSON list of verbatim sentences
        total_sentences integer,
        changed_seq bigint NOT NULL DEFAULT nextval('summary_changes'),
        PRIMARY KEY (content_hash, params)
    );
    CREATE INDEX summaries_changed ON summaries (changed_seq);

    CREATE TABLE corpus_bot_identity (id uuid NOT NULL DEFAULT gen_random_uuid());
    INSERT INTO corpus_bot_identity DEFAULT VALUES;
    """,  # noqa: S608 - constants
    # 4: small facts every process shares, by key: the fingerprints of the command trees synced
    # to Discord (bot/discord_app/sync.py), so one process's sync counts for all of them.
    """
    CREATE TABLE shared_meta (key text PRIMARY KEY, value text NOT NULL);
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
