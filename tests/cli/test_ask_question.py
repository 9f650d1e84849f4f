"""`corpus-bot ask question`: passages quoted verbatim with their citation; not found exits 1."""

from __future__ import annotations

import json
from collections.abc import Callable

Cli = Callable[..., tuple[int, str, str]]


def test_question_json_has_each_passage_with_its_citation(cli: Cli) -> None:
    code, out, err = cli("ask", "question", "What does Access Now want banned?", "--json")
    assert code == 0, err
    passages = json.loads(out)["passages"]
    assert 1 <= len(passages) <= 3
    for passage in passages:
        assert {"quote", "paragraph", "id", "title", "url", "score"} <= passage.keys()
    assert any("outright ban" in p["quote"] for p in passages)
    assert passages[0]["id"] == "access-now-resigns-from-pai" and passages[0]["url"].startswith(
        "https://"
    )


def test_question_text_quotes_and_cites(cli: Cli) -> None:
    code, out, _ = cli("ask", "question", "Who", "founded", "Rappler?", "--limit", "1")
    assert code == 0
    assert "founder of Rappler" in out and "paragraph 2 of 5 Urgent Considerations" in out
    assert "The corpus holds only the opening of this post" in out


def test_an_unanswered_question_is_not_found_with_exit_1(cli: Cli) -> None:
    code, out, err = cli("ask", "question", "does Access Now want bananas banned?", "--json")
    assert code == 1
    error = json.loads(out)["error"]
    assert error["kind"] == "not_found" and error["message"].startswith("The corpus does not say")
    assert err.startswith("corpus-bot: The corpus does not say") and "Traceback" not in err


def test_a_bad_limit_is_one_line_and_exit_1(cli: Cli) -> None:
    code, out, err = cli("ask", "question", "facial recognition", "--limit", "0", "--json")
    assert code == 1 and json.loads(out)["error"]["kind"] == "bad_input"
    assert len(err.strip().splitlines()) == 1
