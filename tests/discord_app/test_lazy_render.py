"""The cheaper rendering shows exactly what the plain one showed.

`safe` and `safe_clip` are faster versions of discord.py's escaping (after `strip_controls`, with
Discord's `<…>` tags broken open) and must give the same text;
short paged answers are rendered one page at a time (`LazyPages`); long ones (an author's
posts, search hits) one page per query; the paginator numbers a copy of the page it shows.
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
    AUTHORS_PER_PAGE,
    POSTS_PER_PAGE,
    LazyPages,
    author_line,
    author_page,
    author_page_count,
    authors_pages,
    search_page,
    search_page_count,
)
from bot.discord_app.views import FetchedPages, Paginator
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


def test_an_author_page_is_the_page_the_core_returned() -> None:
    posts = tuple(ref(n, url=n % 3 != 0) for n in range(20, 30))
    answer = AuthorPosts(
        author=AuthorCount("Zoë Müller", "zoe muller", 250), posts=posts, total=250, offset=20
    )
    page = author_page(answer)
    assert page.title == "Zoë Müller: 250 posts, newest first"
    assert page.description == "\n".join(author_line(r) for r in posts)
    assert author_page_count(answer) == 250 // POSTS_PER_PAGE  # every post can be paged to


def test_author_with_no_posts_still_gets_one_page() -> None:
    answer = AuthorPosts(author=AuthorCount("Nobody", "nobody", 0), posts=())
    assert author_page_count(answer) == 1 and not author_page(answer).description


def test_authors_pages_are_lazy() -> None:
    authors = [AuthorCount(f"Author_{n}", f"author {n}", 1000 - n) for n in range(2000)]
    pages = authors_pages(authors)
    assert len(pages) == 2000 // AUTHORS_PER_PAGE and pages.rendered == 0
    assert pages[3].description == "\n".join(
        f"{a.posts:>3} · {safe(a.name)}" for a in authors[60:80]
    )
    assert pages.rendered == 1


def test_search_pages_are_numbered_by_hit_from_their_offset() -> None:
    hits = tuple(
        SearchHit(ref=ref(n), snippet=f"…a [match] {n}…", score=-float(n)) for n in range(10, 12)
    )
    results = SearchResults(query="match", hits=hits, total=12)
    assert [f["name"].split(".")[0] for f in search_page(results, 10).to_dict()["fields"]] == [
        "11",
        "12",
    ]
    assert search_page_count(results) == 3
    assert (
        search_page_count(
            SearchResults(query="the", hits=hits, total=500, total_is_lower_bound=True)
        )
        == 5
    )
    assert search_page(SearchResults(query="x", hits=(), total=0)).title == "No results"


async def test_the_paginator_asks_for_the_page_it_shows_and_numbers_a_copy() -> None:
    calls: list[int] = []

    async def fetch(index: int) -> discord.Embed:
        calls.append(index)
        return discord.Embed(title=f"page {index}").set_footer(text="Source")

    view = Paginator(FetchedPages(3, fetch), owner_id=1)
    assert calls == []
    first = await view.page(0)
    assert calls == [0] and first.footer.text == "Source · page 1/3"
    assert (await view.page(2)).footer.text == "Source · page 3/3" and calls == [0, 2]
    kept = discord.Embed(title="kept").set_footer(text="Source")
    keeper = Paginator(LazyPages(2, lambda index: kept), owner_id=1)
    assert (await keeper.page(0)).footer.text == "Source · page 1/2"
    assert (
        await keeper.page(0)
    ).footer.text == "Source · page 1/2"  # a copy is numbered, not the kept page
    assert kept.footer.text == "Source"
    view.stop()
    keeper.stop()
