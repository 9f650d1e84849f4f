"""`corpus-bot feeds list|add|remove|import|export`: the feeds followed, from the command line.

The same `FeedService` methods `/feed sources|add|remove` call, over the same state (the index
file with `storage: sqlite`, the shared database's tables with `storage: postgres`): a feed added
here is polled by a running bot from its next pass. `add` looks for the feeds at the URL as
`/feed add` does (through the guarded session unless the config allows private addresses) and
follows the first one found, naming the others. Failures are the CLI's: a refusal or nothing
found is exit status 1 with one line on stderr (and the `{"error": …}` object with --json).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from bot.config import FeedConfig
from bot.corpus.service import CorpusService
from bot.feeds.delivery import DeliveryError, Outgoing
from bot.feeds.discovery import FeedCandidate
from bot.feeds.models import SourceState, Subscription
from bot.feeds.opml import MAX_OPML_BYTES, OpmlError
from bot.feeds.service import AddedSource, FeedService, ImportReport, SourceInfo, SourceRefused
from bot.storage.sql import FeedDatabase
from bot.text_safety import strip_controls

Printer = Callable[[dict[str, Any], str], None]
"""Prints an answer: its JSON object with --json, else its text."""
Failer = Callable[[str, str], int]
"""Reports a refusal (kind, message) the CLI's way and returns the exit status."""


def add_parsers(commands: Any, json_flag: argparse.ArgumentParser, text: Any) -> None:
    """The `feeds` subcommand group; ``text`` is the CLI's UTF-8 argument type."""
    feeds = commands.add_parser("feeds", help="the RSS/Atom feeds followed: list, add, remove")
    actions = feeds.add_subparsers(dest="feeds_action", required=True, metavar="ACTION")
    actions.add_parser("list", parents=[json_flag], help="every feed followed, with its health")
    add = actions.add_parser("add", parents=[json_flag], help="follow a feed (or a site's feed)")
    add.add_argument("url", type=text, metavar="URL")
    add.add_argument("--name", type=text, help="a short name (default: from the feed's title)")
    remove = actions.add_parser("remove", parents=[json_flag], help="stop following a feed")
    remove.add_argument("name", type=text, metavar="NAME")
    imported = actions.add_parser(
        "import", parents=[json_flag], help="follow every feed an OPML file lists"
    )
    imported.add_argument("file", type=Path, metavar="FILE")
    actions.add_parser("export", help="print every feed followed as OPML")


class NoDiscord:
    """The CLI announces nothing: the running bot sends what a poll queued."""

    async def post(self, subscription: Subscription, message: Outgoing, nonce: str) -> int:
        raise DeliveryError(None, "the command line does not post to Discord")

    async def edit(self, subscription: Subscription, message_id: int, message: Outgoing) -> None:
        raise DeliveryError(None, "the command line does not post to Discord")

    async def find(
        self, subscription: Subscription, message: Outgoing, since: datetime
    ) -> int | None:
        return None

    async def publish(self, subscription: Subscription, message_id: int) -> None:
        raise DeliveryError(None, "the command line does not post to Discord")


async def run(
    corpus: CorpusService,
    config: FeedConfig,
    args: argparse.Namespace,
    show: Printer,
    fail: Failer,
    *,
    database: FeedDatabase | None = None,
) -> int:
    """``database``: where the feed keeps its state (None: the corpus index's file)."""
    feed = FeedService(corpus, config, NoDiscord(), database=database)
    await feed.open()
    try:
        if args.feeds_action == "list":
            infos = await feed.sources()
            show({"sources": [source_json(i) for i in infos]}, sources_text(infos))
            return 0
        if args.feeds_action == "export":
            sys.stdout.write((await feed.export_opml()).decode("utf-8"))
            return 0
        if args.feeds_action == "import":
            try:
                report = await feed.import_opml(read_file(args.file), added_by="cli")
            except OpmlError as exc:
                return fail("bad_input", str(exc))
            show(import_json(report), import_text(report))
            return 0
        if args.feeds_action == "remove":
            try:
                removed = await feed.remove_source(args.name)
            except SourceRefused as refused:
                return fail("refused", str(refused))
            show({"removed": removed.name}, strip_controls(f"Stopped following {removed.name}."))
            return 0
        discovery = await feed.discover(args.url)
        if not discovery.candidates:
            return fail("not_found", f"no feed found at {args.url}: {discovery.error}")
        chosen, *others = discovery.candidates
        try:
            added = await feed.add_source(
                chosen.url, name=args.name, title=chosen.title, added_by="cli"
            )
        except SourceRefused as refused:
            return fail("refused", str(refused))
        show(
            {"added": added_json(added), "also_found": [candidate_json(c) for c in others]},
            added_text(added, others),
        )
        return 0
    finally:
        await feed.close()


