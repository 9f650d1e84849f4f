"""The real discord.py client against the emulator: login, gateway, command sync, and every
way of answering an interaction."""

from __future__ import annotations

import discord
import pytest

from discord_emulator import (
    CommandNotSyncedError,
    CommandUnavailableError,
    DiscordEmulator,
    OptionError,
)
from tests.discord_emulator.conftest import TestBot, World


async def test_login_ready_and_guild_create(
    emu: DiscordEmulator, world: World, bot: TestBot
) -> None:
    assert bot.user is not None and bot.user.id == emu.bot_user_id
    assert bot.application_id == emu.application_id
    guild = bot.get_guild(world.guild.id)
    assert guild is not None and guild.name == "Test Server"
    assert {c.name for c in guild.text_channels} == {"general", "locked"}
    assert guild.default_role.id == world.guild.everyone_role_id == world.guild.id
    assert guild.me is not None and guild.me.id == emu.bot_user_id
    assert [r.method + " " + r.path for r in emu.requests[:2]] == [
        "GET /users/@me",
        "GET /oauth2/applications/@me",
    ]
    assert [e.kind for e in emu.gateway_events[:2]] == ["IDENTIFY", "READY"]


async def test_commands_are_synced_as_discord_stores_them(
    emu: DiscordEmulator, world: World, bot: TestBot
) -> None:
    guild_names = {c["name"] for c in emu.synced_commands(world.guild.id)}
    assert {"summarize", "slow", "counter", "feed", "admin"} <= guild_names
    assert [c["name"] for c in emu.synced_commands()] == ["serveronly", "about"]
    summarize = next(c for c in emu.synced_commands(world.guild.id) if c["name"] == "summarize")
    assert summarize["guild_id"] == str(world.guild.id)
    assert [(o["name"], o["type"], o.get("required", False)) for o in summarize["options"]] == [
        ("post", 3, True),
        ("length", 4, False),
    ]
    fetched = await bot.tree.fetch_commands(guild=discord.Object(world.guild.id))
    assert {c.name for c in fetched} == guild_names
    assert emu.problems == []


async def test_slash_command_reply_with_embed(
    emu: DiscordEmulator, world: World, bot: TestBot
) -> None:
    inter = await emu.send_command(
        "summarize",
        {"post": "meltdown", "length": 3},
        user=world.alice.id,
        guild=world.guild.id,
        channel=world.channel.id,
    )
    reply = await inter.wait_reply(timeout=10)
    assert reply["embeds"][0]["title"] == "Summary of meltdown"
    assert reply["embeds"][0]["description"] == "Sentence. Sentence. Sentence."
    assert reply["embeds"][0]["fields"] == [{"name": "Length", "value": "3", "inline": True}]
    assert reply["interaction_metadata"]["user"]["id"] == str(world.alice.id)
    assert not inter.ephemeral and inter.initial_type == 4
    assert [m["id"] for m in emu.channel_messages(world.channel.id)] == [reply["id"]]
    assert emu.problems == []


async def test_defer_then_followups(emu: DiscordEmulator, world: World, bot: TestBot) -> None:
    inter = await emu.send_command(
        "slow", user=world.alice.id, guild=world.guild.id, channel=world.channel.id
    )
    reply = await inter.wait_reply()
    assert reply["content"] == "done after thinking"
    await inter.wait_responses(3)
    # The first followup fills the deferred message; the second is a new message.
    assert [r.kind for r in inter.responses] == ["callback", "followup", "followup"]
    assert reply["id"] == str(inter.original_message_id)
    assert [m["content"] for m in inter.messages] == ["done after thinking", "a second followup"]
    assert inter.deferred and not inter.ephemeral
    assert emu.problems == []


async def test_ephemeral_defer_makes_the_first_followup_ephemeral(
    emu: DiscordEmulator, world: World, bot: TestBot
) -> None:
    inter = await emu.send_command(
        "slow",
        {"secret": True},
        user=world.alice.id,
        guild=world.guild.id,
        channel=world.channel.id,
    )
    reply = await inter.wait_reply()
    assert inter.ephemeral and reply["flags"] & 64
    await inter.wait_responses(3)
    public = emu.channel_messages(world.channel.id, include_ephemeral=False)
    assert [m["content"] for m in public] == ["a second followup"]


