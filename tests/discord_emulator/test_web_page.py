"""The sandbox page knows no bot: the launcher names it (`install_page(..., title=)`), and
its files and the emulator's bot user carry no bot's name of their own. No bot runs here: the
page's state needs only the emulator and a `SandboxSession`."""

from __future__ import annotations

from importlib import resources

import aiohttp

from discord_emulator import DiscordEmulator
from discord_emulator.sandbox import SandboxSession, build_world
from discord_emulator.web import DEFAULT_TITLE, STATIC_FILES, install_page


async def test_the_page_is_named_by_whoever_installs_it() -> None:
    emu = DiscordEmulator(bot_name="acme-bot")
    session = SandboxSession(emu, build_world(emu, name="Acme HQ"))
    install_page(emu, session, title="Acme sandbox")
    async with emu:
        async with aiohttp.ClientSession() as http:
            async with http.get(f"http://127.0.0.1:{emu.port}/sandbox/api/state") as state:
                body = await state.json()
    assert body["title"] == "Acme sandbox" and body["guild"] == "Acme HQ"
    assert emu.state.bot_user.username == "acme-bot"


async def test_without_a_title_the_page_and_the_bot_user_are_generic() -> None:
    emu = DiscordEmulator()
    install_page(emu, SandboxSession(emu, build_world(emu)))
    async with emu:
        async with aiohttp.ClientSession() as http:
            async with http.get(f"http://127.0.0.1:{emu.port}/sandbox/api/state") as state:
                assert (await state.json())["title"] == DEFAULT_TITLE
    assert emu.state.bot_user.username == "bot"
    page = resources.files("discord_emulator").joinpath("page")
    for name in ("index.html", *STATIC_FILES):
        assert b"corpus" not in page.joinpath(name).read_bytes().lower(), name
