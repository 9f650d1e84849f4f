"""Discord's limits, and the text helpers that keep every message inside them and inert.

Discord rejects a whole message if one embed field is a character too long, so every piece of
corpus text passes through `clip` (cut at a word boundary, marked with "…") and every embed
through `fit_embed` (the 6,000-character total) before it is sent; message text goes through
`fit_content`. Those two are also where the last line of defence sits: whatever reaches them,
control characters and bidi overrides are removed and every URL is checked (`web_url`), so an
embed is never refused for a link over 2,048 characters or one that is not http(s).

Untrusted text (corpus, feeds, user input) is shown through `safe` (no Markdown, no mentions, no
`<#channel>`, `<t:…>` or other Discord tags), and a link written into text through `masked_link`,
the only place that writes `[label](<url>)`.
"""

from __future__ import annotations

import functools
import re

import discord

from bot.text_safety import strip_controls, web_url

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
_TAG = re.compile(r"<(?=[@#/:]|a:|t:|id:)")
"""The opening of a Discord tag: `<@user>`, `<@&role>`, `<#channel>` (still a link with mentions
off), `</command:id>`, `<:emoji:id>`, `<a:emoji:id>`, `<t:time>` (shown as a date the text never
said), `<id:guide>`. A zero-width space after the `<` shows it as typed and parses as nothing."""


def _markdown_escaped(match: re.Match[str]) -> str:
    return match.group("url") or "\\" + match.group("markdown")


def _escape(text: str) -> str:
    text = _MARKDOWN.sub(_markdown_escaped, strip_controls(text))
    return _TAG.sub("<\u200b", _MENTION.sub("@\u200b\\1", text))


_escape_short = functools.lru_cache(maxsize=1024)(_escape)
"""Titles and names recur in lists; 1,024 of them (at most ~0.6 MB) whatever the corpus size."""


def safe(text: str) -> str:
    """Corpus text or user input shown as literal text: no Markdown, no mentions, no tags.

    Mentions are also blocked client-wide (AllowedMentions.none()); escaping keeps them from even
    rendering as a mention, and Markdown from reformatting a quote. Control characters go first
    (`strip_controls`): removed after escaping, one could have hidden a construct from the escape
    (`[a]\\x00(url)`). Then the same output as
    `discord.utils.escape_mentions(discord.utils.escape_markdown(text))`, cheaper (see above), with
    Discord's `<…>` tags broken open.
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
    # Controls go first, from the whole text (a C-speed pass): escaping only adds characters, but
    # stripping removes some, so a prefix stripped after the cut could shrink under `limit` and
    # skip the clip that the whole gets (hypothesis found it with a CRLF).
    text = strip_controls(text)
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


_LABEL_MARKDOWN = re.compile(r"[\\*_~|`\[\]]")
_LABEL_SCHEME = re.compile(r":(?=//)")


def link_label(text: str, limit: int) -> str:
    """Untrusted text, clipped, fit to be the label of a masked link: on one line, every Markdown
    character escaped, mentions and tags broken as in `safe`.

    `safe` is not enough here. It leaves a lone `[` or `]` alone (only a whole `[a](b)` is
    Markdown), but inside a label a `]` ends it early: `Title ](https://evil.example) [five` would
    link to evil.example. It also leaves URLs unescaped so they stay links, and a backtick in one
    would open a code span that swallows the `](` after the label. So every Markdown character
    is escaped, wherever it is, and a `://` is broken with a zero-width space: no URL in a label
    can be autolinked or pass for the real target."""
    text = _LABEL_MARKDOWN.sub(
        r"\\\g<0>", strip_controls(text).replace("\n", " ").replace("\t", " ")
    )
    text = _TAG.sub("<\u200b", _MENTION.sub("@\u200b\\1", _LABEL_SCHEME.sub(":\u200b", text)))
    return clip(text, limit)


LINK_URL_LIMIT = 512
"""The longest URL written into message or embed text: lists put up to 25 links in one
4,096-character description, and a clip through a link would leave half of it as text. Longer
ones (tracking junk, data smuggled in a query) leave the entry unlinked; an embed's own url may
still take 2,048."""


def masked_link(label: str, url: str | None, limit: int = 200) -> str:
    """`[label](<url>)` for untrusted `label` and `url`, or only the label when the URL is not a
    web URL of at most `LINK_URL_LIMIT` characters (see `web_url`). The one place the bot writes
    a masked link: the angle brackets stop a link preview and keep a `)` in the URL from ending
    the link."""
    shown = link_label(label, limit)
    url = web_url(url, LINK_URL_LIMIT)
    return f"[{shown}](<{url}>)" if url else shown


def inline_code(text: str) -> str:
    """`text` as inline code: shown as typed, mentions and Markdown included. A backtick in it
    would end the code span and let the rest render, so it becomes a look-alike (U+02CB)."""
    return f"`{strip_controls(text).replace('`', 'ˋ').replace(chr(10), ' ')}`"


def fit_content(text: str, limit: int = CONTENT) -> str:
    """Message text as sent: no control characters or bidi overrides, within 2,000 characters."""
    return clip(strip_controls(text), limit)


def _plain(text: str, limit: int) -> str:
    return clip(strip_controls(text), limit)


def fit_embed(embed: discord.Embed) -> discord.Embed:
    """Make an embed sendable whatever it was built from: every text part without control
    characters and clipped to its limit, every URL a web URL within 2,048 characters (or gone),
    then fields and description trimmed until the total fits."""
    if embed.title:
        embed.title = _plain(embed.title, TITLE)
    if embed.description:
        embed.description = _plain(embed.description, DESCRIPTION)
    embed.url = web_url(embed.url)
    if embed.footer.text or embed.footer.icon_url:
        embed.set_footer(
            text=_plain(embed.footer.text or "", FOOTER) or None,
            icon_url=web_url(embed.footer.icon_url),
        )
    if embed.author.name:
        embed.set_author(
            name=_plain(embed.author.name, AUTHOR_NAME),
            url=web_url(embed.author.url),
            icon_url=web_url(embed.author.icon_url),
        )
    if embed.thumbnail.url:
        embed.set_thumbnail(url=web_url(embed.thumbnail.url))
    if embed.image.url:
        embed.set_image(url=web_url(embed.image.url))
    while len(embed.fields) > FIELDS:
        embed.remove_field(len(embed.fields) - 1)
    for index, field in enumerate(list(embed.fields)):
        embed.set_field_at(
            index,
            name=_plain(field.name or "\u200b", FIELD_NAME) or "\u200b",
            value=_plain(field.value or "\u200b", FIELD_VALUE) or "\u200b",
            inline=field.inline,
        )
    while len(embed) > EMBED_TOTAL and embed.description and len(embed.description) > 200:
        excess = len(embed) - EMBED_TOTAL
        embed.description = clip(embed.description, max(200, len(embed.description) - excess - 1))
    while len(embed) > EMBED_TOTAL and embed.fields:
        embed.remove_field(len(embed.fields) - 1)
    return embed