async def test_defer_then_edit_original(emu: DiscordEmulator, world: World, bot: TestBot) -> None:
    inter = await emu.send_command(
        "slowedit", user=world.alice.id, guild=world.guild.id, channel=world.channel.id
    )
    reply = await inter.wait_reply()
    assert reply["content"] == "edited after defer"
    assert [r.kind for r in inter.responses] == ["callback", "edit_original"]
    assert (
        inter.responses[0].message is not None and inter.responses[0].message["flags"] & 128
    )  # loading
    assert reply["edited_timestamp"] is None  # filling a deferred reply is not an "edit"
    assert emu.problems == []


async def test_autocomplete(emu: DiscordEmulator, world: World, bot: TestBot) -> None:
    choices = await emu.send_autocomplete(
        "summarize", {"post": "s"}, focused="post", user=world.alice.id, guild=world.guild.id
    )
    assert choices == [
        {"name": "Spectre", "value": "spectre"},
        {"name": "Shellshock", "value": "shellshock"},
    ]
    assert emu.problems == []


async def test_button_click_updates_the_message(
    emu: DiscordEmulator, world: World, bot: TestBot
) -> None:
    inter = await emu.send_command(
        "counter", user=world.alice.id, guild=world.guild.id, channel=world.channel.id
    )
    reply = await inter.wait_reply()
    assert reply["components"][0]["components"][0]["custom_id"] == "counter:next"
    click = await emu.click_button(int(reply["id"]), "counter:next", user=world.alice.id)
    updated = await click.wait_reply()
    assert click.type == 3 and click.initial_type == 7
    assert updated["id"] == reply["id"] and updated["content"] == "page 1"
    assert emu.message(int(reply["id"]))["content"] == "page 1"
    assert emu.problems == []


async def test_modal_open_and_submit(emu: DiscordEmulator, world: World, bot: TestBot) -> None:
    opened = await emu.send_command("feedback", user=world.alice.id, guild=world.guild.id)
    assert await opened.wait_acknowledged() == 9
    assert opened.modal is not None and opened.modal["title"] == "Feedback"
    submitted = await emu.submit_modal(opened, {"comment": "great bot"})
    reply = await submitted.wait_reply()
    assert (
        submitted.type == 5 and reply["content"] == "thanks for: great bot" and submitted.ephemeral
    )
    assert emu.problems == []


async def test_subcommand_group(emu: DiscordEmulator, world: World, bot: TestBot) -> None:
    inter = await emu.send_command(
        "feed status", {"verbose": True}, user=world.alice.id, guild=world.guild.id
    )
    assert (await inter.wait_reply())["content"] == "feed ok verbose=True"
    assert inter.payload["data"]["options"] == [
        {"name": "status", "type": 1, "options": [{"name": "verbose", "type": 5, "value": True}]}
    ]


async def test_global_command_in_a_dm(emu: DiscordEmulator, world: World, bot: TestBot) -> None:
    inter = await emu.send_command("about", user=world.alice.id, guild=None)
    assert (await inter.wait_reply())["content"] == "about from dm"
    assert "user" in inter.payload and "member" not in inter.payload
    assert inter.channel_id == emu.dm_channel(world.alice.id).id


async def test_command_contexts_are_enforced_unless_disabled(
    emu: DiscordEmulator, world: World, bot: TestBot
) -> None:
    with pytest.raises(CommandUnavailableError, match="cannot be used in DMs"):
        await emu.send_command("serveronly", user=world.alice.id, guild=None)
    with pytest.raises(CommandNotSyncedError):  # guild commands do not exist in DMs
        await emu.send_command("summarize", {"post": "x"}, user=world.alice.id, guild=None)
    emu.config.enforce_command_contexts = False
    inter = await emu.send_command("serveronly", user=world.alice.id, guild=None)
    assert (await inter.wait_reply())["content"] == "in a guild: False"