def read_file(path: Path) -> bytes:
    """An OPML file's bytes, at most one past the cap (so an oversized one is refused, not read
    whole); a missing file or one that is not a regular file is an :class:`OpmlError`."""
    try:
        if not path.is_file():  # a FIFO or a device could block or never end
            raise OpmlError(f"{path} is not a file")
        with path.open("rb") as handle:
            return handle.read(MAX_OPML_BYTES + 1)
    except OSError as exc:
        raise OpmlError(f"{path} cannot be read: {exc.strerror or exc}") from None


def import_json(report: ImportReport) -> dict[str, Any]:
    return {
        "added": [{"url": f.url, "title": f.title, "name": name} for f, name in report.added],
        "skipped": [{"url": f.url, "title": f.title, "name": name} for f, name in report.skipped],
        "refused": [{"url": f.url, "title": f.title, "why": str(why)} for f, why in report.refused],
        "not_read": report.not_read,
    }


def import_text(report: ImportReport) -> str:
    lines = [f"added {f.url} as {name}" for f, name in report.added]
    lines += [f"skipped {f.url}: already followed as {name}" for f, name in report.skipped]
    lines += [f"refused {f.url}: {why}" for f, why in report.refused]
    if report.not_read:
        lines.append(f"{report.not_read} more feeds past the file's cap were not read")
    summary = (
        f"{len(report.added)} added, {len(report.skipped)} skipped, {len(report.refused)} refused."
    )
    return strip_controls("\n".join([*lines, summary]))


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


def health_json(state: SourceState) -> dict[str, Any]:
    return {
        "last_fetch_at": _iso(state.last_fetch_at),
        "last_success_at": _iso(state.last_success_at),
        "last_new_item_at": _iso(state.last_new_item_at),
        "error_streak": state.error_streak,
        "last_error": state.last_error,
        "next_attempt_at": _iso(state.next_attempt_at),
        "failing": state.failing,
        "entries": state.entries,
    }


def source_json(info: SourceInfo) -> dict[str, Any]:
    source = info.source
    return {
        "name": source.name,
        "url": source.url,
        "origin": source.origin,
        "added_at": _iso(source.added_at),
        "added_by": source.added_by,
        "health": health_json(info.state),
    }


def candidate_json(candidate: FeedCandidate) -> dict[str, Any]:
    newest = candidate.newest
    return {
        "url": candidate.url,
        "title": candidate.title,
        "items": candidate.items,
        "newest": None
        if newest is None
        else {"title": newest.title, "link": newest.link, "published": _iso(newest.published)},
    }


def added_json(added: AddedSource) -> dict[str, Any]:
    report = added.poll
    return {
        "name": added.source.name,
        "url": added.source.url,
        "first_fetch": None
        if report is None
        else {"outcome": report.outcome, "error": report.error},
    }


def _health_text(state: SourceState) -> str:
    if state.last_fetch_at is None:
        return "not checked yet"
    if state.failing:
        return f"failing ({state.error_streak} errors in a row): {state.last_error}"
    if state.error_streak:
        return f"last check failed: {state.last_error}"
    return f"OK, {state.entries} entries known, last check {state.last_fetch_at:%Y-%m-%d %H:%M} UTC"


def sources_text(infos: list[SourceInfo]) -> str:
    if not infos:
        return "No feed is followed (the corpus folder is always watched)."
    lines = []
    for info in infos:
        source = info.source
        origin = "config" if source.origin == "config" else f"added by {source.added_by or '?'}"
        lines.append(f"{source.name}  {source.url}  ({origin})\n  {_health_text(info.state)}")
    return strip_controls("\n".join(lines))


def added_text(added: AddedSource, others: list[FeedCandidate]) -> str:
    report = added.poll
    lines = [f"Following {added.source.url} as {added.source.name}."]
    if report is not None and report.outcome == "error":
        lines.append(f"Its first fetch failed ({report.error}); it is retried with back-off.")
    else:
        lines.append("What it holds now is recorded, not announced; new items will be.")
    for other in others:
        lines.append(f"Also found: {other.url} ({other.title or 'untitled'})")
    return strip_controls("\n".join(lines))
