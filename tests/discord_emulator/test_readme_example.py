"""discord_emulator/README.md's example must stay true: its one Python block is run here as it
stands (a discord.py client with one command, against a fresh emulator)."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from pathlib import Path

import discord_emulator

README = Path(discord_emulator.__file__).resolve().parent / "README.md"


def example_test() -> Callable[[], Awaitable[None]]:
    (block,) = re.findall(r"```python\n(.+?)\n```", README.read_text("utf-8"), flags=re.DOTALL)
    namespace: dict[str, object] = {"__name__": "readme_example"}
    exec(compile(block, str(README), "exec"), namespace)  # noqa: S102  (our own README)
    tests = [v for k, v in namespace.items() if k.startswith("test_") and callable(v)]
    assert len(tests) == 1, "the README's example defines one test function"
    return tests[0]  # type: ignore[return-value]


async def test_the_readme_example_runs() -> None:
    await example_test()()
