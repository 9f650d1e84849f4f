"""Turning "invoke /feed status with these options" into the interaction data Discord sends.

Option values are typed from the command definitions the bot *synced*, as Discord's client
does: an INTEGER option is sent as a JSON integer, a USER option as an id plus `resolved`
data, a string with choices only as one of its choice values. Unknown commands and options,
missing required options and values Discord's client would refuse raise `EmulatorError`
subclasses with a message naming what exists, so a typo in a test is obvious.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from discord_emulator.attachments import Upload
from discord_emulator.errors import CommandNotSyncedError, OptionError

SUB_COMMAND, SUB_COMMAND_GROUP = 1, 2
STRING, INTEGER, BOOLEAN, USER, CHANNEL, ROLE, MENTIONABLE, NUMBER, ATTACHMENT = (
    3,
    4,
    5,
    6,
    7,
    8,
    9,
    10,
    11,
)

OPTION_TYPE_NAMES = {
    STRING: "string",
    INTEGER: "integer",
    BOOLEAN: "boolean",
    USER: "user",
    CHANNEL: "channel",
    ROLE: "role",
    MENTIONABLE: "mentionable",
    NUMBER: "number",
    ATTACHMENT: "attachment",
}

MAX_SAFE_INTEGER = 2**53

TRUE_WORDS = {"true", "yes", "y", "on", "1"}
FALSE_WORDS = {"false", "no", "n", "off", "0"}


@dataclass
class CommandTarget:
    """A resolved invocation target: the synced command and the leaf to fill options of."""

    command: dict[str, Any]
    path: list[dict[str, Any]]  # subcommand group / subcommand option definitions, outer first
    leaf_options: list[dict[str, Any]]

    @property
    def guild_id(self) -> int | None:
        gid = self.command.get("guild_id")
        return int(gid) if gid is not None else None

    @property
    def full_name(self) -> str:
        return " ".join([self.command["name"], *(p["name"] for p in self.path)])


@dataclass
class Resolver:
    """Looks up users, members, channels and roles for USER/CHANNEL/ROLE options, and stores
    the files of ATTACHMENT options."""

    user: Callable[[int], dict[str, Any] | None]
    member: Callable[[int], dict[str, Any] | None]
    channel: Callable[[int], dict[str, Any] | None]
    role: Callable[[int], dict[str, Any] | None]
    resolved: dict[str, dict[str, Any]] = field(default_factory=dict)
    attachment: Callable[[Upload], dict[str, Any]] | None = None
    """Stores an uploaded file and returns its attachment object (None: no files here)."""

    def add(self, kind: str, key: int, payload: dict[str, Any]) -> None:
        self.resolved.setdefault(kind, {})[str(key)] = payload


def find_command(
    name: str,
    *,
    guild_commands: list[dict[str, Any]],
    global_commands: list[dict[str, Any]],
    kind: int = 1,
) -> CommandTarget:
    """Find "name", "group sub" or "group subgroup sub" among synced chat-input commands, or
    a context-menu command by its whole name (`kind` 2 user, 3 message: names may hold spaces).

    Guild commands shadow global ones of the same name, as in Discord's client.
    """
    candidates = [c for c in guild_commands + global_commands if int(c.get("type") or 1) == kind]
    if kind != 1:
        menu = next((c for c in candidates if c["name"] == name), None)
        if menu is None:
            known = sorted({c["name"] for c in candidates})
            raise CommandNotSyncedError(
                f"context menu {name!r} was never synced (synced menus of type {kind}: "
                f"{', '.join(known) or 'none'})"
            )
        return CommandTarget(command=menu, path=[], leaf_options=[])
    words = name.strip().lstrip("/").split()
    if not words:
        raise CommandNotSyncedError("empty command name")
    command = next((c for c in candidates if c["name"] == words[0]), None)
    if command is None:
        known = sorted({c["name"] for c in candidates})
        raise CommandNotSyncedError(
            f"/{words[0]} was never synced (synced commands: {', '.join(known) or 'none'}); "
            "did the bot call tree.sync()?"
        )
    options = command.get("options") or []
    path: list[dict[str, Any]] = []
    for word in words[1:]:
        subs = [o for o in options if o.get("type") in (SUB_COMMAND, SUB_COMMAND_GROUP)]
        sub = next((o for o in subs if o["name"] == word), None)
        if sub is None:
            raise CommandNotSyncedError(
                f"/{' '.join([command['name'], *(p['name'] for p in path)])} has no subcommand "
                f"{word!r} (has: {', '.join(o['name'] for o in subs) or 'none'})"
            )
        path.append(sub)
        options = sub.get("options") or []
    if any(o.get("type") in (SUB_COMMAND, SUB_COMMAND_GROUP) for o in options):
        names = ", ".join(o["name"] for o in options)
        raise CommandNotSyncedError(f"/{name.strip()} needs a subcommand (one of: {names})")
    return CommandTarget(command=command, path=path, leaf_options=options)


def build_options(
    target: CommandTarget,
    values: Mapping[str, Any],
    resolver: Resolver,
    *,
    focused: str | None = None,
) -> list[dict[str, Any]]:
    """The `data.options` tree for an invocation (or an autocomplete request if `focused`)."""
    defined = {o["name"]: o for o in target.leaf_options}
    for key in values:
        if key not in defined:
            raise OptionError(
                f"/{target.full_name} has no option {key!r} "
                f"(options: {', '.join(defined) or 'none'})"
            )
    if focused is not None:
        if focused not in defined:
            raise OptionError(f"/{target.full_name} has no option {focused!r} to autocomplete")
        if not defined[focused].get("autocomplete"):
            raise OptionError(
                f"option {focused!r} of /{target.full_name} does not use autocomplete"
            )
    leaf: list[dict[str, Any]] = []
    for option in target.leaf_options:
        name = option["name"]
        if name not in values:
            if option.get("required") and focused is None:
                raise OptionError(f"/{target.full_name} requires option {name!r}")
            continue
        if name == focused:
            leaf.append(
                {"name": name, "type": option["type"], "value": str(values[name]), "focused": True}
            )
            continue
        value = coerce_value(option, values[name], resolver, where=f"/{target.full_name} {name}")
        leaf.append({"name": name, "type": option["type"], "value": value})
    tree = leaf
    for sub in reversed(target.path):
        tree = [{"name": sub["name"], "type": sub["type"], "options": tree}]
    return tree


def coerce_value(option: dict[str, Any], raw: Any, resolver: Resolver, *, where: str) -> Any:
    """A value as Discord's client would send it for this option definition."""
    kind = option["type"]
    value: Any
    if kind == ATTACHMENT:
        return _as_attachment(raw, resolver, where)
    if isinstance(raw, Upload):
        raise OptionError(
            f"{where}: a file can only be given to an attachment option, "
            f"this one is a {OPTION_TYPE_NAMES.get(kind, kind)} option"
        )
    if kind == STRING:
        value = _as_string(raw, where)
    elif kind == INTEGER:
        value = _as_integer(raw, where)
    elif kind == NUMBER:
        value = _as_number(raw, where)
    elif kind == BOOLEAN:
        value = _as_bool(raw, where)
    elif kind in (USER, CHANNEL, ROLE, MENTIONABLE):
        return _as_entity(kind, raw, resolver, where)
    else:
        raise OptionError(
            f"{where}: {OPTION_TYPE_NAMES.get(kind, kind)} options are not supported by the emulator"
        )
    choices = option.get("choices")
    if choices:
        return _as_choice(value, raw, choices, where)
    _check_bounds(option, value, where)
    return value


