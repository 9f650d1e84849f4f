"""The cheaper rendering shows exactly what the plain one showed.

`safe` and `safe_clip` are faster versions of discord.py's escaping and must give the same text;
paged answers are rendered one page at a time (`LazyPages`) and must give the same pages; the
paginator numbers a page once, when it shows it.
"""

from __future__ import annotations

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
    author_pages,
    authors_pages,
    search_pages,
)
from bot.discord_app.views import Paginator

# Pieces that trip Markdown and mention escaping: line starts, links (left alone, and `<…:/…>`
# ones may span lines), runs of blank lines before a dash (spans lines too), mentions, accents
# and wide spaces.
PIECES = [
    "a", "Zoë", "1", " ", "\n", "\n\n", "-", "- ", "> ", ">>> ", "#", "## ", "[x](y)", "[", "]", "(", ")",
    "_", "*", "`", "~", "|", "\\", "@everyone", "@here", "@123456789012345678", "<@&123456789012345678>",
    "\u2003", "\t", "word ", "https://example.org/a_b", "http://x_y", "<", ">", ":/", "<a_b:/c_d>", "b_c:/",
]
texts = st.lists(st.sampled_from(PIECES), max_size=80).map("".join)


def discord_safe(text: str) -> str:
    return discord.utils.escape_mentions(discord.utils.escape_markdown(text))


@given(texts)
@settings(max_examples=400, deadline=None)
def test_safe_escapes_exactly_like_discord_py(text: str) -> None:
    assert safe(text) == discord_safe(text)
    long = text * (limits.SAFE_CACHE_MAX_CHARS // max(len(text), 1) + 1)  # past the cache's length limit
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
        id=f"doc-{n}", title=f"Title *{n}* of_the @everyone corpus", title_source="front_matter",
        authors=("Zoë Müller",), published=date(2015, 1, 1) + timedelta(days=n) if n % 7 else None,
        url=f"https://example.org/{n}" if url else None, publisher="P", kind="post", excerpt=False,
    )


def eager_list_pages(title: str, lines: list[str], per_page: int) -> list[tuple[str, str]]:
    """What the old eager rendering produced: (title, description) of every page."""
    return [
        (clip(title, 256), "\n".join(lines[start : start + per_page]))
        for start in range(0, max(len(lines), 1), per_page)
    ]


def test_author_pages_render_one_page_at_a_time_and_match_the_eager_pages() -> None:
    posts = tuple(ref(n, url=n % 3 != 0) for n in range(100))
    answer = AuthorPosts(author=AuthorCount("Zoë Müller", "zoe muller", 250), posts=posts, total=250)
    pages = author_pages(answer)
    assert isinstance(pages, LazyPages) and pages.rendered == 0
    lines = [author_line(r) for r in posts] + ["-# Showing the newest 100 of 250; `/search` finds older ones."]
    expected = eager_list_pages("Zoë Müller: 250 posts, newest first", lines, POSTS_PER_PAGE)
    assert len(pages) == len(expected) == 11
    first = pages[0]
    assert pages.rendered == 1 and pages[0] is first  # rendered once, kept
    assert [(p.title, p.description) for p in pages] == expected
    assert pages[-1].description == lines[-1]


def test_author_with_no_posts_still_gets_one_page() -> None:
    pages = author_pages(AuthorPosts(author=AuthorCount("Nobody", "nobody", 0), posts=()))
    assert len(pages) == 1 and not pages[0].description


def test_authors_pages_are_lazy() -> None:
    authors = [AuthorCount(f"Author_{n}", f"author {n}", 1000 - n) for n in range(2000)]
    pages = authors_pages(authors)
    assert len(pages) == 2000 // AUTHORS_PER_PAGE and pages.rendered == 0
    assert pages[3].description == "\n".join(f"{a.posts:>3} · {safe(a.name)}" for a in authors[60:80])
    assert pages.rendered == 1


def test_search_pages_are_lazy_and_numbered_by_hit() -> None:
    hits = tuple(SearchHit(ref=ref(n), snippet=f"…a [match] {n}…", score=-float(n)) for n in range(12))
    pages = search_pages(SearchResults(query="match", hits=hits, total=12))
    assert isinstance(pages, LazyPages) and len(pages) == 3 and pages.rendered == 0
    assert [f["name"].split(".")[0] for f in pages[2].to_dict()["fields"]] == ["11", "12"]
    assert pages.rendered == 1


async def test_the_paginator_renders_and_numbers_only_the_page_it_shows() -> None:
    calls: list[int] = []

    def render(index: int) -> discord.Embed:
        calls.append(index)
        return discord.Embed(title=f"page {index}").set_footer(text="Source")

    pages = LazyPages(3, render)
    view = Paginator(pages, owner_id=1)
    assert calls == []
    first = view.page(0)
    assert calls == [0] and first.footer.text == "Source · page 1/3"
    assert view.page(0).footer.text == "Source · page 1/3"  # numbered once
    assert view.page(2).footer.text == "Source · page 3/3" and calls == [0, 2]
    single = Paginator(LazyPages(1, render), owner_id=1)
    assert single.page(0).footer.text == "Source"  # one page: no "page 1/1"
    view.stop()
    single.stop()
