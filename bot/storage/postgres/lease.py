"""A lease on a name, so that exactly one process of many runs a loop (issue #14's poll, send and
digest loops), and another takes over within a bounded time when the holder dies.

No coordinator of our own: a PostgreSQL session-level advisory lock, taken with
`pg_try_advisory_lock` on a connection the lease keeps for itself (a pool would hand it to
others, and the lock belongs to the session). The server releases it the moment that session
ends: the holder's process exits or is killed, its connection is closed or terminated
(`pg_terminate_backend`), or the server stops hearing from it (TCP keepalives, set on the
connection, end a session whose peer vanished in about `KEEPALIVE_BOUND_S`).

Bounds, with the defaults (`LeaseTiming`):

- a contender retries every `retry_s` (2 s), so it takes the lease at most `retry_s` after the
  server released it, then waits `grace_s` before `acquire` returns;
- the holder checks its session every `check_s` (2 s), each check bounded by `check_s`: it learns
  within 2 x `check_s` that its session is gone (`lost` is set, `wait_lost` returns) and must stop
  the loop. `grace_s` (default 2 x `check_s`) covers that, so a holder whose session was killed
  has stopped before the next one starts.

What a lease cannot promise alone: a holder whose event loop is frozen longer than `grace_s`
(a blocked loop, a suspended VM) may act after its successor started. The loops it guards must
therefore also be safe to overlap briefly (the outbox is claimed with FOR UPDATE SKIP LOCKED, so
a row is sent once however many senders run); the lease keeps them from all working at once.

Who holds it: each lease names its session after its process (`label`, host and pid, as the
session's `application_name`), so any process can ask the server which session holds the lock
(`holder`, one read of pg_locks and pg_stat_activity) and `/feed status` can say where the loops
run.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass

import asyncpg

from bot.storage.lease import process_label
from bot.storage.postgres.errors import CONNECT_ERRORS, CONNECTION_ERRORS, DatabaseFault

log = logging.getLogger(__name__)

KEEPALIVE_SETTINGS = {
    "tcp_keepalives_idle": "10",
    "tcp_keepalives_interval": "5",
    "tcp_keepalives_count": "3",
}
"""The server probes a silent TCP peer after 10 s, every 5 s, and ends the session after 3
unanswered probes. (No effect over a Unix socket, where a dead peer is seen at once.)"""
KEEPALIVE_BOUND_S = 25.0
LOCK_NAMESPACE = "corpus-bot lease:"
APPLICATION_NAME_BYTES = 63
"""PostgreSQL keeps this much of a session's application_name (NAMEDATALEN - 1)."""
HOLDER_QUERY = """
    SELECT l.pid, a.application_name
    FROM pg_locks AS l JOIN pg_stat_activity AS a ON a.pid = l.pid
    WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1
      AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
      AND l.classid = $1::bigint::oid AND l.objid = $2::bigint::oid
"""
"""The session holding an advisory lock on a 64-bit key: pg_locks shows the key's high and low
32 bits as classid and objid, objsubid 1 (PostgreSQL's "Advisory lock" documentation). Another
role's session shows its application_name as null to an ordinary user (pg_stat_activity's
security rules): the holder is then named by its server pid."""


