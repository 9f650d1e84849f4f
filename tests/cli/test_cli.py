"""The CLI through its entry point: text for people, JSON for programs, honest exit codes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from bot.cli import main
from tests.conftest import REPO
from tests.storage_faults import run_bot_process


def test_index_then_incremental(cli) -> None:
    code, out, _ = cli("index", "--json")
    assert code == 0 and len(json.loads(out)["added"]) == 11
    code, out, _ = cli("index")
    assert code == 0 and "0 added, 0 changed, 0 removed, 11 unchanged" in out


def test_ask_post_json_shape(cli) -> None:
    code, out, _ = cli("ask", "post", "meltdown", "--json")
    doc = json.loads(out)["document"]
    assert code == 0
    assert doc["id"] == "lessons-from-meltdown-and-spectre"
    assert doc["authors"] == ["Jasmine Wang"] and doc["published"] == "2021-02-26"
    assert doc["url"].startswith("https://medium.com/")


def test_ask_every_question_in_text(cli) -> None:
    assert "Emily Saltz: 4 posts" in cli("ask", "author", "emily", "SALTZ")[1]
    assert "Claire Wardle" in cli("ask", "authors")[1]
    code, out, _ = cli("ask", "summarize", "meltdown", "--sentences", "2")
    assert code == 0 and "only the opening of this post" in out
    out = cli("ask", "reasons", "--topic", "facial recognition")[1]
    assert "(paragraph 6)" in out and "facial recognition" in out
    assert "**facial**" in cli("ask", "search", "facial", "recognition")[1]


def test_json_answers(cli) -> None:
    summary = json.loads(cli("ask", "summarize", "access-now-resigns-from-pai", "--json")[1])
    assert isinstance(summary["sentences"], list) and summary["excerpt"] is False
    reasons = json.loads(cli("ask", "reasons", "--json")[1])["reasons"]
    assert set(reasons[0]) == {"label", "quote", "paragraph"} and len(reasons) == 7
    hits = json.loads(cli("ask", "search", "publication norms", "--limit", "1", "--json")[1])[
        "hits"
    ]
    assert len(hits) == 1 and set(hits[0]) == {"document", "snippet", "score"}
    authors = json.loads(cli("ask", "authors", "--json")[1])["authors"]
    assert {"name": "Emily Saltz", "posts": 4} in authors


def test_not_found_and_ambiguous_exit_1(cli) -> None:
    code, out, err = cli("ask", "author", "Claire", "--json")
    assert code == 1
    error = json.loads(out)["error"]
    assert error["kind"] == "ambiguous" and len(error["candidates"]) == 2
    assert err.count("\n") == 1 and "Did you mean" in err
    code, out, err = cli("ask", "post", "no such thing at all")
    assert code == 1 and out == "" and "No post matches" in err


def test_bad_input_exit_1(cli) -> None:
    code, out, _ = cli("ask", "summarize", "meltdown", "--sentences", "0", "--json")
    assert code == 1 and json.loads(out)["error"]["kind"] == "bad_input"
    code, out, _ = cli("ask", "search", '"*:()', "--json")
    assert code == 1 and json.loads(out)["error"]["kind"] == "bad_input"


def test_usage_and_config_errors_exit_2(cli, tmp_path: Path) -> None:
    with pytest.raises(SystemExit) as caught:
        cli("ask", "nonsense")
    assert caught.value.code == 2
    bad = tmp_path / "bad.yaml"
    bad.write_text("corpus_dri: x\n", encoding="utf-8")
    code = main(["--config", str(bad), "check"])
    assert code == 2


def test_check_lists_every_problem(cli, corpus_dir: Path) -> None:
    assert cli("check")[0] == 0
    (corpus_dir / "bad.md").write_text("---\nid: Bad\n---\n\n", encoding="utf-8")
    code, _, err = cli("check")
    assert code == 2
    assert "bad.md:2: 'id' must be a slug" in err and "bad.md" in err and "no body text" in err


def test_broken_corpus_still_answers_from_the_last_index(cli, corpus_dir: Path) -> None:
    assert cli("index")[0] == 0
    (corpus_dir / "bad.md").write_text("no front matter", encoding="utf-8")
    assert cli("index")[0] == 2
    code, out, err = cli("ask", "post", "meltdown")
    assert code == 0 and "Jasmine Wang" in out and "answering from the last good index" in err


def test_console_script_runs_as_a_module(tmp_path: Path) -> None:
    env = {**os.environ, "CORPUS_BOT_DATA_DIR": str(tmp_path)}
    result = subprocess.run(
        [sys.executable, "-m", "bot", "ask", "reasons", "--topic", "surveillance", "--json"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    (reason,) = json.loads(result.stdout)["reasons"]
    assert "mass surveillance" in reason["quote"]


def test_the_command_line_and_its_composition_root_import_no_discord() -> None:
    """The composition root is front-end neutral (the CLI opens the shared database through it):
    only `run`, `sync` and `sandbox` load discord.py, and the postgres driver loads only with
    `storage: postgres`."""
    probe = (
        "import sys, bot.cli, bot.composition; "
        "print(sorted(m for m in ('discord', 'asyncpg') if m in sys.modules))"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


@pytest.mark.parametrize(
    ("args", "named"),
    [
        (("ask", "post", "meltdown\udcff"), "argument ID_OR_TITLE"),
        (("ask", "summarize", "\udcffmeltdown"), "argument ID_OR_TITLE"),
        (("ask", "author", "saltz", "\udcff"), "argument NAME"),
        (("ask", "search", "a\udcffb"), "argument QUERY"),
        (("ask", "reasons", "--topic", "facial\udcff"), "argument --topic"),
    ],
)
def test_a_non_utf8_argument_is_a_usage_error_naming_it(
    cli, capsys: pytest.CaptureFixture[str], args: tuple[str, ...], named: str
) -> None:
    """What Python makes of `corpus-bot ask post $'meltdown\\xff'`: a lone surrogate, which broke
    later (SQLite: "surrogates not allowed") with a traceback."""
    with pytest.raises(SystemExit) as caught:
        cli(*args)
    assert caught.value.code == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    last = err.splitlines()[-1]
    assert f"{named}: not UTF-8 text (byte 0xFF at character " in last
    assert "type it again in a UTF-8 terminal" in last


def test_non_utf8_bytes_on_the_real_command_line(tmp_path: Path) -> None:
    env = {**os.environ, "CORPUS_BOT_DATA_DIR": str(tmp_path)}
    result = subprocess.run(
        [sys.executable, "-m", "bot", "ask", "post", b"meltdown\xff"],
        cwd=REPO,
        env=env,
        capture_output=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2
    err = result.stderr.decode()
    assert "Traceback" not in err
    assert err.splitlines()[-1].endswith(
        "argument ID_OR_TITLE: not UTF-8 text (byte 0xFF at character 9); type it again in a UTF-8 terminal"
    )


def test_an_unexpected_error_is_one_line_with_an_id_and_the_traceback_is_logged(
    cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A bug (here: a core method that raises) never prints a traceback: one line with an id,
    and the error log next to the index has that id and the traceback."""
    from bot.corpus.service import CorpusService

    async def broken(self: CorpusService) -> None:
        raise RuntimeError("a bug in authors()")

    monkeypatch.setattr(CorpusService, "authors", broken)
    code, out, err = cli("ask", "authors")
    assert code == 5 and out == ""
    assert err.count("\n") == 1 and "Traceback" not in err
    log = tmp_path / "corpus-bot-errors.log"
    assert err.startswith("corpus-bot: unexpected error (id ")
    assert f"the traceback is in {log}. Please report it with this id." in err
    error_id = err.split("(id ", 1)[1].split(",", 1)[0]
    code, out, err = cli("ask", "authors", "--json")
    assert code == 5 and json.loads(out)["error"]["kind"] == "unexpected"
    assert json.loads(out)["error"]["message"] == err.removeprefix("corpus-bot: ").rstrip("\n")
    logged = log.read_text(encoding="utf-8")
    assert f"error {error_id}: corpus-bot --corpus" in logged
    assert (
        "Traceback (most recent call last)" in logged
        and "RuntimeError: a bug in authors()" in logged
    )


