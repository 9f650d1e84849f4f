"""Answers of the core, rendered as Discord embeds.

Every embed cites its source the same way: the title links to the document, authors and date
(a Discord timestamp) are fields, and the footer names where the text comes from. All corpus text
is escaped and clipped (limits.py), so no document can ping, reformat or overflow a message.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from typing import overload

import discord

from bot import __version__
from bot.corpus.errors import AnswerError
from bot.corpus.models import (
    EXCERPT_NOTE,
    HIGHLIGHT_CLOSE,
    HIGHLIGHT_OPEN,
    Answer,
    AuthorCount,
    AuthorPosts,
    CorpusStats,
    DocumentRef,
    Passage,
    Post,
    Problem,
    Reasons,
    ReloadReport,
    SearchResults,
    Summary,
    shown_title,
)
from bot.discord_app import limits
from bot.discord_app.limits import (
    LINK_URL_LIMIT,
    clip,
    fit_embed,
    inline_code,
    masked_link,
    safe,
    safe_clip,
)
from bot.text_safety import web_url
from bot.wording import counted_matches

COLOUR = discord.Colour(0x3B6EA5)
POST_BODY_CHARS = 3000
POSTS_FETCHED = 25
"""An author's posts asked of the core for one page; the page shows as many as fit."""
HITS_FETCHED = 10
"""Search hits asked of the core for one page; the page shows as many as fit."""
SEARCH_HITS_SHOWN = 25
"""A search pages through its 25 best hits (narrow the query for more)."""
CANDIDATES_SHOWN = 10
"""Candidates a failed answer lists ("did you mean")."""
PAGE_LABEL_ROOM = 40
"""Characters kept free in a page for its footer label ("page 3/12", "posts 26-50 of 7,000")."""
LIST_LINES = 100
"""At most this many lines on a page of a list, however short they are."""


@dataclass(frozen=True, slots=True)
class Window:
    """One page of a long answer fetched from the core: the embed and how many items it shows."""

    embed: discord.Embed
    shown: int


def page_ranges(sizes: Sequence[int], budget: int, most: int, separator: int = 1) -> list[range]:
    """Split items of the given sizes into consecutive pages, each holding as many as fit in
    `budget` characters (items joined by `separator`) and at most `most`: a short answer is one
    page, and only what does not fit is paged. An item larger than the budget is a page alone
    (fit_embed clips it). No items: one empty page."""
    pages: list[range] = []
    start, used = 0, 0
    for index, size in enumerate(sizes):
        cost = size + (separator if index > start else 0)
        if index > start and (used + cost > budget or index - start >= most):
            pages.append(range(start, index))
            start, cost = index, size
            used = 0
        used += cost
    pages.append(range(start, len(sizes)))
    return pages


class LazyPages(Sequence[discord.Embed]):
    """The pages of a paged answer, each rendered the first time it is asked for.

    A paginator shows one page at a time and most people never turn it, but an author with
    100 posts is 10 pages (and /authors at 100,000 documents a hundred): rendering them all up
    front was most of a paged command's own cost. `len` is known at once; `pages[i]` renders page
    i once and keeps it (so a caller that edits it, like the page numbering, edits the kept one).
    """

    def __init__(self, count: int, render: Callable[[int], discord.Embed]) -> None:
        self._count = count
        self._render = render
        self._rendered: dict[int, discord.Embed] = {}

    def __len__(self) -> int:
        return self._count

    @overload
    def __getitem__(self, index: int) -> discord.Embed: ...
    @overload
    def __getitem__(self, index: slice) -> list[discord.Embed]: ...
    def __getitem__(self, index: int | slice) -> discord.Embed | list[discord.Embed]:
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(self._count))]
        if index < 0:
            index += self._count
        if not 0 <= index < self._count:
            raise IndexError(f"page {index} of {self._count}")
        page = self._rendered.get(index)
        if page is None:
            page = self._rendered[index] = self._render(index)
        return page

    def __iter__(self) -> Iterator[discord.Embed]:
        return (self[i] for i in range(self._count))

    @property
    def rendered(self) -> int:
        """How many pages were rendered so far (for tests: a first reply renders one)."""
        return len(self._rendered)


def timestamp(day: date | None) -> str:
    """A Discord timestamp (shown in each reader's locale), or an honest 'unknown'."""
    return "unknown" if day is None else _timestamp(day)


