"""The floor for `bench_commands.py`: a bot that does nothing but reply.

Why: a burst of 200 slash commands costs the real bot ~2 ms of CPU each, and the profile gives
most of it to discord.py, aiohttp and asyncio. To tell how much of the burst latency is ours and
how much is the library's, the benchmark runs this bot the same way (its own process, pointed at
the same emulator through DISCORD_API_BASE / DISCORD_GATEWAY_URL / DISCORD_TOKEN, started by
`_harness.launch_bot`) and sends it the same commands.

It *is* the real bot's client: a `CorpusBot` subclass, so the intents, `AllowedMentions.none()`,
`chunk_guilds_at_startup=False`, logging and the error handler are those of `corpus-bot run`.
Only the cogs differ: /post, /author, /search and /summarize are declared with the same options
(so the emulator types the same inputs) and each answers at once with one fixed short text: no
corpus, no SQLite, no embed, no defer, no cooldown. What is left is discord.py parsing the
gateway event and building the interaction, the command tree dispatching it, and one HTTP
callback through aiohttp.

Started by the benchmark as `python bench/_floor_bot.py --config … --corpus … --db … run` (the
arguments `launch_bot` gives every bot); it ignores them.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import signal
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, cast

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:  # run as `python bench/_floor_bot.py`
    sys.path.insert(0, str(REPO))

import discord  # noqa: E402
from discord import app_commands  # noqa: E402

from bot.config import Config, DiscordConfig  # noqa: E402
from bot.discord_app.client import CorpusBot  # noqa: E402
from bot.discord_app.errors import on_tree_error  # noqa: E402
from bot.discord_app.launcher import point_discord_at  # noqa: E402

if TYPE_CHECKING:
    from bot.corpus.service import CorpusService

REPLY = "ok"
"""The whole answer: a short text, so the floor measures the round trip, not rendering."""

log = logging.getLogger("floor")


@app_commands.command(name="post", description="Floor: reply at once.")
async def post(interaction: discord.Interaction, post: app_commands.Range[str, 1, 300]) -> None:
    await interaction.response.send_message(REPLY)


@app_commands.command(name="summarize", description="Floor: reply at once.")
async def summarize(
    interaction: discord.Interaction,
    post: app_commands.Range[str, 1, 300],
    length: app_commands.Range[int, 1, 10] = 3,
) -> None:
    await interaction.response.send_message(REPLY)


@app_commands.command(name="author", description="Floor: reply at once.")
async def author(interaction: discord.Interaction, name: app_commands.Range[str, 1, 200]) -> None:
    await interaction.response.send_message(REPLY)


@app_commands.command(name="search", description="Floor: reply at once.")
async def search(interaction: discord.Interaction, query: app_commands.Range[str, 1, 300]) -> None:
    await interaction.response.send_message(REPLY)


@app_commands.command(name="ask", description="Floor: reply at once.")
async def ask(interaction: discord.Interaction, question: app_commands.Range[str, 1, 300]) -> None:
    await interaction.response.send_message(REPLY)


FLOOR_COMMANDS = (post, summarize, author, search, ask)


class FloorBot(CorpusBot):
    """The real bot's client with the five commands above instead of the cogs; syncs every start
    (the benchmark's emulator is new each run, and the floor keeps no index to remember it in)."""

    async def setup_hook(self) -> None:
        for command in FLOOR_COMMANDS:
            self.tree.add_command(command)
        self.tree.on_error = on_tree_error  # type: ignore[method-assign]
        synced = await self.tree.sync()
        log.info("synced %d commands", len(synced))


async def serve(token: str) -> int:
    config = Config(corpus_dir=REPO, data_dir=REPO, discord=DiscordConfig(token=token))
    # No corpus: nothing in the floor's commands or setup_hook touches the service.
    bot = FloorBot(config, cast("CorpusService", None))
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, lambda: asyncio.ensure_future(bot.close()))
    async with bot:
        await bot.start(token)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="_floor_bot.py", description=__doc__.split("\n\n")[0])
    parser.parse_known_args(argv)  # launch_bot's --config/--corpus/--db/run: not used here
    token = os.environ.get("DISCORD_TOKEN")
    if not token:
        print("_floor_bot.py: DISCORD_TOKEN is not set (the benchmark sets it)", file=sys.stderr)
        return 2
    discord.utils.setup_logging(level=logging.INFO)
    point_discord_at(os.environ.get("DISCORD_API_BASE"), os.environ.get("DISCORD_GATEWAY_URL"))
    return asyncio.run(serve(token))


if __name__ == "__main__":
    sys.exit(main())