def test_when_the_error_log_cannot_be_written_the_traceback_goes_to_a_new_temp_file(
    cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import tempfile

    from bot.corpus.service import CorpusService

    async def broken(self: CorpusService) -> None:
        raise RuntimeError("a bug in authors()")

    monkeypatch.setattr(CorpusService, "authors", broken)
    (tmp_path / "corpus-bot-errors.log").mkdir()  # the usual log cannot be opened
    temp = tmp_path / "temp"
    temp.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(temp))
    code, _, err = cli("ask", "authors")
    assert code == 5 and err.count("\n") == 1
    (saved,) = temp.glob("corpus-bot-error-*.log")
    assert f"the traceback is in {saved}." in err
    assert "RuntimeError: a bug in authors()" in saved.read_text(encoding="utf-8")


def test_an_index_from_a_newer_version_is_one_line_for_run_too(
    cli, tmp_path: Path, corpus_dir: Path
) -> None:
    import sqlite3

    db = tmp_path / "i.db"
    assert cli("index")[0] == 0
    with sqlite3.connect(db) as conn:
        conn.execute("PRAGMA user_version = 999")
    result = run_bot_process(db, corpus_dir, tmp_path)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert result.stderr.splitlines()[-1].startswith(
        "corpus-bot: the index was written by a newer corpus-bot (schema 999"
    )


