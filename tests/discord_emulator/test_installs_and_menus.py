"""User installs and message context menus, as Discord's client offers and sends them.

A real discord.py bot declares `allowed_installs`/`allowed_contexts` and a message command; the
emulator stores the `integration_types` and `contexts` it synced, offers each command only
through the installations and in the places those allow, and sends `context` and
`authorizing_integration_owners` as Discord documents them.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import discord
import pytest
from discord import app_commands
from discord.ext import commands

from discord_emulator import DiscordEmulator
from discord_emulator.errors import CommandNotSyncedError, CommandUnavailableError
from tests.discord_emulator.conftest import World, start_bot, stop_bot


class InstallBot(commands.Bot):
    """Three global commands: one for user installs anywhere, one for servers only (the
    default install), and a message command that echoes the message it was used on."""

    __test__ = False

    def __init__(self) -> None:
        super().__init__(
            command_prefix="!",
            intents=discord.Intents.default(),
            allowed_mentions=discord.AllowedMentions.none(),
        )

        @self.tree.command(name="anywhere", description="Installable to a user, usable anywhere")
        @app_commands.allowed_installs(guilds=True, users=True)
        @app_commands.allowed_contexts(guilds=True, dms=True, private_channels=True)
        async def anywhere(interaction: discord.Interaction) -> None:
            user_owned = interaction.is_user_integration()
            await interaction.response.send_message(
                f"user install: {user_owned}, guild: {interaction.guild_id}", ephemeral=True
            )

        @self.tree.command(name="serveronly", description="Servers only")
        @app_commands.guild_only()
        async def serveronly(interaction: discord.Interaction) -> None:
            await interaction.response.send_message("server ok")

        @self.tree.context_menu(name="Echo message")
        @app_commands.allowed_installs(guilds=True, users=True)
        @app_commands.allowed_contexts(guilds=True, dms=True, private_channels=True)
        async def echo(interaction: discord.Interaction, message: discord.Message) -> None:
            await interaction.response.send_message(
                f"echo {message.id}: {message.content}", ephemeral=True
            )

    async def before_identify_hook(self, shard_id: int | None, *, initial: bool = False) -> None:
        """No 5 s wait before IDENTIFY against an emulator."""

    async def setup_hook(self) -> None:
        await self.tree.sync()


@pytest.fixture
async def install_bot(emu: DiscordEmulator, world: World) -> AsyncIterator[InstallBot]:
    with emu.patch_discord_py():
        bot = InstallBot()
        task = await start_bot(emu, bot)
        await emu.wait_for_commands()
        yield bot
        await stop_bot(bot, task)


async def test_integration_types_and_contexts_are_stored_as_synced(
    emu: DiscordEmulator, world: World, install_bot: InstallBot
) -> None:
    synced = {(c["type"], c["name"]): c for c in emu.synced_commands()}
    assert synced[(1, "anywhere")]["integration_types"] == [0, 1]
    assert synced[(1, "anywhere")]["contexts"] == [0, 1, 2]
    assert synced[(1, "serveronly")]["contexts"] == [0]
    assert synced[(3, "Echo message")]["integration_types"] == [0, 1]
    assert emu.problems == []


async def test_a_user_installed_command_in_a_dm_names_the_user_as_its_owner(
    emu: DiscordEmulator, world: World, install_bot: InstallBot
) -> None:
    inter = await emu.send_command("anywhere", user=world.alice.id, guild=None, user_install=True)
    reply = await inter.wait_reply()
    assert reply["content"] == "user install: True, guild: None"
    assert inter.payload["authorizing_integration_owners"] == {"1": str(world.alice.id)}
    assert inter.payload["context"] == 1
    assert "user" in inter.payload and "member" not in inter.payload
    in_guild = await emu.send_command("anywhere", user=world.alice.id, guild=world.guild.id)
    assert (await in_guild.wait_reply())["content"].startswith("user install: False")
    assert in_guild.payload["authorizing_integration_owners"] == {"0": str(world.guild.id)}
    assert in_guild.payload["context"] == 0
    assert emu.problems == []


async def test_a_guild_only_command_is_not_offered_in_a_dm_nor_to_a_user_install(
    emu: DiscordEmulator, world: World, install_bot: InstallBot
) -> None:
    with pytest.raises(CommandUnavailableError, match="cannot be used in DMs"):
        await emu.send_command("serveronly", user=world.alice.id, guild=None)
    with pytest.raises(CommandUnavailableError, match="user-installed"):
        await emu.send_command(
            "serveronly", user=world.alice.id, guild=world.guild.id, user_install=True
        )
    assert all(i.name != "serveronly" for i in emu.interactions), "nothing was sent"


async def test_a_message_command_receives_the_message_it_was_used_on(
    emu: DiscordEmulator, world: World, install_bot: InstallBot
) -> None:
    posted = emu.post_user_message(world.channel.id, world.alice.id, "look at this")
    inter = await emu.send_message_command("Echo message", int(posted["id"]), user=world.admin.id)
    reply = await inter.wait_reply()
    assert reply["content"] == f"echo {posted['id']}: look at this"
    assert inter.payload["data"]["type"] == 3
    assert inter.payload["data"]["target_id"] == posted["id"]
    assert inter.payload["data"]["resolved"]["messages"][posted["id"]]["content"] == "look at this"
    assert inter.ephemeral
    with pytest.raises(CommandNotSyncedError, match="Echo"):
        await emu.send_message_command("Echo", int(posted["id"]), user=world.admin.id)
    assert emu.problems == []


async def test_a_dm_between_users_offers_only_user_installed_commands(
    emu: DiscordEmulator, world: World, install_bot: InstallBot
) -> None:
    inter = await emu.send_command(
        "anywhere", user=world.alice.id, private_with=world.admin.id, user_install=True
    )
    assert (await inter.wait_reply())["content"] == "user install: True, guild: None"
    assert inter.payload["context"] == 2
    assert inter.payload["authorizing_integration_owners"] == {"1": str(world.alice.id)}
    assert inter.channel_id == emu.private_channel(world.admin.id, world.alice.id).id
    with pytest.raises(CommandUnavailableError, match="between users"):
        await emu.send_command("anywhere", user=world.alice.id, private_with=world.admin.id)
    with pytest.raises(CommandUnavailableError, match="cannot be used user-installed"):
        await emu.send_command(
            "serveronly", user=world.alice.id, private_with=world.admin.id, user_install=True
        )
    posted = emu.post_user_message(inter.channel_id, world.admin.id, "between us")
    menu = await emu.send_message_command(
        "Echo message", int(posted["id"]), user=world.alice.id, user_install=True
    )
    assert (await menu.wait_reply())["content"] == f"echo {posted['id']}: between us"
    assert menu.payload["context"] == 2 and menu.channel_id == inter.channel_id
    assert emu.problems == []
