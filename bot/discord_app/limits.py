"""Discord's limits, and the text helpers that keep every message inside them.

Discord rejects a whole message if one embed field is a character too long, so every piece of
corpus text passes through `clip` (cut at a word boundary, marked with "…") and every embed
through `fit_embed` (the 6,000-character total) before it is sent.
"""

from __future__ import annotations

import functools
import re

import discord

CONTENT = 2000
TITLE = 256
DESCRIPTION = 4096
FIELDS = 25
FIELD_NAME = 256
FIELD_VALUE = 1024
FOOTER = 2048
AUTHOR_NAME = 256
EMBED_TOTAL = 6000
CHOICES = 25
CHOICE_NAME = 100
CHOICE_VALUE = 100
ELLIPSIS = "…"


def clip(text: str, limit: int) -> str:
    """`text` if it fits, else cut at the last word boundary before `limit`, ending in "…"."""
    if len(text) <= limit:
        return text
    room = limit - len(ELLIPSIS)
    cut = text[:room]
    space = cut.rfind(" ")
    if space > room * 0.6:
        cut = cut[:space]
    return cut.rstrip(" ,;:—–-\n") + ELLIPSIS


SAFE_CACHE_MAX_CHARS = 300
"""Strings up to this long (titles, names, labels) are escaped once and remembered; longer ones
(bodies, quotes, snippets) are rarely shown twice and would make the cache big."""

# discord.utils.escape_markdown (with its default ignore_links=True: links are left alone) and
# escape_mentions, compiled once. Both call `re.sub` with a pattern string, which costs a lookup
# in re's cache on every call; in a burst of paged answers `safe` ran ~16,000 times and was the
# bot's largest own cost. The same patterns and replacements: tests/discord_app/test_lazy_render.py
# checks the output is identical to discord.utils' on tricky text.
_MARKDOWN = re.compile(
    r"(?:(?P<url><[^: >]+:\/[^ >]+>|(?:https?|steam):\/\/[^\s<]+[^<.,:;\"\'\]\s])"
    r"|(?P<markdown>[_\\~|\*`]|^>(?:>>)?\s|\[.+\]\(.+\)|^#{1,3}|^\s*-))",
    re.MULTILINE,
)
_MENTION = re.compile(r"@(everyone|here|[!&]?[0-9]{17,20})")


def _markdown_escaped(match: re.Match[str]) -> str:
    return match.group("url") or "\\" + match.group("markdown")


def _escape(text: str) -> str:
    return _MENTION.sub("@\u200b\\1", _MARKDOWN.sub(_markdown_escaped, text))


_escape_short = functools.lru_cache(maxsize=1024)(_escape)
"""Titles and names recur in lists; 1,024 of them (at most ~0.6 MB) whatever the corpus size."""


def safe(text: str) -> str:
    """Corpus text or user input shown as literal text: no Markdown, no mentions.

    Mentions are also blocked client-wide (AllowedMentions.none()); escaping keeps them from even
    rendering as a mention, and Markdown from reformatting a quote. Same output as
    `discord.utils.escape_mentions(discord.utils.escape_markdown(text))`, cheaper (see above).
    """
    return _escape_short(text) if len(text) <= SAFE_CACHE_MAX_CHARS else _escape(text)


def safe_clip(text: str, limit: int) -> str:
    """`clip(safe(text), limit)` without escaping all of a long text.

    A post's body can be 80,000 characters and only its first 3,000 are shown; escaping all of it
    cost more than the rest of a /post. Escaping only adds characters, and the patterns `safe`
    replaces stay within one line, except two: `^\\s*-` can run over blank lines to a dash, and
    a `<scheme:/…>` link over line breaks up to a space or `>`. So the text is cut just after a
    line break beyond `limit` that is followed by a letter or digit and not inside a possible
    `<…>` link; no pattern spans that point, so the escaped prefix (longer than `limit`) starts
    exactly like the escaped whole and its clip is the same.
    """
    end = text.find("\n", limit)
    while end != -1:
        cut = end + 1
        if cut < len(text) and text[cut].isalnum() and _outside_angle_link(text, cut):
            return clip(safe(text[:cut]), limit)
        end = text.find("\n", cut)
    return clip(safe(text), limit)


def _outside_angle_link(text: str, cut: int) -> bool:
    """No `<…>` link can span `cut`: no `<` before it, or a space or `>` after the last one."""
    opening = text.rfind("<", 0, cut)
    return opening == -1 or " " in text[opening:cut] or ">" in text[opening:cut]


def fit_embed(embed: discord.Embed) -> discord.Embed:
    """Clip every part to its limit, then trim fields and description until the total fits."""
    if embed.title:
        embed.title = clip(embed.title, TITLE)
    if embed.description:
        embed.description = clip(embed.description, DESCRIPTION)
    if embed.footer.text:
        embed.set_footer(text=clip(embed.footer.text, FOOTER), icon_url=embed.footer.icon_url)
    if embed.author.name:
        embed.set_author(name=clip(embed.author.name, AUTHOR_NAME), url=embed.author.url)
    while len(embed.fields) > FIELDS:
        embed.remove_field(len(embed.fields) - 1)
    for index, field in enumerate(list(embed.fields)):
        embed.set_field_at(
            index,
            name=clip(field.name or "\u200b", FIELD_NAME),
            value=clip(field.value or "\u200b", FIELD_VALUE),
            inline=field.inline,
        )
    while len(embed) > EMBED_TOTAL and embed.description and len(embed.description) > 200:
        excess = len(embed) - EMBED_TOTAL
        embed.description = clip(embed.description, max(200, len(embed.description) - excess - 1))
    while len(embed) > EMBED_TOTAL and embed.fields:
        embed.remove_field(len(embed.fields) - 1)
    return embed
