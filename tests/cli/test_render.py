"""Rendering of large answers: bounded search totals and paged author lists say so, in both front ends."""

from __future__ import annotations

from datetime import date

from bot.cli import render as cli
from bot.corpus.models import AuthorCount, AuthorPosts, DocumentRef, SearchHit, SearchResults
from bot.discord_app import render as discord_render

REF = DocumentRef(id="d", title="A title", title_source="given", authors=("Ann",), published=date(2020, 1, 2),
                  url=None, publisher="P", kind="post", excerpt=False)
BOUNDED = SearchResults(query="the", hits=(SearchHit(REF, "⟦the⟧ text", 0.0),), total=500,
                        total_is_lower_bound=True, ranked=False)
PAGED = AuthorPosts(author=AuthorCount("Ann", "ann", 250), posts=(REF,) * 100, total=250, offset=0)


def test_cli_says_a_total_is_a_lower_bound_and_unranked() -> None:
    text = cli.search_text(BOUNDED)
    assert text.startswith("500+ document(s) match 'the' (newest first")
    payload = cli.search_json(BOUNDED)
    assert payload["total_is_lower_bound"] is True and payload["ranked"] is False


def test_cli_says_an_author_list_is_one_page() -> None:
    assert "(showing the newest 100 of 250)" in cli.author_text(PAGED)
    assert cli.author_json(PAGED)["total"] == 250


def test_discord_says_the_same() -> None:
    assert discord_render.search_page(BOUNDED).title.startswith("500+ documents match")
    assert discord_render.author_page_count(PAGED) == 25  # Discord pages through all 250, a page per query