@functools.lru_cache(maxsize=8192)
def _timestamp(day: date) -> str:
    """Cached: a list of posts repeats few dates, and building a datetime for each cost more
    than the rest of its line (ten years of days is ~3,700 entries)."""
    moment = datetime.combine(day, time(12, 0), tzinfo=UTC)
    return f"<t:{int(moment.timestamp())}:D>"


def names(authors: Sequence[str]) -> str:
    return ", ".join(safe(a) for a in authors) if authors else "no byline"


def title_of(ref: DocumentRef) -> str:
    return shown_title(ref.title, ref.title_source)


def cite(embed: discord.Embed, ref: DocumentRef) -> discord.Embed:
    """Add the source's authors, date and footer to an embed."""
    embed.add_field(
        name="Authors",
        value=names(ref.authors) if ref.authors else safe(ref.publisher or "no byline"),
    )
    embed.add_field(name="Published", value=timestamp(ref.published))
    source = ref.publisher or "the corpus"
    footer = f"Source: {source} · {ref.kind} · id {ref.id}"
    if not ref.url:
        footer += " · no public URL known"
    embed.set_footer(text=footer)
    return embed


def document_embed(ref: DocumentRef, description: str = "") -> discord.Embed:
    return discord.Embed(
        title=clip(safe(title_of(ref)), 256), url=ref.url, description=description, colour=COLOUR
    )


def post_embed(post: Post) -> discord.Embed:
    parts = []
    if post.ref.subtitle:
        parts.append(f"*{safe(post.ref.subtitle)}*")
    parts.append(safe_clip(post.body, POST_BODY_CHARS))
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


def reasons_pages(answer: Reasons) -> LazyPages:
    """The reasons, each a field quoting it; as many on a page as fit in one message (the
    seven of Access Now's letter fit one)."""
    head = "Access Now's reasons for resigning, quoted verbatim"
    if answer.topic:
        head += f" (about “{safe(answer.topic)}”)"
    fields = [
        (
            clip(
                f"{number}. {safe(reason.label)} (paragraph {reason.paragraph})", limits.FIELD_NAME
            ),
            clip("> " + safe(reason.quote).replace("\n", "\n> "), limits.FIELD_VALUE),
        )
        for number, reason in enumerate(answer.reasons, start=1)
    ]
    frame = fit_embed(cite(document_embed(answer.ref, head), answer.ref))
    budget = limits.EMBED_TOTAL - len(frame) - PAGE_LABEL_ROOM
    ranges = page_ranges(
        [len(n) + len(v) for n, v in fields], budget, limits.FIELDS - len(frame.fields), 0
    )

    def page(index: int) -> discord.Embed:
        embed = document_embed(answer.ref, head)
        for name, value in (fields[i] for i in ranges[index]):
            embed.add_field(name=name, value=value, inline=False)
        return fit_embed(cite(embed, answer.ref))

    return LazyPages(len(ranges) if fields else 0, page)  # no reasons: no page, as before


QUOTE_CHARS = 3500
"""A quote's room in an embed description (4096), beside its paragraph line and the excerpt note."""


def answer_pages(answer: Answer) -> LazyPages:
    """/ask: the passages, best first, each quoting it as a block quote (escaped, so no quote
    can ping or format) under its document's title, with the paragraph, authors, date, link and
    the excerpt note when the corpus holds only an opening. As many passages on a page as fit
    (the three of an answer usually share one message); a quote too long for a field (1,024
    characters) gets a page of its own, quoted whole in the description, never cut."""
    heading = clip(f"Asked: {answer.question}", limits.AUTHOR_NAME)  # fit_embed strips controls
    fields = [
        _passage_field(number, passage) for number, passage in enumerate(answer.passages, start=1)
    ]
    pages: list[list[int]] = []
    run: list[int] = []
    for index, field in enumerate(fields):
        if field is not None:
            run.append(index)
            continue
        if run:
            pages.append(run)
            run = []
        pages.append([index])  # a passage alone on its page
    if run:
        pages.append(run)
    budget = limits.EMBED_TOTAL - len(heading) - PAGE_LABEL_ROOM
    split: list[list[int]] = []
    for group in pages:
        sizes = [sum(map(len, field)) if (field := fields[i]) is not None else 0 for i in group]
        if fields[group[0]] is None:
            split.append(group)
            continue
        split.extend(
            [group[i] for i in shown] for shown in page_ranges(sizes, budget, limits.FIELDS, 0)
        )

    def page(index: int) -> discord.Embed:
        chosen = split[index]
        if fields[chosen[0]] is None:
            passage = answer.passages[chosen[0]]
            quote = "> " + safe_clip(passage.quote, QUOTE_CHARS).replace("\n", "\n> ")
            lines = [quote, "", f"-# Paragraph {passage.paragraph} · quoted verbatim"]
            if passage.excerpt:
                lines.append(f"-# {EXCERPT_NOTE}")
            embed = document_embed(passage.ref, "\n".join(lines))
            embed.set_author(name=heading)
            return fit_embed(cite(embed, passage.ref))
        embed = discord.Embed(title=heading, colour=COLOUR)
        for field in (fields[i] for i in chosen):
            assert field is not None  # a page of fields holds only passages that fit one
            embed.add_field(name=field[0], value=field[1], inline=False)
        embed.set_footer(text="Quoted verbatim from the corpus, best match first")
        return fit_embed(embed)

    return LazyPages(len(split), page)


