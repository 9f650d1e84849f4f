"""The store's write transactions survive cancellation: the next writer always starts clean."""

from __future__ import annotations

import asyncio
import contextlib

from bot.corpus.service import CorpusService


async def test_a_cancelled_transaction_rolls_back_and_leaves_the_writer_usable(
    service: CorpusService,
) -> None:
    store = service.store

    async def write_then_hang(n: int) -> None:
        async with store.transaction() as writer:
            await writer.execute(
                "INSERT INTO meta (key, value) VALUES (?, 'half-done')", (f"probe-{n}",)
            )
            await asyncio.sleep(30)

    for n, delay in enumerate((0, 0, 0.0005, 0.002, 0.01, 0.05)):
        task = asyncio.create_task(write_then_hang(n))
        for _ in range(n):  # cancel at different points: before BEGIN, during it, inside the body
            await asyncio.sleep(0)
        await asyncio.sleep(delay)
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await store.set_meta(
            "after", str(n)
        )  # would fail "within a transaction" if one were left open
        assert await store.meta(f"probe-{n}") is None, "the cancelled transaction was rolled back"
        assert await store.meta("after") == str(n)


async def test_an_error_inside_a_transaction_rolls_it_back(service: CorpusService) -> None:
    store = service.store
    with contextlib.suppress(RuntimeError):
        async with store.transaction() as writer:
            await writer.execute("INSERT INTO meta (key, value) VALUES ('doomed', 'x')")
            raise RuntimeError("boom")
    assert await store.meta("doomed") is None
    await store.set_meta("fine", "yes")
    assert await store.meta("fine") == "yes"
