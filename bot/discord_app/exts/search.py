"""/search: full-text search over the corpus, ranked, with highlighted snippets."""

from __future__ import annotations

from typing import TYPE_CHECKING

import discord
from discord import app_commands

from bot.discord_app.exts._base import CorpusCog, expensive_cooldown
from bot.discord_app.render import HITS_PER_PAGE, search_page, search_page_count
from bot.discord_app.views import FetchedPages, Paginator, answer_in_time

if TYPE_CHECKING:
    from bot.discord_app.client import CorpusBot


class Search(CorpusCog):
    @app_commands.command(name="search", description="Search the text of every document.")
    @app_commands.describe(query="Words to look for (plain words; no special syntax needed)")
    @app_commands.checks.dynamic_cooldown(expensive_cooldown)
    async def search(self, interaction: discord.Interaction, query: app_commands.Range[str, 1, 300]) -> None:
        results = await answer_in_time(interaction, self.service.search(query, limit=HITS_PER_PAGE))
        service = self.service

        async def fetch(index: int) -> discord.Embed:
            offset = index * HITS_PER_PAGE
            return search_page(await service.search(query, limit=HITS_PER_PAGE, offset=offset), offset)

        await Paginator.send(interaction, FetchedPages(search_page_count(results), fetch), first=search_page(results))


async def setup(bot: CorpusBot) -> None:
    await bot.add_cog(Search(bot))