async def test_user_option_and_mentions(emu: DiscordEmulator, world: World, bot: TestBot) -> None:
    quiet = await emu.send_command(
        "ping", {"who": world.admin.id}, user=world.alice.id, guild=world.guild.id
    )
    message = await quiet.wait_reply()
    assert message["content"] == f"hello <@{world.admin.id}>"
    assert emu.pings == []
    assert emu.allowed_mentions_log[-1][1] == {"parse": []}
    loud = await emu.send_command(
        "ping", {"who": world.admin.id, "loud": True}, user=world.alice.id, guild=world.guild.id
    )
    await loud.wait_reply()
    assert [p.users for p in emu.pings] == [[world.admin.id]]


async def test_default_member_permissions_are_enforced_like_the_client(
    emu: DiscordEmulator, world: World, bot: TestBot
) -> None:
    # By default anyone may invoke (server admins can override command permissions).
    anyone = await emu.send_command("admin", user=world.alice.id, guild=world.guild.id)
    assert (await anyone.wait_reply())["content"] == "admin ok"
    emu.config.enforce_command_permissions = True
    with pytest.raises(CommandUnavailableError, match="requires permissions"):
        await emu.send_command("admin", user=world.alice.id, guild=world.guild.id)
    inter = await emu.send_command("admin", user=world.admin.id, guild=world.guild.id)
    assert (await inter.wait_reply())["content"] == "admin ok"
    assert inter.ephemeral


async def test_driver_errors_are_clear(emu: DiscordEmulator, world: World, bot: TestBot) -> None:
    with pytest.raises(CommandNotSyncedError, match="never synced"):
        await emu.send_command("nope", user=world.alice.id, guild=world.guild.id)
    with pytest.raises(OptionError, match="no option 'size'"):
        await emu.send_command(
            "summarize", {"post": "x", "size": 2}, user=world.alice.id, guild=world.guild.id
        )
    with pytest.raises(OptionError, match="requires option 'post'"):
        await emu.send_command("summarize", {}, user=world.alice.id, guild=world.guild.id)
    with pytest.raises(OptionError, match="expects an integer"):
        await emu.send_command(
            "summarize", {"post": "x", "length": "many"}, user=world.alice.id, guild=world.guild.id
        )
    with pytest.raises(CommandNotSyncedError, match="needs a subcommand"):
        await emu.send_command("feed", user=world.alice.id, guild=world.guild.id)


async def test_world_changes_reach_the_connected_bot(
    emu: DiscordEmulator, world: World, bot: TestBot
) -> None:
    new_channel = emu.add_channel(world.guild.id, "announcements")
    role = emu.add_role(world.guild.id, "readers")
    await emu.wait_for(
        lambda: bot.get_channel(new_channel.id) is not None, describe="CHANNEL_CREATE"
    )
    guild = bot.get_guild(world.guild.id)
    assert guild is not None
    await emu.wait_for(lambda: guild.get_role(role.id) is not None, describe="GUILD_ROLE_CREATE")
    emu.deny_bot(new_channel.id, send=True)
    channel = bot.get_channel(new_channel.id)
    assert isinstance(channel, discord.TextChannel)
    await emu.wait_for(
        lambda: not channel.permissions_for(guild.me).send_messages, describe="CHANNEL_UPDATE"
    )
    emu.delete_channel(new_channel.id)
    await emu.wait_for(lambda: bot.get_channel(new_channel.id) is None, describe="CHANNEL_DELETE")


async def test_user_messages_reach_the_bot_gated_by_intents(
    emu: DiscordEmulator, world: World, bot: TestBot
) -> None:
    # The test bot has no Message Content intent: Discord blanks text that does not mention it.
    plain = bot.loop.create_task(bot.wait_for("message", timeout=10))
    emu.post_user_message(world.channel.id, world.alice.id, "hello everyone")
    assert (await plain).content == ""
    mention = bot.loop.create_task(bot.wait_for("message", timeout=10))
    emu.post_user_message(world.channel.id, world.alice.id, f"<@{emu.bot_user_id}> what is new?")
    received = await mention
    assert received.content.endswith("what is new?") and received.author.id == world.alice.id
    assert [m["author"]["id"] for m in emu.channel_messages(world.channel.id)] == [
        str(world.alice.id)
    ] * 2
