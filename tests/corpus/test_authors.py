"""Authors: pages of posts, the cached author list, and typo matching among many names."""

from __future__ import annotations

import random
from datetime import date

import pytest
from rapidfuzz import process
from rapidfuzz.distance import Indel

from bot.corpus.errors import AnswerError
from bot.corpus.models import AuthorName, Document
from bot.corpus.names import name_key
from bot.corpus.search import NameIndex
from bot.corpus.service import CorpusService
from tests.conftest import STORAGES

pytestmark = STORAGES


async def test_posts_come_in_pages_with_the_total(service: CorpusService) -> None:
    everything = await service.author("saltz")
    assert everything.total == everything.author.posts == 4 and not everything.has_more
    first = await service.author("saltz", limit=3)
    assert len(first.posts) == 3 and first.total == 4 and first.offset == 0 and first.has_more
    rest = await service.author("saltz", limit=3, offset=3)
    assert len(rest.posts) == 1 and rest.offset == 3 and not rest.has_more
    assert first.posts + rest.posts == everything.posts
    assert (await service.author("saltz", offset=10)).posts == ()
    for bad in ({"limit": 0}, {"limit": 100_000}, {"offset": -1}):
        with pytest.raises(AnswerError) as caught:
            await service.author("saltz", **bad)  # type: ignore[arg-type]
        assert caught.value.kind == "bad_input"


async def test_same_day_posts_keep_a_stable_order(service: CorpusService) -> None:
    pages = [await service.author("leibowicz", limit=1, offset=n) for n in range(4)]
    whole = await service.author("leibowicz")
    assert [p.posts[0].id for p in pages] == [r.id for r in whole.posts]


def _feed_entry(doc_id: str, author: str) -> Document:
    return Document(
        id=doc_id,
        title=f"Entry {doc_id}",
        subtitle=None,
        authors=(AuthorName(author, name_key(author)),),
        published=date(2024, 1, 2),
        url=None,
        publisher="Feed",
        kind="post",
        excerpt=False,
        body="A feed entry.",
        content_hash=doc_id,
        origin="feed:test",
    )


async def test_author_list_follows_writes_made_elsewhere(service: CorpusService) -> None:
    """The cached list is keyed on the index's data version: a feed writing through the store
    (not the service) is seen at once."""
    before = await service.authors()
    await service.store.upsert_documents([_feed_entry("feed-one", "Quentin Newcomer")])
    after = {a.name: a.posts for a in await service.authors()}
    assert after["Quentin Newcomer"] == 1 and len(after) == len(before) + 1
    with pytest.raises(AnswerError) as caught:
        await service.author("Quentin Nwecomer")
    assert [c.value for c in caught.value.candidates] == ["Quentin Newcomer"]


def _names(count: int) -> list[str]:
    rng = random.Random(7)
    first = [
        "ann",
        "bob",
        "claire",
        "dmitri",
        "emily",
        "farah",
        "gloria",
        "hiro",
        "ines",
        "jorge",
        "kwame",
        "li",
    ]
    last = [
        "saltz",
        "wardle",
        "leibowicz",
        "mills",
        "rivera",
        "wright",
        "jordan",
        "pena",
        "wells",
        "noel",
        "nakamura",
        "okafor",
        "schmidt",
        "dubois",
        "kowalski",
        "haddad",
        "moreau",
        "tanaka",
    ]
    names = {f"{rng.choice(first)} {rng.choice(last)}{'' if n < 150 else n}" for n in range(count)}
    return sorted(names)


@pytest.mark.parametrize(
    "typo", ["claire wardel", "glora mills", "jorge rivra", "emly saltz", "hiro tanaak"]
)
def test_name_index_agrees_with_comparing_every_name(typo: str) -> None:
    """The trigram preselection loses nothing: the same names, in the same order, as scoring
    all 2,000 with the same scorer."""
    keys = _names(2000)
    index = NameIndex(keys)
    every = process.extract(
        typo, keys, scorer=Indel.normalized_similarity, limit=5, score_cutoff=0.6
    )
    assert index.close(typo) == [name for name, _score, _index in every]


def test_name_index_word_fallback() -> None:
    keys = ["claire leibowicz", "claire wardle", "emily saltz", "access now"]
    index = NameIndex(keys)
    assert index.close("wardel") == []
    assert index.with_close_word(["wardel"]) == ["claire wardle"]
    assert index.with_close_word(["clair"]) == ["claire leibowicz", "claire wardle"]
    assert index.with_close_word(["zzzz"]) == []
    assert NameIndex([]).close("anyone") == [] and NameIndex([]).with_close_word(["x"]) == []
