"""Search-query safety: any string yields results or a clear message, never an SQL error."""

from __future__ import annotations

import asyncio
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.corpus.errors import AnswerError
from bot.corpus.search import all_of, any_of, query_terms
from bot.corpus.service import CorpusService, ServiceSettings

FTS_SYNTAX = st.sampled_from(
    [
        '"',
        "'",
        "*",
        "^",
        ":",
        "(",
        ")",
        "NEAR",
        "AND",
        "OR",
        "NOT",
        "+",
        "-",
        "{",
        "}",
        "display_title:",
        "body :",
        "\u200b",
        "\u202e",
        "@everyone",
        "\x00",
        "\\",
    ]
)
QUERIES = st.lists(st.one_of(FTS_SYNTAX, st.text(max_size=12)), max_size=12).map(" ".join)


@given(QUERIES)
def test_expressions_only_hold_quoted_words(query: str) -> None:
    terms = query_terms(query)
    for expression in (all_of(terms), any_of(terms, prefix=True)):
        stripped = expression.replace('"', " ").replace("*", " ").replace(" OR ", " ")
        assert all(word.isalnum() for word in stripped.split())


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(query=QUERIES)
def test_any_query_against_a_real_index(query: str, tmp_path: Path) -> None:
    async def run() -> None:
        svc = await CorpusService.open(ServiceSettings(tmp_path / "i.db", Path("corpus")))
        try:
            if (await svc.stats()).documents == 0:
                await svc.reload()
            for ask in (svc.search, svc.post, svc.author, svc.reasons):
                try:
                    await ask(query)
                except AnswerError as exc:
                    assert exc.kind in ("bad_input", "not_found", "ambiguous")
                    assert exc.message
        finally:
            await svc.close()

    asyncio.run(run())
