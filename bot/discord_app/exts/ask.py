"""/ask: the passages of the corpus that best answer a question, quoted verbatim, best first.

Thin on purpose: the core ranks, quotes and refuses (bot/corpus/ask.py); "the corpus does not
say" arrives as an `AnswerError`, shown by the tree's one error handler like every not-found.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import discord
from discord import app_commands

from bot.discord_app.exts._base import CorpusCog, expensive_cooldown, usable_anywhere
from bot.discord_app.render import answer_pages
from bot.discord_app.views import Paginator, answer_in_time

if TYPE_CHECKING:
    from bot.discord_app.client import CorpusBot


class Ask(CorpusCog):
    @app_commands.command(
        name="ask", description="Ask the corpus: the passages that answer it, quoted verbatim."
    )
    @usable_anywhere()
    @app_commands.describe(
        question="A question in plain words, e.g. 'What does Access Now want banned?'"
    )
    @app_commands.checks.dynamic_cooldown(expensive_cooldown)
    async def ask(
        self, interaction: discord.Interaction[CorpusBot], question: app_commands.Range[str, 1, 300]
    ) -> None:
        answer = await answer_in_time(interaction, self.service.ask(question))
        await Paginator.send(interaction, answer_pages(answer))


async def setup(bot: CorpusBot) -> None:
    await bot.add_cog(Ask(bot))
