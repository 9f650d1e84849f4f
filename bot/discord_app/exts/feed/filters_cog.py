"""`/feed filter add|remove|list|match` and `/feed format`: a subscription's filter conditions,
how they combine, and how its announcements look (issue #12).

Mixed into the `Feed` cog (``cog.py`` adds ``filter_group`` and ``format_command`` to its
``/feed`` group), so they share its `FeedService`. Each command acts on one channel's
subscription (default: the channel it is typed in) and checks Manage Channels *there*, as
`/subscribe` does. Options are parsed once by discord.py (choices from ``Literal``s, ranges);
the service refuses what only it can judge (a regex RE2 refuses, a number it does not have),
each refusal naming the option.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from functools import partial
from typing import TYPE_CHECKING, TypeVar

import discord
from discord import app_commands
from discord.ext import commands

from bot.discord_app.checks import feed_manager_refusal
from bot.discord_app.exts.feed.destinations import AnnouncementTarget, TargetOption
from bot.discord_app.feed_formats import message_parts
from bot.discord_app.feed_render import FORMAT_LABELS, condition_text, conditions_text
from bot.discord_app.limits import CHOICE_NAME, CHOICES, clip, fit_content, inline_code
from bot.feeds.delivery import EntryMessage
from bot.feeds.filters import MAX_VALUE_CHARS, effective_conditions
from bot.feeds.models import (
    Condition,
    ConditionField,
    MatchKind,
    MatchMode,
    MessageFormat,
)
from bot.feeds.service import FeedService, Preview, SubscriptionRefused

if TYPE_CHECKING:
    from bot.discord_app.client import CorpusBot

Changed = TypeVar("Changed")

filter_group = app_commands.Group(
    name="filter", description="Which entries a channel's subscription announces."
)


class FeedFilterCommands(commands.Cog):
    """The filter and format commands, a base of the `Feed` cog (which supplies ``feed``); never
    added as a cog of its own."""

    feed: FeedService

    async def _target(
        self, interaction: discord.Interaction[CorpusBot], channel: AnnouncementTarget | None
    ) -> AnnouncementTarget | None:
        """The channel acted on, once the member may manage its feed; None after a refusal."""
        target = channel or interaction.channel
        if interaction.guild is None or not isinstance(target, AnnouncementTarget):
            await _refuse(interaction, "`channel:` name a channel of this server.")
            return None
        refusal = feed_manager_refusal(interaction, target)
        if refusal is not None:
            await _refuse(interaction, refusal)
            return None
        return target

    async def _on_subscription(
        self,
        interaction: discord.Interaction[CorpusBot],
        channel: AnnouncementTarget | None,
        act: Callable[[int, int], Awaitable[Changed]],
    ) -> Changed | None:
        """`act(guild_id, channel_id)` on the named channel's subscription, once the member may
        manage it; None after a refusal (already answered, naming what is wrong)."""
        target = await self._target(interaction, channel)
        if target is None:
            return None
        try:
            return await act(target.guild.id, target.id)
        except SubscriptionRefused as refused:
            await _refuse(interaction, refused.text(inline_code))
            return None

    @filter_group.command(name="add", description="Announce only entries that pass a condition.")
    @app_commands.describe(
        field="What the condition looks at (text: the title and the summary)",
        match="contains: anywhere; words: whole words; regex: an RE2 pattern",
        value="The text, words or pattern (case and accents are ignored)",
        negate="True: announce entries that do NOT pass it",
        channel="The subscribed channel (default: this channel)",
    )
    async def filter_add(
        self,
        interaction: discord.Interaction[CorpusBot],
        field: ConditionField,
        match: MatchKind,
        value: app_commands.Range[str, 1, MAX_VALUE_CHARS],
        negate: bool = False,
        channel: TargetOption | None = None,
    ) -> None:
        condition = Condition(field, match, value, negate)
        sub = await self._on_subscription(
            interaction, channel, partial(self.feed.add_condition, condition=condition)
        )
        if sub is None:
            return
        number = len(effective_conditions(sub))
        await _answer(
            interaction,
            f"Added #{number}: {condition_text(condition)}.\n{conditions_text(sub)}",
        )

    @filter_group.command(name="remove", description="Remove a condition, by its number.")
    @app_commands.describe(
        number="The condition's number, as /feed filter list shows it",
        channel="The subscribed channel (default: this channel)",
    )
    async def filter_remove(
        self,
        interaction: discord.Interaction[CorpusBot],
        number: app_commands.Range[int, 1, 100],
        channel: TargetOption | None = None,
    ) -> None:
        changed = await self._on_subscription(
            interaction, channel, partial(self.feed.remove_condition, number=number)
        )
        if changed is None:
            return
        sub, removed = changed
        await _answer(
            interaction, f"Removed #{number}: {condition_text(removed)}.\n{conditions_text(sub)}"
        )

    @filter_remove.autocomplete("number")
    async def _number_choices(
        self, interaction: discord.Interaction[CorpusBot], current: int | str
    ) -> list[app_commands.Choice[int]]:
        """The conditions of the channel named (or this one), as "2. title contains `x`"."""
        channel = getattr(interaction.namespace, "channel", None)
        channel_id = getattr(channel, "id", None) or interaction.channel_id
        if channel_id is None or interaction.guild_id is None:
            return []
        try:
            sub = await self.feed.channel_subscription(interaction.guild_id, channel_id)
        except SubscriptionRefused:
            return []
        return [
            app_commands.Choice(name=clip(f"{n}. {condition_text(c)}", CHOICE_NAME), value=n)
            for n, c in enumerate(effective_conditions(sub), 1)
        ][:CHOICES]

    @filter_group.command(name="list", description="A subscription's conditions, numbered.")
    @app_commands.describe(channel="The subscribed channel (default: this channel)")
    async def filter_list(
        self,
        interaction: discord.Interaction[CorpusBot],
        channel: TargetOption | None = None,
    ) -> None:
        sub = await self._on_subscription(interaction, channel, self.feed.channel_subscription)
        if sub is not None:
            await _answer(interaction, conditions_text(sub))

    @filter_group.command(
        name="match", description="Announce entries that pass all the conditions, or any one."
    )
    @app_commands.describe(
        mode="all: every condition must pass; any: one is enough",
        channel="The subscribed channel (default: this channel)",
    )
    async def filter_match(
        self,
        interaction: discord.Interaction[CorpusBot],
        mode: MatchMode,
        channel: TargetOption | None = None,
    ) -> None:
        sub = await self._on_subscription(
            interaction, channel, partial(self.feed.set_filter_options, match_mode=mode)
        )
        if sub is not None:
            await _answer(interaction, conditions_text(sub))

    @app_commands.command(name="format", description="How a channel's announcements look.")
    @app_commands.describe(
        style="embed (as today), compact (one line each) or components (a Components V2 layout)",
        channel="The subscribed channel (default: this channel)",
    )
    async def format_command(
        self,
        interaction: discord.Interaction[CorpusBot],
        style: MessageFormat,
        channel: TargetOption | None = None,
    ) -> None:
        sub = await self._on_subscription(
            interaction, channel, partial(self.feed.set_filter_options, message_format=style)
        )
        if sub is None:
            return
        await _answer(
            interaction,
            f"<#{sub.channel_id}> now gets its announcements {FORMAT_LABELS[sub.message_format]}; "
            "`/feed preview` shows the next one.",
        )


async def _answer(interaction: discord.Interaction[CorpusBot], text: str) -> None:
    """Every reply of these commands, answers and refusals alike: only to the member."""
    await interaction.response.send_message(fit_content(text), ephemeral=True)


_refuse = _answer


async def send_preview(interaction: discord.Interaction[CorpusBot], preview: Preview) -> None:
    """The announcement of ``preview`` as an ephemeral followup, rendered by the deliverer's own
    ``message_parts`` in the subscription's format (pinging no one: it is only a preview)."""
    sub = preview.subscription
    message = EntryMessage(preview.announcement, sub.mention_role_id if sub else None)
    parts = message_parts(message, sub.message_format if sub else "embed")
    kwargs = parts.send_kwargs()
    kwargs["allowed_mentions"] = discord.AllowedMentions.none()
    await interaction.followup.send(ephemeral=True, **kwargs)
