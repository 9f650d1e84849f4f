"""`corpus-bot`: the command line, a thin front end over the same core the Discord bot uses.

Exit status (documented in README's "The command line"): 0 answered; 1 not found, ambiguous or
bad input (one line on stderr, and with --json an `{"error": …}` object on stdout); 2 usage or
configuration errors (a non-UTF-8 argument, a token Discord refuses); 3 the index file cannot be
used (damaged, locked, disk full, not writable), or with `storage: postgres` the shared database
(out of reach, lost mid-command); 4 Discord cannot be reached; 5 an unexpected error (one line
with an id; the traceback is in the error log); 130 interrupted.

No traceback reaches the terminal: `main` is the one place where failures become a line and a
status, and every expected fault arrives there as a `Fault` with its message (see
`bot.corpus.errors`), whichever command met it.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import secrets
import sys
import tempfile
import traceback
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bot import __version__
from bot.cli import feeds as cli_feeds
from bot.cli import render
from bot.composition import Opened, open_service
from bot.config import Config, ConfigError, load_config
from bot.corpus.errors import AnswerError, CorpusInvalid, Fault, FaultKind, StorageFault
from bot.corpus.schema import SchemaTooNew
from bot.corpus.service import (
    DEFAULT_SUMMARY_SENTENCES,
    MAX_SUMMARY_SENTENCES,
    CorpusService,
    ServiceSettings,
    check_corpus,
)
from bot.text_safety import strip_controls
from bot.wording import counted

EXIT_OK, EXIT_ANSWER, EXIT_USAGE, EXIT_STORAGE, EXIT_UNREACHABLE, EXIT_UNEXPECTED = 0, 1, 2, 3, 4, 5
EXIT_INTERRUPTED = 130
EXIT_OF_FAULT: dict[FaultKind, int] = {
    "storage": EXIT_STORAGE,
    "network": EXIT_UNREACHABLE,
    "credentials": EXIT_USAGE,
}
logging.getLogger("bot").addHandler(logging.NullHandler())
"""The core's log lines are for a running bot's log (`run` configures it); a command's own
output is its lines on stdout and stderr, so without a configured log they are not printed."""

ERROR_LOG = "corpus-bot-errors.log"
"""Where an unexpected error's traceback goes: next to the index (data_dir); when that cannot be
written, a new file in the temp folder."""
ERROR_LOG_MAX_BYTES = 1 << 20
"""The error log is moved to `….1` past this size, so it stays bounded."""


class UsageError(Exception):
    """Bad configuration or invocation: exit status 2."""

    kind = "usage"
    problems: tuple[str, ...] = ()


class ConfigInvalid(UsageError):
    """The config file or environment cannot be used: one line per problem (key, file:line)."""

    kind = "config"

    def __init__(self, problems: Sequence[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = tuple(problems)


def utf8_text(value: str) -> str:
    """The argparse type of every text argument: UTF-8 text, or a usage error naming it.

    Python decodes argv with surrogateescape, so a byte that is not UTF-8 (a terminal set to
    Latin-1, `$'\\xff'`) arrives as a lone surrogate that fails later, wherever the text is
    encoded (SQLite, the terminal). Refused here, argparse names the argument and exits 2.
    """
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        char = value[exc.start]
        what = (
            f"byte 0x{ord(char) - 0xDC00:02X}"
            if 0xDC80 <= ord(char) <= 0xDCFF
            else f"U+{ord(char):04X}"
        )
        raise argparse.ArgumentTypeError(
            f"not UTF-8 text ({what} at character {exc.start + 1}); type it again in a UTF-8 terminal"
        ) from None
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="corpus-bot",
        description="Answers from a corpus of documents: on the command line, and in Discord.",
    )
    parser.add_argument("--version", action="version", version=f"corpus-bot {__version__}")
    parser.add_argument(
        "--config", type=Path, help="YAML config file (default: ./config.yaml if present)"
    )
    parser.add_argument("--corpus", type=Path, help="corpus folder (overrides the config)")
    parser.add_argument(
        "--db", type=Path, help="SQLite index file (overrides the config's data_dir)"
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    json_flag = argparse.ArgumentParser(add_help=False)
    json_flag.add_argument("--json", action="store_true", help="print one JSON object on stdout")

    ask = commands.add_parser("ask", help="ask what the bot answers in Discord")
    questions = ask.add_subparsers(dest="question", required=True, metavar="QUESTION")
    post = questions.add_parser("post", parents=[json_flag], help="show a post by id or title")
    post.add_argument("query", nargs="+", type=utf8_text, metavar="ID_OR_TITLE")
    author = questions.add_parser("author", parents=[json_flag], help="the posts of an author")
    author.add_argument("query", nargs="+", type=utf8_text, metavar="NAME")
    questions.add_parser("authors", parents=[json_flag], help="every author with a post count")
    summarize = questions.add_parser("summarize", parents=[json_flag], help="summarize a post")
    summarize.add_argument("query", nargs="+", type=utf8_text, metavar="ID_OR_TITLE")
    summarize.add_argument(
        "--sentences",
        type=int,
        default=DEFAULT_SUMMARY_SENTENCES,
        help=f"how many sentences (1-{MAX_SUMMARY_SENTENCES}, default {DEFAULT_SUMMARY_SENTENCES})",
    )
    reasons = questions.add_parser(
        "reasons", parents=[json_flag], help="Access Now's reasons for resigning"
    )
    reasons.add_argument(
        "--topic", type=utf8_text, help="only reasons about this, e.g. 'facial recognition'"
    )
    search = questions.add_parser("search", parents=[json_flag], help="full-text search")
    search.add_argument("query", nargs="+", type=utf8_text, metavar="QUERY")
    search.add_argument("--limit", type=int, default=10, help="how many results (1-50, default 10)")
    question = questions.add_parser(
        "question", parents=[json_flag], help="the passages that answer a question, quoted verbatim"
    )
    question.add_argument("query", nargs="+", type=utf8_text, metavar="QUESTION")
    question.add_argument(
        "--limit", type=int, default=3, help="how many passages (1-10, default 3)"
    )

    commands.add_parser(
        "check", parents=[json_flag], help="validate the config and every corpus file"
    )
    commands.add_parser(
        "index", parents=[json_flag], help="build or update the index; print what changed"
    )
    _add_discord_commands(commands)
    # --- feeds (bot/cli/feeds.py) ---
    cli_feeds.add_parsers(commands, json_flag, utf8_text)
    return parser


def _add_discord_commands(commands: Any) -> None:
    """Commands of the Discord front end (bot/discord_app): imported only when used."""
    commands.add_parser("run", help="run the Discord bot (token from DISCORD_TOKEN)")
    sync = commands.add_parser("sync", help="sync slash commands to Discord now")
    sync.add_argument("--guild", type=int, help="sync to this guild only (instant)")
    sandbox = commands.add_parser(
        "sandbox", help="try the bot locally against the bundled Discord emulator"
    )
    sandbox.add_argument(
        "--web",
        action="store_true",
        help="serve a Discord-like page on 127.0.0.1 instead of a prompt",
    )
    sandbox.add_argument(
        "--port", type=int, default=0, help="the page's port with --web (default: any free port)"
    )


def load_settings(args: argparse.Namespace) -> tuple[Config, ServiceSettings]:
    try:
        config = load_config(args.config)
    except ConfigError as exc:
        raise ConfigInvalid(exc.problems) from exc
    corpus_dir = args.corpus or config.corpus_dir
    db_path = args.db or config.db_path
    return config, ServiceSettings(
        db_path=db_path, corpus_dir=corpus_dir, max_file_bytes=config.max_file_bytes
    )


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    log_dir: Path | None = None
    try:
        config, settings = load_settings(args)
        log_dir = settings.db_path.parent
        if args.command in ("run", "sync", "sandbox"):
            from bot.discord_app.launcher import run_discord_command

            return run_discord_command(args, config, settings)
        return asyncio.run(_dispatch(args, config, settings))
    except UsageError as exc:
        return _fail(args, exc.kind, str(exc), EXIT_USAGE, problems=exc.problems)
    except SchemaTooNew as exc:  # from any command opening the index
        return _fail(args, "usage", str(exc), EXIT_USAGE)
    except Fault as fault:
        return _fail(args, fault.kind, fault.message, EXIT_OF_FAULT[fault.kind])
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED
    except BrokenPipeError:  # `corpus-bot ask … | head`: the reader left; not an error of ours
        sys.stderr.close()
        return EXIT_OK
    except Exception as exc:  # a bug: one line with an id; the traceback goes to the error log
        return _report_unexpected(args, exc, log_dir, argv)


def _fail(
    args: argparse.Namespace, kind: str, message: str, status: int, *, problems: Sequence[str] = ()
) -> int:
    """One line on stderr (a line per problem for a bad config); with --json, also the
    `{"error": …}` object on stdout, so a program reading it gets one JSON object whatever
    happened (as for a question with no answer), `problems` listing a bad config's lines."""
    if getattr(args, "json", False):
        error: dict[str, object] = {"kind": kind, "message": message, "candidates": []}
        if problems:
            error["problems"] = list(problems)
        _print_json({"error": error})
    print(f"corpus-bot: {message}", file=sys.stderr)
    return status


