"""The sandbox console: try a bot from a terminal, no Discord account needed.

A launcher (corpus-bot's `sandbox` is one) starts the emulator and its bot, then runs
`run_console`, a prompt loop where a person types slash commands as in Discord's message box
(the commands are the ones the bot synced; corpus-bot's, for example)::

    /summarize post: Meltdown and Spectre length: 3
    /summarize "Meltdown and Spectre"          (text before any option fills the first one)
    /subscribe channel: #announcements         (channels and roles by name)
    /post post: melt?                          (a ? at the end: the bot's autocomplete choices)
    click Next                                  (a button of the last message that has some)
    say what did the corpus say about Meltdown? (a message of yours, in the channel)
    menu Find in corpus 2                       (a message menu on the 2nd latest message)
    as member | as owner                        (who you act as; the owner may do everything)
    in #announcements                           (where your commands are typed)
    help | quit

Everything the person may see is printed as it arrives: replies, their edits, and messages
the bot posts in any channel (announcements, say). The logic (parsing, names, suggestions,
what is visible) is `discord_emulator.sandbox`, shared with the browser page; this module only
reads lines and prints.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from discord_emulator.errors import EmulatorError
from discord_emulator.render import render_message_text, render_view
from discord_emulator.sandbox import SandboxSession, describe_commands, parse_command_line

if TYPE_CHECKING:
    from discord_emulator.interactions import EmulatedInteraction

__all__ = [
    "CONSOLE_HELP",
    "complete_line",
    "parse_command_line",
    "render_message_text",
    "run_console",
]

InputFn = Callable[[str], Awaitable[str | None] | str | None]
OutputFn = Callable[[str], None]

PROMPT = "> "
CONSOLE_WORDS = (
    "help",
    "quit",
    "as owner",
    "as member",
    "click ",
    "in #",
    "whoami",
    "say ",
    "menu ",
)
"""What Tab offers on a line that is not a slash command."""
CONSOLE_HELP = (
    "Also: click <button label> (a button of the last message with buttons), "
    "say <text> (write a message), menu <name> [n] (a message menu of the bot on the n-th "
    "latest message here, 1 the latest), "
    "as owner | as member (who you are), in #channel (where you type), "
    "a ? at the end of a line (what you may type next, with the bot's own autocomplete), "
    "help, quit"
)
WATCH_SECONDS = 0.25


async def run_console(
    session: SandboxSession,
    *,
    input_fn: InputFn,
    output_fn: OutputFn,
    ansi: bool = False,
) -> None:
    """Prompt, run each typed line, print what the person sees, until quit or end of input.

    `input_fn(prompt)` may be sync or async; returning None or raising EOFError or
    KeyboardInterrupt ends the loop. Messages the bot posts while the person types (an
    announcement in #announcements) are printed as they arrive.
    """
    console = _Console(session, output_fn, ansi)
    session.mark_all_seen()
    output_fn(f"Sandbox ready: {session.describe_acting()}, in #{session.channel_name()}.")
    output_fn("Type help for the commands, quit to leave.")
    watcher = asyncio.create_task(console.watch())
    try:
        while True:
            try:
                line = input_fn(PROMPT)
                if inspect.isawaitable(line):
                    line = await line
            except (EOFError, KeyboardInterrupt):
                line = None
            if line is None:
                output_fn("")
                return
            command = str(line).strip()
            if not command:
                console.print_news()
                continue
            if command.lower() in ("quit", "exit", ":q"):
                return
            await console.run(command)
    finally:
        watcher.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await watcher


class _Console:
    """One terminal's loop state; every decision is the session's."""

    def __init__(self, session: SandboxSession, output_fn: OutputFn, ansi: bool) -> None:
        self.session = session
        self.out = output_fn
        self.ansi = ansi

    async def watch(self) -> None:
        """Print what arrives while the person is typing (announcements, late edits).

        A plain sleep between looks: on Python 3.11 a task waiting in `asyncio.wait_for` can
        miss its cancellation, and this task must end the moment the person leaves."""
        while True:
            await asyncio.sleep(WATCH_SECONDS)
            if self.session.has_news():
                self.print_news()

    def print_news(self) -> None:
        for view in self.session.new_views():
            self.out(self._text(view))
        for problem in self.session.new_problems():
            self.out(f"⚠ Discord would reject this: {problem}")

    def _text(self, view: dict[str, Any]) -> str:
        text = render_view(view, ansi=self.ansi)
        if view["edited_since"]:
            text = "(edited) " + text
        if view["command"] is None:  # a post of its own, not a reply: say where and who
            channel = self.session.channel_name(int(view["channel_id"]))
            text = f"#{channel} · {view['author']}:\n{text}"
        elif int(view["channel_id"]) != self.session.channel_id:
            text = f"#{self.session.channel_name(int(view['channel_id']))}:\n{text}"
        return text

    async def run(self, command: str) -> None:
        session = self.session
        lowered = command.lower()
        try:
            if lowered == "help":
                self.out(describe_commands(session.commands()))
                menus = session.menu_names()
                if menus:
                    self.out(f"Message menus (menu <name> [n]): {', '.join(menus)}")
                self.out(CONSOLE_HELP)
                self.out(f"Now {session.describe_acting()}, in #{session.channel_name()}.")
            elif lowered == "whoami":
                self.out(f"{session.describe_acting()}, in #{session.channel_name()}")
            elif lowered.startswith("as "):
                self.out(session.act_as(command[3:]))
                session.mark_all_seen()
            elif lowered.startswith("in "):
                self.out(session.use_channel(command[3:]))
            elif lowered.startswith("click "):
                await self._click(command[6:].strip())
            elif lowered.startswith("say "):
                session.say(command[4:])
            elif lowered.startswith("menu "):
                await self._await_reply(await session.run_menu(command[5:]))
            elif session.asks_for_choices(command):
                await self._suggest(command[:-1])
            elif command.startswith("/"):
                inter = await session.send(command)
                await self._await_reply(inter)
            else:
                raise EmulatorError(
                    f"unknown command {command.split()[0]!r}; type help for the commands"
                )
        except EmulatorError as exc:
            self.out(f"error: {exc}")
        self.print_news()

    async def _click(self, label: str) -> None:
        stored = self.session.last_message_with_buttons()
        if stored is None:
            raise EmulatorError("no message with buttons yet")
        inter = await self.session.click(stored.id, label)
        await self._await_reply(inter)

    async def _await_reply(self, inter: EmulatedInteraction) -> None:
        timeout = self.session.reply_timeout
        try:
            await inter.wait_reply(timeout)
        except TimeoutError:
            self.out(f"no answer from the bot within {timeout:g} s")

    async def _suggest(self, line: str) -> None:
        try:
            suggestions = await self.session.suggest(line)
        except TimeoutError:
            self.out("the bot offered no choices in time")
            return
        if not suggestions:
            self.out("nothing to suggest here")
            return
        for suggestion in suggestions:
            extra = f"  — {suggestion.description}" if suggestion.description else ""
            self.out(f"  {suggestion.label}{extra}\n    {suggestion.insert.rstrip()}")


def complete_line(session: SandboxSession, buffer: str, begin: int) -> list[str]:
    """Tab completion for readline: what may replace the word that starts at `begin`.

    Commands, options, choices, channels and roles come from `suggest_static` (no bot round
    trip: readline calls this in its own thread); console words are offered on an empty line.
    """
    if not buffer.startswith("/"):
        return [w for w in CONSOLE_WORDS if w.startswith(buffer)]
    out = []
    for suggestion in session.suggest_static(buffer):
        insert = suggestion.insert  # its trailing space ends the word (readline adds none)
        if insert.startswith(buffer[:begin]) and len(insert) > begin:
            out.append(insert[begin:])
    return out
