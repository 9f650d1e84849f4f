"""The cheaper rendering shows exactly what the plain one showed.

`safe` and `safe_clip` are faster versions of discord.py's escaping (after `strip_controls`, with
Discord's `<…>` tags broken open) and must give the same text;
short paged answers are rendered one page at a time (`LazyPages`); long ones (an author's
posts, search hits) one page per query, each as long as fits; the paginator numbers a copy of
the page it shows.
"""

from __future__ import annotations

import re
from datetime import date, timedelta

import discord
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.corpus.models import AuthorCount, AuthorPosts, DocumentRef, SearchHit, SearchResults
from bot.discord_app import limits
from bot.discord_app.limits import clip, safe, safe_clip
from bot.discord_app.render import (
    LIST_LINES,
    LazyPages,
    Window,
    author_line,
    author_page,
    authors_pages,
    page_ranges,
    search_page,
)
from bot.discord_app.views import KeptPages, Paginator, WindowedPages
from bot.text_safety import strip_controls

# Pieces that trip Markdown and mention escaping: line starts, links (left alone, and `<…:/…>`
# ones may span lines), runs of blank lines before a dash (spans lines too), mentions, accents
# and wide spaces.
PIECES = [
    "a",
    "Zoë",
    "1",
    " ",
    "\n",
    "\n\n",
    "-",
    "- ",
    "> ",
    ">>> ",
    "#",
    "## ",
    "[x](y)",
    "[",
    "]",
    "(",
    ")",
    "_",
    "*",
    "`",
    "~",
    "|",
    "\\",
    "@everyone",
    "@here",
    "@123456789012345678",
    "<@&123456789012345678>",
    "\u2003",
    "\t",
    "word ",
    "https://example.org/a_b",
    "http://x_y",
    "<",
    ">",
    ":/",
    "<a_b:/c_d>",
    "b_c:/",
    "<#123456789012345678>",
    "<t:1700000000:R>",
    "</ask:1>",
    "\x1b[31m",
    "\x1b",
    "\r\n",
    "\r",
    "\x00",
    "\u202e",
]
texts = st.lists(st.sampled_from(PIECES), max_size=80).map("".join)


def discord_safe(text: str) -> str:
    escaped = discord.utils.escape_mentions(discord.utils.escape_markdown(strip_controls(text)))
    return re.sub(r"<(?=[@#/:]|a:|t:|id:)", "<\u200b", escaped)


@given(texts)
@settings(max_examples=400, deadline=None)
def test_safe_escapes_exactly_like_discord_py(text: str) -> None:
    assert safe(text) == discord_safe(text)
    long = text * (
        limits.SAFE_CACHE_MAX_CHARS // max(len(text), 1) + 1
    )  # past the cache's length limit
    assert safe(long) == discord_safe(long)


@given(texts, st.integers(min_value=2, max_value=120))
@settings(max_examples=400, deadline=None)
def test_safe_clip_is_clip_of_safe(text: str, limit: int) -> None:
    assert safe_clip(text, limit) == clip(discord_safe(text), limit)


def test_safe_clip_of_a_long_body_is_clip_of_safe() -> None:
    paragraph = "A *bold* claim_with_underscores by @everyone, see [this](link).\n- a dash line\n\n"
    body = paragraph * 2000  # ~160,000 characters, cut after a few lines
    assert safe_clip(body, 3000) == clip(discord_safe(body), 3000)


def ref(n: int, *, url: bool = True) -> DocumentRef:
    return DocumentRef(
        id=f"doc-{n}",
        title=f"Title *{n}* of_the @everyone corpus",
        title_source="front_matter",
        authors=("Zoë Müller",),
        published=date(2015, 1, 1) + timedelta(days=n) if n % 7 else None,
        url=f"https://example.org/{n}" if url else None,
        publisher="P",
        kind="post",
        excerpt=False,
    )


def eager_list_pages(title: str, lines: list[str], per_page: int) -> list[tuple[str, str]]:
    """What the old eager rendering produced: (title, description) of every page."""
    return [
        (clip(title, 256), "\n".join(lines[start : start + per_page]))
        for start in range(0, max(len(lines), 1), per_page)
    ]


