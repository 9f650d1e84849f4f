"""Rendering: bounded search totals and paged author lists say so, in both front ends; what the
CLI prints is safe for a terminal."""

from __future__ import annotations

import json
import re
from datetime import date
from pathlib import Path

import pytest

from bot.cli import main
from bot.cli import render as cli
from bot.corpus.models import AuthorCount, AuthorPosts, DocumentRef, SearchHit, SearchResults
from bot.discord_app import render as discord_render
from tests.conftest import write_doc

REF = DocumentRef(
    id="d",
    title="A title",
    title_source="given",
    authors=("Ann",),
    published=date(2020, 1, 2),
    url=None,
    publisher="P",
    kind="post",
    excerpt=False,
)
BOUNDED = SearchResults(
    query="the",
    hits=(SearchHit(REF, "⟦the⟧ text", 0.0),),
    total=500,
    total_is_lower_bound=True,
    ranked=False,
)
PAGED = AuthorPosts(author=AuthorCount("Ann", "ann", 250), posts=(REF,) * 100, total=250, offset=0)


def test_cli_says_a_total_is_a_lower_bound_and_unranked() -> None:
    text = cli.search_text(BOUNDED)
    assert text.startswith("500+ documents match 'the' (newest first")
    payload = cli.search_json(BOUNDED)
    assert payload["total_is_lower_bound"] is True and payload["ranked"] is False


def test_cli_says_an_author_list_is_one_page() -> None:
    assert "(showing the newest 100 of 250)" in cli.author_text(PAGED)
    assert cli.author_json(PAGED)["total"] == 250


def test_discord_says_the_same() -> None:
    assert discord_render.search_page(BOUNDED).embed.title.startswith("500+ documents match")
    page = discord_render.author_page(PAGED)  # Discord pages through all 250, a page per query
    assert page.embed.title == "Ann: 250 posts, newest first" and 0 < page.shown <= 100


HOSTILE_FRONT = """id: hostile-doc
title: "Red \\e[31mtitle\\e[0m \\e]0;pwned\\a \\u202eevil\\u202c"
authors: ["Eve \\e[2JHacker"]
published: 2024-05-01
url: "https://example.org/x"
kind: post
excerpt: false"""
HOSTILE_BODY = (
    "Quarantined zebras \x1b[5mblink\x1b[0m.\rOverwritten line. \u2066Isolated\u2069 text."
)
CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


@pytest.mark.parametrize(
    "question",
    [
        ("post", "hostile-doc"),
        ("author", "Eve"),
        ("authors",),
        ("summarize", "hostile-doc"),
        ("search", "quarantined"),
        ("post", "hostile-doc", "--json"),
    ],
)
def test_no_escape_sequence_or_control_reaches_the_terminal(
    question: tuple[str, ...],
    tmp_path: Path,
    corpus_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    write_doc(corpus_dir, "90-hostile.md", front=HOSTILE_FRONT, body=HOSTILE_BODY)
    monkeypatch.chdir(tmp_path)
    code = main(["--corpus", str(corpus_dir), "--db", str(tmp_path / "i.db"), "ask", *question])
    out, err = capsys.readouterr()
    assert code == 0, err
    if "--json" in question:  # the text as it is, every C0 control escaped by json.dumps
        assert not re.search("[\x00-\x09\x0b-\x1f]", out), repr(out)
        assert json.loads(out)["document"]["title"].startswith("Red \x1b[31mtitle")
    else:
        assert not CONTROL.search(out.replace("\n", "")), repr(out)
        assert "Red title" in out or "Eve Hacker" in out


def test_one_match_is_singular_in_both_front_ends() -> None:
    one = SearchResults(query="bias", hits=(SearchHit(REF, "x", 1.0),), total=1)
    assert cli.search_text(one).startswith("1 document matches 'bias'")
    assert discord_render.search_page(one).embed.title == "1 document matches “bias”"
