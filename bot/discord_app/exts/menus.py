"""The context menus of a message: "Find in corpus" (the passages of the corpus about what the
message says, as /ask quotes them) and "Summarize linked post" (the summary of the corpus
document the message links to, as /summarize gives it). Both answer the asker only (ephemeral)
and, read-only, are installable to a user's account and usable in DMs.

discord.py cannot declare a context menu in a Cog's class body the way it declares slash
commands, so, as its documentation recommends, the cog builds them in `__init__`, adds them to
the tree in `cog_load` and removes them in `cog_unload` (a reload of the extension then replaces
them instead of failing on a duplicate). Thin on purpose: the message's text, one service call,
the renderer /ask or /summarize uses; errors (nothing found, no text) reach the tree's handler.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import discord
from discord import app_commands

from bot.corpus.errors import AnswerError
from bot.discord_app.exts._base import CorpusCog, expensive_cooldown, usable_anywhere
from bot.discord_app.render import answer_pages, summary_embed
from bot.discord_app.views import Paginator, answer_in_time, respond

if TYPE_CHECKING:
    from bot.discord_app.client import CorpusBot

FIND_IN_CORPUS = "Find in corpus"
SUMMARIZE_LINKED = "Summarize linked post"


def message_text(message: discord.Message, *, links: bool = False) -> str:
    """What a message says: its content, then its embeds' titles and descriptions (a bot's or a
    link preview's), and with `links` their URLs too (a link preview names the page it shows)."""
    parts = [message.content]
    for embed in message.embeds:
        parts += [embed.title or "", embed.description or ""]
        if links:
            parts.append(embed.url or "")
    return "\n".join(part for part in parts if part)


def no_text() -> AnswerError:
    return AnswerError("bad_input", "This message has no text to look for in the corpus.")


class Menus(CorpusCog):
    def __init__(self, bot: CorpusBot) -> None:
        super().__init__(bot)
        self.menus = [
            app_commands.ContextMenu(
                name=FIND_IN_CORPUS,
                callback=self.find_in_corpus,
                extras={"guide": "(a message's Apps menu) the passages about what it says."},
            ),
            app_commands.ContextMenu(
                name=SUMMARIZE_LINKED,
                callback=self.summarize_linked,
                extras={"guide": "(a message's Apps menu) the post it links, summarized."},
            ),
        ]
        for menu in self.menus:
            usable_anywhere()(menu)
            app_commands.checks.dynamic_cooldown(expensive_cooldown)(menu)

    async def cog_load(self) -> None:
        for menu in self.menus:
            self.bot.tree.add_command(menu)

    async def cog_unload(self) -> None:
        for menu in self.menus:
            self.bot.tree.remove_command(menu.name, type=menu.type)

    async def find_in_corpus(
        self, interaction: discord.Interaction[CorpusBot], message: discord.Message
    ) -> None:
        text = message_text(message)
        if not text.strip():
            raise no_text()
        answer = await answer_in_time(interaction, self.service.ask(text), ephemeral=True)
        await Paginator.send(interaction, answer_pages(answer), ephemeral=True)

    async def summarize_linked(
        self, interaction: discord.Interaction[CorpusBot], message: discord.Message
    ) -> None:
        text = message_text(message, links=True)
        if not text.strip():
            raise no_text()
        summary = await answer_in_time(
            interaction, self.service.summarize_linked(text), ephemeral=True
        )
        await respond(interaction, embed=summary_embed(summary), ephemeral=True)


async def setup(bot: CorpusBot) -> None:
    await bot.add_cog(Menus(bot))
