"""The replica seen from Discord: the real bot (discord.py against the emulator) serving from
its replica of a real PostgreSQL database, while another process reloads the corpus."""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from discord_emulator import DiscordEmulator
from tests.conftest import BUNDLED_CORPUS, write_doc
from tests.discord_app.conftest import MANAGE_GUILD, World, make_config, running_bot
from tests.discord_app.test_commands import embeds, ephemeral, text_of
from tests.storage.replicas import caught_up, eventually, listening, replicated, shared_pool

FRESH = "id: fresh-post\ntitle: A Fresh Post About Zebras\nauthors: [Zed Writer]\nkind: post\nexcerpt: false"


@pytest.fixture
async def emulator() -> AsyncIterator[DiscordEmulator]:
    emu = DiscordEmulator()
    await emu.start()
    try:
        yield emu
    finally:
        await emu.stop()


def copy_of_corpus(target: Path) -> Path:
    shutil.copytree(BUNDLED_CORPUS, target)
    return target


async def test_a_reload_elsewhere_reaches_discord_and_a_publish_without_the_database_says_so(
    emulator: DiscordEmulator, postgres_dsn: str, tmp_path: Path
) -> None:
    emu = emulator
    guild = emu.add_guild("AI governance")
    channel = emu.add_channel(guild.id, "general")
    mods = emu.add_role(guild.id, "mods", permissions=MANAGE_GUILD)
    moderator = emu.add_user("mod")
    emu.add_member(guild.id, moderator.id, roles=[mods.id])
    member = emu.add_user("member")
    emu.add_member(guild.id, member.id)
    folder_a = copy_of_corpus(tmp_path / "corpus-a")
    folder_b = copy_of_corpus(tmp_path / "corpus-b")
    async with (
        shared_pool(postgres_dsn) as pool_a,
        shared_pool(postgres_dsn) as pool_b,
        replicated(tmp_path / "a", folder_a, pool_a, postgres_dsn) as a,
        replicated(tmp_path / "b", folder_b, pool_b, postgres_dsn) as b,
    ):
        await a.reload()
        await b.reload()  # the same folder: nothing to publish
        config = make_config(tmp_path, folder_b, emu.bot_token)
        async with running_bot(emu, config, b) as bot:
            world = World(emu, bot, b, guild.id, channel.id, moderator.id, member.id, folder_b, {})
            await listening(b)
            # Process A (another machine) gets a new file and reloads: B's bot serves it.
            write_doc(folder_a, "12-fresh.md", front=FRESH, body="Zebras have stripes.")
            await a.reload()
            await eventually(lambda: caught_up(b, pool_a))
            post = await world.reply("post", {"post": "zebras"})
            assert embeds(post)[0]["title"] == "A Fresh Post About Zebras"
            found = await world.reply("search", {"query": "stripes"})
            assert "A Fresh Post About Zebras" in text_of(found)

            # B's own /reload while its database connections are gone: this process serves the
            # new file, and the moderator reads why the others do not.
            write_doc(folder_b, "13-local.md", front=FRESH.replace("fresh-post", "local-post"))
            await pool_b.close()
            reply = await world.reply("reload", user=moderator.id)
            assert ephemeral(reply)
            text = text_of(reply)
            assert "other processes still serve the previous corpus" in text
            assert "Traceback" not in text and "postgresql://" not in text
            assert "local-post" in text_of(await world.reply("post", {"post": "local-post"}))
        assert emu.problems == [], emu.problems
