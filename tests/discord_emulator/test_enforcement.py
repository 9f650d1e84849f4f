"""What Discord refuses, the emulator refuses the same way (and records bot mistakes)."""

from __future__ import annotations

import discord
import pytest

from discord_emulator import DiscordEmulator
from tests.discord_emulator.conftest import TestBot, World


async def test_late_initial_response_is_unknown_interaction(
    emu: DiscordEmulator, world: World, bot: TestBot
) -> None:
    emu.ack_deadline = 0.0  # any answer is late: no need to make the bot slow
    inter = await emu.send_command(
        "late", user=world.alice.id, guild=world.guild.id, channel=world.channel.id
    )
    failure = await bot.next_failure()
    assert isinstance(failure, discord.NotFound) and failure.code == 10062
    assert inter.responses[0].status == 404
    assert inter.responses[0].error == {"message": "Unknown interaction", "code": 10062}
    assert not inter.acknowledged
    assert len(emu.protocol_errors) == 1 and "deadline is 0s" in emu.protocol_errors[0]
    assert emu.channel_messages(world.channel.id) == []


async def test_second_initial_response_is_already_acknowledged(
    emu: DiscordEmulator, world: World, bot: TestBot
) -> None:
    inter = await emu.send_command(
        "double", user=world.alice.id, guild=world.guild.id, channel=world.channel.id
    )
    failure = await bot.next_failure()
    assert (
        isinstance(failure, discord.HTTPException)
        and failure.status == 400
        and failure.code == 40060
    )
    assert [r.status for r in inter.responses] == [200, 400]
    assert (await inter.wait_reply())["content"] == "first"
    assert any("already been acknowledged" in p for p in emu.protocol_errors)


@pytest.mark.parametrize(
    ("kind", "problem"),
    [
        ("description", "data.embeds.0.description: Must be 4096 or fewer in length."),
        ("fields", "data.embeds.0.fields: Must be 25 or fewer in length."),
        ("total", "data.embeds: Embed size exceeds maximum size of 6000"),
    ],
)
async def test_oversized_embeds_are_rejected_and_recorded(
    emu: DiscordEmulator, world: World, bot: TestBot, kind: str, problem: str
) -> None:
    inter = await emu.send_command(
        "bigembed",
        {"kind": kind},
        user=world.alice.id,
        guild=world.guild.id,
        channel=world.channel.id,
    )
    failure = await bot.next_failure()
    assert (
        isinstance(failure, discord.HTTPException)
        and failure.status == 400
        and failure.code == 50035
    )
    # discord.py flattens Discord's nested `errors` into its message: the shape is right.
    assert "In " + problem.split(":")[0] in str(failure)
    assert (await inter.wait_reply())["content"] == "fallback: plain text"
    assert len(emu.validation_errors) == 1 and problem in emu.validation_errors[0]


async def test_body_failing_the_openapi_schema_is_rejected_and_recorded(
    emu: DiscordEmulator, world: World, bot: TestBot
) -> None:
    await emu.send_command(
        "badbutton", user=world.alice.id, guild=world.guild.id, channel=world.channel.id
    )
    failure = await bot.next_failure()
    assert isinstance(failure, discord.HTTPException) and failure.code == 50035
    assert "data.components.0.components.0.label" in str(failure)
    assert emu.validation_errors == [
        f"POST {emu.requests[-1].path}: data.components.0.components.0.label: Must be 80 or fewer in length. "
        "[BASE_TYPE_MAX_LENGTH] (got 81)"
    ]


async def test_more_than_25_autocomplete_choices_are_rejected(
    emu: DiscordEmulator, world: World, bot: TestBot
) -> None:
    inter = await emu.autocomplete_interaction(
        "many", {"pick": ""}, focused="pick", user=world.alice.id, guild=world.guild.id
    )
    (response,) = await inter.wait_responses(1)
    assert response.status == 400 and response.error is not None and response.error["code"] == 50035
    assert inter.choices is None
    assert "data.choices: Must be 25 or fewer in length." in emu.validation_errors[0]


