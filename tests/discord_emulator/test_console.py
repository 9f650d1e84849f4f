"""The sandbox console: command-line parsing, terminal rendering, and the prompt loop driving
the real bot through the emulator."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from discord_emulator import DiscordEmulator
from discord_emulator.console import parse_command_line, render_message_text, run_console
from discord_emulator.errors import CommandNotSyncedError, EmulatorError, OptionError
from discord_emulator.render import format_timestamp
from discord_emulator.sandbox import SandboxSession, SandboxWorld, build_world
from tests.console_input import scripted
from tests.discord_emulator.conftest import TestBot, World

SYNCED = [
    {
        "id": "1",
        "name": "summarize",
        "type": 1,
        "description": "Summarize a post",
        "options": [
            {"type": 3, "name": "post", "description": "d", "required": True},
            {"type": 4, "name": "length", "description": "d"},
            {"type": 5, "name": "public", "description": "d"},
        ],
    },
    {
        "id": "2",
        "name": "feed",
        "type": 1,
        "description": "Feeds",
        "options": [
            {
                "type": 1,
                "name": "status",
                "description": "Status",
                "options": [{"type": 5, "name": "verbose", "description": "d"}],
            },
            {
                "type": 1,
                "name": "add",
                "description": "Add",
                "options": [{"type": 3, "name": "url", "description": "d", "required": True}],
            },
        ],
    },
]


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        (
            "/summarize post: Meltdown and Spectre length: 3",
            ("summarize", {"post": "Meltdown and Spectre", "length": 3}),
        ),
        ("/summarize length:3 post:meltdown", ("summarize", {"post": "meltdown", "length": 3})),
        (
            '/summarize post: "Spectre: length: 9" public: yes',
            ("summarize", {"post": "Spectre: length: 9", "public": True}),
        ),
        (
            "/summarize Meltdown and Spectre length: 2",
            ("summarize", {"post": "Meltdown and Spectre", "length": 2}),
        ),
        (
            "/summarize post: see https://example.org/a:b",
            ("summarize", {"post": "see https://example.org/a:b"}),
        ),
        ("  /feed status verbose: false ", ("feed status", {"verbose": False})),
        (
            "/feed add url: 'https://example.org/feed.xml'",
            ("feed add", {"url": "https://example.org/feed.xml"}),
        ),
    ],
)
def test_parse_command_line(line: str, expected: tuple[str, dict[str, object]]) -> None:
    assert parse_command_line(line, SYNCED) == expected


@pytest.mark.parametrize(
    ("line", "error", "message"),
    [
        ("summarize post: x", EmulatorError, "start with /"),
        (
            "/sumarize post: x",
            CommandNotSyncedError,
            r"^unknown command /sumarize \(did you mean /summarize\?\); type help for the commands$",
        ),
        ("/x", CommandNotSyncedError, r"^unknown command /x; type help for the commands$"),
        ("/summarize length: 3", OptionError, "needs post:"),
        ("/summarize post: x length: three", OptionError, "expects an integer"),
        ("/summarize post: x post: y", OptionError, "given twice"),
        ("/feed", CommandNotSyncedError, "needs a subcommand"),
        ("/feed status loud", OptionError, "expects true or false, got 'loud'"),
        ("/feed status maybe verbose: yes", OptionError, "don't know what to do with 'maybe'"),
    ],
)
def test_parse_command_line_errors(line: str, error: type[Exception], message: str) -> None:
    with pytest.raises(error, match=message):
        parse_command_line(line, SYNCED)


def test_timestamp_styles() -> None:
    epoch = 1614297600  # 2021-02-26 00:00 UTC
    assert format_timestamp(epoch, "D") == "February 26, 2021"
    assert format_timestamp(epoch, "d") == "02/26/2021"
    assert format_timestamp(epoch, "t") == "00:00"
    assert format_timestamp(epoch, None) == "February 26, 2021 00:00"
    assert format_timestamp(epoch, "F") == "Friday, February 26, 2021 00:00"
    assert format_timestamp(epoch, "R", now=datetime(2024, 3, 1, tzinfo=UTC)) == "3 years ago"


def test_render_message_text() -> None:
    message = {
        "id": "1",
        "content": "Hi <@42>, published <t:1614297600:D>",
        "flags": 64,
        "embeds": [
            {
                "type": "rich",
                "title": "Meltdown",
                "url": "https://example.org/meltdown",
                "description": "Reading kernel memory\nfrom user space.",
                "fields": [{"name": "Authors", "value": "Lipp, Schwarz", "inline": True}],
                "footer": {"text": "corpus-bot"},
                "timestamp": "2021-02-26T00:00:00+00:00",
            }
        ],
        "components": [
            {
                "type": 1,
                "components": [
                    {"type": 2, "style": 1, "label": "Next", "custom_id": "next"},
                    {"type": 2, "style": 2, "label": "Back", "custom_id": "back", "disabled": True},
                    {"type": 2, "style": 5, "label": "Read", "url": "https://example.org/meltdown"},
                ],
            },
            {
                "type": 1,
                "components": [
                    {
                        "type": 3,
                        "custom_id": "pick",
                        "placeholder": "Pick one",
                        "options": [{"label": "A", "value": "a"}, {"label": "B", "value": "b"}],
                    }
                ],
            },
        ],
    }
    assert render_message_text(
        message, user_name=lambda uid: "alice" if uid == 42 else None
    ) == "\n".join(
        [
            "(only you can see this)",
            "Hi @alice, published February 26, 2021",
            "",
            "┃ Meltdown <https://example.org/meltdown>",
            "┃ Reading kernel memory",
            "┃ from user space.",
            "┃",
            "┃ Authors",
            "┃ Lipp, Schwarz",
            "┃",
            "┃ corpus-bot • February 26, 2021 00:00",
            "",
            "[ Next ] [ Back ] (disabled) [ Read ↗ https://example.org/meltdown ]",
            "[ Pick one ▾ ] A | B",
        ]
    )


def test_render_loading_message() -> None:
    message = {"id": "1", "content": "", "flags": 128, "author": {"username": "corpus-bot"}}
    assert render_message_text(message) == "corpus-bot is thinking…"


async def test_run_console_ends_on_end_of_input(emu: DiscordEmulator) -> None:
    output: list[str] = []

    async def end_of_input(prompt: str) -> None:
        return None

    await run_console(
        SandboxSession(emu, build_world(emu)), input_fn=end_of_input, output_fn=output.append
    )
    assert output[0] == (
        "Sandbox ready: you act as you, the server's owner (every permission), in #general."
    )


async def test_run_console_drives_the_real_bot(
    emu: DiscordEmulator, world: World, bot: TestBot
) -> None:
    output: list[str] = []

    async def second_followup() -> None:
        await emu.wait_for(
            lambda: len(emu.interactions[-1].responses) >= 3, describe="both followups"
        )

    sandbox_world = SandboxWorld(
        guild_id=world.guild.id,
        guild_name=world.guild.name,
        owner_id=world.alice.id,
        member_id=world.admin.id,
        channel_ids={"general": world.channel.id},
        role_ids={},
    )
    await run_console(
        SandboxSession(emu, sandbox_world),
        input_fn=scripted(
            [
                "help",
                "/summarize post: Meltdown and Spectre length: 2",
                "/counter",
                "click Next",
                "/slow",
                second_followup,
                "",
                "/nope",
                "/bigembed kind: description",
                "quit",
                "/never-reached",
            ]
        ),
        output_fn=output.append,
    )
    text = "\n".join(output)
    assert "/summarize post: <string> [length: <integer>]  — Summarize a post" in text
    assert "/feed status [verbose: <boolean>]" in text
    assert "┃ Summary of Meltdown and Spectre\n┃ Sentence. Sentence." in text
    assert "page 0\n\n[ Next ]" in text
    assert "(edited) page 1" in text
    assert "done after thinking" in text and "a second followup" in text
    assert "error: unknown command /nope; type help for the commands" in text
    assert "fallback: plain text" in text
    assert "⚠ Discord would reject this: POST /interactions/" in text
    assert "data.embeds.0.description: Must be 4096 or fewer in length." in text
    assert "never-reached" not in text


MARKDOWN = {
    "id": "1",
    "content": (
        "**Bold** and __under__ and *it* and `co*de*`\n"
        "> a quote with \\*stars\\* and \\_under\\_\n"
        "-# subtext\n"
        "[a link](https://example.org/x) and [bad](javascript:alert(1))"
    ),
    "embeds": [{"title": "Title \\*", "color": 0x5865F2, "description": "-# small print"}],
}


def test_markdown_is_rendered_plainly_for_a_pipe() -> None:
    assert render_message_text(MARKDOWN) == "\n".join(
        [
            "Bold and under and it and co*de*",
            "│ a quote with *stars* and _under_",
            "subtext",
            "a link <https://example.org/x> and [bad](javascript:alert(1))",
            "",
            "┃ Title *",
            "┃ small print",
        ]
    )


def test_markdown_is_styled_with_ansi_for_a_terminal() -> None:
    text = render_message_text(MARKDOWN, ansi=True)
    assert text.splitlines()[0] == (
        "\x1b[1mBold\x1b[22m and \x1b[4munder\x1b[24m and \x1b[3mit\x1b[23m and \x1b[36mco*de*\x1b[39m"
    )
    assert "\x1b[2msubtext\x1b[22m" in text
    assert "\x1b[38;2;88;101;242m┃\x1b[39m \x1b[1mTitle *\x1b[22m" in text


def test_a_button_without_label_never_shows_its_custom_id() -> None:
    message = {
        "id": "1",
        "components": [
            {
                "type": 1,
                "components": [
                    {"type": 2, "style": 2, "custom_id": "pager:9f3a:next", "emoji": {"name": "▶️"}},
                    {"type": 2, "style": 2, "custom_id": "pager:9f3a:x", "disabled": True},
                ],
            }
        ],
    }
    assert render_message_text(message) == "[ ▶️ ] [ button ] (disabled)"