def lock_key(name: str) -> int:
    """The advisory lock's 64-bit key for `name` (a stable hash: every process agrees)."""
    digest = hashlib.blake2b((LOCK_NAMESPACE + name).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


def _session_name(label: str) -> str:
    """`label` as PostgreSQL keeps an application_name: printable ASCII, at most 63 bytes."""
    printable = "".join(c if " " <= c <= "~" else "?" for c in label)
    return printable[:APPLICATION_NAME_BYTES]


@dataclass(frozen=True, slots=True)
class LeaseTiming:
    retry_s: float = 2.0
    """How often a contender asks for the lease."""
    check_s: float = 2.0
    """How often the holder checks that its session (and so its lock) is still alive; also the
    bound on each check."""
    grace_s: float | None = None
    """Wait after taking the lease before `acquire` returns; None: 2 x check_s."""

    @property
    def grace(self) -> float:
        return 2 * self.check_s if self.grace_s is None else self.grace_s

    @property
    def takeover_bound(self) -> float:
        """At most this long after the holder's session ended, another process runs the loops:
        its next attempt (`retry_s`), then the grace. Add KEEPALIVE_BOUND_S when the holder's
        machine vanished without closing its connection (the server must notice first)."""
        return self.retry_s + self.grace


TAKEOVER_BOUND_S = LeaseTiming().takeover_bound
"""With the defaults: 6 s from a holder's session ending (its process exited or was killed, its
connection terminated) to its successor running the loops; 31 s when its machine vanished."""


class Lease:
    """One process's claim on `name`: `acquire` (or `try_acquire`), run while `held`, `release`.

    `lost` is set when the lease is lost without `release` (its session died): stop the guarded
    work at once, then `acquire` again to contend anew.
    """

    def __init__(
        self,
        dsn: str,
        name: str,
        timing: LeaseTiming | None = None,
        *,
        label: str | None = None,
    ) -> None:
        self.dsn = dsn
        self.name = name
        self._label = _session_name(label or process_label())
        self.key = lock_key(name)
        self.timing = timing or LeaseTiming()
        self.lost = asyncio.Event()
        self._conn: asyncpg.Connection | None = None
        self._held = False
        self._watch: asyncio.Task[None] | None = None
        self._in_use = asyncio.Lock()
        """One statement at a time on the lease's connection: `holder` (from a command) may run
        while the contender asks for the lock or the holder checks its session."""

    @property
    def held(self) -> bool:
        return self._held

    @property
    def label(self) -> str:
        """This process, as its session's application_name (what `holder` reports)."""
        return self._label

    @property
    def backend_pid(self) -> int | None:
        """The server process of this lease's session (what pg_terminate_backend would end)."""
        return self._conn.get_server_pid() if self._conn is not None else None

    async def _connection(self) -> asyncpg.Connection:
        if self._conn is None or self._conn.is_closed():
            try:
                self._conn = await asyncpg.connect(
                    self.dsn,
                    server_settings={**KEEPALIVE_SETTINGS, "application_name": self._label},
                )
            except CONNECT_ERRORS as exc:
                raise DatabaseFault(self.dsn, f"{type(exc).__name__}: {exc}") from exc
        return self._conn

    async def try_acquire(self) -> bool:
        """Take the lease if nobody holds it; True when this process now holds it. No grace."""
        if self._held:
            return True
        async with self._in_use:
            conn = await self._connection()
            try:
                got = bool(await conn.fetchval("SELECT pg_try_advisory_lock($1)", self.key))
            except CONNECTION_ERRORS as exc:
                await self._drop_connection()
                raise DatabaseFault(self.dsn, f"{type(exc).__name__}: {exc}") from exc
        if got:
            self._held = True
            self.lost.clear()
            self._watch = asyncio.create_task(self._watch_session(conn), name=f"lease {self.name}")
            log.info("lease %r taken (session %s)", self.name, conn.get_server_pid())
        return got

    async def acquire(self) -> None:
        """Wait until this process holds the lease, then `grace` (see the module's bounds).
        A database that cannot be reached is retried too, and logged."""
        while True:
            try:
                if await self.try_acquire():
                    break
            except DatabaseFault as fault:
                log.warning("lease %r: %s; retrying", self.name, fault.message)
            await asyncio.sleep(self.timing.retry_s)
        await asyncio.sleep(self.timing.grace)

    async def wait_lost(self) -> None:
        await self.lost.wait()

    async def holder(self) -> str | None:
        """The label of the process whose session holds the lease now (this one's when held),
        None when nobody holds it. Raises DatabaseFault when the server cannot be asked."""
        high, low = (self.key >> 32) & 0xFFFFFFFF, self.key & 0xFFFFFFFF
        async with self._in_use:
            if self._held:
                return self._label
            conn = await self._connection()
            try:
                row = await conn.fetchrow(HOLDER_QUERY, high, low, timeout=self.timing.check_s)
            except CONNECTION_ERRORS as exc:
                await self._drop_connection()
                raise DatabaseFault(self.dsn, f"{type(exc).__name__}: {exc}") from exc
        if row is None:
            return None
        return str(row["application_name"] or f"a session of server pid {row['pid']}")

    async def _watch_session(self, conn: asyncpg.Connection) -> None:
        while True:
            await asyncio.sleep(self.timing.check_s)
            try:
                async with self._in_use:
                    await conn.fetchval("SELECT 1", timeout=self.timing.check_s)
            except CONNECT_ERRORS as exc:  # any failure of the check: the lock is in doubt
                log.warning("lease %r lost: its session ended (%s)", self.name, type(exc).__name__)
                self._held = False
                self.lost.set()
                await self._drop_connection()
                return

    async def _drop_connection(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            conn.terminate()

    async def release(self) -> None:
        """Give the lease up (the session ends, so the server frees the lock at once)."""
        watch, self._watch = self._watch, None
        if watch is not None and watch is not asyncio.current_task():
            watch.cancel()
            await asyncio.wait([watch])  # as replica.close: the caller's own cancel must pass
        self._held = False
        conn, self._conn = self._conn, None
        if conn is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(conn.close(), self.timing.check_s)
            if not conn.is_closed():
                conn.terminate()

    @contextlib.asynccontextmanager
    async def holding(self) -> AsyncIterator[Lease]:
        """`async with lease.holding():` the body runs once the lease is held; released after."""
        await self.acquire()
        try:
            yield self
        finally:
            await self.release()
