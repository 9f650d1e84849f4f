"""The sandbox console: try the bot from a terminal, no Discord account needed.

`corpus-bot sandbox` starts the emulator and the bot, then runs `run_console`, a prompt
loop where a person types slash commands as in Discord's message box::

    /summarize post: Meltdown and Spectre length: 3
    /summarize "Meltdown and Spectre"          (text before any option fills the first one)
    click Next page                             (a button of the last reply, by label or id)
    help                                        (the synced commands and their options)
    quit

Option names and value types come from the commands the bot synced; values may be quoted
(`post: "Spectre: the sequel"`) to contain colons or words that look like option names.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Awaitable, Callable, Mapping
from typing import TYPE_CHECKING, Any

from bot.emulator.commands import (
    CHANNEL,
    MENTIONABLE,
    OPTION_TYPE_NAMES,
    ROLE,
    USER,
    Resolver,
    coerce_value,
    find_command,
)
from bot.emulator.errors import EmulatorError, OptionError
from bot.emulator.render import render_message_text

if TYPE_CHECKING:
    from bot.emulator.driver import DiscordEmulator
    from bot.emulator.interactions import EmulatedInteraction

__all__ = ["parse_command_line", "render_message_text", "run_console"]

InputFn = Callable[[str], Awaitable[str | None] | str | None]
OutputFn = Callable[[str], None]

PROMPT = "> "
QUOTES = "\"'"

_NO_ENTITIES = Resolver(
    user=lambda _: None, member=lambda _: None, channel=lambda _: None, role=lambda _: None
)


def parse_command_line(
    line: str, synced_commands: list[dict[str, Any]]
) -> tuple[str, dict[str, Any]]:
    """("summarize", {"post": "Meltdown and Spectre", "length": 3}) for
    "/summarize post: Meltdown and Spectre length: 3".

    `synced_commands` are the definitions the bot synced (guild ones first: they shadow
    global ones). Raises `EmulatorError` (unknown command/subcommand/option, missing required
    option, badly typed value) with a message meant for the person typing.
    """
    text = line.strip()
    if not text.startswith("/"):
        raise EmulatorError("commands start with / (type help for the list)")
    words = text[1:].split()
    if not words:
        raise EmulatorError("type a command name after /")
    # Longest prefix of words that names a command or subcommand.
    target = None
    consumed = 0
    for count in range(min(3, len(words)), 0, -1):
        try:
            target = find_command(
                " ".join(words[:count]), guild_commands=synced_commands, global_commands=[]
            )
        except EmulatorError as exc:
            error = exc
            continue
        consumed = count
        break
    if target is None:
        raise error
    pieces = text[1:].split(None, consumed)
    rest = pieces[consumed] if len(pieces) > consumed else ""
    leaf = {o["name"]: o for o in target.leaf_options}
    raw_values = _split_options(rest, list(leaf), command=target.full_name)
    values: dict[str, Any] = {}
    for name, raw in raw_values.items():
        option = leaf[name]
        where = f"/{target.full_name} {name}"
        if option["type"] in (USER, CHANNEL, ROLE, MENTIONABLE):
            values[name] = raw.strip().strip("<@#&!>")
        else:
            values[name] = coerce_value(option, raw, _NO_ENTITIES, where=where)
    missing = [n for n, o in leaf.items() if o.get("required") and n not in values]
    if missing:
        raise OptionError(f"/{target.full_name} needs {', '.join(f'{n}:' for n in missing)}")
    return target.full_name, values


_TOKEN = re.compile(r"""(?P<opt>[\w-]+):|"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|\S+""")