def test_an_author_page_is_as_much_of_the_page_the_core_returned_as_fits() -> None:
    posts = tuple(ref(n, url=n % 3 != 0) for n in range(20, 30))
    answer = AuthorPosts(
        author=AuthorCount("Zoë Müller", "zoe muller", 250), posts=posts, total=250, offset=20
    )
    page = author_page(answer)
    assert page.embed.title == "Zoë Müller: 250 posts, newest first"
    assert page.shown == 10 and page.embed.description == "\n".join(author_line(r) for r in posts)
    long = tuple(ref(n) for n in range(200))  # far more than a description holds
    crowded = author_page(AuthorPosts(author=answer.author, posts=long, total=250))
    lines = [author_line(r) for r in long[: crowded.shown]]
    assert crowded.embed.description == "\n".join(lines)
    assert len(crowded.embed.description) <= limits.DESCRIPTION
    assert (
        len(crowded.embed.description) + len(author_line(long[crowded.shown])) + 1
        > limits.DESCRIPTION
    )


def test_author_with_no_posts_still_gets_one_page() -> None:
    answer = AuthorPosts(author=AuthorCount("Nobody", "nobody", 0), posts=())
    page = author_page(answer)
    assert page.shown == 0 and not page.embed.description


def test_authors_pages_are_lazy_and_hold_what_fits() -> None:
    authors = [AuthorCount(f"Author_{n}", f"author {n}", 1000 - n) for n in range(2000)]
    pages = authors_pages(authors)
    assert pages.rendered == 0
    third = pages[3].description or ""
    assert pages.rendered == 1
    assert 0 < len(third) <= limits.DESCRIPTION and third.count("\n") + 1 <= LIST_LINES
    shown = [line.split(" · ", 1)[1] for line in third.split("\n")]
    assert shown == [safe(a.name) for a in authors[3 * len(shown) : 4 * len(shown)]]
    assert len(authors_pages(authors[:60])) == 1, "sixty short names fit one message"


def test_pages_hold_as_many_items_as_fit() -> None:
    assert page_ranges([10] * 7, budget=100, most=25) == [range(0, 7)]
    assert page_ranges([40, 40, 40], budget=100, most=25, separator=0) == [range(0, 2), range(2, 3)]
    assert page_ranges([5] * 5, budget=100, most=2) == [range(0, 2), range(2, 4), range(4, 5)]
    assert page_ranges([500, 5], budget=100, most=25) == [range(0, 1), range(1, 2)]
    assert page_ranges([], budget=100, most=25) == [range(0, 0)]


def test_search_pages_are_numbered_by_hit_from_their_offset() -> None:
    hits = tuple(
        SearchHit(ref=ref(n), snippet=f"…a [match] {n}…", score=-float(n)) for n in range(10, 12)
    )
    results = SearchResults(query="match", hits=hits, total=12)
    page = search_page(results, 10)
    assert [f["name"].split(".")[0] for f in page.embed.to_dict()["fields"]] == ["11", "12"]
    assert page.shown == 2
    assert search_page(SearchResults(query="x", hits=(), total=0)).embed.title == "No results"


async def test_the_paginator_asks_for_the_page_it_shows_and_labels_a_copy() -> None:
    starts: list[int] = []

    async def fetch(offset: int) -> Window:
        starts.append(offset)
        embed = discord.Embed(title=f"from {offset}").set_footer(text="Source")
        return Window(embed, min(4, 10 - offset))

    first = Window(discord.Embed(title="from 0").set_footer(text="Source"), 3)
    view = Paginator(WindowedPages(first, total=10, noun="posts", fetch=fetch), owner_id=1)
    assert (await view.page(0)).footer.text == "Source · posts 1-3 of 10" and starts == []
    assert not view.next_page.disabled
    assert (await view.page(1)).footer.text == "Source · posts 4-7 of 10" and starts == [3]
    assert (await view.page(2)).footer.text == "Source · posts 8-10 of 10" and starts == [3, 7]
    assert not view.pages.has_page(3), "the last page ends the answer"
    assert (await view.page(0)).footer.text == "Source · posts 1-4 of 10" and starts == [3, 7, 0]
    kept = discord.Embed(title="kept").set_footer(text="Source")
    keeper = Paginator(KeptPages(LazyPages(2, lambda index: kept)), owner_id=1)
    assert (await keeper.page(0)).footer.text == "Source · page 1/2"
    assert (
        await keeper.page(0)
    ).footer.text == "Source · page 1/2"  # a copy is labelled, not the kept page
