"""The lease that lets exactly one process run a loop (bot/storage/postgres/lease.py), against a
real PostgreSQL server: holders are separate sessions, as separate processes would be."""

from __future__ import annotations

import asyncio

import asyncpg
import pytest

from bot.storage.postgres.errors import DatabaseFault
from bot.storage.postgres.lease import Lease, LeaseTiming, lock_key
from tests.conftest import HANG_GUARD_SECONDS

FAST = LeaseTiming(retry_s=0.05, check_s=0.05, grace_s=0.1)
"""Short intervals so the tests run quickly; the behaviour does not depend on them."""


async def terminate(dsn: str, pid: int) -> None:
    """What an operator, a crash or a failover does to a session: the server ends it."""
    admin = await asyncpg.connect(dsn)
    try:
        assert await admin.fetchval("SELECT pg_terminate_backend($1)", pid)
    finally:
        await admin.close()


async def test_one_holder_at_a_time_and_the_next_after_release(postgres_dsn: str) -> None:
    first, second = Lease(postgres_dsn, "poll", FAST), Lease(postgres_dsn, "poll", FAST)
    try:
        assert await first.try_acquire()
        assert not await second.try_acquire()
        assert first.held and not second.held
        await first.release()
        assert not first.held
        assert await second.try_acquire()
        assert not await first.try_acquire()
    finally:
        await first.release()
        await second.release()


async def test_different_names_are_different_leases(postgres_dsn: str) -> None:
    assert lock_key("poll") != lock_key("send")
    assert lock_key("poll") == lock_key("poll")  # every process computes the same key
    poll, send = Lease(postgres_dsn, "poll", FAST), Lease(postgres_dsn, "send", FAST)
    try:
        assert await poll.try_acquire() and await send.try_acquire()
    finally:
        await poll.release()
        await send.release()


async def test_a_killed_holder_loses_the_lease_and_the_other_takes_over(postgres_dsn: str) -> None:
    holder, contender = Lease(postgres_dsn, "send", FAST), Lease(postgres_dsn, "send", FAST)
    try:
        assert await holder.try_acquire()
        takeover = asyncio.create_task(contender.acquire())
        await asyncio.sleep(FAST.retry_s * 3)  # it retries, and is refused while the holder lives
        assert not takeover.done() and not contender.held
        pid = holder.backend_pid
        assert pid is not None
        await terminate(postgres_dsn, pid)
        # Not timing assertions: bounds after which a lease never handed over counts as a hang.
        await asyncio.wait_for(holder.wait_lost(), HANG_GUARD_SECONDS)
        assert not holder.held
        await asyncio.wait_for(takeover, HANG_GUARD_SECONDS)
        assert contender.held
        # The old holder contends anew like anyone else: refused while the new one lives.
        assert not await holder.try_acquire()
    finally:
        await holder.release()
        await contender.release()


async def test_the_successor_starts_only_after_the_killed_holder_has_stopped(
    postgres_dsn: str,
) -> None:
    """The grace after taking the lease covers the old holder's detection: its guarded loop has
    stopped before `acquire` returns to the new one."""
    timing = LeaseTiming(retry_s=0.01, check_s=0.2)  # grace 0.4 s, twice the check
    holder, contender = Lease(postgres_dsn, "digest", timing), Lease(postgres_dsn, "digest", timing)
    events: list[str] = []

    async def guarded_loop() -> None:
        await holder.wait_lost()
        events.append("old holder stopped")

    try:
        assert await holder.try_acquire()
        loop = asyncio.create_task(guarded_loop())
        takeover = asyncio.create_task(contender.acquire())
        pid = holder.backend_pid
        assert pid is not None
        await terminate(postgres_dsn, pid)
        await asyncio.wait_for(takeover, HANG_GUARD_SECONDS)
        events.append("new holder started")
        await asyncio.wait_for(loop, HANG_GUARD_SECONDS)
        assert events == ["old holder stopped", "new holder started"]
    finally:
        await holder.release()
        await contender.release()


async def test_holding_releases_on_the_way_out_even_on_error(postgres_dsn: str) -> None:
    lease, other = Lease(postgres_dsn, "poll", FAST), Lease(postgres_dsn, "poll", FAST)
    try:
        with pytest.raises(RuntimeError, match="the loop failed"):
            async with lease.holding():
                assert lease.held and not await other.try_acquire()
                raise RuntimeError("the loop failed")
        assert not lease.held
        assert await other.try_acquire()
    finally:
        await other.release()


async def test_an_unreachable_server_is_a_clear_fault() -> None:
    lease = Lease("postgresql://bot:pw@/db?host=/nonexistent-corpus-bot-socket", "poll", FAST)
    with pytest.raises(DatabaseFault, match="nonexistent-corpus-bot-socket") as caught:
        await lease.try_acquire()
    assert "pw" not in caught.value.message.replace("nonexistent", "")


async def test_any_process_can_ask_who_holds_the_lease(postgres_dsn: str) -> None:
    """`holder` names the holder's process (its session's application_name), for /feed status."""
    first = Lease(postgres_dsn, "feed", FAST, label="machine-a pid 11")
    second = Lease(postgres_dsn, "feed", FAST, label="machine-b pid 22")
    other_name = Lease(postgres_dsn, "digest", FAST, label="machine-c pid 33")
    try:
        assert await second.holder() is None  # nobody yet
        assert await first.try_acquire() and await other_name.try_acquire()
        assert await first.holder() == "machine-a pid 11"
        assert await second.holder() == "machine-a pid 11"  # asked of the server, not guessed
        await first.release()
        assert await second.try_acquire()
        assert await first.holder() == "machine-b pid 22"
    finally:
        for lease in (first, second, other_name):
            await lease.release()


def test_a_label_is_kept_as_postgres_keeps_an_application_name() -> None:
    lease = Lease("postgresql:///x", "feed", FAST, label="höst\n" + "x" * 100)
    assert lease.label == "h?st?" + "x" * 58
    assert len(lease.label.encode()) == 63


async def test_a_holder_whose_name_cannot_be_read_is_named_by_its_server_pid(
    postgres_dsn: str,
) -> None:
    """A session without an application_name (or another role's, shown as null) still holds
    the lease: `holder` says so rather than "nobody"."""
    stranger = await asyncpg.connect(postgres_dsn)  # asyncpg sets no application_name
    asker = Lease(postgres_dsn, "feed", FAST, label="asker")
    try:
        assert await stranger.fetchval("SELECT pg_try_advisory_lock($1)", lock_key("feed"))
        assert await asker.holder() == f"a session of server pid {stranger.get_server_pid()}"
    finally:
        await stranger.close()
        await asker.release()
