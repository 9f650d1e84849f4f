"""The benchmark's corpus generator writes files the core accepts, deterministically.

Only a smoke test (20 documents): the benchmark itself is run by hand, never by CI.
"""

from __future__ import annotations

from pathlib import Path

from bench.generate_corpus import LONG_DOCUMENTS, generate
from bot.corpus.loader import scan_corpus
from bot.corpus.service import CorpusService, ServiceSettings

COUNT = 20


def test_generated_corpus_loads_cleanly(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    generate(corpus, count=COUNT, seed=3, words_mean=200, jobs=1)

    scan = scan_corpus(corpus, max_bytes=1_000_000)

    assert scan.problems == ()
    documents = {f.document.id: f.document for f in scan.files if f.document}
    assert len(documents) == COUNT
    for doc_id, words in LONG_DOCUMENTS.items():
        assert len(documents[doc_id].body.split()) == words
    assert all(doc.authors and doc.body for doc in documents.values())


def test_same_seed_same_bytes_whatever_the_jobs(tmp_path: Path) -> None:
    one, two, other = tmp_path / "one", tmp_path / "two", tmp_path / "other"
    generate(one, count=COUNT, seed=3, words_mean=200, jobs=1)
    generate(two, count=COUNT, seed=3, words_mean=200, jobs=2, chunk=5)  # 2 processes
    generate(other, count=COUNT, seed=4, words_mean=200, jobs=1)

    def contents(folder: Path) -> dict[str, bytes]:
        return {p.name: p.read_bytes() for p in sorted(folder.glob("*.md"))}

    assert contents(one) == contents(two)
    assert contents(one) != contents(other)


async def test_service_indexes_the_generated_corpus(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    generate(corpus, count=COUNT, seed=3, words_mean=200, jobs=1)
    svc = await CorpusService.open(
        ServiceSettings(db_path=tmp_path / "index.db", corpus_dir=corpus)
    )
    try:
        report = await svc.reload()
        assert report.added_count == COUNT
        post = await svc.post("long-5000")
        assert post.word_count == LONG_DOCUMENTS["long-5000"]
    finally:
        await svc.close()