def _as_string(raw: Any, where: str) -> str:
    if not isinstance(raw, str):
        raise OptionError(f"{where}: expects a string, got {raw!r}")
    return raw


def _as_integer(raw: Any, where: str) -> int:
    if isinstance(raw, bool):
        raise OptionError(f"{where}: expects an integer, got {raw!r}")
    if isinstance(raw, int):
        value = raw
    elif isinstance(raw, str) and raw.strip().lstrip("+-").isdigit():
        value = int(raw.strip())
    else:
        raise OptionError(f"{where}: expects an integer, got {raw!r}")
    if abs(value) > MAX_SAFE_INTEGER:
        raise OptionError(f"{where}: {value} is outside Discord's integer range")
    return value


def _as_number(raw: Any, where: str) -> float | int:
    if isinstance(raw, bool):
        raise OptionError(f"{where}: expects a number, got {raw!r}")
    if isinstance(raw, int | float):
        return raw
    if isinstance(raw, str):
        try:
            return float(raw)
        except ValueError:
            pass
    raise OptionError(f"{where}: expects a number, got {raw!r}")


def _as_bool(raw: Any, where: str) -> bool:
    if isinstance(raw, bool):
        return raw
    if isinstance(raw, str) and raw.strip().lower() in TRUE_WORDS | FALSE_WORDS:
        return raw.strip().lower() in TRUE_WORDS
    raise OptionError(f"{where}: expects true or false, got {raw!r}")


