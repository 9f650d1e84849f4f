"""/search: full-text search over the corpus, ranked, with highlighted snippets."""

from __future__ import annotations

from typing import TYPE_CHECKING

import discord
from discord import app_commands

from bot.discord_app.exts._base import CorpusCog, expensive_cooldown
from bot.discord_app.render import search_pages
from bot.discord_app.views import Paginator, answer_in_time

SEARCH_RESULTS = 25

if TYPE_CHECKING:
    from bot.discord_app.client import CorpusBot


class Search(CorpusCog):
    @app_commands.command(name="search", description="Search the text of every document.")
    @app_commands.describe(query="Words to look for (plain words; no special syntax needed)")
    @app_commands.checks.dynamic_cooldown(expensive_cooldown)
    async def search(self, interaction: discord.Interaction, query: app_commands.Range[str, 1, 300]) -> None:
        results = await answer_in_time(interaction, self.service.search(query, limit=SEARCH_RESULTS))
        await Paginator.send(interaction, search_pages(results))


async def setup(bot: CorpusBot) -> None:
    await bot.add_cog(Search(bot))
