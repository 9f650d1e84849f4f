"""The sandbox's shared logic, used by the terminal console and the browser page alike.

A person with no Discord account tries the bot through a `SandboxSession`: a small server
(`build_world`: #general, #announcements, a @readers role, the person as its owner and a
plain member to switch to), the command line they type (`parse_command_line`, with
`#channel` and `@role` names resolved against the emulator), suggestions as they type
(commands, options, and the bot's own autocomplete choices through real autocomplete
interactions), buttons to click, and the messages they can see (`visible_views`: channel
posts, plus ephemeral replies only to the person who caused them). The front ends only draw.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from discord_emulator.commands import (
    ATTACHMENT,
    BOOLEAN,
    CHANNEL,
    MENTIONABLE,
    OPTION_TYPE_NAMES,
    ROLE,
    USER,
    CommandTarget,
    Resolver,
    coerce_value,
    find_command,
)
from discord_emulator.errors import CommandNotSyncedError, EmulatorError, OptionError
from discord_emulator.markdown import Names
from discord_emulator.models import ANNOUNCEMENT_CHANNEL
from discord_emulator.view import message_view

if TYPE_CHECKING:
    from discord_emulator.driver import DiscordEmulator
    from discord_emulator.interactions import EmulatedInteraction
    from discord_emulator.messages import StoredMessage

QUOTES = "\"'"
OWNER, MEMBER = "owner", "member"
ROLES = (OWNER, MEMBER)
MAX_SUGGESTIONS = 25
MAX_VIEWS = 100
VIEW_CACHE = 1000
"""Messages a page shows per channel: the newest ones, so a long session stays light."""

EntityResolver = Callable[[int, str, str], str]
"""(option type, typed text, where) -> the id to send; raises OptionError naming what exists."""

_NO_ENTITIES = Resolver(
    user=lambda _: None, member=lambda _: None, channel=lambda _: None, role=lambda _: None
)


# ---------------------------------------------------------------------------- command lines


def parse_command_line(
    line: str,
    synced_commands: list[dict[str, Any]],
    resolve_entity: EntityResolver | None = None,
) -> tuple[str, dict[str, Any]]:
    """("summarize", {"post": "Meltdown and Spectre", "length": 3}) for
    "/summarize post: Meltdown and Spectre length: 3".

    `synced_commands` are the definitions the bot synced (guild ones first: they shadow
    global ones). `resolve_entity` turns `#general` or `@readers` into ids (without it, only
    ids and mentions like `<#123>` are accepted). Raises `EmulatorError` (unknown command,
    subcommand or option, missing required option, badly typed value) with a message meant
    for the person typing.
    """
    target, rest = _command_of(line, synced_commands)
    leaf = {o["name"]: o for o in target.leaf_options}
    raw_values = _split_options(rest, list(leaf), command=target.full_name)
    values: dict[str, Any] = {}
    for name, raw in raw_values.items():
        option = leaf[name]
        where = f"/{target.full_name} {name}:"
        if option["type"] == ATTACHMENT:
            raise OptionError(f"{where} takes a file, and the sandbox cannot attach files")
        if option["type"] in (USER, CHANNEL, ROLE, MENTIONABLE):
            if resolve_entity is not None:
                values[name] = resolve_entity(option["type"], raw, where)
            else:
                values[name] = raw.strip().strip("<@#&!>")
        else:
            values[name] = coerce_value(option, raw, _NO_ENTITIES, where=where)
    missing = [n for n, o in leaf.items() if o.get("required") and n not in values]
    if missing:
        raise OptionError(f"/{target.full_name} needs {', '.join(f'{n}:' for n in missing)}")
    return target.full_name, values


def _command_of(line: str, synced_commands: list[dict[str, Any]]) -> tuple[CommandTarget, str]:
    """The command a line names (longest match of up to three words) and the text after it."""
    text = line.strip()
    if not text.startswith("/"):
        raise EmulatorError("commands start with / (type help for the list)")
    words = text[1:].split()
    if not words:
        raise EmulatorError("type a command name after / (type help for the list)")
    names = command_names(synced_commands)
    if words[0] not in names:
        raise CommandNotSyncedError(unknown_command(words[0], names))
    error: EmulatorError | None = None
    for count in range(min(3, len(words)), 0, -1):
        try:
            target = find_command(
                " ".join(words[:count]), guild_commands=synced_commands, global_commands=[]
            )
        except EmulatorError as exc:
            error = error or exc
            continue
        pieces = text[1:].split(None, count)
        return target, pieces[count] if len(pieces) > count else ""
    assert error is not None
    raise error


def command_names(synced_commands: list[dict[str, Any]]) -> list[str]:
    """Names of the chat-input commands, sorted."""
    return sorted({c["name"] for c in synced_commands if int(c.get("type") or 1) == 1})


def unknown_command(word: str, names: list[str]) -> str:
    close = difflib.get_close_matches(word.lower(), names, n=3, cutoff=0.6)
    hint = f" (did you mean {' or '.join('/' + n for n in close)}?)" if close else ""
    return f"unknown command /{word}{hint}; type help for the commands"


_TOKEN = re.compile(r"""(?P<opt>[\w-]+):|"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|\S+""")


