"""The feed's database seam on PostgreSQL (bot/storage/postgres/sql.py): placeholders, counts,
and a server that cannot be used, against the session's real server."""

from __future__ import annotations

import asyncpg
import pytest

from bot.feeds.store import FeedStore
from bot.storage.postgres.errors import DatabaseFault
from bot.storage.postgres.sql import PostgresFeedDatabase, numbered, rowcount


def test_question_marks_are_numbered_outside_quotes_only() -> None:
    assert numbered("SELECT a FROM t WHERE b = ? AND c IN (?, ?)") == (
        "SELECT a FROM t WHERE b = $1 AND c IN ($2, $3)"
    )
    assert numbered("SELECT '?', 'it''s ?', \"odd?name\" FROM t WHERE x = ?") == (
        "SELECT '?', 'it''s ?', \"odd?name\" FROM t WHERE x = $1"
    )
    assert numbered("SELECT ?::text[]") == "SELECT $1::text[]"
    assert numbered.cache_info().maxsize  # made once per SQL text


def test_rowcount_reads_the_command_status() -> None:
    assert rowcount("INSERT 0 5") == 5
    assert rowcount("UPDATE 3") == 3
    assert rowcount("DELETE 0") == 0
    assert rowcount("CREATE TABLE") == 0


async def test_literals_holding_question_marks_reach_the_server_as_written(
    postgres_dsn: str,
) -> None:
    database = await PostgresFeedDatabase.open(postgres_dsn)
    try:
        rows = await database.reader.execute_fetchall(
            "SELECT '?' AS mark, ? AS value, 'a''?' AS quoted", ("x",)
        )
        assert (rows[0]["mark"], rows[0]["value"], rows[0]["quoted"]) == ("?", "x", "a'?")
        async with database.transaction() as writer:
            done = await writer.execute(
                "INSERT INTO feed_source_list (name, url, origin, added_at) "
                "VALUES (?, ?, 'added', ?), (?, ?, 'added', ?) ON CONFLICT (name) DO NOTHING",
                ("a", "https://a.example/?q=1", "t", "b", "https://b.example/", "t"),
            )
        assert done.rowcount == 2
    finally:
        await database.close()


async def test_a_server_gone_mid_use_is_one_fault_naming_it_without_the_password(
    postgres_dsn: str,
) -> None:
    database = await PostgresFeedDatabase.open(postgres_dsn, min_size=1, max_size=1)
    store = FeedStore(database)
    admin = await asyncpg.connect(postgres_dsn)
    try:
        with pytest.raises(DatabaseFault) as fault:
            async with database.transaction() as writer:
                await writer.execute_fetchall("SELECT 1 AS one")
                pid = await admin.fetchval(
                    "SELECT pid FROM pg_stat_activity WHERE pid <> "
                    "pg_backend_pid() AND datname = current_database()"
                )
                # Waits until the session has ended (PostgreSQL 14+).
                assert await admin.fetchval("SELECT pg_terminate_backend($1, 10000)", pid)
                await writer.execute_fetchall("SELECT 2 AS two")
        assert "cannot be used" in fault.value.message
        assert "CORPUS_BOT_DATABASE_URL" in fault.value.message
        # The pool replaces the dead connection: the next call works.
        assert await store.all_subscriptions() == []
    finally:
        await admin.close()
        await database.close()


async def test_what_a_claim_or_transaction_body_raises_passes_as_it_is(postgres_dsn: str) -> None:
    """A claim's body posts to Discord: its network errors (OSError, TimeoutError) are not the
    database's, and must not be reported as a database that cannot be used."""
    database = await PostgresFeedDatabase.open(postgres_dsn, min_size=1, max_size=1)
    try:
        with pytest.raises(TimeoutError):
            async with database.claim() as claim, claim.transaction() as writer:
                await writer.execute_fetchall("SELECT 1 AS one")
                raise TimeoutError("Discord did not answer")
        with pytest.raises(ConnectionResetError):
            async with database.transaction():
                raise ConnectionResetError("Discord hung up")
        # Both rolled back and gave their connection back: the one connection still serves.
        assert await FeedStore(database).all_subscriptions() == []
    finally:
        await database.close()
