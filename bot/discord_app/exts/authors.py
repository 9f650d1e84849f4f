"""/author and /authors: who wrote what."""

from __future__ import annotations

from typing import TYPE_CHECKING

import discord
from discord import app_commands

from bot.discord_app.exts._base import CorpusCog, to_choices, usable_anywhere
from bot.discord_app.render import POSTS_FETCHED, Window, author_page, authors_pages
from bot.discord_app.views import Paginator, WindowedPages, answer_in_time

if TYPE_CHECKING:
    from bot.discord_app.client import CorpusBot


class Authors(CorpusCog):
    @app_commands.command(name="author", description="List an author's posts, newest first.")
    @usable_anywhere()
    @app_commands.describe(name="The author's name; part of it works too (start typing to pick)")
    async def author(
        self, interaction: discord.Interaction[CorpusBot], name: app_commands.Range[str, 1, 200]
    ) -> None:
        answer = await answer_in_time(interaction, self.service.author(name, limit=POSTS_FETCHED))
        service, resolved = self.service, answer.author.name

        async def fetch(offset: int) -> Window:
            return author_page(await service.author(resolved, limit=POSTS_FETCHED, offset=offset))

        total = answer.total if answer.total is not None else len(answer.posts)
        pages = WindowedPages(author_page(answer), total=total, noun="posts", fetch=fetch)
        await Paginator.send(interaction, pages)

    @author.autocomplete("name")
    async def name_autocomplete(
        self, interaction: discord.Interaction[CorpusBot], current: str
    ) -> list[app_commands.Choice[str]]:
        return to_choices(await self.service.author_choices(current))

    @app_commands.command(
        name="authors", description="Every author of the corpus, with a post count."
    )
    @usable_anywhere()
    async def authors(self, interaction: discord.Interaction[CorpusBot]) -> None:
        await Paginator.send(interaction, authors_pages(await self.service.authors()))


async def setup(bot: CorpusBot) -> None:
    await bot.add_cog(Authors(bot))
