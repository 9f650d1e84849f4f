"""Scripted input for the sandbox's console, shared by its tests (the emulator's and the sandbox's)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable


def scripted(lines: list[str | Callable[[], Awaitable[object]]]) -> Callable[[str], Awaitable[str]]:
    """An input function: strings are typed; callables are awaited first (to wait for the bot)."""
    queue = list(lines)

    async def read(prompt: str) -> str:
        while queue:
            item = queue.pop(0)
            if isinstance(item, str):
                return item
            await item()
        raise EOFError

    return read