def _split_options(rest: str, names: list[str], *, command: str) -> dict[str, str]:
    """Cut "a: x y b: z" into {"a": "x y", "b": "z"} at known option names outside quotes.

    Values are the original text between option names (spacing kept), unquoted when the
    whole value is one quoted string. Text before the first name fills the first option.
    """
    cuts: list[tuple[str | None, int, int]] = []  # (option name, name start, value start)
    for match in _TOKEN.finditer(rest):
        name = match.group("opt")
        at_word_start = match.start() == 0 or rest[match.start() - 1].isspace()
        if name in names and at_word_start:
            cuts.append((name, match.start(), match.end()))
    values: dict[str, str] = {}
    bounds = [c[1] for c in cuts[1:]] + ([len(rest)] if cuts else [])
    for (name, _start, value_start), value_end in zip(cuts, bounds, strict=True):
        assert name is not None
        if name in values:
            raise OptionError(f"option {name}: given twice")
        values[name] = _unquote(rest[value_start:value_end].strip())
    positional = _unquote(rest[: cuts[0][1] if cuts else len(rest)].strip())
    if positional:
        free = [n for n in names if n not in values]
        if not free:
            known = ", ".join(f"{n}:" for n in names) or "no options"
            raise OptionError(
                f"/{command} takes {known}; don't know what to do with {positional!r}"
            )
        values[free[0]] = positional
    return values


def _unquote(value: str) -> str:
    if len(value) >= 2 and value[0] in QUOTES and value[-1] == value[0]:
        inner = value[1:-1]
        if not re.search(r"(?<!\\)" + value[0], inner):
            return inner.replace("\\" + value[0], value[0])
    return value


def describe_commands(synced_commands: list[dict[str, Any]]) -> str:
    """The help text: each command (and subcommand) with its options."""
    lines = ["Commands (type them as in Discord):"]
    for command in synced_commands:
        if int(command.get("type") or 1) != 1:
            continue
        lines.extend(_describe(command["name"], command))
    lines.append("Also: click <button label>, help, quit")
    return "\n".join(lines)


def _describe(prefix: str, node: dict[str, Any]) -> list[str]:
    options = node.get("options") or []
    subs = [o for o in options if o.get("type") in (1, 2)]
    if subs:
        out: list[str] = []
        for sub in subs:
            out.extend(_describe(f"{prefix} {sub['name']}", sub))
        return out
    parts = []
    for option in options:
        kind = OPTION_TYPE_NAMES.get(option["type"], "?")
        part = f"{option['name']}: <{kind}>"
        parts.append(part if option.get("required") else f"[{part}]")
    description = node.get("description") or ""
    return [
        f"  /{prefix} {' '.join(parts)}".rstrip() + (f"  — {description}" if description else "")
    ]


async def run_console(
    emu: DiscordEmulator,
    *,
    guild_id: int | None,
    channel_id: int | None,
    user_id: int,
    input_fn: InputFn,
    output_fn: OutputFn,
    reply_timeout: float = 15.0,
) -> None:
    """Prompt, send each typed command as `user_id`, print the bot's answers, until quit/EOF.

    `input_fn(prompt)` may be sync or async (the CLI passes `asyncio.to_thread(input, ...)`);
    returning None or raising EOFError/KeyboardInterrupt ends the loop (end of input).
    """
    session = _ConsoleSession(emu, guild_id, channel_id, user_id, output_fn, reply_timeout)
    output_fn("Sandbox ready. Type help for the commands, quit to leave.")
    while True:
        session.print_updates()
        try:
            line = input_fn(PROMPT)
            if inspect.isawaitable(line):
                line = await line
        except (EOFError, KeyboardInterrupt):
            output_fn("")
            return
        if line is None:
            output_fn("")
            return
        command = str(line).strip()
        if not command:
            continue
        if command.lower() in ("quit", "exit", ":q"):
            return
        await session.run(command)


