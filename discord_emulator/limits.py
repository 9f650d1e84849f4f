"""Limits Discord enforces that its OpenAPI description does not (fully) express.

* Bots may send at most 2,000 characters of `content` (the spec says 4,000 for some bodies).
* All embeds of one message together hold at most 6,000 characters (title, description, field
  names and values, footer text, author name).
* The per-field embed limits are in the spec too; they are repeated here so they hold even if
  schema validation is switched off (`DiscordEmulator(validate_schema=False)`); duplicates of
  a schema error are dropped by `problems.unique`. That includes the 2,048 characters of every
  embed URL (`url`, `author.url`, `author.icon_url`, `footer.icon_url`, `image.url`,
  `thumbnail.url`): Discord answers 400 50035 for a longer one.
* Command sync: names Discord accepts, unique names, required options before optional ones,
  choices and autocomplete exclusive, and the 4,000-character total per command.
"""

from __future__ import annotations

import re
from typing import Any

from discord_emulator.components_v2 import check_components_v2
from discord_emulator.problems import FieldError

MAX_CONTENT = 2000
MAX_EMBEDS = 10
MAX_EMBED_TOTAL = 6000
MAX_FIELDS = 25
EMBED_TEXT_LIMITS = {"title": 256, "description": 4096}
FIELD_LIMITS = {"name": 256, "value": 1024}
FOOTER_TEXT_LIMIT = 2048
MAX_URL = 2048
EMBED_URLS: tuple[tuple[str, ...], ...] = (
    ("url",),
    ("author", "url"),
    ("author", "icon_url"),
    ("footer", "icon_url"),
    ("image", "url"),
    ("thumbnail", "url"),
)
AUTHOR_NAME_LIMIT = 256
MAX_AUTOCOMPLETE_CHOICES = 25
MAX_COMMAND_TEXT = 4000

# Discord: ^[-_'\p{L}\p{N}\p{sc=Deva}\p{sc=Thai}]{1,32}$, lowercase where a letter has case.
COMMAND_NAME = re.compile(r"^[-_'\w]{1,32}$")

CHAT_INPUT = 1
SUB_COMMAND = 1
SUB_COMMAND_GROUP = 2


def _too_long(path: tuple[Any, ...], limit: int, length: int) -> FieldError:
    return FieldError(
        path, "BASE_TYPE_MAX_LENGTH", f"Must be {limit} or fewer in length.", f"got {length}"
    )


def check_message(body: Any, *, prefix: tuple[Any, ...] = ()) -> list[FieldError]:
    """Content and embed limits of a message body (create, edit, callback data, followup)."""
    if not isinstance(body, dict):
        return []
    problems: list[FieldError] = []
    content = body.get("content")
    if isinstance(content, str) and len(content) > MAX_CONTENT:
        problems.append(_too_long((*prefix, "content"), MAX_CONTENT, len(content)))
    embeds = body.get("embeds")
    if isinstance(embeds, list):
        problems.extend(check_embeds(embeds, prefix=(*prefix, "embeds")))
    problems.extend(check_components_v2(body, prefix=prefix))
    return problems


def embed_length(embed: dict[str, Any]) -> int:
    """Characters Discord counts toward the 6,000 total of a message's embeds."""
    total = 0
    for key in ("title", "description"):
        total += len(_text(embed.get(key)))
    for field in embed.get("fields") or []:
        if isinstance(field, dict):
            total += len(_text(field.get("name"))) + len(_text(field.get("value")))
    footer = embed.get("footer")
    if isinstance(footer, dict):
        total += len(_text(footer.get("text")))
    author = embed.get("author")
    if isinstance(author, dict):
        total += len(_text(author.get("name")))
    return total


def check_embeds(embeds: list[Any], *, prefix: tuple[Any, ...]) -> list[FieldError]:
    problems: list[FieldError] = []
    if len(embeds) > MAX_EMBEDS:
        problems.append(_too_long(prefix, MAX_EMBEDS, len(embeds)))
    total = 0
    for index, embed in enumerate(embeds):
        if not isinstance(embed, dict):
            continue
        here = (*prefix, index)
        for key, limit in EMBED_TEXT_LIMITS.items():
            text = _text(embed.get(key))
            if len(text) > limit:
                problems.append(_too_long((*here, key), limit, len(text)))
        fields = embed.get("fields") or []
        if isinstance(fields, list):
            if len(fields) > MAX_FIELDS:
                problems.append(_too_long((*here, "fields"), MAX_FIELDS, len(fields)))
            for f_index, field in enumerate(fields):
                if not isinstance(field, dict):
                    continue
                for key, limit in FIELD_LIMITS.items():
                    text = _text(field.get(key))
                    if len(text) > limit:
                        problems.append(
                            _too_long((*here, "fields", f_index, key), limit, len(text))
                        )
        footer = embed.get("footer")
        if isinstance(footer, dict) and len(_text(footer.get("text"))) > FOOTER_TEXT_LIMIT:
            problems.append(
                _too_long((*here, "footer", "text"), FOOTER_TEXT_LIMIT, len(footer["text"]))
            )
        author = embed.get("author")
        if isinstance(author, dict) and len(_text(author.get("name"))) > AUTHOR_NAME_LIMIT:
            problems.append(
                _too_long((*here, "author", "name"), AUTHOR_NAME_LIMIT, len(author["name"]))
            )
        for where in EMBED_URLS:
            url = _text(_at(embed, where))
            if len(url) > MAX_URL:
                problems.append(_too_long((*here, *where), MAX_URL, len(url)))
        total += embed_length(embed)
    if total > MAX_EMBED_TOTAL:
        problems.append(
            FieldError(
                prefix,
                "MAX_EMBED_SIZE_EXCEEDED",
                f"Embed size exceeds maximum size of {MAX_EMBED_TOTAL}",
                f"got {total}",
            )
        )
    return problems


