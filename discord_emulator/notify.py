"""Waiting for a condition without polling.

Everything that changes the emulator (a request, a gateway event, an interaction response)
calls `Notifier.notify()`; a waiter re-checks its condition only then. Tests therefore never
sleep, and a wait ends as soon as the condition holds.
"""

# The test-driver API takes `timeout=` by contract (tests read better than with
# `asyncio.timeout` blocks); every wait goes through `Notifier.wait_for`, which honours it.
# ruff: noqa: ASYNC109

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


class Notifier:
    def __init__(self) -> None:
        self._changed = asyncio.Event()

    def notify(self) -> None:
        """Wake every current waiter (each re-checks its own condition)."""
        self._changed.set()
        self._changed = asyncio.Event()

    async def wait_for(
        self,
        condition: Callable[[], T | None],
        timeout: float,
        *,
        describe: Callable[[], str] | str = "condition",
        before_blocking: Callable[[], None] | None = None,
    ) -> T:
        """Return `condition()`'s first truthy value; TimeoutError after `timeout` seconds.

        `before_blocking` runs each time the condition is false, before waiting for the next
        change (the driver uses it to ask the bot for a heartbeat, see GatewayHub).
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            changed = self._changed
            value = condition()
            if value:
                return value
            if before_blocking is not None:
                before_blocking()
            remaining = deadline - loop.time()
            if remaining <= 0:
                text = describe() if callable(describe) else describe
                raise TimeoutError(f"timed out after {timeout}s waiting for {text}")
            try:
                await asyncio.wait_for(changed.wait(), remaining)
            except TimeoutError:
                continue