def _report_unexpected(
    args: argparse.Namespace, exc: Exception, log_dir: Path | None, argv: Sequence[str] | None
) -> int:
    error_id = secrets.token_hex(4)
    saved = _save_traceback(exc, error_id, log_dir, sys.argv[1:] if argv is None else list(argv))
    where = (
        f"the traceback is in {saved}" if saved else "its traceback could not be saved (disk full?)"
    )
    message = f"unexpected error (id {error_id}, {type(exc).__name__}); {where}. Please report it with this id."
    return _fail(args, "unexpected", message, EXIT_UNEXPECTED)


def _save_traceback(
    exc: Exception, error_id: str, log_dir: Path | None, argv: list[str]
) -> Path | None:
    """Append the traceback to the error log next to the index, else write it to a new file in
    the temp folder; the path written, or None when neither could be written."""
    command = " ".join(argv)
    record = f"{datetime.now(UTC).isoformat(timespec='seconds')} error {error_id}: corpus-bot {command}\n"
    record += "".join(traceback.format_exception(exc)) + "\n"
    if log_dir is not None:
        path = log_dir / ERROR_LOG
        try:
            if path.is_file() and path.stat().st_size > ERROR_LOG_MAX_BYTES:
                path.replace(path.with_name(ERROR_LOG + ".1"))
            with path.open("a", encoding="utf-8", errors="backslashreplace") as log_file:
                log_file.write(record)
            return path
        except OSError:
            pass
    try:  # a new file of its own: a fixed name in a shared temp folder could be someone's symlink
        handle, name = tempfile.mkstemp(prefix=f"corpus-bot-error-{error_id}-", suffix=".log")
        with open(handle, "w", encoding="utf-8", errors="backslashreplace") as log_file:
            log_file.write(record)
        return Path(name)
    except OSError:
        return None