async def test_content_over_2000_characters(
    emu: DiscordEmulator, world: World, bot: TestBot
) -> None:
    channel = bot.get_channel(world.channel.id)
    assert isinstance(channel, discord.TextChannel)
    with pytest.raises(discord.HTTPException) as caught:
        await channel.send("x" * 2001)
    assert caught.value.code == 50035
    assert "content: Must be 2000 or fewer in length." in emu.validation_errors[0]
    assert emu.channel_messages(world.channel.id) == []


async def test_repeated_nonce_returns_the_existing_message(
    emu: DiscordEmulator, world: World, bot: TestBot
) -> None:
    channel = bot.get_channel(world.channel.id)
    assert isinstance(channel, discord.TextChannel)
    first = await channel.send("digest", nonce=4242)
    again = await channel.send("digest", nonce=4242)
    other = await channel.send("digest", nonce=4343)
    assert first.id == again.id != other.id
    assert [m["id"] for m in emu.channel_messages(world.channel.id)] == [
        str(first.id),
        str(other.id),
    ]
    assert emu.requests[-2].body["enforce_nonce"] is True


async def test_a_nonce_is_forgotten_after_the_nonce_window_and_never_listed(
    emu: DiscordEmulator, world: World, bot: TestBot
) -> None:
    assert DiscordEmulator(nonce_window=1.5).config.nonce_window == 1.5
    channel = bot.get_channel(world.channel.id)
    assert isinstance(channel, discord.TextChannel)
    first = await channel.send("digest", nonce=4242)
    emu.config.nonce_window = 0.0  # as if minutes had passed
    again = await channel.send("digest", nonce=4242)
    assert first.id != again.id
    # Discord does not store nonces: listed or fetched messages have none.
    listed = [message async for message in channel.history(limit=10)]
    fetched = await channel.fetch_message(first.id)
    assert [m.id for m in listed] == [again.id, first.id]
    assert all(m.nonce is None for m in [*listed, fetched])


async def test_missing_permissions_and_unknown_channel(
    emu: DiscordEmulator, world: World, bot: TestBot
) -> None:
    emu.deny_bot(world.other_channel.id, send=True)
    locked = bot.get_partial_messageable(world.other_channel.id)
    with pytest.raises(discord.Forbidden) as forbidden:
        await locked.send("hello")
    assert forbidden.value.status == 403 and forbidden.value.code == 50013
    assert str(forbidden.value).endswith("Missing Permissions")

    emu.deny_bot(world.other_channel.id, view=True)
    with pytest.raises(discord.Forbidden) as hidden:
        await bot.fetch_channel(world.other_channel.id)
    assert hidden.value.code == 50001

    emu.delete_channel(world.channel.id)
    gone = bot.get_partial_messageable(world.channel.id)
    with pytest.raises(discord.NotFound) as unknown:
        await gone.send("hello")
    assert unknown.value.code == 10003
    with pytest.raises(discord.NotFound):
        await bot.fetch_channel(world.channel.id)
    # Expected refusals are answers the bot must handle, not bot bugs.
    assert emu.problems == []


async def test_without_embed_links_embeds_are_dropped_or_refused(
    emu: DiscordEmulator, world: World, bot: TestBot
) -> None:
    emu.deny_bot(world.channel.id, embed=True)
    channel = bot.get_partial_messageable(world.channel.id)
    message = await channel.send("text survives", embed=discord.Embed(title="dropped"))
    assert message.content == "text survives" and message.embeds == []
    assert emu.stripped_embeds == [message.id]
    with pytest.raises(discord.Forbidden) as refused:
        await channel.send(embed=discord.Embed(title="embed only"))
    assert refused.value.code == 50013


async def test_wrong_token_is_refused(emu: DiscordEmulator, world: World) -> None:
    with emu.patch_discord_py():
        client = discord.Client(intents=discord.Intents.none())
        with pytest.raises(discord.LoginFailure):
            await client.login("not-the-token")
        await client.close()
    assert emu.requests[-1].status == 401


async def test_unknown_routes_are_reported(
    emu: DiscordEmulator, world: World, bot: TestBot
) -> None:
    with pytest.raises(discord.NotFound):
        await bot.http.request(discord.http.Route("GET", "/stickers/{sticker_id}", sticker_id=1))
    assert emu.unsupported_routes == ["GET /stickers/1"]
    assert emu.problems == ["GET /stickers/1: route not supported by the emulator"]
