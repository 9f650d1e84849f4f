"""Components V2: the rules Discord applies to a message flagged IS_COMPONENTS_V2 (1 << 15).

From Discord's documentation of the flag and of layout components ("Using Message Components",
"Component reference"), which the OpenAPI description does not express:

* a message with the flag carries its text in components: ``content``, ``embeds``,
  ``sticker_ids`` and ``poll`` are refused (null or empty is fine: that is how an edit clears
  them);
* a message holds at most 40 components, nested ones included (a container and each child, a
  section's accessory);
* the text of all its Text Display components together is at most 4,000 characters;
* layout components (section, text display, thumbnail, media gallery, file, separator,
  container) are refused in a message without the flag.

Each violation is a field error of a 400 50035 "Invalid Form Body", as Discord answers; the
error codes are the emulator's own names where Discord's are not published.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from discord_emulator.messages import IS_COMPONENTS_V2
from discord_emulator.problems import FieldError

__all__ = ["IS_COMPONENTS_V2", "check_components_v2", "check_edit", "text_displays"]
MAX_COMPONENTS = 40
MAX_TEXT_DISPLAY_TOTAL = 4000
TEXT_DISPLAY = 10
LAYOUT_TYPES = frozenset({9, 10, 11, 12, 13, 14, 17})
"""Section, Text Display, Thumbnail, Media Gallery, File, Separator, Container."""
LEGACY_FIELDS = ("content", "embeds", "sticker_ids", "poll")


def _walk(components: Any) -> Iterator[dict[str, Any]]:
    """Every component of a message, depth first: action rows' and containers' ``components``,
    sections' ``components`` and ``accessory``."""
    if not isinstance(components, list):
        return
    for component in components:
        if not isinstance(component, dict):
            continue
        yield component
        yield from _walk(component.get("components"))
        accessory = component.get("accessory")
        if isinstance(accessory, dict):
            yield accessory


def _flagged(body: dict[str, Any]) -> bool:
    flags = body.get("flags")
    return isinstance(flags, int) and bool(flags & IS_COMPONENTS_V2)


def check_components_v2(body: dict[str, Any], *, prefix: tuple[Any, ...]) -> list[FieldError]:
    """The Components V2 rules above, for a create or edit body (or a callback's data)."""
    components = list(_walk(body.get("components")))
    if not _flagged(body):
        return [
            FieldError(
                (*prefix, "components"),
                "COMPONENT_LAYOUT_REQUIRES_COMPONENTS_V2",
                f"Component type {component.get('type')} requires the IS_COMPONENTS_V2 flag",
            )
            for component in components
            if component.get("type") in LAYOUT_TYPES
        ][:1]
    problems = [
        FieldError(
            (*prefix, name),
            "MESSAGE_CANNOT_USE_LEGACY_FIELDS_WITH_COMPONENTS_V2",
            f"The '{name}' field cannot be used when using MessageFlags.IS_COMPONENTS_V2",
        )
        for name in LEGACY_FIELDS
        if body.get(name)
    ]
    if len(components) > MAX_COMPONENTS:
        problems.append(
            FieldError(
                (*prefix, "components"),
                "COMPONENT_MAX_TOTAL_COMPONENTS_EXCEEDED",
                f"Must be {MAX_COMPONENTS} or fewer in total components.",
                f"got {len(components)}",
            )
        )
    text = sum(
        len(str(c.get("content") or "")) for c in components if c.get("type") == TEXT_DISPLAY
    )
    if text > MAX_TEXT_DISPLAY_TOTAL:
        problems.append(
            FieldError(
                (*prefix, "components"),
                "COMPONENT_TEXT_DISPLAY_TOTAL_EXCEEDED",
                f"The text of all text displays must be {MAX_TEXT_DISPLAY_TOTAL} or fewer "
                "characters in total.",
                f"got {text}",
            )
        )
    return problems


def check_edit(stored: dict[str, Any], body: Any) -> list[FieldError]:
    """An edit of ``stored``: a message that has the flag keeps it (an edit without it is held to
    the same rules), and one that gains it must clear what it had of the legacy fields (Discord
    requires them null when a message is turned into a Components V2 one)."""
    if not isinstance(body, dict):
        return []
    had = bool(int(stored.get("flags") or 0) & IS_COMPONENTS_V2)
    if not (had or _flagged(body)):
        return []
    after = {name: body[name] if name in body else stored.get(name) for name in LEGACY_FIELDS}
    problems = [
        FieldError(
            (name,),
            "MESSAGE_CANNOT_USE_LEGACY_FIELDS_WITH_COMPONENTS_V2",
            f"The '{name}' field cannot be used when using MessageFlags.IS_COMPONENTS_V2",
        )
        for name, value in after.items()
        if value and name not in body
    ]
    if had and not _flagged(body):
        problems.extend(check_components_v2({**body, "flags": IS_COMPONENTS_V2}, prefix=()))
    return problems


def text_displays(message: dict[str, Any]) -> list[str]:
    """The text a reader sees in a Components V2 message, in order (for tests and renderers)."""
    return [
        str(c.get("content") or "")
        for c in _walk(message.get("components"))
        if c.get("type") == TEXT_DISPLAY
    ]