async def _dispatch(args: argparse.Namespace, config: Config, settings: ServiceSettings) -> int:
    """Run a command on what the configured storage opens (the composition root every front end
    shares): with `storage: postgres`, `index` publishes to the shared database, `ask` answers
    from the replica pulled from it, and `feeds` reads and writes the feed's shared tables, so
    the bot's processes see what a command did. Each command reloads where it needs to, not at
    open; a command is short-lived, so the replica does not listen for changes."""
    as_json = getattr(args, "json", False)
    if args.command == "check":
        return await _check(settings, as_json)
    async with open_service(
        settings, config, reload_at_start=False, follow_changes=False
    ) as opened:
        if args.command == "index":
            return await _index(opened.service, as_json)
        if args.command == "feeds":  # --- feeds (bot/cli/feeds.py) ---
            return await _feeds(opened, config, args, as_json)
        await _refresh(opened.service)
        return await _ask(opened.service, args, as_json)


# --- feeds (bot/cli/feeds.py) ------------------------------------------------------------------


async def _feeds(opened: Opened, config: Config, args: argparse.Namespace, as_json: bool) -> int:
    """`feeds list|add|remove|import|export` over the feed's facade, where the feed keeps its
    state (the index file, or the shared database), with this CLI's output and exit codes."""

    def show(payload: dict[str, Any], text: str) -> None:
        _print_json(payload) if as_json else print(text)

    def fail(kind: str, message: str) -> int:
        return _fail(args, kind, strip_controls(message), EXIT_ANSWER)

    return await cli_feeds.run(
        opened.service, config.feed, args, show, fail, database=opened.feed_database
    )


# --- end of feeds --------------------------------------------------------------------------------


