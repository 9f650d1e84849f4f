"""Who may do what: admin commands, and feed actions checked in the channel they act on.

Admins (a user id listed in config, or a member with Manage Server) may run /reload, and so make
the bot re-read the corpus by any route (`/feed retry source:corpus` too). Enforced twice on
purpose: the command's default permissions hide it from most members in the Discord client, and
these checks refuse it in the bot even if a server overrides those defaults.

Feed actions name a channel, and a member's permissions differ per channel (overwrites), so they
are checked in the channel the action takes effect in, not the one the command was typed in: a
member with Manage Channels in #bots only must not subscribe #staff, which they cannot even see.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, TypeVar

import discord
from discord import app_commands

from bot.discord_app.limits import safe

if TYPE_CHECKING:
    from bot.discord_app.client import CorpusBot

T = TypeVar("T")

ADMIN_REQUIRED = "You need the Manage Server permission (or to be a configured admin) for this."


class NotAdmin(app_commands.CheckFailure):
    """The user is neither a configured admin nor holds Manage Server here."""


def is_admin(interaction: discord.Interaction[CorpusBot], admin_user_ids: tuple[int, ...]) -> bool:
    if interaction.user.id in admin_user_ids:
        return True
    return interaction.guild is not None and interaction.permissions.manage_guild


def require_admin(interaction: discord.Interaction[CorpusBot]) -> None:
    """Raise unless the user may /reload: in a server, and a configured admin or Manage Server."""
    if interaction.guild_id is None:
        raise app_commands.NoPrivateMessage()
    if not is_admin(interaction, interaction.client.config.discord.admin_user_ids):
        raise NotAdmin(ADMIN_REQUIRED)


def admin_only() -> Callable[[T], T]:
    """For guild-only admin commands. discord.py's `guild_only()` only tells Discord where to
    offer a command; this check also refuses one that arrives from a DM anyway."""

    def predicate(interaction: discord.Interaction[CorpusBot]) -> bool:
        require_admin(interaction)
        return True

    return app_commands.check(predicate)


BOT_ADMIN_REQUIRED = (
    "Only the bot's admins (the user ids in its config's `admin_user_ids`) may do this: the feeds "
    "it follows fill the corpus every server reads."
)


def bot_admin_only() -> Callable[[T], T]:
    """For what changes the bot for every server (the feeds it follows feed the shared corpus):
    the config's `admin_user_ids` only. Manage Server in one server is not enough."""

    def predicate(interaction: discord.Interaction[CorpusBot]) -> bool:
        if interaction.guild_id is None:
            raise app_commands.NoPrivateMessage()
        if interaction.user.id not in interaction.client.config.discord.admin_user_ids:
            raise NotAdmin(BOT_ADMIN_REQUIRED)
        return True

    return app_commands.check(predicate)


def member_permissions_in(
    interaction: discord.Interaction[CorpusBot], channel: discord.abc.GuildChannel | discord.Thread
) -> discord.Permissions:
    """What the member who ran the command may do in `channel`, overwrites included.

    For the channel the command was typed in, Discord computed it (`interaction.permissions`);
    for another one, discord.py computes it from the cached roles and overwrites."""
    if channel.id == interaction.channel_id:
        return interaction.permissions
    member = interaction.user
    if not isinstance(member, discord.Member) or member.guild.id != channel.guild.id:
        return discord.Permissions.none()
    return channel.permissions_for(member)


def feed_manager_refusal(
    interaction: discord.Interaction[CorpusBot], channel: discord.abc.GuildChannel | discord.Thread
) -> str | None:
    """Why the member may not manage the feed of `channel`, or None if they may: a configured
    admin, or View Channel and Manage Channels in that channel."""
    if interaction.user.id in interaction.client.config.discord.admin_user_ids:
        return None
    perms = member_permissions_in(interaction, channel)
    if perms.view_channel and perms.manage_channels:
        return None
    missing = [
        label
        for ok, label in (
            (perms.view_channel, "View Channel"),
            (perms.manage_channels, "Manage Channels"),
        )
        if not ok
    ]
    return (
        f"You need the {' and '.join(missing)} permission{'s' if len(missing) > 1 else ''} in <#{channel.id}> "
        "(or to be a configured admin) to manage its announcements."
    )


def mention_role_refusal(
    interaction: discord.Interaction[CorpusBot],
    role: discord.Role,
    channel: discord.abc.GuildChannel | discord.Thread,
) -> str | None:
    """Why announcements in `channel` may not mention `role` for this member, or None.

    The bot must not ping for anyone what they could not ping themselves: @everyone never; a role
    managed by an integration (a bot's, a booster role) never, nobody asks for those; a role that
    is not mentionable only for a member with Mention Everyone in that channel."""
    if role.is_default():
        return "Announcements never mention @everyone; pick a role."
    if role.managed:
        return f"“{safe(role.name)}” is managed by an integration (a bot's or the booster role); pick a role members hold."
    if not role.mentionable and not member_permissions_in(interaction, channel).mention_everyone:
        return (
            f"“{safe(role.name)}” is not mentionable, and you need the Mention Everyone permission in "
            f"<#{channel.id}> to have it mentioned there."
        )
    return None