class _ConsoleSession:
    """State of one console: the last reply (for `click`) and what was already printed."""

    def __init__(
        self,
        emu: DiscordEmulator,
        guild_id: int | None,
        channel_id: int | None,
        user_id: int,
        output_fn: OutputFn,
        reply_timeout: float,
    ) -> None:
        self.emu = emu
        self.guild_id = guild_id
        self.channel_id = channel_id
        self.user_id = user_id
        self.out = output_fn
        self.reply_timeout = reply_timeout
        self.shown: dict[str, str] = {}  # message id -> rendered text already printed
        self.last_message: dict[str, Any] | None = None
        self.problems_seen = len(emu.problems)
        self.interactions: list[EmulatedInteraction] = []

    def commands(self) -> list[dict[str, Any]]:
        guild_commands = (
            self.emu.synced_commands(self.guild_id) if self.guild_id is not None else []
        )
        return [*guild_commands, *self.emu.synced_commands(None)]

    async def run(self, command: str) -> None:
        try:
            if command.lower() == "help":
                self.out(describe_commands(self.commands()))
                return
            if command.lower().startswith("click "):
                await self._click(command[6:].strip())
                return
            name, options = parse_command_line(command, self.commands())
            inter = await self.emu.send_command(
                name, options, user=self.user_id, guild=self.guild_id, channel=self.channel_id
            )
            await self._show_reply(inter)
        except EmulatorError as exc:
            self.out(f"error: {exc}")
        except TimeoutError as exc:
            self.out(f"no answer: {exc}")
        finally:
            self._print_problems()

    async def _click(self, label: str) -> None:
        if self.last_message is None:
            raise EmulatorError("no message with buttons yet")
        custom_id = _button_custom_id(self.last_message, label)
        inter = await self.emu.click_button(
            int(self.last_message["id"]), custom_id, user=self.user_id
        )
        await inter.wait_acknowledged(self.reply_timeout)
        await self._show_reply(inter)

    async def _show_reply(self, inter: EmulatedInteraction) -> None:
        self.interactions.append(inter)
        await inter.wait_reply(self.reply_timeout)
        self.print_updates()

    def print_updates(self) -> None:
        """Print messages of recent interactions that are new or changed since last shown."""
        for inter in self.interactions[-5:]:
            messages = inter.messages
            original = inter.original_message
            if original is not None and all(m["id"] != original["id"] for m in messages):
                messages.insert(0, original)
            for message in messages:
                text = self._render(message)
                if self.shown.get(message["id"]) == text:
                    continue
                verb = "(edited) " if message["id"] in self.shown else ""
                self.shown[message["id"]] = text
                if message.get("components"):
                    self.last_message = message
                if text:
                    self.out(verb + text)

    def _render(self, message: dict[str, Any]) -> str:
        state = self.emu.state

        def user_name(uid: int) -> str | None:
            user = state.users.get(uid)
            return user.username if user else None

        def channel_name(cid: int) -> str | None:
            channel = state.channels.get(cid)
            return channel.name if channel else None

        def role_name(rid: int) -> str | None:
            for guild in state.guilds.values():
                if rid in guild.roles:
                    return guild.roles[rid].name
            return None

        return render_message_text(
            message, user_name=user_name, role_name=role_name, channel_name=channel_name
        )

    def _print_problems(self) -> None:
        problems = self.emu.problems
        for problem in problems[self.problems_seen :]:
            self.out(f"⚠ Discord would reject this: {problem}")
        self.problems_seen = len(problems)


def _button_custom_id(message: Mapping[str, Any], label: str) -> str:
    buttons: list[dict[str, Any]] = []
    for row in message.get("components") or []:
        buttons.extend(
            c for c in row.get("components") or [] if c.get("type") == 2 and c.get("custom_id")
        )
    for button in buttons:
        if label in (button.get("custom_id"), button.get("label")):
            return str(button["custom_id"])
    lowered = label.lower()
    for button in buttons:
        if (button.get("label") or "").lower() == lowered:
            return str(button["custom_id"])
    names = ", ".join(repr(b.get("label") or b["custom_id"]) for b in buttons) or "none"
    raise EmulatorError(f"no button {label!r} on the last message (buttons: {names})")
