"""Components V2 as Discord enforces it: a flagged message holds no content, embeds, stickers
or poll, at most 40 components and 4,000 characters of text displays; layout components need
the flag. A real discord.py bot sends each (a LayoutView, or a raw body where discord.py itself
would refuse first) and gets Discord's 400 50035."""

from __future__ import annotations

from typing import Any

import discord
import pytest

from discord_emulator import DiscordEmulator
from discord_emulator.components_v2 import IS_COMPONENTS_V2, text_displays
from discord_emulator.render import render_message_text
from tests.discord_emulator.conftest import TestBot, World


def layout(*texts: str) -> discord.ui.LayoutView:
    view = discord.ui.LayoutView(timeout=None)
    view.add_item(discord.ui.Container(*(discord.ui.TextDisplay(t) for t in texts)))
    return view


async def raw_send(bot: TestBot, channel_id: int, body: dict[str, Any]) -> Any:
    route = discord.http.Route("POST", "/channels/{channel_id}/messages", channel_id=channel_id)
    return await bot.http.request(route, json=body)


async def test_a_layout_is_stored_as_sent_and_read_as_text(
    emu: DiscordEmulator, world: World, bot: TestBot
) -> None:
    channel = bot.get_channel(world.channel.id)
    assert isinstance(channel, discord.TextChannel)
    sent = await channel.send(view=layout("### Title", "Some text"))
    (stored,) = emu.channel_messages(world.channel.id)
    assert stored["flags"] & IS_COMPONENTS_V2 and stored["content"] == ""
    assert text_displays(stored) == ["### Title", "Some text"]
    assert sent.flags.components_v2


@pytest.mark.parametrize(
    ("extra", "where"),
    [
        ({"content": "hello"}, "content"),
        ({"embeds": [{"title": "x"}]}, "embeds"),
        ({"sticker_ids": ["1"]}, "sticker_ids"),
    ],
)
async def test_legacy_fields_are_refused_with_the_flag(
    emu: DiscordEmulator, world: World, bot: TestBot, extra: dict[str, Any], where: str
) -> None:
    body = {
        "flags": IS_COMPONENTS_V2,
        "components": [{"type": 10, "content": "text"}],
        **extra,
    }
    with pytest.raises(discord.HTTPException) as caught:
        await raw_send(bot, world.channel.id, body)
    assert caught.value.status == 400 and caught.value.code == 50035
    assert f"{where}: The '{where}' field cannot be used" in emu.validation_errors[-1]
    assert emu.channel_messages(world.channel.id) == []


async def test_null_legacy_fields_are_fine(
    emu: DiscordEmulator, world: World, bot: TestBot
) -> None:
    body = {
        "flags": IS_COMPONENTS_V2,
        "content": None,
        "embeds": [],
        "components": [{"type": 10, "content": "text"}],
    }
    await raw_send(bot, world.channel.id, body)
    assert len(emu.channel_messages(world.channel.id)) == 1


async def test_text_displays_total_at_most_4000_characters(
    emu: DiscordEmulator, world: World, bot: TestBot
) -> None:
    channel = bot.get_channel(world.channel.id)
    assert isinstance(channel, discord.TextChannel)
    await channel.send(view=layout("x" * 2000, "y" * 2000))  # exactly 4,000: accepted
    with pytest.raises(discord.HTTPException) as caught:
        await channel.send(view=layout("x" * 2000, "y" * 2001))
    assert caught.value.code == 50035
    assert "4000 or fewer characters in total" in emu.validation_errors[-1]
    assert "(got 4001)" in emu.validation_errors[-1]
    assert len(emu.channel_messages(world.channel.id)) == 1


async def test_at_most_40_components_nested_ones_included(
    emu: DiscordEmulator, world: World, bot: TestBot
) -> None:
    def body(children: int) -> dict[str, Any]:
        texts = [{"type": 10, "content": str(n)} for n in range(children)]
        return {"flags": IS_COMPONENTS_V2, "components": [{"type": 17, "components": texts}]}

    await raw_send(bot, world.channel.id, body(39))  # 1 container + 39 = 40
    with pytest.raises(discord.HTTPException) as caught:
        await raw_send(bot, world.channel.id, body(40))
    assert caught.value.code == 50035
    assert "40 or fewer in total components" in emu.validation_errors[-1]


async def test_layout_components_need_the_flag(
    emu: DiscordEmulator, world: World, bot: TestBot
) -> None:
    with pytest.raises(discord.HTTPException) as caught:
        await raw_send(bot, world.channel.id, {"components": [{"type": 10, "content": "no flag"}]})
    assert caught.value.code == 50035
    assert "requires the IS_COMPONENTS_V2 flag" in emu.validation_errors[-1]


async def test_a_mention_in_a_text_display_pings_as_allowed_mentions_permit(
    emu: DiscordEmulator, world: World, bot: TestBot
) -> None:
    """A layout message has no content: its text displays mention, and ping only whom
    allowed_mentions lets through (the bot's default here: nobody)."""
    channel = bot.get_channel(world.channel.id)
    assert isinstance(channel, discord.TextChannel)
    mention = f"<@{world.alice.id}>"
    quiet = await channel.send(view=layout(mention))
    loud = await channel.send(
        view=layout(mention), allowed_mentions=discord.AllowedMentions(users=True)
    )
    assert [(p.message_id, p.users) for p in emu.pings] == [(loud.id, [world.alice.id])]
    assert quiet.id != loud.id


async def test_the_sandbox_shows_a_layouts_text(
    emu: DiscordEmulator, world: World, bot: TestBot
) -> None:
    channel = bot.get_channel(world.channel.id)
    assert isinstance(channel, discord.TextChannel)
    await channel.send(view=layout("A heading", "Some **bold** text"))
    (stored,) = emu.channel_messages(world.channel.id)
    shown = render_message_text(stored)
    assert "A heading" in shown and "Some bold text" in shown


async def test_an_edit_keeps_the_rules_and_an_upgrade_must_clear_legacy_fields(
    emu: DiscordEmulator, world: World, bot: TestBot
) -> None:
    channel = bot.get_channel(world.channel.id)
    assert isinstance(channel, discord.TextChannel)
    as_layout = await channel.send(view=layout("v2"))
    with pytest.raises(discord.HTTPException) as caught:
        await as_layout.edit(content="text now")  # no flag in the body: still a layout
    assert caught.value.code == 50035
    assert "content: The 'content' field cannot be used" in emu.validation_errors[-1]

    plain = await channel.send("old text", embed=discord.Embed(title="old"))
    with pytest.raises(discord.HTTPException) as caught:
        await plain.edit(view=layout("new"))  # content and embed left as they were
    refused = "\n".join(emu.validation_errors[-2:])  # one line per field
    assert "content: The 'content' field" in refused and "embeds: The 'embeds' field" in refused
    await plain.edit(content=None, embed=None, view=layout("new"))
    stored = emu.message(plain.id)
    assert stored["flags"] & IS_COMPONENTS_V2 and text_displays(stored) == ["new"]
    assert stored["content"] == "" and stored["embeds"] == []