def test_check_json_with_a_bad_config_prints_the_problems_on_stdout(
    cli, tmp_path: Path, capsys
) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("corpus_dri: x\nmax_file_bytes: many\n", encoding="utf-8")
    code = main(["--config", str(bad), "check", "--json"])
    out, err = capsys.readouterr()
    error = json.loads(out)["error"]
    assert code == 2 and error["kind"] == "config" and len(error["problems"]) == 2
    assert error["problems"][0].startswith(f"{bad}:1: corpus_dri") and "corpus_dri" in err


def test_failed_answers_name_each_candidate_once(cli) -> None:
    code, _, err = cli("ask", "reasons", "--topic", "bananas")
    assert code == 1 and "None of the 7 reasons mentions 'bananas'. The reasons are: " in err
    assert "listed below" not in err and err.count("[") == 0
    assert (
        err.count("A ban on facial recognition") == 1 and "Focusing efforts where" in err
    )  # all 7
    code, out, err = cli("ask", "reasons", "--topic", "bananas", "--json")
    assert len(json.loads(out)["error"]["candidates"]) == 7
    _, _, err = cli("ask", "author", "Claire")
    assert err.count("Claire Wardle") == 1 and err.count("Claire Leibowicz") == 1
    _, _, err = cli("ask", "post", "Labelling manipulated pictures")
    assert "[labeling-manipulated-media]" in err  # a title does not show its id: it is added


def test_counts_are_worded_not_parenthesised(cli, corpus_dir: Path) -> None:
    _, out, _ = cli("index")
    assert "(11 files parsed)" in out and "(s)" not in out
    (corpus_dir / "01-lessons-from-meltdown-and-spectre.md").write_text(
        (corpus_dir / "01-lessons-from-meltdown-and-spectre.md").read_text(encoding="utf-8")
        + "\nMore.\n",
        encoding="utf-8",
    )
    _, out, _ = cli("index")
    assert "(1 file parsed)" in out
    _, out, _ = cli("ask", "search", "sneezing ferrets")
    assert out.startswith("1 document matches") and "(s)" not in out
