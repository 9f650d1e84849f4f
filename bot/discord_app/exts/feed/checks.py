"""Who may use the feed's commands, and what the bot needs in a channel to announce there.

The general checks (admins, managing a channel, mentioning a role) are in
`bot.discord_app.checks`; these are the feed's own, shared by the cog, the deliverer and the
pause reports.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, TypeVar

import discord
from discord import app_commands

from bot.discord_app.checks import ADMIN_REQUIRED, NotAdmin, feed_manager_refusal, is_admin
from bot.feeds.models import CORPUS_SOURCE

if TYPE_CHECKING:
    from bot.discord_app.client import CorpusBot

T = TypeVar("T")

MANAGE_CHANNELS_REQUIRED = (
    "You need the Manage Channels permission (or to be a configured admin) for this."
)


def channel_manager_only() -> Callable[[T], T]:
    """Manage Channels in the channel the command is typed in, or a user id listed in
    `discord.admin_user_ids`: for commands that act on no channel in particular (listing, status,
    preview). Those that act on a channel check the member there (`checks.feed_manager_refusal`)."""

    def predicate(interaction: discord.Interaction[CorpusBot]) -> bool:
        admins = interaction.client.config.discord.admin_user_ids
        if interaction.user.id in admins:
            return True
        if interaction.guild is not None and interaction.permissions.manage_channels:
            return True
        raise NotAdmin(MANAGE_CHANNELS_REQUIRED)

    return app_commands.check(predicate)


def missing_post_permissions(channel: discord.abc.GuildChannel, me: discord.Member) -> list[str]:
    """What the bot lacks to post announcements in `channel` (names as Discord shows them)."""
    perms = channel.permissions_for(me)
    # Read Message History: after a crash the sender looks for an unrecorded post in the channel
    # before resending it (without it Discord lists no messages, and the post could be doubled).
    needed = (
        ("view_channel", "View Channel"),
        ("send_messages", "Send Messages"),
        ("embed_links", "Embed Links"),
        ("read_message_history", "Read Message History"),
    )
    return [label for attribute, label in needed if not getattr(perms, attribute)]


def retry_refusal(
    interaction: discord.Interaction[CorpusBot],
    channel: discord.TextChannel | None,
    source: str | None,
    admins: tuple[int, ...],
) -> str | None:
    """Who may retry what, checked where it takes effect: re-reading the corpus is a reload,
    so only who may /reload (`checks.is_admin`); a channel's subscription needs Manage
    Channels there; checking a feed now, or resuming every subscription one may manage,
    Manage Channels where the command is typed (or a configured admin)."""
    if source == CORPUS_SOURCE and not is_admin(interaction, admins):
        return f"Checking the corpus folder re-reads the corpus, as /reload does. {ADMIN_REQUIRED}"
    if channel is not None:
        return feed_manager_refusal(interaction, channel)
    if interaction.user.id in admins or interaction.permissions.manage_channels:
        return None
    return MANAGE_CHANNELS_REQUIRED
