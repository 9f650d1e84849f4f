"""The index's schema and its forward migrations.

`PRAGMA user_version` holds the schema version. Each migration is a script applied once, in
order, inside one transaction; a database newer than this code is refused rather than guessed at.
Later features (the feed) add their tables as new migrations, never by editing old ones.
"""

from __future__ import annotations

import sqlite3

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
)

SCHEMA_VERSION = len(MIGRATIONS)


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
