"""Slash-command options that name something of the corpus, parsed once for every command.

A `post` option is resolved to a `DocumentRef` by `PostTransformer` before the command runs, and
offers the same autocomplete wherever it appears: /post, /summarize and any other command that
takes a post declare `post: PostOption` and receive the post itself, so no command resolves it
again or writes its own autocomplete.

Discord's 3-second deadline: a transformer runs before the command's body, so the resolution is
awaited through `answer_in_time` like any answer: when it is not ready within the budget
(counted from the command's creation) the interaction is deferred ("thinking…") first, and the
command's own answer then follows up. Resolving is cheap (an id, title or prefix lookup in the
index: p99 4.5 ms at 100,000 documents, README "Measurements"); the defer only matters in a
burst, where the lookup waits behind other commands' queries.

An unknown or ambiguous post raises the core's `AnswerError`; discord.py wraps it in a
`TransformerError` (its `__cause__`), which `errors.describe` unwraps into the usual "did you
mean" reply.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import discord
from discord import app_commands

from bot.corpus.models import DocumentRef
from bot.discord_app.exts._base import to_choices
from bot.discord_app.views import answer_in_time

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

    async def transform(
        self, interaction: discord.Interaction[CorpusBot], value: str, /
    ) -> DocumentRef:
        return await answer_in_time(interaction, interaction.client.service.resolve_ref(value))

    async def autocomplete(  # type: ignore[override]
        self, interaction: discord.Interaction[CorpusBot], value: str, /
    ) -> list[app_commands.Choice[str]]:
        """The same choices wherever a post is asked for. The option is a string, so `value` is
        text and the choices are `Choice[str]`; discord.py's signature covers number options too,
        and its Choice type is invariant, hence the narrowing override."""
        return to_choices(await interaction.client.service.post_choices(value))


PostOption = app_commands.Transform[DocumentRef, PostTransformer]
"""Annotate a command's parameter with this to receive the post it names."""
