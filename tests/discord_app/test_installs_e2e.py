"""User installs end to end: the read-only commands are installable to a user's account and
usable in DMs; the commands that change something stay in servers, through a server's install."""

from __future__ import annotations

import pytest

from bot.discord_app.exts.feed.cog import Feed
from discord_emulator.errors import CommandUnavailableError
from tests.discord_app.conftest import World
from tests.discord_app.test_commands import embeds, text_of

READ_ONLY = {"post", "summarize", "author", "authors", "reasons", "search", "ask", "about"}


async def test_read_only_commands_are_user_installable_and_usable_anywhere(world: World) -> None:
    synced = {c["name"]: c for c in world.emu.synced_commands() if c["type"] == 1}
    for name in READ_ONLY:
        assert synced[name]["integration_types"] == [0, 1], name
        assert synced[name]["contexts"] == [0, 1, 2], name
    for name in set(synced) - READ_ONLY:  # /reload and the feed's
        assert synced[name]["integration_types"] == [0], name
        assert synced[name]["contexts"] == [0], name


def test_the_feed_commands_declare_servers_and_server_installs_only() -> None:
    """The feed's cog is not in `world` (its loops run on their own clock): its declarations."""
    commands = Feed.__cog_app_commands__
    assert {c.name for c in commands} >= {"subscribe", "unsubscribe", "subscriptions", "feed"}
    for command in commands:
        installs, contexts = command.allowed_installs, command.allowed_contexts
        assert installs is not None and (installs.guild, installs.user) == (True, False), command
        assert contexts is not None and contexts.guild and not contexts.dm_channel, command
        assert not contexts.private_channel, command


async def test_a_user_installed_ask_answers_in_a_dm(world: World) -> None:
    handle = await world.command(
        "ask", {"question": "What does Access Now want banned?"}, dm=True, user_install=True
    )
    reply = await handle.wait_reply()
    assert handle.payload["authorizing_integration_owners"] == {"1": str(world.member_id)}
    assert handle.payload["context"] == 1 and "guild_id" not in handle.payload
    assert embeds(reply)[0]["title"] == "Asked: What does Access Now want banned?"
    assert "ban on technologies" in text_of(reply)


async def test_reload_is_not_offered_in_a_dm_nor_to_a_user_install(world: World) -> None:
    with pytest.raises(CommandUnavailableError, match="cannot be used in DMs"):
        await world.command("reload", user=world.moderator_id, dm=True)
    with pytest.raises(CommandUnavailableError, match="user-installed"):
        await world.command("reload", user=world.moderator_id, user_install=True)
    assert world.emu.interactions == [], "Discord's client sends nothing"


async def test_a_user_installed_post_in_a_dm_between_users(world: World) -> None:
    """Context 2: a DM the bot is not in; the answer goes through the interaction alone."""
    handle = await world.emu.send_command(
        "post",
        {"post": "lessons-from-meltdown-and-spectre"},
        user=world.member_id,
        private_with=world.moderator_id,
        user_install=True,
    )
    reply = await handle.wait_reply()
    assert handle.payload["context"] == 2
    assert embeds(reply)[0]["title"].startswith("What Responsible AI")
    with pytest.raises(CommandUnavailableError, match="between users"):
        await world.emu.send_command(
            "post", {"post": "meltdown"}, user=world.member_id, private_with=world.moderator_id
        )