def check_autocomplete(data: Any) -> list[FieldError]:
    if not isinstance(data, dict) or not isinstance(data.get("choices"), list):
        return []
    count = len(data["choices"])
    if count > MAX_AUTOCOMPLETE_CHOICES:
        return [_too_long(("data", "choices"), MAX_AUTOCOMPLETE_CHOICES, count)]
    return []


def check_commands(commands: Any) -> list[FieldError]:
    """What Discord checks on a bulk command overwrite beyond the schema."""
    if not isinstance(commands, list):
        return []
    problems: list[FieldError] = []
    seen: dict[tuple[int, str], int] = {}
    for index, command in enumerate(commands):
        if not isinstance(command, dict) or not isinstance(command.get("name"), str):
            continue
        command_type = command.get("type") or CHAT_INPUT
        key = (command_type, command["name"])
        if key in seen:
            problems.append(
                FieldError(
                    (index, "name"),
                    "APPLICATION_COMMANDS_DUPLICATE_NAME",
                    f"Application command names must be unique (also used by command {seen[key]})",
                )
            )
        seen[key] = index
        if command_type != CHAT_INPUT:
            continue
        problems.extend(_check_name((index,), command["name"]))
        if not command.get("description"):
            problems.append(
                FieldError((index, "description"), "BASE_TYPE_REQUIRED", "This field is required")
            )
        problems.extend(_check_options((index, "options"), command.get("options") or []))
        total = _command_text_length(command)
        if total > MAX_COMMAND_TEXT:
            problems.append(
                FieldError(
                    (index,),
                    "APPLICATION_COMMAND_TOO_LARGE",
                    f"Command exceeds maximum size ({MAX_COMMAND_TEXT})",
                    f"got {total}",
                )
            )
    return problems


def _check_name(path: tuple[Any, ...], name: str) -> list[FieldError]:
    if COMMAND_NAME.match(name) and name == name.lower():
        return []
    return [
        FieldError(
            (*path, "name"),
            "APPLICATION_COMMAND_INVALID_NAME",
            "Command name is invalid",
            repr(name),
        )
    ]


def _check_options(path: tuple[Any, ...], options: list[Any]) -> list[FieldError]:
    problems: list[FieldError] = []
    names: set[str] = set()
    optional_seen = False
    for index, option in enumerate(options):
        if not isinstance(option, dict) or not isinstance(option.get("name"), str):
            continue
        here = (*path, index)
        problems.extend(_check_name(here, option["name"]))
        if option["name"] in names:
            problems.append(
                FieldError(
                    (*here, "name"),
                    "APPLICATION_COMMAND_OPTIONS_DUPLICATE_NAME",
                    "Option names must be unique",
                )
            )
        names.add(option["name"])
        if option.get("type") in (SUB_COMMAND, SUB_COMMAND_GROUP):
            problems.extend(_check_options((*here, "options"), option.get("options") or []))
            continue
        if option.get("required"):
            if optional_seen:
                problems.append(
                    FieldError(
                        (*here, "required"),
                        "APPLICATION_COMMAND_OPTIONS_REQUIRED_INVALID",
                        "Required options must be placed before non-required options",
                    )
                )
        else:
            optional_seen = True
        if option.get("autocomplete") and option.get("choices"):
            problems.append(
                FieldError(
                    (*here, "autocomplete"),
                    "APPLICATION_COMMAND_OPTION_CHOICES_AUTOCOMPLETE",
                    "Autocomplete cannot be enabled on an option that has choices",
                )
            )
    return problems


def _command_text_length(node: dict[str, Any]) -> int:
    total = len(_text(node.get("name"))) + len(_text(node.get("description")))
    for choice in node.get("choices") or []:
        if isinstance(choice, dict):
            total += len(_text(choice.get("name"))) + len(str(choice.get("value", "")))
    for option in node.get("options") or []:
        if isinstance(option, dict):
            total += _command_text_length(option)
    return total


def _at(node: Any, path: tuple[str, ...]) -> Any:
    for key in path:
        node = node.get(key) if isinstance(node, dict) else None
    return node


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""
