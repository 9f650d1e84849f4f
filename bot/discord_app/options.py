"""Slash-command options that name something of the corpus, declared once for every command.

A `post` option offers the same autocomplete wherever it appears (/post, /summarize and any other
command that takes a post declare `post: PostOption`) and reaches the command as the text typed
or picked. The command hands that text to the service, which finds the post and reads what the
answer needs of it in one hop to the index's reader thread (bot/corpus/lookup.py). The option is
not resolved here on purpose: a transformer's lookup was a hop of its own, and in a burst every
hop waits behind every other command's queued reads, so /post and /summarize answered after
all of a burst's /search and /ask commands.

An unknown or ambiguous post raises the core's `AnswerError` from the command's answer, shown by
the tree's one error handler as the usual "did you mean" reply.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import discord
from discord import app_commands

from bot.discord_app.exts._base import to_choices

if TYPE_CHECKING:
    from bot.discord_app.client import CorpusBot

POST_QUERY_MAX = 300
"""Longest `post` a person may type: an id is at most 80 characters and titles are folded to
their first words anyway; Discord enforces it (`max_length`) before the bot sees the value."""


class PostTransformer(app_commands.Transformer["CorpusBot"]):
    """A post by id, title, title prefix or a few title words, with autocomplete."""

    @property
    def type(self) -> discord.AppCommandOptionType:
        return discord.AppCommandOptionType.string

    @property
    def min_value(self) -> int:
        return 1

    @property
    def max_value(self) -> int:
        return POST_QUERY_MAX

    async def transform(self, interaction: discord.Interaction[CorpusBot], value: str, /) -> str:
        """The text as typed: the command's own read finds the post (see the module's docstring)."""
        return value

    async def autocomplete(  # type: ignore[override]
        self, interaction: discord.Interaction[CorpusBot], value: str, /
    ) -> list[app_commands.Choice[str]]:
        """The same choices wherever a post is asked for. The option is a string, so `value` is
        text and the choices are `Choice[str]`; discord.py's signature covers number options too,
        and its Choice type is invariant, hence the narrowing override."""
        return to_choices(await interaction.client.service.post_choices(value))


PostOption = app_commands.Transform[str, PostTransformer]
"""Annotate a command's parameter with this to receive the text naming a post."""