def _option_cuts(rest: str, names: list[str]) -> list[tuple[str, int, int]]:
    """(option name, where its name starts, where its value starts) at known names outside
    quotes, in the order typed."""
    cuts: list[tuple[str, int, int]] = []
    for match in _TOKEN.finditer(rest):
        name = match.group("opt")
        at_word_start = match.start() == 0 or rest[match.start() - 1].isspace()
        if name in names and at_word_start:
            cuts.append((name, match.start(), match.end()))
    return cuts


def _split_options(rest: str, names: list[str], *, command: str) -> dict[str, str]:
    """Cut "a: x y b: z" into {"a": "x y", "b": "z"} at known option names outside quotes.

    Values are the original text between option names (spacing kept), unquoted when the
    whole value is one quoted string. Text before the first name fills the first option.
    """
    cuts = _option_cuts(rest, names)
    values: dict[str, str] = {}
    bounds = [c[1] for c in cuts[1:]] + ([len(rest)] if cuts else [])
    for (name, _start, value_start), value_end in zip(cuts, bounds, strict=True):
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


def _quote_if_needed(value: str) -> str:
    if ":" in value or value != value.strip() or (value and value[0] in QUOTES):
        return '"' + value.replace('"', '\\"') + '"'
    return value


def describe_commands(synced_commands: list[dict[str, Any]]) -> str:
    """The help text: each command (and subcommand) with its options."""
    lines = ["Commands (type them as in Discord):"]
    for command in synced_commands:
        if int(command.get("type") or 1) != 1:
            continue
        lines.extend(
            f"  /{usage}" + (f"  — {d}" if d else "")
            for usage, d in _usages(command["name"], command)
        )
    return "\n".join(lines)


def _usages(prefix: str, node: dict[str, Any]) -> list[tuple[str, str]]:
    options = node.get("options") or []
    subs = [o for o in options if o.get("type") in (1, 2)]
    if subs:
        out: list[tuple[str, str]] = []
        for sub in subs:
            out.extend(_usages(f"{prefix} {sub['name']}", sub))
        return out
    parts = []
    for option in options:
        kind = OPTION_TYPE_NAMES.get(option["type"], "?")
        part = f"{option['name']}: <{kind}>"
        parts.append(part if option.get("required") else f"[{part}]")
    return [(f"{prefix} {' '.join(parts)}".rstrip(), node.get("description") or "")]


# ---------------------------------------------------------------------------- the world


@dataclass
class SandboxWorld:
    """The sandbox's server: who is who and which channels and roles exist."""

    guild_id: int
    guild_name: str
    owner_id: int
    member_id: int
    channel_ids: dict[str, int]
    role_ids: dict[str, int]


def build_world(emu: DiscordEmulator, *, name: str = "Sandbox server") -> SandboxWorld:
    """A server where every feature of a bot can be tried: the person owns it (so commands
    that need Manage Server or Manage Channels work), a plain member to switch to shows the
    refusals, #announcements is a second channel for a bot to post in (an announcement channel,
    so a bot may publish there), @readers a role."""
    you = emu.add_user("you")
    guild = emu.add_guild(name, owner_id=you.id)
    channels = {
        "general": emu.add_channel(guild.id, "general", topic="Try the bot here").id,
        "announcements": emu.add_channel(
            guild.id, "announcements", topic="Subscribe me", type=ANNOUNCEMENT_CHANNEL
        ).id,
    }
    emu.set_system_channel(guild.id, channels["general"])
    readers = emu.add_role(guild.id, "readers", mentionable=True)
    guest = emu.add_user("guest")
    emu.add_member(guild.id, guest.id, roles=[readers.id])
    return SandboxWorld(
        guild_id=guild.id,
        guild_name=name,
        owner_id=you.id,
        member_id=guest.id,
        channel_ids=channels,
        role_ids={"readers": readers.id},
    )


