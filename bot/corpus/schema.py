"""The index's schema and its forward migrations.

`PRAGMA user_version` holds the schema version. Each migration is a script applied once, in
order, inside one transaction; a database newer than this code is refused rather than guessed at.
Later features (the feed) add their tables as new migrations, never by editing old ones.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable

from bot.corpus.passages import backfill_passages

MIGRATIONS: tuple[str, ...] = (
    # 1: documents, authors, full-text index, summary cache, key/value metadata.
    """
    CREATE TABLE documents (
        pk INTEGER PRIMARY KEY,
        id TEXT NOT NULL UNIQUE,
        origin TEXT NOT NULL,               -- 'corpus' or 'feed:<source name>'
        source_path TEXT,                   -- corpus files: path relative to the corpus folder
        title TEXT,                         -- the document's own title, NULL when unknown
        display_title TEXT NOT NULL,        -- what is shown: title, inferred title, or opening words
        title_source TEXT NOT NULL,         -- 'given' | 'inferred' | 'derived'
        title_key TEXT NOT NULL,            -- display_title folded for matching
        subtitle TEXT,
        authors TEXT NOT NULL DEFAULT '',   -- author names joined by '; ', for full-text search
        published TEXT,                     -- ISO date, NULL when unknown
        url TEXT,
        publisher TEXT,
        kind TEXT NOT NULL,
        excerpt INTEGER NOT NULL,
        body TEXT NOT NULL,
        word_count INTEGER NOT NULL,
        annotations TEXT NOT NULL DEFAULT '{}',
        reasons TEXT NOT NULL DEFAULT '[]',
        content_hash TEXT NOT NULL,
        file_size INTEGER,
        file_mtime_ns INTEGER,
        added_at TEXT NOT NULL,
        updated_at TEXT NOT NULL
    );
    CREATE INDEX documents_title_key ON documents (title_key);
    CREATE INDEX documents_published ON documents (published);
    CREATE INDEX documents_origin ON documents (origin, source_path);

    CREATE TABLE authors (
        id INTEGER PRIMARY KEY,
        key TEXT NOT NULL UNIQUE,           -- normalized name (names.name_key)
        name TEXT NOT NULL                  -- as first printed
    );
    CREATE TABLE document_authors (
        doc_id TEXT NOT NULL REFERENCES documents (id) ON DELETE CASCADE,
        position INTEGER NOT NULL,
        author_id INTEGER NOT NULL REFERENCES authors (id),
        affiliation TEXT,
        PRIMARY KEY (doc_id, position)
    ) WITHOUT ROWID;
    CREATE INDEX document_authors_author ON document_authors (author_id);

    CREATE VIRTUAL TABLE documents_fts USING fts5 (
        display_title, subtitle, authors, body,
        content = 'documents', content_rowid = 'pk',
        tokenize = 'porter unicode61 remove_diacritics 2'
    );
    CREATE TRIGGER documents_fts_insert AFTER INSERT ON documents BEGIN
        INSERT INTO documents_fts (rowid, display_title, subtitle, authors, body)
        VALUES (new.pk, new.display_title, new.subtitle, new.authors, new.body);
    END;
    CREATE TRIGGER documents_fts_delete AFTER DELETE ON documents BEGIN
        INSERT INTO documents_fts (documents_fts, rowid, display_title, subtitle, authors, body)
        VALUES ('delete', old.pk, old.display_title, old.subtitle, old.authors, old.body);
    END;
    CREATE TRIGGER documents_fts_update AFTER UPDATE OF display_title, subtitle, authors, body
    ON documents BEGIN
        INSERT INTO documents_fts (documents_fts, rowid, display_title, subtitle, authors, body)
        VALUES ('delete', old.pk, old.display_title, old.subtitle, old.authors, old.body);
        INSERT INTO documents_fts (rowid, display_title, subtitle, authors, body)
        VALUES (new.pk, new.display_title, new.subtitle, new.authors, new.body);
    END;

    CREATE VIRTUAL TABLE authors_fts USING fts5 (
        key, content = 'authors', content_rowid = 'id',
        tokenize = 'unicode61 remove_diacritics 2'
    );
    CREATE TRIGGER authors_fts_insert AFTER INSERT ON authors BEGIN
        INSERT INTO authors_fts (rowid, key) VALUES (new.id, new.key);
    END;
    CREATE TRIGGER authors_fts_delete AFTER DELETE ON authors BEGIN
        INSERT INTO authors_fts (authors_fts, rowid, key) VALUES ('delete', old.id, old.key);
    END;

    CREATE TABLE summaries (
        content_hash TEXT NOT NULL,
        params TEXT NOT NULL,
        sentences TEXT NOT NULL,            -- JSON list of verbatim sentences
        PRIMARY KEY (content_hash, params)
    ) WITHOUT ROWID;

    CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
    """,
    # 2: the feed: each source's fetch state and seen-set, subscriptions, and the outbox that
    # detection fills and the sender drains (see bot/feeds/store.py). Times are ISO-8601 UTC.
    """
    CREATE TABLE feed_sources (
        name TEXT PRIMARY KEY,              -- 'corpus' or a configured feed's name
        url TEXT,                           -- the URL the validators below belong to
        baseline_at TEXT,                   -- first successful check (its entries are not announced)
        etag TEXT,
        last_modified TEXT,
        last_fetch_at TEXT,
        last_success_at TEXT,
        last_new_item_at TEXT,
        error_streak INTEGER NOT NULL DEFAULT 0,
        last_error TEXT,
        next_attempt_at TEXT,
        failing INTEGER NOT NULL DEFAULT 0, -- failed too often in a row: shown as paused
        warnings TEXT NOT NULL DEFAULT '[]' -- JSON list from the last parse
    ) WITHOUT ROWID;

    CREATE TABLE feed_seen (
        source TEXT NOT NULL,
        item_key TEXT NOT NULL,             -- Atom id / RSS guid / normalized link / hash; corpus: doc id
        entry_id TEXT NOT NULL,             -- documents.id
        content_hash TEXT NOT NULL,         -- as last seen: a change means "edit the posts"
        first_seen_at TEXT NOT NULL,
        PRIMARY KEY (source, item_key)
    ) WITHOUT ROWID;

    CREATE TABLE feed_subscriptions (
        id INTEGER PRIMARY KEY,
        guild_id INTEGER NOT NULL,
        channel_id INTEGER NOT NULL UNIQUE,
        source TEXT,                        -- NULL: every source
        author TEXT,
        keyword TEXT,
        mention_role_id INTEGER,
        mode TEXT NOT NULL CHECK (mode IN ('instant', 'digest')),
        digest_minute INTEGER CHECK (digest_minute BETWEEN 0 AND 1439),
        created_by INTEGER NOT NULL,
        created_at TEXT NOT NULL,
        paused_reason TEXT,                 -- missing_permission | channel_missing | rejected
        paused_detail TEXT,
        paused_at TEXT,
        pause_reported_at TEXT,
        retry_at TEXT,                      -- 5xx/429: not before this time
        retry_streak INTEGER NOT NULL DEFAULT 0,
        last_error TEXT,
        last_announced_at TEXT,
        last_digest_at TEXT
    );
    CREATE INDEX feed_subscriptions_guild ON feed_subscriptions (guild_id);

    CREATE TABLE feed_batches (
        id INTEGER PRIMARY KEY,
        subscription_id INTEGER NOT NULL REFERENCES feed_subscriptions (id) ON DELETE CASCADE,
        kind TEXT NOT NULL CHECK (kind IN ('more', 'digest')),
        created_at TEXT NOT NULL,
        message_id INTEGER,
        sent_at TEXT
    );
    CREATE INDEX feed_batches_subscription ON feed_batches (subscription_id);

    CREATE TABLE feed_outbox (
        id INTEGER PRIMARY KEY,             -- creation order: the sender drains oldest first
        subscription_id INTEGER NOT NULL REFERENCES feed_subscriptions (id) ON DELETE CASCADE,
        entry_id TEXT NOT NULL,
        source TEXT NOT NULL,
        state TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'sent', 'rejected', 'skipped')),
        batch_id INTEGER REFERENCES feed_batches (id) ON DELETE SET NULL,
        attempts INTEGER NOT NULL DEFAULT 0,
        last_error TEXT,
        created_at TEXT NOT NULL,
        sent_at TEXT,
        message_id INTEGER,
        posted_hash TEXT,                   -- the entry's content hash when it was posted
        needs_edit INTEGER NOT NULL DEFAULT 0,
        UNIQUE (subscription_id, entry_id)
    );
    CREATE INDEX feed_outbox_pending ON feed_outbox (subscription_id, id) WHERE state = 'pending';
    CREATE INDEX feed_outbox_edits ON feed_outbox (subscription_id) WHERE needs_edit = 1;
    CREATE INDEX feed_outbox_entry ON feed_outbox (entry_id);
    """,
    # 3: answers in milliseconds at 100,000 documents (bench/bench_index.py).
    # - titles_fts: the shown titles alone, with prefix indexes for 1-3 characters. Title lookup
    #   and autocomplete matched `display_title : (...)` in documents_fts, whose doclists mix every
    #   column's tokens; this index is small and answers a typed prefix without a term scan.
    # - authors.posts: each author's post count, kept by triggers, so the author list and "N
    #   posts" no longer count document_authors rows on every call.
    # - document_authors.published (copied from the document when the link is written) and an
    #   index (author_id, published DESC, doc_id): an author's newest posts are read in index
    #   order, a page at a time, instead of sorting all of a prolific author's posts.
    # - documents_newest (published DESC, display_title): "newest first" listings without a sort.
    # - documents_files: a covering index for what a reload compares (path, id, size, mtime,
    #   hash); those columns follow the body in the row, so reading them from the table walked
    #   every document's overflow pages.
    # - documents_with_reasons: a partial index, for the same reason (reasons follows the body).
    # - summaries.total_sentences: a cached summary also answers "how many sentences in all"
    #   without splitting the text again.
    """
    CREATE VIRTUAL TABLE titles_fts USING fts5 (
        display_title, content = 'documents', content_rowid = 'pk',
        tokenize = 'porter unicode61 remove_diacritics 2', prefix = '1 2 3'
    );
    INSERT INTO titles_fts (titles_fts) VALUES ('rebuild');
    CREATE TRIGGER titles_fts_insert AFTER INSERT ON documents BEGIN
        INSERT INTO titles_fts (rowid, display_title) VALUES (new.pk, new.display_title);
    END;
    CREATE TRIGGER titles_fts_delete AFTER DELETE ON documents BEGIN
        INSERT INTO titles_fts (titles_fts, rowid, display_title) VALUES ('delete', old.pk, old.display_title);
    END;
    CREATE TRIGGER titles_fts_update AFTER UPDATE OF display_title ON documents BEGIN
        INSERT INTO titles_fts (titles_fts, rowid, display_title) VALUES ('delete', old.pk, old.display_title);
        INSERT INTO titles_fts (rowid, display_title) VALUES (new.pk, new.display_title);
    END;

    ALTER TABLE authors ADD COLUMN posts INTEGER NOT NULL DEFAULT 0;
    UPDATE authors SET posts = (SELECT count(*) FROM document_authors da WHERE da.author_id = authors.id);
    CREATE INDEX authors_most_posts ON authors (posts DESC, key);
    CREATE TRIGGER document_authors_count_insert AFTER INSERT ON document_authors BEGIN
        UPDATE authors SET posts = posts + 1 WHERE id = new.author_id;
    END;
    CREATE TRIGGER document_authors_count_delete AFTER DELETE ON document_authors BEGIN
        UPDATE authors SET posts = posts - 1 WHERE id = old.author_id;
    END;

    ALTER TABLE document_authors ADD COLUMN published TEXT;
    UPDATE document_authors SET published = (SELECT d.published FROM documents d WHERE d.id = document_authors.doc_id);
    CREATE INDEX document_authors_newest ON document_authors (author_id, published DESC, doc_id);
    DROP INDEX document_authors_author;
    CREATE TRIGGER documents_published_update AFTER UPDATE OF published ON documents BEGIN
        UPDATE document_authors SET published = new.published WHERE doc_id = new.id;
    END;

    DROP INDEX documents_published;
    CREATE INDEX documents_newest ON documents (published DESC, display_title);
    DROP INDEX documents_origin;
    CREATE INDEX documents_files ON documents (origin, source_path, id, file_size, file_mtime_ns, content_hash);
    CREATE INDEX documents_with_reasons ON documents (published DESC, id) WHERE reasons != '[]';

    ALTER TABLE summaries ADD COLUMN total_sentences INTEGER;
    """,
    # 4: the feed's corpus detection walks corpus documents in id order a page at a time
    # (bot.feeds.store.corpus_changes, bounded memory): with this covering index each page is a
    # range scan; without it every page rescanned and sorted the corpus's entries of
    # documents_files (4.6 s for 100,000 new documents, 0.1 s with it).
    """
    CREATE INDEX documents_corpus_ids ON documents (origin, id, content_hash);
    """,
    # 5: the feed's sender marks a post as attempted (with its time) before sending it, so a
    # resend after a crash longer ago than Discord's nonce window first looks for the message in
    # the channel instead of posting it twice (bot/feeds/delivery.py).
    """
    ALTER TABLE feed_outbox ADD COLUMN attempted_at TEXT;
    ALTER TABLE feed_batches ADD COLUMN attempted_at TEXT;
    """,
    # 6: a document's author names as a JSON array, what answers show. `documents.authors` joined
    # them with '; ' (it stays, for the full-text index), so "Smith; Jones", one author, showed as
    # two on a post and as one in /authors. Existing rows: the joined text split on '; ' where
    # that gives as many names as the document has author links (the names as printed), else the
    # linked authors' names in byline order (a name held '; ', or a byline named someone twice).
    """
    ALTER TABLE documents ADD COLUMN author_names TEXT NOT NULL DEFAULT '[]';
    UPDATE documents SET author_names = CASE
        WHEN authors = '' THEN '[]'
        WHEN (length(authors) - length(replace(authors, '; ', ''))) / 2 + 1
             = (SELECT count(*) FROM document_authors da WHERE da.doc_id = documents.id)
        THEN '[' || replace(json_quote(authors), '; ', '", "') || ']'
        ELSE (SELECT json_group_array(name) FROM (
            SELECT a.name AS name FROM document_authors da JOIN authors a ON a.id = da.author_id
            WHERE da.doc_id = documents.id ORDER BY da.position))
    END;
    """,
    # 7: passages for `ask` (bot/corpus/passages.py): a paragraph, or a window of a few sentences
    # of a long one, stored as a span of the body (never a copy of its text), and a contentless
    # FTS5 index over them with the document's shown title as a second column (a title match is
    # a ranking signal). A passage's rowid is documents.pk * 2^20 + its ordinal, so a document's
    # passages are one rowid range: the trigger below forgets them with their document (a
    # contentless index must be given the text it forgets: the same slice of the old body).
    # Documents are replaced (deleted and inserted), never edited in their title or body: an
    # edit would leave the passages stale, so it is refused. Existing documents get their
    # passages from `passages.backfill_passages`, run in this migration's transaction.
    """
    CREATE TABLE passages (
        id INTEGER PRIMARY KEY,             -- documents.pk * 1048576 + ordinal
        paragraph INTEGER NOT NULL,         -- 1-based, as loader.paragraphs counts
        start INTEGER NOT NULL,             -- offset of the first character in documents.body
        length INTEGER NOT NULL             -- in characters: the text is substr(body, start + 1, length)
    );
    CREATE VIRTUAL TABLE passages_fts USING fts5 (
        title, text, content = '',
        tokenize = 'porter unicode61 remove_diacritics 2'
    );
    CREATE TRIGGER passages_delete AFTER DELETE ON documents BEGIN
        INSERT INTO passages_fts (passages_fts, rowid, title, text)
        SELECT 'delete', p.id, old.display_title, substr(old.body, p.start + 1, p.length)
        FROM passages p WHERE p.id BETWEEN old.pk * 1048576 AND old.pk * 1048576 + 1048575;
        DELETE FROM passages WHERE id BETWEEN old.pk * 1048576 AND old.pk * 1048576 + 1048575;
    END;
    CREATE TRIGGER passages_stale BEFORE UPDATE OF display_title, body ON documents
    WHEN old.display_title IS NOT new.display_title OR old.body IS NOT new.body BEGIN
        SELECT RAISE(ABORT, 'documents are replaced, not edited: passages would go stale');
    END;
    """,
    # 8: feed sources: the feeds followed, kept in the index so a
    # source added from Discord or the CLI survives restarts. `origin` is 'config' for a source
    # seeded from feed.sources (the config stays its owner: it is re-seeded at each start and
    # dropped when the config no longer lists it) or 'added' for one an admin added.
    """
    CREATE TABLE IF NOT EXISTS feed_source_list (
        name TEXT PRIMARY KEY,
        url TEXT NOT NULL,
        origin TEXT NOT NULL CHECK (origin IN ('config', 'added')),
        added_at TEXT NOT NULL,
        added_by TEXT
    ) WITHOUT ROWID;
    """,
    # 9: the parts of each document's id, indexed, so a post can be found by a word of its id
    # ("h5n1" in lessons-from-the-h5n1-controversy) with an index lookup. A LIKE over every id
    # took 25-40 ms at 100,000 documents, and over the rows 240 ms: every misspelled title paid
    # it (bench_index). unicode61 splits an id at its hyphens, so each part is a token.
    """
    CREATE VIRTUAL TABLE ids_fts USING fts5 (
        id, content = 'documents', content_rowid = 'pk', tokenize = 'unicode61'
    );
    INSERT INTO ids_fts (ids_fts) VALUES ('rebuild');
    CREATE TRIGGER ids_fts_insert AFTER INSERT ON documents BEGIN
        INSERT INTO ids_fts (rowid, id) VALUES (new.pk, new.id);
    END;
    CREATE TRIGGER ids_fts_delete AFTER DELETE ON documents BEGIN
        INSERT INTO ids_fts (ids_fts, rowid, id) VALUES ('delete', old.pk, old.id);
    END;
    CREATE TRIGGER ids_fts_update AFTER UPDATE OF id ON documents BEGIN
        INSERT INTO ids_fts (ids_fts, rowid, id) VALUES ('delete', old.pk, old.id);
        INSERT INTO ids_fts (rowid, id) VALUES (new.pk, new.id);
    END;
    """,
    # 10: documents by their URL, for "Summarize linked post" (a message's links looked up by
    # every spelling of each, bot/corpus/links.py): without it each lookup read every row.
    """
    CREATE INDEX documents_url ON documents (url);
    """,
    # 11 (issue #12, feed destinations): where and how a subscription announces. `destination`
    # is 'channel' (messages in a text or announcement channel), 'forum' (a post per entry in a
    # forum or media channel, with the tags `forum_tag_ids`, a JSON list of ids) or 'thread'
    # (messages in an existing thread, the subscription's channel_id). `publish`: crosspost
    # each announcement to the channels following an announcement channel; `discussion_thread`:
    # open a thread on each announcement. feed_publishes records each publish: 'pending' until
    # Discord took it (due_at: not before then; a channel publishes 10 an hour), 'published'
    # (published_at, counted for that hour) or 'failed' (left unpublished, with Discord's reason).
    """
    ALTER TABLE feed_subscriptions ADD COLUMN destination TEXT NOT NULL DEFAULT 'channel'
        CHECK (destination IN ('channel', 'forum', 'thread'));
    ALTER TABLE feed_subscriptions ADD COLUMN forum_tag_ids TEXT NOT NULL DEFAULT '[]';
    ALTER TABLE feed_subscriptions ADD COLUMN publish INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE feed_subscriptions ADD COLUMN discussion_thread INTEGER NOT NULL DEFAULT 0;
    CREATE TABLE feed_publishes (
        message_id INTEGER PRIMARY KEY,
        subscription_id INTEGER NOT NULL REFERENCES feed_subscriptions (id) ON DELETE CASCADE,
        channel_id INTEGER NOT NULL,
        state TEXT NOT NULL CHECK (state IN ('pending', 'published', 'failed')),
        due_at TEXT NOT NULL,
        published_at TEXT,
        last_error TEXT
    );
    CREATE INDEX feed_publishes_due ON feed_publishes (subscription_id, state, due_at);
    CREATE INDEX feed_publishes_hour ON feed_publishes (channel_id, published_at)
        WHERE published_at IS NOT NULL;
    """,
    # 12: a subscription's filter conditions, how they combine and its announcements' format
    # (issue #12). The conditions are a JSON array on the row, not a table: they are always read
    # and written whole with their subscription (at most bot.feeds.filters.MAX_CONDITIONS), never
    # queried on their own, and every query that reads a subscription then gets them.
    # author/keyword stay as they are and are read as the first two conditions.
    """
    ALTER TABLE feed_subscriptions ADD COLUMN match_mode TEXT NOT NULL DEFAULT 'all'
        CHECK (match_mode IN ('all', 'any'));
    ALTER TABLE feed_subscriptions ADD COLUMN message_format TEXT NOT NULL DEFAULT 'embed'
        CHECK (message_format IN ('embed', 'compact', 'components'));
    ALTER TABLE feed_subscriptions ADD COLUMN filter_conditions TEXT NOT NULL DEFAULT '[]'
        CHECK (json_valid(filter_conditions) AND json_type(filter_conditions) = 'array');
    """,
)

SCHEMA_VERSION = len(MIGRATIONS)

AFTER_MIGRATION: dict[int, Callable[[sqlite3.Connection], None]] = {7: backfill_passages}
"""Work a migration needs Python for (splitting text), run after its script, in its transaction."""


class SchemaTooNew(Exception):
    """The database was written by a newer corpus-bot; refusing to touch it."""


def migrate(conn: sqlite3.Connection) -> int:
    """Bring the database to `SCHEMA_VERSION`. Runs in the writer thread; returns the old version."""
    (current,) = conn.execute("PRAGMA user_version").fetchone()
    if current > SCHEMA_VERSION:
        raise SchemaTooNew(
            f"the index was written by a newer corpus-bot (schema {current}, this one knows "
            f"{SCHEMA_VERSION}); upgrade, or point --db at another file"
        )
    for version in range(current, SCHEMA_VERSION):
        conn.execute("BEGIN IMMEDIATE")
        try:
            for statement in _statements(MIGRATIONS[version]):
                conn.execute(statement)
            if version + 1 in AFTER_MIGRATION:
                AFTER_MIGRATION[version + 1](conn)
            conn.execute(f"PRAGMA user_version = {version + 1:d}")
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
    return current


def _statements(script: str) -> list[str]:
    """Split a migration script into statements (sqlite3.complete_statement knows about triggers)."""
    statements: list[str] = []
    buffer = ""
    for line in script.splitlines(keepends=True):
        buffer += line
        if sqlite3.complete_statement(buffer):
            if buffer.strip():
                statements.append(buffer.strip())
            buffer = ""
    if buffer.strip():
        statements.append(buffer.strip())
    return statements