def _passage_field(number: int, passage: Passage) -> tuple[str, str] | None:
    """A passage as an embed field (name, value), or None when its quote does not fit one whole."""
    ref = passage.ref
    name = clip(f"{number}. {safe(title_of(ref))}", limits.FIELD_NAME)
    who = names(ref.authors) if ref.authors else safe(ref.publisher or "no byline")
    where = f"-# Paragraph {passage.paragraph} · {who} · {timestamp(ref.published)}"
    if web_url(ref.url, LINK_URL_LIMIT):
        where += f" · {masked_link('link', ref.url)}"
    tail = "\n" + where + (f"\n-# {EXCERPT_NOTE}" if passage.excerpt else "")
    quote = "> " + safe(passage.quote).replace("\n", "\n> ")
    value = quote + tail
    return (name, value) if len(value) <= limits.FIELD_VALUE else None


def author_line(ref: DocumentRef) -> str:
    """One post in an author's list: its linked title, date and id."""
    return f"• {masked_link(title_of(ref), ref.url, 150)} — {timestamp(ref.published)} · `{ref.id}`"


def author_page(answer: AuthorPosts) -> Window:
    """One page of an author's posts, from `answer.offset`: as many of the posts the core
    returned (`answer.posts`) as fit; a paginator asks the core for the next from there."""
    count = answer.author.posts
    title = f"{safe(answer.author.name)}: {count} post{'s' if count != 1 else ''}, newest first"
    lines = [author_line(ref) for ref in answer.posts]
    (shown, *_) = page_ranges([len(line) for line in lines], limits.DESCRIPTION, LIST_LINES)
    embed = discord.Embed(
        title=clip(title, 256), description="\n".join(lines[i] for i in shown), colour=COLOUR
    )
    return Window(fit_embed(embed), len(shown))


def authors_pages(authors: Sequence[AuthorCount]) -> LazyPages:
    """Every author with a post count, as many lines on a page as fit. Pages are cut by an upper
    bound of each line's length (escaping at most doubles a name), so only shown pages are
    rendered: at 100,000 documents there are thousands of authors."""

    def line(index: int) -> str:
        return f"{authors[index].posts:>3} · {safe(authors[index].name)}"

    bounds = [8 + len(str(a.posts)) + 2 * len(a.name) for a in authors]
    return _lazy_list_pages(f"{len(authors)} authors, most posts first", bounds, line)


def search_page(results: SearchResults, offset: int = 0) -> Window:
    """One page of hits, the `offset`-th match first, numbered from offset + 1: as many of the
    hits the core returned (`results.hits`) as fit."""
    if not results.hits:
        if offset:
            embed = discord.Embed(
                title="No more results",
                description="The index changed since this search.",
                colour=COLOUR,
            )
        else:
            embed = discord.Embed(
                title="No results",
                description=f"Nothing matches “{safe(results.query)}”.",
                colour=COLOUR,
            )
        return Window(embed, 0)
    heading = clip(
        f"{counted_matches(results.total, results.total_is_lower_bound)} “{safe(results.query)}”",
        256,
    )
    fields = [
        (
            clip(f"{number}. {safe(title_of(hit.ref))}", 256),
            _hit_value(hit.snippet, hit.ref.id, hit.ref.url),
        )
        for number, hit in enumerate(results.hits, start=offset + 1)
    ]
    budget = limits.EMBED_TOTAL - len(heading) - PAGE_LABEL_ROOM
    (shown, *_) = page_ranges([len(n) + len(v) for n, v in fields], budget, limits.FIELDS, 0)
    embed = discord.Embed(title=heading, colour=COLOUR)
    for name, value in (fields[i] for i in shown):
        embed.add_field(name=name, value=value, inline=False)
    return Window(fit_embed(embed), len(shown))


