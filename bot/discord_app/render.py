"""Answers of the core, rendered as Discord embeds.

Every embed cites its source the same way: the title links to the document, authors and date
(a Discord timestamp) are fields, and the footer names where the text comes from. All corpus text
is escaped and clipped (limits.py), so no document can ping, reformat or overflow a message.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime, time

import discord

from bot import __version__
from bot.corpus.errors import AnswerError
from bot.corpus.models import (
    EXCERPT_NOTE,
    HIGHLIGHT_CLOSE,
    HIGHLIGHT_OPEN,
    AuthorCount,
    AuthorPosts,
    CorpusStats,
    DocumentRef,
    Post,
    Problem,
    Reasons,
    ReloadReport,
    SearchResults,
    Summary,
    shown_title,
)
from bot.discord_app import limits
from bot.discord_app.limits import clip, fit_embed, safe

COLOUR = discord.Colour(0x3B6EA5)
POST_BODY_CHARS = 3000
AUTHORS_PER_PAGE = 20
POSTS_PER_PAGE = 10
HITS_PER_PAGE = 5
REASONS_PER_PAGE = 4


def timestamp(day: date | None) -> str:
    """A Discord timestamp (shown in each reader's locale), or an honest 'unknown'."""
    if day is None:
        return "unknown"
    moment = datetime.combine(day, time(12, 0), tzinfo=UTC)
    return f"<t:{int(moment.timestamp())}:D>"


def names(authors: Sequence[str]) -> str:
    return ", ".join(safe(a) for a in authors) if authors else "no byline"


def title_of(ref: DocumentRef) -> str:
    return shown_title(ref.title, ref.title_source)


def cite(embed: discord.Embed, ref: DocumentRef) -> discord.Embed:
    """Add the source's authors, date and footer to an embed."""
    embed.add_field(name="Authors", value=names(ref.authors) if ref.authors else safe(ref.publisher or "no byline"))
    embed.add_field(name="Published", value=timestamp(ref.published))
    source = ref.publisher or "the corpus"
    footer = f"Source: {source} · {ref.kind} · id {ref.id}"
    if not ref.url:
        footer += " · no public URL known"
    embed.set_footer(text=footer)
    return embed


def document_embed(ref: DocumentRef, description: str = "") -> discord.Embed:
    return discord.Embed(title=clip(safe(title_of(ref)), 256), url=ref.url, description=description, colour=COLOUR)


def post_embed(post: Post) -> discord.Embed:
    parts = []
    if post.ref.subtitle:
        parts.append(f"*{safe(post.ref.subtitle)}*")
    parts.append(clip(safe(post.body), POST_BODY_CHARS))
    if post.ref.excerpt:
        parts.append(f"-# {EXCERPT_NOTE} ({post.word_count} words here)")
    embed = document_embed(post.ref, "\n\n".join(parts))
    return fit_embed(cite(embed, post.ref))


def summary_embed(summary: Summary) -> discord.Embed:
    if summary.sentences:
        text = "\n".join(f"• {safe(s)}" for s in summary.sentences)
    else:
        text = "No sentence of this text is short enough for a summary; use /post to read it."
    if summary.excerpt:
        text += f"\n\n-# {EXCERPT_NOTE}"
    embed = document_embed(summary.ref, text)
    embed.set_author(name="Summary: sentences quoted from the text, in order")
    return fit_embed(cite(embed, summary.ref))


def reasons_pages(answer: Reasons) -> list[discord.Embed]:
    head = "Access Now's reasons for resigning, quoted verbatim"
    if answer.topic:
        head += f" (about “{safe(answer.topic)}”)"
    pages: list[discord.Embed] = []
    reasons = list(enumerate(answer.reasons, start=1))
    for start in range(0, len(reasons), REASONS_PER_PAGE):
        embed = document_embed(answer.ref, head)
        for number, reason in reasons[start : start + REASONS_PER_PAGE]:
            embed.add_field(
                name=f"{number}. {safe(reason.label)} (paragraph {reason.paragraph})",
                value=clip("> " + safe(reason.quote).replace("\n", "\n> "), 1024),
                inline=False,
            )
        pages.append(fit_embed(cite(embed, answer.ref)))
    return pages


def author_pages(answer: AuthorPosts) -> list[discord.Embed]:
    lines = []
    for ref in answer.posts:
        link = f"[{clip(safe(title_of(ref)), 150)}]({ref.url})" if ref.url else clip(safe(title_of(ref)), 150)
        lines.append(f"• {link} — {timestamp(ref.published)} · `{ref.id}`")
    title = f"{safe(answer.author.name)}: {answer.author.posts} post{'s' if answer.author.posts != 1 else ''}, newest first"
    if answer.has_more:
        lines.append(f"-# Showing the newest {len(answer.posts)} of {answer.total}; `/search` finds older ones.")
    return _list_pages(title, lines, POSTS_PER_PAGE)


def authors_pages(authors: Sequence[AuthorCount]) -> list[discord.Embed]:
    lines = [f"{a.posts:>3} · {safe(a.name)}" for a in authors]
    return _list_pages(f"{len(authors)} authors, most posts first", lines, AUTHORS_PER_PAGE)


def search_pages(results: SearchResults) -> list[discord.Embed]:
    if not results.hits:
        return [discord.Embed(title="No results", description=f"Nothing matches “{safe(results.query)}”.", colour=COLOUR)]
    pages: list[discord.Embed] = []
    hits = list(enumerate(results.hits, start=1))
    total = f"{results.total}+" if results.total_is_lower_bound else str(results.total)
    heading = clip(f"{total} document{'s' if results.total != 1 else ''} match “{safe(results.query)}”", 256)
    for start in range(0, len(hits), HITS_PER_PAGE):
        embed = discord.Embed(title=heading, colour=COLOUR)
        for number, hit in hits[start : start + HITS_PER_PAGE]:
            embed.add_field(
                name=clip(f"{number}. {safe(title_of(hit.ref))}", 256),
                value=clip(f"{highlight(hit.snippet)}\n`{hit.ref.id}`" + (f" · [link]({hit.ref.url})" if hit.ref.url else ""), 1024),
                inline=False,
            )
        pages.append(fit_embed(embed))
    return pages


def highlight(snippet: str) -> str:
    """Escape the snippet, then turn the core's match markers into bold."""
    return safe(snippet).replace(HIGHLIGHT_OPEN, "**").replace(HIGHLIGHT_CLOSE, "**")


def about_embed(stats: CorpusStats) -> discord.Embed:
    reloaded = f"<t:{int(stats.last_reload.timestamp())}:R>" if stats.last_reload else "never"
    embed = discord.Embed(
        title="corpus-bot",
        description=(
            "Answers from a corpus about AI governance: Partnership on AI posts and Access Now's letter "
            "resigning from the Partnership on AI. Every answer cites its source; summaries and reasons "
            "are quoted verbatim from the text."
        ),
        colour=COLOUR,
    )
    embed.add_field(name="Corpus", value=f"{stats.documents} documents · {stats.authors} authors")
    embed.add_field(name="Last reload", value=reloaded)
    embed.add_field(name="Version", value=__version__)
    embed.add_field(
        name="Commands",
        value=(
            "`/post` show a post · `/summarize` summarize one · `/author` an author's posts · `/authors` everyone\n"
            "`/reasons` why Access Now resigned · `/search` full text · `/reload` (admins) re-read the corpus"
        ),
        inline=False,
    )
    return fit_embed(embed)


def reload_embed(report: ReloadReport) -> discord.Embed:
    embed = discord.Embed(
        title="Corpus reloaded" if report.changed_anything else "Corpus reloaded: nothing changed",
        description=(
            f"{report.added_count} added · {report.changed_count} changed · {report.removed_count} removed · "
            f"{report.unchanged} unchanged ({report.seconds:.2f} s)"
        ),
        colour=discord.Colour.green(),
    )
    for label, ids, count in (
        ("Added", report.added, report.added_count),
        ("Changed", report.changed, report.changed_count),
        ("Removed", report.removed, report.removed_count),
    ):
        if ids:
            embed.add_field(name=label, value=_id_list(ids, count), inline=False)
    return fit_embed(embed)


def _id_list(ids: Sequence[str], count: int, limit: int = limits.FIELD_VALUE) -> str:
    """As many ids as fit a field, then "and N more" for the rest of `count`."""
    shown: list[str] = []
    used = 0
    for doc_id in ids:
        item = f"`{doc_id}`"
        rest = count - len(shown) - 1
        if used + len(item) + 2 + len(f" and {rest} more") > limit:
            break
        shown.append(item)
        used += len(item) + 2
    more = count - len(shown)
    return ", ".join(shown) + (f" and {more} more" if more else "")


def problems_embed(problems: Sequence[Problem]) -> discord.Embed:
    lines = [f"• `{safe(str(p))}`" for p in problems]
    embed = discord.Embed(
        title=f"Reload refused: {len(problems)} problem{'s' if len(problems) != 1 else ''} in the corpus",
        description="The previous corpus is still being served, unchanged.\n\n" + "\n".join(lines),
        colour=discord.Colour.red(),
    )
    return fit_embed(embed)


def answer_error_text(error: AnswerError) -> str:
    text = safe(error.message)
    if error.candidates:
        shown = error.candidates[:10]
        text += "\nDid you mean:\n" + "\n".join(f"• {safe(c.label)} (`{c.value}`)" for c in shown)
    return clip(text, 2000)


def _list_pages(title: str, lines: Sequence[str], per_page: int) -> list[discord.Embed]:
    pages: list[discord.Embed] = []
    for start in range(0, max(len(lines), 1), per_page):
        embed = discord.Embed(title=clip(title, 256), description="\n".join(lines[start : start + per_page]), colour=COLOUR)
        pages.append(fit_embed(embed))
    return pages


def number_pages(pages: list[discord.Embed]) -> list[discord.Embed]:
    """Page x/y in each footer, when there is more than one page."""
    if len(pages) > 1:
        for index, page in enumerate(pages, start=1):
            text = page.footer.text
            page.set_footer(text=f"{text} · page {index}/{len(pages)}" if text else f"page {index}/{len(pages)}")
    return pages