# ---------------------------------------------------------------------------- the session


@dataclass
class Suggestion:
    """One thing the person may pick while typing: `insert` is the whole new line."""

    label: str
    insert: str
    description: str = ""

    def to_json(self) -> dict[str, str]:
        return {"label": self.label, "insert": self.insert, "description": self.description}


@dataclass
class SandboxSession:
    """One person trying the bot: who they act as, where, and what they have seen."""

    emu: DiscordEmulator
    world: SandboxWorld
    acting: str = OWNER
    channel_id: int = 0
    reply_timeout: float = 15.0
    problems_seen: int = 0
    _printed: dict[int, int] = field(default_factory=dict)
    _views: dict[tuple[int, int], dict[str, Any]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.channel_id:
            self.channel_id = next(iter(self.world.channel_ids.values()))
        self.problems_seen = len(self.emu.problems)

    # --- who and where

    @property
    def user_id(self) -> int:
        return self.world.owner_id if self.acting == OWNER else self.world.member_id

    def act_as(self, who: str) -> str:
        """Switch between the server's owner and a plain member; returns who you are now."""
        wanted = who.strip().lower()
        if wanted not in ROLES:
            raise EmulatorError(f"act as {' or '.join(ROLES)}, not {who!r}")
        self.acting = wanted
        return self.describe_acting()

    def describe_acting(self) -> str:
        user = self.emu.state.user(self.user_id).username
        if self.acting == OWNER:
            return f"you act as {user}, the server's owner (every permission)"
        return f"you act as {user}, a plain member (no Manage Channels, no Manage Server)"

    def channel_name(self, channel_id: int | None = None) -> str:
        channel = self.emu.state.channels.get(channel_id or self.channel_id)
        return channel.name if channel else str(channel_id)

    def use_channel(self, text: str) -> str:
        self.channel_id = int(self.resolve_entity(CHANNEL, text, "channel"))
        return f"now in #{self.channel_name()}"

    def channels(self) -> list[dict[str, str]]:
        guild = self.emu.state.guild(self.world.guild_id)
        return [
            {"id": str(cid), "name": self.emu.state.channels[cid].name}
            for cid in guild.channel_ids
            if cid in self.emu.state.channels
        ]

    def commands(self) -> list[dict[str, Any]]:
        return [
            *self.emu.synced_commands(self.world.guild_id),
            *self.emu.synced_commands(None),
        ]

    # --- names

    def names(self) -> Names:
        state = self.emu.state

        def user_name(uid: int) -> str | None:
            user = state.users.get(uid)
            return user.username if user else None

        def channel_name(cid: int) -> str | None:
            channel = state.channels.get(cid)
            return channel.name if channel else None

        def role_name(rid: int) -> str | None:
            role = state.guild(self.world.guild_id).roles.get(rid)
            return role.name if role else None

        return Names(user=user_name, role=role_name, channel=channel_name)

    def resolve_entity(self, kind: int, raw: str, where: str) -> str:
        """`#general`, `general`, `<#id>` or an id (channels); `@readers`, `readers` (roles);
        `@guest`, `guest` (users). An unknown name lists what exists."""
        text = raw.strip()
        guild = self.emu.state.guild(self.world.guild_id)
        mention_id = re.fullmatch(r"<(?:#|@!?|@&)(\d+)>|(\d+)", text)
        candidates: dict[str, str] = {}
        if kind == CHANNEL:
            candidates = {f"#{c['name']}": c["id"] for c in self.channels()}
        if kind in (ROLE, MENTIONABLE):
            candidates |= {
                f"@{r.name}": str(r.id)
                for r in guild.roles.values()
                if r.name != "@everyone" and not r.managed
            }
        if kind in (USER, MENTIONABLE):
            candidates |= {f"@{m.user.username}": str(m.user.id) for m in guild.members.values()}
        if mention_id:
            wanted = mention_id.group(1) or mention_id.group(2)
            if wanted in candidates.values():
                return wanted
        else:
            bare = text.lstrip("#@").lower()
            for name, entity_id in candidates.items():
                if name[1:].lower() == bare:
                    return entity_id
        kind_name = OPTION_TYPE_NAMES.get(kind, "entity")
        known = ", ".join(candidates) or "none"
        raise OptionError(f"{where} no {kind_name} {text!r} in this server (there are: {known})")

    # --- commands

    def parse(self, line: str) -> tuple[str, dict[str, Any]]:
        return parse_command_line(line, self.commands(), self.resolve_entity)

    async def send(self, line: str, channel_id: int | None = None) -> EmulatedInteraction:
        """Invoke the command a line names, as the acting user, in the channel."""
        name, options = self.parse(line)
        return await self.emu.send_command(
            name,
            options,
            user=self.user_id,
            guild=self.world.guild_id,
            channel=channel_id or self.channel_id,
        )

    async def click(self, message_id: int, label_or_id: str) -> EmulatedInteraction:
        """Click a button of a message, by its label (or custom id, which pages send)."""
        stored = self.emu.state.find_message(message_id)
        if not self._visible(stored):
            raise EmulatorError("no such message here")
        buttons = [
            c
            for row in stored.payload.get("components") or []
            for c in row.get("components") or []
            if c.get("type") == 2 and c.get("custom_id")
        ]
        lowered = label_or_id.strip().lower()
        button = next((b for b in buttons if b["custom_id"] == label_or_id), None) or next(
            (b for b in buttons if (b.get("label") or "").lower() == lowered), None
        )
        if button is None:
            labels = ", ".join(repr(b.get("label") or "(no label)") for b in buttons) or "none"
            raise EmulatorError(f"no button {label_or_id!r} on that message (buttons: {labels})")
        label = button.get("label") or "that button"
        if button.get("disabled"):
            raise EmulatorError(f"the button {label} is disabled")
        return await self.emu.click_button(message_id, button["custom_id"], user=self.user_id)

    # --- message menus (right-click a message, Apps, pick the bot's command)

    def menu_names(self) -> list[str]:
        """The bot's message commands (type 3) offered here, sorted."""
        return sorted({c["name"] for c in self.commands() if int(c.get("type") or 1) == 3})

    def say(self, text: str) -> None:
        """Write a message in the channel as the acting user (something to right-click)."""
        if not text.strip():
            raise EmulatorError("say what? (say <text>)")
        self.emu.post_user_message(self.channel_id, self.user_id, text)

    async def run_menu(self, line: str) -> EmulatedInteraction:
        """`<menu name> [n]`: right-click the n-th latest message of the channel the acting user
        can see (1, the default, is the latest) and pick the bot's message command by name."""
        names = self.menu_names()
        name, _, last_word = line.strip().rpartition(" ")
        back = 1
        if name and last_word.isdigit() and line.strip().lower() not in map(str.lower, names):
            back = int(last_word)
        else:
            name = line.strip()
        chosen = next((n for n in names if n.lower() == name.lower()), None)
        if chosen is None:
            raise EmulatorError(
                f"no message menu {name!r} (the bot's: {', '.join(names) or 'none'})"
            )
        shown = [s for s in self.emu.state.channel_messages(self.channel_id) if self._visible(s)]
        if not 1 <= back <= len(shown):
            raise EmulatorError(
                f"no message {back} back in #{self.channel_name()} "
                f"({len(shown)} shown; 1 is the latest)"
            )
        return await self.emu.send_message_command(chosen, shown[-back].id, user=self.user_id)

    def last_message_with_buttons(self) -> StoredMessage | None:
        for stored in reversed(list(self.emu.state.messages.values())):
            if not stored.deleted and stored.payload.get("components") and self._visible(stored):
                return stored
        return None

    # --- suggestions

    def suggest_static(self, line: str) -> list[Suggestion]:
        """What can be typed next without asking the bot: commands, options, choices,
        channels and roles."""
        return self._suggest(line, bot_choices=None)

    async def suggest(self, line: str, channel_id: int | None = None) -> list[Suggestion]:
        """Like `suggest_static`, plus the bot's own autocomplete choices for the option
        being typed (a real autocomplete interaction, as Discord's client sends one)."""
        choices: list[dict[str, Any]] | None = None
        focus = self._focus(line)
        if focus is not None:
            target, values, focused, typed = focus
            option = next(o for o in target.leaf_options if o["name"] == focused)
            if option.get("autocomplete"):
                others = self._coercible(target, values, focused)
                others[focused] = typed
                choices = await self.emu.send_autocomplete(
                    target.full_name,
                    others,
                    focused=focused,
                    user=self.user_id,
                    guild=self.world.guild_id,
                    channel=channel_id or self.channel_id,
                    timeout=self.reply_timeout,
                )
        return self._suggest(line, bot_choices=choices)

    def asks_for_choices(self, line: str) -> bool:
        """Whether a line ending in `?` asks what may be typed there, rather than being a
        command whose last value ends in a question mark (`/search query: why?`)."""
        if not line.endswith("?"):
            return False
        focus = self._focus(line[:-1])
        if focus is None:
            try:
                self.parse(line)
            except EmulatorError:
                return True  # not a command yet ("/sum?", "/post ?"): show what fits
            return False
        target, _values, focused, _typed = focus
        option = next(o for o in target.leaf_options if o["name"] == focused)
        return bool(
            option.get("autocomplete")
            or option.get("choices")
            or option["type"] in (BOOLEAN, USER, CHANNEL, ROLE, MENTIONABLE)
        )

    def _coercible(
        self, target: CommandTarget, values: dict[str, str], focused: str
    ) -> dict[str, Any]:
        """The other options typed so far that are valid (an autocomplete request carries them)."""
        out: dict[str, Any] = {}
        for option in target.leaf_options:
            name = option["name"]
            if name == focused or name not in values:
                continue
            try:
                if option["type"] in (USER, CHANNEL, ROLE, MENTIONABLE):
                    out[name] = self.resolve_entity(option["type"], values[name], name)
                else:
                    out[name] = coerce_value(option, values[name], _NO_ENTITIES, where=name)
            except EmulatorError:
                continue
        return out

    def _focus(self, line: str) -> tuple[CommandTarget, dict[str, str], str, str] | None:
        """(command, values typed, the option being typed, its text so far), if any."""
        try:
            target, rest = _command_of(line, self.commands())
        except EmulatorError:
            return None
        names = [o["name"] for o in target.leaf_options]
        cuts = _option_cuts(rest, names)
        if not cuts:
            return None
        values: dict[str, str] = {}
        bounds = [c[1] for c in cuts[1:]] + [len(rest)]
        for (name, _s, value_start), end in zip(cuts, bounds, strict=True):
            values[name] = _unquote(rest[value_start:end].strip())
        focused = cuts[-1][0]
        return target, values, focused, values[focused]

    def _suggest(self, line: str, *, bot_choices: list[dict[str, Any]] | None) -> list[Suggestion]:
        text = line.lstrip()
        if not text.startswith("/"):
            return []
        commands = self.commands()
        typed = " ".join(text[1:].lower().split()) + (" " if text[-1].isspace() else "")
        paths = [  # commands and subcommands the text is the start of ("/feed s": status)
            Suggestion("/" + path, "/" + path + " ", description)
            for command in commands
            if int(command.get("type") or 1) == 1
            for path, description in (
                (_command_path(usage), d) for usage, d in _usages(command["name"], command)
            )
            if path.startswith(typed)
        ]
        if paths or " " not in text:
            return paths[:MAX_SUGGESTIONS]
        try:
            target, rest = _command_of(text, commands)
        except EmulatorError:
            return []
        prefix = text[: len(text) - len(rest)] if rest else text.rstrip() + " "
        leaf = {o["name"]: o for o in target.leaf_options}
        cuts = _option_cuts(rest, list(leaf))
        out: list[Suggestion] = []
        if cuts:  # the value of the last option typed
            focused, _start, value_start = cuts[-1]
            typed = _unquote(rest[value_start:].strip())
            head = prefix + rest[:value_start] + " "
            for label, value in self._values(leaf[focused], typed, bot_choices):
                out.append(Suggestion(label, head + _quote_if_needed(value) + " ", f"{focused}:"))
        partial = "" if not rest or rest[-1].isspace() else rest.split()[-1]
        keep = rest[: len(rest) - len(partial)]
        given = {c[0] for c in cuts}
        for name, option in leaf.items():  # option names not given yet
            if name in given or (partial and not name.startswith(partial.lower())):
                continue
            if cuts and not partial and not rest[-1:].isspace():
                continue
            kind = OPTION_TYPE_NAMES.get(option["type"], "?")
            out.append(
                Suggestion(
                    f"{name}:", prefix + keep + f"{name}: ", option.get("description") or kind
                )
            )
        return out[:MAX_SUGGESTIONS]

    def _values(
        self, option: dict[str, Any], typed: str, bot_choices: list[dict[str, Any]] | None
    ) -> list[tuple[str, str]]:
        """(label, value to type) for an option's value."""
        lowered = typed.lower()
        if bot_choices is not None:
            return [(str(c["name"]), str(c["value"])) for c in bot_choices]
        if option.get("choices"):
            return [
                (str(c["name"]), str(c["name"]))
                for c in option["choices"]
                if lowered in str(c["name"]).lower()
            ]
        if option["type"] == BOOLEAN:
            return [(v, v) for v in ("true", "false") if v.startswith(lowered)]
        if option["type"] in (CHANNEL, ROLE, USER, MENTIONABLE):
            guild = self.emu.state.guild(self.world.guild_id)
            names: list[str] = []
            if option["type"] == CHANNEL:
                names = [f"#{c['name']}" for c in self.channels()]
            if option["type"] in (ROLE, MENTIONABLE):
                names += [
                    f"@{r.name}"
                    for r in guild.roles.values()
                    if r.name != "@everyone" and not r.managed
                ]
            if option["type"] in (USER, MENTIONABLE):
                names += [f"@{m.user.username}" for m in guild.members.values()]
            return [(n, n) for n in names if lowered.lstrip("#@") in n.lower()]
        return []

    # --- what the person sees

    def _visible(self, stored: StoredMessage) -> bool:
        """Channel posts are for everyone; an ephemeral reply only for whoever caused it."""
        if stored.deleted:
            return False
        if not stored.ephemeral:
            return True
        inter = self.emu.core.interactions.get(stored.interaction_id or 0)
        return inter is not None and inter.user_id == self.user_id

    def visible_views(self, channel_id: int, *, limit: int = MAX_VIEWS) -> list[dict[str, Any]]:
        """The newest messages of a channel the acting user can see, oldest first, as views."""
        shown = [s for s in self.emu.state.channel_messages(channel_id) if self._visible(s)]
        return [self._view(s) for s in shown[-limit:]]

    def _view(self, stored: StoredMessage) -> dict[str, Any]:
        """A message's view, parsed once per version (the page asks twice a second)."""
        key = (stored.id, len(stored.history))
        view = self._views.get(key)
        if view is None:
            if len(self._views) >= VIEW_CACHE:
                self._views.clear()
            view = self._views[key] = message_view(stored.payload, self.names(), version=key[1])
        return view

    def new_views(self) -> list[dict[str, Any]]:
        """Views of messages (in any channel of the server) that are new or changed since the
        last call: what a terminal prints as it arrives. Edits have `edited_since` set."""
        out = []
        guild = self.emu.state.guild(self.world.guild_id)
        for channel_id in guild.channel_ids:
            for stored in self.emu.state.channel_messages(channel_id):
                if not self._visible(stored):
                    continue
                version = len(stored.history)
                seen = self._printed.get(stored.id)
                if seen == version:
                    continue
                self._printed[stored.id] = version
                view = {**self._view(stored), "edited_since": seen is not None}
                out.append(view)
        return out

    def has_news(self) -> bool:
        """Whether `new_views` or `new_problems` would return anything (changes nothing)."""
        if len(self.emu.problems) > self.problems_seen:
            return True
        for stored in reversed(list(self.emu.state.messages.values())):
            if self._printed.get(stored.id) != len(stored.history) and self._visible(stored):
                channel = self.emu.state.channels.get(stored.channel_id)
                if channel is not None and channel.guild_id == self.world.guild_id:
                    return True
        return False

    def mark_all_seen(self) -> None:
        """Everything that exists now counts as shown (e.g. at start, or after switching user)."""
        self.new_views()

    def new_problems(self) -> list[str]:
        """Requests Discord would have rejected since the last call (bot bugs, shown to the
        person trying it rather than hidden)."""
        problems = self.emu.problems
        fresh = problems[self.problems_seen :]
        self.problems_seen = len(problems)
        return fresh


def _command_path(usage: str) -> str:
    """ "feed status [verbose: <boolean>]" -> "feed status"."""
    words = []
    for word in usage.split(" "):
        if word.startswith("[") or word.endswith(":") or word.startswith("<"):
            break
        words.append(word)
    return " ".join(words)