def _hit_value(snippet: str, doc_id: str, url: str | None) -> str:
    """A hit's snippet, clipped so that its id and link after it stay whole (a clip through the
    link would leave half a Markdown link)."""
    tail = f"\n`{doc_id}`" + (
        f" · {masked_link('link', url)}" if web_url(url, LINK_URL_LIMIT) else ""
    )
    return clip(highlight(snippet), limits.FIELD_VALUE - len(tail)) + tail


def highlight(snippet: str) -> str:
    """Escape the snippet, then turn the core's match markers into bold."""
    return safe(snippet).replace(HIGHLIGHT_OPEN, "**").replace(HIGHLIGHT_CLOSE, "**")


def about_embed(stats: CorpusStats, commands: Sequence[tuple[str, str]] = ()) -> discord.Embed:
    """`commands`: (how it is invoked: "/ask", "Find in corpus", description) of every command
    the bot has, so the guide lists what really exists (it once left out every feed command)."""
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
    lines = [f"`{name}` {description}" for name, description in commands]
    for number, value in enumerate(_field_values(lines)):
        embed.add_field(
            name="Commands" if number == 0 else "More commands", value=value, inline=False
        )
    return fit_embed(embed)


def _field_values(lines: Sequence[str]) -> list[str]:
    """``lines`` joined into as few field values as fit Discord's 1,024 characters each (a
    single field was clipped, so every command past the limit went missing from the guide)."""
    values: list[str] = []
    current = ""
    for line in lines:
        line = clip(line, limits.FIELD_VALUE)
        if current and len(current) + 1 + len(line) > limits.FIELD_VALUE:
            values.append(current)
            current = line
        else:
            current = f"{current}\n{line}" if current else line
    if current:
        values.append(current)
    return values


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
    # Shown as written: inside code a backslash escapes nothing, so no safe() here.
    lines = [f"• {inline_code(str(p))}" for p in problems]
    embed = discord.Embed(
        title=f"Reload refused: {len(problems)} problem{'s' if len(problems) != 1 else ''} in the corpus",
        description="The previous corpus is still being served, unchanged.\n\n" + "\n".join(lines),
        colour=discord.Colour.red(),
    )
    return fit_embed(embed)


def answer_error_text(error: AnswerError) -> str:
    text = safe(error.message)
    if error.candidates:
        shown = error.candidates[:CANDIDATES_SHOWN]
        text += f"\n{error.heading}:\n" + "\n".join(
            f"• {safe(c.label)}" if c.shows_value else f"• {safe(c.label)} ({inline_code(c.value)})"
            for c in shown
        )
    return clip(text, 2000)


def _lazy_list_pages(title: str, bounds: Sequence[int], line: Callable[[int], str]) -> LazyPages:
    """Pages of lines, as many as fit (by `bounds`, an upper bound of each line's length); line
    i is rendered (`line(i)`) with its page."""
    ranges = page_ranges(bounds, limits.DESCRIPTION, LIST_LINES)

    def page(index: int) -> discord.Embed:
        text = "\n".join(line(i) for i in ranges[index])
        return fit_embed(discord.Embed(title=clip(title, 256), description=text, colour=COLOUR))

    return LazyPages(len(ranges), page)


def number_page(page: discord.Embed, index: int, count: int) -> discord.Embed:
    """Page x/y (`index` from 0) in the footer, when there is more than one page."""
    return label_page(page, f"page {index + 1}/{count}") if count > 1 else page


def label_page(page: discord.Embed, label: str) -> discord.Embed:
    """The page with `label` at the end of its footer: a copy, so a page kept by a paginator and
    shown again is not labelled twice. The page was fitted before it was labelled, so the footer
    is clipped to leave room for the label and the copy fitted again (a page at the
    6,000-character total would go over by the label)."""
    page = page.copy()
    text = page.footer.text
    if text:
        label = f"{clip(text, limits.FOOTER - len(label) - 3)} · {label}"
    page.set_footer(text=label, icon_url=page.footer.icon_url)
    return fit_embed(page)
