"""Documents read back whole from the SQLite index (`IndexReads.whole_documents`), as a replica
publishes them to the shared database: equal to what the loader made."""

from __future__ import annotations

from pathlib import Path

from bot.corpus.loader import scan_corpus
from bot.corpus.models import AuthorName, Document
from bot.corpus.service import CorpusService
from bot.corpus.store import CorpusStore, IndexReads, byline
from tests.conftest import BUNDLED_CORPUS


async def test_the_bundled_corpus_reads_back_as_the_loader_made_it(
    service: CorpusService,
) -> None:
    parsed = [f.document for f in scan_corpus(BUNDLED_CORPUS, max_bytes=1_000_000).files]
    documents = sorted((d for d in parsed if d is not None), key=lambda d: d.id)
    read = await service.store.read(IndexReads.whole_documents, [d.id for d in documents])
    assert read == documents


async def test_a_feed_entry_and_an_odd_byline_read_back_whole(tmp_path: Path) -> None:
    entry = Document(
        id="wire-1",
        title=None,
        subtitle=None,
        authors=(
            AuthorName("Ann Author", "ann author", "Some Lab"),
            AuthorName("Bo; Writer", "bo writer"),
        ),
        published=None,
        url=None,
        publisher=None,
        kind="article",
        excerpt=True,
        body="Opening words of an entry.",
        annotations={"feed_source": "wire", "n": 2},
        content_hash="h",
        origin="feed:wire",
    )
    store = await CorpusStore.open(tmp_path / "i.db")
    try:
        await store.upsert_documents([entry])
        assert await store.read(IndexReads.whole_documents, ["wire-1", "absent"]) == [entry]
    finally:
        await store.close()


def test_a_name_printed_twice_keeps_the_first_ones_affiliation_only() -> None:
    """The index links a name once (its first position): the repeat has no affiliation of its
    own, which no answer shows either."""
    assert byline(["Ann Author", "Ann Author"], {0: "Lab"}) == (
        AuthorName("Ann Author", "ann author", "Lab"),
        AuthorName("Ann Author", "ann author", None),
    )
