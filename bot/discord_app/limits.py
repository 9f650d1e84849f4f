"""Discord's limits, and the text helpers that keep every message inside them.

Discord rejects a whole message if one embed field is a character too long, so every piece of
corpus text passes through `clip` (cut at a word boundary, marked with "…") and every embed
through `fit_embed` (the 6,000-character total) before it is sent.
"""

from __future__ import annotations

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


def safe(text: str) -> str:
    """Corpus text or user input shown as literal text: no Markdown, no mentions.

    Mentions are also blocked client-wide (AllowedMentions.none()); escaping keeps them from even
    rendering as a mention, and Markdown from reformatting a quote.
    """
    return discord.utils.escape_mentions(discord.utils.escape_markdown(text))


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
