"""Who may run admin commands: a user id listed in config, or a member with Manage Server.

Enforced twice on purpose: the command's default permissions hide it from most members in the
Discord client, and this check refuses it in the bot even if a server overrides those defaults.
"""

from __future__ import annotations

import discord
from discord import app_commands


class NotAdmin(app_commands.CheckFailure):
    """The user is neither a configured admin nor holds Manage Server here."""


def is_admin(interaction: discord.Interaction, admin_user_ids: tuple[int, ...]) -> bool:
    if interaction.user.id in admin_user_ids:
        return True
    return interaction.guild is not None and interaction.permissions.manage_guild


def admin_only() -> object:
    """For guild-only admin commands. discord.py's `guild_only()` only tells Discord where to
    offer a command; this check also refuses one that arrives from a DM anyway."""

    def predicate(interaction: discord.Interaction) -> bool:
        if interaction.guild_id is None:
            raise app_commands.NoPrivateMessage()
        admins = interaction.client.config.discord.admin_user_ids
        if not is_admin(interaction, admins):
            raise NotAdmin("You need the Manage Server permission (or to be a configured admin) for this.")
        return True

    return app_commands.check(predicate)