async def _check(settings: ServiceSettings, as_json: bool) -> int:
    problems = await check_corpus(settings)
    if as_json:
        _print_json(render.problems_json(problems))
    elif problems:
        print(f"{counted(len(problems), 'problem')}:", file=sys.stderr)
        for problem in problems:
            print(f"  {problem}", file=sys.stderr)
    else:
        print(f"OK: config and corpus ({settings.corpus_dir}) are valid.")
    return EXIT_USAGE if problems else EXIT_OK


async def _index(service: CorpusService, as_json: bool) -> int:
    """Reload the corpus folder into the index; with a shared database, then publish it there
    (all or nothing: a refused document is a problem naming its file, a database that cannot
    take it a `PublishFault`, exit 3)."""
    try:
        report = await service.reload()
    except CorpusInvalid as exc:
        if as_json:
            _print_json(render.problems_json(exc.problems))
        # With a replica, a document the database refused comes after the replica took the
        # folder: what is certain is that the shared database, the record, was not changed.
        unchanged = "shared database" if service.shared is not None else "index"
        print(f"corpus-bot: {exc}\nThe {unchanged} was not changed.", file=sys.stderr)
        return EXIT_USAGE
    if as_json:
        _print_json(render.report_json(report))
        return EXIT_OK
    print(render.report_text(report))
    if service.shared is not None:
        print("Published to the shared database: the bot's processes pull it from there.")
    return EXIT_OK


async def _refresh(service: CorpusService) -> None:
    """Answer from the current corpus: an incremental reload (cheap when nothing changed); with
    a shared database, a pull of what it holds (a fresh machine's replica fills from it, no
    corpus folder needed). A read does not reload there: the reload would publish this
    machine's folder, and an empty or stale one would undo what the other processes published.

    A broken corpus does not stop answers: the last good index keeps serving, with a warning.
    """
    try:
        if service.shared is not None:
            await service.sync()
        else:
            await service.reload()
    except CorpusInvalid as exc:
        if (await service.stats()).documents == 0:
            raise UsageError(
                f"{exc}\nNo previous index to answer from; fix the corpus (corpus-bot check)."
            ) from exc
        print(
            f"corpus-bot: warning: {counted(len(exc.problems), 'problem')} in the corpus (see `corpus-bot check`); "
            "answering from the last good index.",
            file=sys.stderr,
        )
    except StorageFault as fault:
        # Only writing failed (a full disk, a lock held by another process): answers are reads.
        if not fault.blocks_writes_only or (await service.stats()).documents == 0:
            raise
        print(f"corpus-bot: warning: the index was not updated: {fault.message}", file=sys.stderr)


async def _ask(service: CorpusService, args: argparse.Namespace, as_json: bool) -> int:
    query = " ".join(getattr(args, "query", []) or [])
    handlers: dict[str, Callable[[], Awaitable[tuple[dict[str, Any], str]]]] = {
        "post": lambda: _pair(service.post(query), render.post_json, render.post_text),
        "author": lambda: _pair(service.author(query), render.author_json, render.author_text),
        "authors": lambda: _pair(
            service.authors(),
            lambda authors: {"authors": [render.author_count_json(a) for a in authors]},
            render.authors_text,
        ),
        "summarize": lambda: _pair(
            service.summarize(query, sentences=args.sentences),
            render.summary_json,
            render.summary_text,
        ),
        "reasons": lambda: _pair(
            service.reasons(args.topic), render.reasons_json, render.reasons_text
        ),
        "search": lambda: _pair(
            service.search(query, limit=args.limit), render.search_json, render.search_text
        ),
        "question": lambda: _pair(
            service.ask(query, limit=args.limit), render.answer_json, render.answer_text
        ),
    }
    try:
        payload, text = await handlers[args.question]()
    except AnswerError as exc:
        if as_json:
            _print_json(exc.to_json())
        print(f"corpus-bot: {render.answer_error_text(exc)}", file=sys.stderr)
        return EXIT_ANSWER
    if as_json:
        _print_json(payload)
    else:
        print(text)
    return EXIT_OK


async def _pair(
    answer: Awaitable[Any], to_json: Callable[[Any], dict[str, Any]], to_text: Callable[[Any], str]
) -> tuple[dict[str, Any], str]:
    value = await answer
    return to_json(value), to_text(value)


def _print_json(payload: dict[str, Any]) -> None:
    print(json.dumps(payload, ensure_ascii=False, indent=2))
