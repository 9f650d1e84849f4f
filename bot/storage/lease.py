"""What a loop that must run in one process at a time needs of a lease, whatever the storage.

With `storage: postgres` many processes share one database, and the feed's poll, send and digest
loops must run in exactly one of them: `bot.storage.postgres.lease.Lease` (a session advisory
lock) decides which. With `storage: sqlite` each process has its own database, so its loops are
always its own to run: `AlwaysHeld`. The loops see only `LoopLease`, so they have one code path
for both backends (bot/discord_app/exts/feed/loops.py).
"""

from __future__ import annotations

import asyncio
import os
import socket
from typing import Protocol


def process_label() -> str:
    """Who this process is, for `/feed status` and the database's session list: host and pid."""
    return f"{socket.gethostname()} pid {os.getpid()}"


class LoopLease(Protocol):
    """One process's claim to run some loops. `acquire` waits until it is held; `wait_lost`
    returns when it is lost without `release` (stop the loops at once, then `acquire` again)."""

    @property
    def label(self) -> str:
        """This process, as `holder` names it to the others."""
        ...

    @property
    def held(self) -> bool: ...

    async def acquire(self) -> None: ...

    async def wait_lost(self) -> None: ...

    async def release(self) -> None: ...

    async def holder(self) -> str | None:
        """The label of the process holding the lease now; None when nobody does."""
        ...


class AlwaysHeld:
    """The lease of a process that shares its database with nobody (`storage: sqlite`): held
    from the start, never lost."""

    def __init__(self, label: str | None = None) -> None:
        self._label = label or process_label()
        self._never = asyncio.Event()

    @property
    def label(self) -> str:
        return self._label

    @property
    def held(self) -> bool:
        return True

    async def acquire(self) -> None:
        return None

    async def wait_lost(self) -> None:
        await self._never.wait()

    async def release(self) -> None:
        return None

    async def holder(self) -> str | None:
        return self._label
