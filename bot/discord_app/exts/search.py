"""/search: full-text search over the corpus, ranked, with highlighted snippets."""

from __future__ import annotations

from typing import TYPE_CHECKING

import discord
from discord import app_commands

from bot.discord_app.exts._base import CorpusCog, expensive_cooldown, usable_anywhere
from bot.discord_app.render import HITS_FETCHED, SEARCH_HITS_SHOWN, Window, search_page
from bot.discord_app.views import Paginator, WindowedPages, answer_in_time

if TYPE_CHECKING:
    from bot.discord_app.client import CorpusBot


class Search(CorpusCog):
    @app_commands.command(name="search", description="Search the text of every document.")
    @usable_anywhere()
    @app_commands.describe(query="Words to look for (plain words; no special syntax needed)")
    @app_commands.checks.dynamic_cooldown(expensive_cooldown)
    async def search(
        self, interaction: discord.Interaction[CorpusBot], query: app_commands.Range[str, 1, 300]
    ) -> None:
        results = await answer_in_time(interaction, self.service.search(query, limit=HITS_FETCHED))
        service = self.service

        async def fetch(offset: int) -> Window:
            limit = min(HITS_FETCHED, SEARCH_HITS_SHOWN - offset)
            return search_page(await service.search(query, limit=limit, offset=offset), offset)

        shown = min(results.total, SEARCH_HITS_SHOWN)
        pages = WindowedPages(search_page(results), total=shown, noun="hits", fetch=fetch)
        await Paginator.send(interaction, pages)


async def setup(bot: CorpusBot) -> None:
    await bot.add_cog(Search(bot))