def _as_choice(value: Any, raw: Any, choices: list[dict[str, Any]], where: str) -> Any:
    for choice in choices:
        if choice["value"] == value and type(choice["value"]) is type(value):
            return choice["value"]
    for choice in choices:  # the user picks a choice by its displayed name
        if isinstance(raw, str) and choice["name"].lower() == raw.strip().lower():
            return choice["value"]
    names = ", ".join(f"{c['name']}={c['value']!r}" for c in choices)
    raise OptionError(f"{where}: {raw!r} is not one of the choices ({names})")


def _check_bounds(option: dict[str, Any], value: Any, where: str) -> None:
    if isinstance(value, str):
        if "min_length" in option and len(value) < option["min_length"]:
            raise OptionError(f"{where}: must be at least {option['min_length']} characters")
        if "max_length" in option and len(value) > option["max_length"]:
            raise OptionError(f"{where}: must be at most {option['max_length']} characters")
        return
    if "min_value" in option and value < option["min_value"]:
        raise OptionError(f"{where}: must be at least {option['min_value']}")
    if "max_value" in option and value > option["max_value"]:
        raise OptionError(f"{where}: must be at most {option['max_value']}")


def _as_entity(kind: int, raw: Any, resolver: Resolver, where: str) -> str:
    raw_id = getattr(raw, "id", raw)
    try:
        entity_id = int(str(raw_id).strip().strip("<@#&!>"))
    except ValueError:
        raise OptionError(f"{where}: expects an id, got {raw!r}") from None
    if kind in (USER, MENTIONABLE):
        user = resolver.user(entity_id)
        if user is not None:
            resolver.add("users", entity_id, user)
            member = resolver.member(entity_id)
            if member is not None:
                member = {k: v for k, v in member.items() if k != "user"}
                resolver.add("members", entity_id, member)
            return str(entity_id)
    if kind in (ROLE, MENTIONABLE):
        role = resolver.role(entity_id)
        if role is not None:
            resolver.add("roles", entity_id, role)
            return str(entity_id)
    if kind == CHANNEL:
        channel = resolver.channel(entity_id)
        if channel is not None:
            resolver.add("channels", entity_id, channel)
            return str(entity_id)
    raise OptionError(f"{where}: no {OPTION_TYPE_NAMES[kind]} with id {entity_id}")


def _as_attachment(raw: Any, resolver: Resolver, where: str) -> str:
    """An ATTACHMENT option's value is the attachment's id; the attachment object itself goes
    in `resolved.attachments`, as Discord sends it."""
    if not isinstance(raw, Upload):
        raise OptionError(
            f"{where}: expects a file, discord_emulator.Upload(data, filename, content_type), "
            f"got {raw!r}"
        )
    if resolver.attachment is None:
        raise OptionError(f"{where}: files cannot be attached here")
    attachment = resolver.attachment(raw)
    resolver.add("attachments", int(attachment["id"]), attachment)
    return str(attachment["id"])
