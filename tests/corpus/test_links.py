"""Which corpus document a message links to (bot/corpus/links.py, CorpusService.linked_ref)."""

from __future__ import annotations

import pytest

from bot.corpus.errors import AnswerError
from bot.corpus.links import MAX_LINKS, id_words_in, links_in, normalise_url, url_forms
from bot.corpus.service import CorpusService

MELTDOWN_URL = (
    "https://medium.com/partnership-on-ai/"
    "lessons-for-the-ai-community-from-meltdown-and-spectre-b358cc81eeff"
)


def test_links_are_found_without_markdown_or_punctuation() -> None:
    text = f"see <{MELTDOWN_URL}>, and [this](http://example.org/a?b=1). or https://x.y/z."
    assert links_in(text) == [MELTDOWN_URL, "http://example.org/a?b=1", "https://x.y/z"]
    many = " ".join(f"https://example.org/{i}" for i in range(50))
    assert len(links_in(many)) == MAX_LINKS


def test_spellings_of_one_page_normalise_alike() -> None:
    spellings = [
        "https://www.Example.org/post/",
        "http://example.org/post",
        "https://example.org:443/post#comments",
    ]
    assert {normalise_url(s) for s in spellings} == {"https://example.org/post"}
    assert normalise_url("javascript:alert(1)") is None
    assert normalise_url("https://[::1") is None
    assert "http://www.example.org/post/" in url_forms("https://example.org/post")


def test_id_words_leave_links_out() -> None:
    text = "read lessons-from-meltdown-and-spectre, not https://e.org/some-path-here"
    assert id_words_in(text) == ["lessons-from-meltdown-and-spectre"]


async def test_a_message_linking_a_document_finds_it_by_its_url(service: CorpusService) -> None:
    spelled_otherwise = MELTDOWN_URL.replace("https://", "http://www.") + "/#top"
    for text in (f"worth a read: {MELTDOWN_URL}", f"<{spelled_otherwise}>"):
        ref = await service.linked_ref(text)
        assert ref.id == "lessons-from-meltdown-and-spectre"


async def test_a_message_naming_a_document_id_finds_it(service: CorpusService) -> None:
    ref = await service.linked_ref("see lessons-from-the-h5n1-controversy please")
    assert ref.id == "lessons-from-the-h5n1-controversy"


async def test_a_message_linking_no_document_says_so(service: CorpusService) -> None:
    with pytest.raises(AnswerError, match="links no document of the corpus") as caught:
        await service.linked_ref("https://example.org/elsewhere and some-other-words")
    assert caught.value.kind == "not_found"
    with pytest.raises(AnswerError, match="no text") as empty:
        await service.linked_ref("   ")
    assert empty.value.kind == "bad_input"


def test_a_documents_url_is_looked_up_through_an_index() -> None:
    """A message's links are looked up in every spelling; without an index each read every row."""
    import sqlite3

    from bot.corpus import schema

    conn = sqlite3.connect(":memory:", isolation_level=None)
    schema.migrate(conn)
    plan = conn.execute(
        "EXPLAIN QUERY PLAN SELECT d.id FROM documents d WHERE d.url IN (?, ?)", ("a", "b")
    ).fetchall()
    assert any("USING INDEX documents_url" in row[3] for row in plan), plan
