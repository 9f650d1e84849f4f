"""The sandbox's #announcements is an announcement channel: a subscription there may publish
(issue #12), as a person would try it at the prompt."""

from __future__ import annotations

from discord_emulator.console import run_console
from tests.console_input import scripted
from tests.sandbox.conftest import Sandbox


async def test_announcements_publish_in_the_sandbox(sandbox: Sandbox) -> None:
    output: list[str] = []

    async def add_a_file() -> None:
        sandbox.add_document()

    async def published() -> None:
        (message,) = await sandbox.announcements(1)
        await sandbox.emu.wait_for(
            lambda: sandbox.emu.crossposted == [int(str(message["id"]))],
            10,
            describe="the announcement published",
        )

    lines = ["/subscribe channel: #announcements publish: true", add_a_file, "/reload", published]
    await run_console(sandbox.session, input_fn=scripted([*lines, "quit"]), output_fn=output.append)
    text = "\n".join(output)
    assert "published to the servers following this channel" in text
