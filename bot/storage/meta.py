"""Where the bot keeps small facts every process of it must agree on (issue #14).

Today one kind: the fingerprint of the command tree last synced to Discord (bot/discord_app/
sync.py). With `storage: sqlite` it is the index's own `meta` table, as before; with postgres it
is the shared database's `shared_meta` (bot/storage/postgres/meta.py), because a fingerprint kept
in each process's replica would have every process of a fresh deployment sync the same commands
again, spending Discord's daily quota of command creations for nothing.

`exclusive` lets one process at a time check and sync, so processes starting together sync once.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Protocol

from bot.corpus.store import CorpusStore


class SharedFacts(Protocol):
    """Facts by key, and a way to be the only process acting on one of them."""

    async def meta(self, key: str) -> str | None: ...

    async def set_meta(self, key: str, value: str) -> None: ...

    def exclusive(self, name: str) -> contextlib.AbstractAsyncContextManager[None]:
        """While held, no other process holds `name` (check, act, record: once)."""
        ...


class IndexFacts:
    """The index's `meta` table (`storage: sqlite`: one process, nobody to exclude)."""

    def __init__(self, store: CorpusStore) -> None:
        self.store = store

    async def meta(self, key: str) -> str | None:
        return await self.store.meta(key)

    async def set_meta(self, key: str, value: str) -> None:
        await self.store.set_meta(key, value)

    @contextlib.asynccontextmanager
    async def exclusive(self, name: str) -> AsyncIterator[None]:
        yield
