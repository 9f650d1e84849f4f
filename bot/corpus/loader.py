"""Reading corpus files: Markdown with YAML front matter, validated field by field.

Every problem is reported with its file and line, and all problems of a folder are collected at
once (a person fixing a corpus wants the whole list, not one error per run). Parsing is pure and
synchronous: callers run it in a worker thread so the event loop never waits on it.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

import yaml

from bot.corpus.files import UnreadableFile, read_regular_file
from bot.corpus.models import AuthorName, Document, Problem, Reason
from bot.corpus.names import name_key, split_affiliation

log = logging.getLogger(__name__)

# libyaml's loader is several times faster; the pure one gives identical results. PyYAML has
# libyaml's only when it was built with it. mypy takes no base class chosen at run time, so it
# checks against the pure loader, whose interface libyaml's has too (the stubs type them apart:
# CParser and Parser, Mark from two modules).
if TYPE_CHECKING:
    _SafeBase = yaml.SafeLoader
else:
    _SafeBase = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _FastLoader(_SafeBase):
    """A safe loader whose impossible dates ("2020-13-45") stay text for the validator to report."""


def _lenient_timestamp(loader: yaml.SafeLoader, node: yaml.ScalarNode) -> object:
    try:
        return yaml.constructor.SafeConstructor.construct_yaml_timestamp(loader, node)
    except ValueError:
        return loader.construct_scalar(node)


MAX_INT_DIGITS = 100
"""Digits an integer in front matter may have. Python refuses to convert more than 4,300 from
or to text (sys.int_info.str_digits_check_threshold) with a ValueError that has no line, and a
hexadecimal one is built without that check but cannot be printed or stored as JSON after."""
_INT_LIMIT = 10**MAX_INT_DIGITS


def _bounded_int(loader: yaml.SafeLoader, node: yaml.ScalarNode) -> object:
    """An integer of at most MAX_INT_DIGITS digits, or a YAML error at its line."""
    try:
        value = yaml.constructor.SafeConstructor.construct_yaml_int(loader, node)
    except ValueError:
        value = None
    if not isinstance(value, int) or abs(value) >= _INT_LIMIT:
        raise yaml.constructor.ConstructorError(
            None,
            None,
            f"the number {_clip(node.value, 20)} has too many digits (at most {MAX_INT_DIGITS})",
            node.start_mark,
        )
    return value


_FastLoader.add_constructor("tag:yaml.org,2002:timestamp", _lenient_timestamp)
_FastLoader.add_constructor("tag:yaml.org,2002:int", _bounded_int)

MAX_YAML_DEPTH = 20
"""Nesting levels front matter may use (the corpus needs 3: reasons, an entry, its fields).
Deeper nesting is refused before it is built: 10,000 `[` raised RecursionError in PyYAML."""
MAX_FILE_PROBLEMS = 20
"""Problems reported per file; the rest are counted (a file with 20,000 bad reasons would
otherwise make a report as large as itself)."""

ID_PATTERN = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
KIND_PATTERN = re.compile(r"^[a-z][a-z0-9-]*$")
ANNOTATION_KEY = re.compile(r"^[a-z_][a-z0-9_]*$")
MAX_ID_LENGTH = 80
KNOWN_FIELDS = frozenset(
    {
        "id",
        "title",
        "subtitle",
        "authors",
        "published",
        "url",
        "publisher",
        "kind",
        "excerpt",
        "reasons",
    }
)
_PARAGRAPH_BREAK = re.compile(r"\n[ \t]*\n")


@dataclass(frozen=True, slots=True)
class ParsedFile:
    """A corpus file as read from disk, parsed or not (see `document`)."""

    path: str
    """Path relative to the corpus folder, with forward slashes."""
    size: int
    mtime_ns: int
    content_hash: str
    document: Document | None


def content_hash(raw: bytes) -> str:
    return hashlib.sha256(raw).hexdigest()


def paragraphs(body: str) -> list[str]:
    """The body's paragraphs, blank-line separated; the unit `Reason.paragraph` counts in."""
    return [p for p in _PARAGRAPH_BREAK.split(body) if p.strip()]


class _FrontMatter:
    """Locates keys of the front matter by line, composed lazily: only error paths need it."""

    def __init__(self, text: str, first_line: int) -> None:
        self._text = text
        self._first_line = first_line
        self._lines: dict[tuple[Any, ...], int] | None = None

    def line(self, *path: Any) -> int:
        if self._lines is None:
            self._lines = {}
            try:  # only text that parsed gets here (shallow, no aliases); lines are a nicety
                node = yaml.compose(self._text, Loader=yaml.SafeLoader)
            except Exception:  # noqa: BLE001 - without lines, problems name the first line
                node = None
            if node is not None:
                self._walk(node, ())
        for depth in range(len(path), 0, -1):
            if path[:depth] in self._lines:
                return self._lines[path[:depth]]
        return self._first_line

    def _walk(self, node: yaml.Node, prefix: tuple[Any, ...]) -> None:
        assert self._lines is not None
        if isinstance(node, yaml.MappingNode):
            for key_node, value_node in node.value:
                path = (*prefix, key_node.value)
                self._lines[path] = key_node.start_mark.line + self._first_line
                self._walk(value_node, path)
        elif isinstance(node, yaml.SequenceNode):
            for index, item in enumerate(node.value):
                path = (*prefix, index)
                self._lines[path] = item.start_mark.line + self._first_line
                self._walk(item, path)


def _clip(text: str, limit: int) -> str:
    """`text` cut to `limit` characters: a problem message quotes a prefix of what the file
    holds, never all of it (a value may be a megabyte long)."""
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _short(value: object, limit: int = 60) -> str:
    """`repr` of a value, cut (see `_clip`)."""
    return _clip(repr(value), limit)


def _structure_problem(fm_text: str) -> tuple[int, str] | None:
    """Refuse YAML anchors and aliases, and nesting deeper than MAX_YAML_DEPTH, from the event
    stream, before anything is built (line numbers are 0-based, as YAML marks are).

    Aliases: nine nested lists of nine aliases each ("billion laughs") are a 500-byte file whose
    value, once walked or printed, is 9^9 strings (3.2 GB and 30 s+). No corpus field needs
    them, so they are refused rather than counted. Depth: PyYAML composes and constructs
    recursively. Raises yaml.YAMLError for text that is not YAML, like a load would.
    """
    loader = _FastLoader(fm_text)
    depth = 0
    try:
        while loader.check_event():
            event = loader.get_event()
            if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None):
                sign = "*" if isinstance(event, yaml.AliasEvent) else "&"
                name = _clip(f"{sign}{event.anchor}", 40)
                return _event_line(event), (
                    f"front matter uses a YAML anchor or alias ({name}); write each value out in full"
                )
            if isinstance(event, yaml.CollectionStartEvent):
                depth += 1
                if depth > MAX_YAML_DEPTH:
                    return (
                        _event_line(event),
                        f"front matter is nested more than {MAX_YAML_DEPTH} levels deep",
                    )
            elif isinstance(event, yaml.CollectionEndEvent):
                depth -= 1
    finally:
        loader.dispose()
    return None


def _event_line(event: yaml.Event) -> int:
    """The 0-based line an event starts on. A parser's events carry their mark; one without
    (the type allows it) is placed on the front matter's first line rather than failing."""
    return event.start_mark.line if event.start_mark is not None else 0


def parse_document(
    raw: bytes, path: str, *, max_bytes: int
) -> tuple[Document | None, list[Problem]]:
    """Parse and validate one corpus file. Returns the document, or None and every problem found.

    Total: whatever the bytes, the answer is a document or problems naming the file and a line,
    never an exception (one bad file must not stop a reload's report, the bot's start or the
    feed). At most MAX_FILE_PROBLEMS problems are listed, then a count of the rest.
    """
    try:
        document, problems = _parse_document(raw, path, max_bytes=max_bytes)
    except Exception as exc:  # noqa: BLE001 - a bug here must cost one file, not the reload
        log.exception("corpus file %s: the parser crashed", path)
        return None, [
            Problem(path, 1, f"could not be parsed ({type(exc).__name__}); please report this file")
        ]
    if len(problems) > MAX_FILE_PROBLEMS:
        more = len(problems) - MAX_FILE_PROBLEMS
        problems = [
            *problems[:MAX_FILE_PROBLEMS],
            Problem(path, None, f"…and {more:,} more problems in this file"),
        ]
    return document, problems


def _parse_document(
    raw: bytes, path: str, *, max_bytes: int
) -> tuple[Document | None, list[Problem]]:
    problems: list[Problem] = []

    def problem(line: int | None, message: str) -> tuple[None, list[Problem]]:
        problems.append(Problem(path, line, message))
        return None, problems

    if len(raw) > max_bytes:
        return problem(None, f"file is {len(raw):,} bytes, over the {max_bytes:,}-byte limit")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        return problem(
            line, f"not valid UTF-8 (byte 0x{raw[exc.start]:02x}); save the file as UTF-8"
        )
    text = text.removeprefix("\ufeff").replace("\r\n", "\n").replace("\r", "\n")
    if "\x00" in text:
        return problem(text[: text.index("\x00")].count("\n") + 1, "contains a NUL character")
    lines = text.split("\n")
    if not lines or lines[0].rstrip() != "---":
        return problem(1, "must start with a '---' line opening the YAML front matter")
    closing = next((i for i in range(1, len(lines)) if lines[i].rstrip() in ("---", "...")), None)
    if closing is None:
        return problem(1, "the front matter opened on line 1 is never closed with a '---' line")
    fm_text = "\n".join(lines[1:closing])
    body = "\n".join(lines[closing + 1 :]).strip("\n").rstrip()
    front = _FrontMatter(fm_text, first_line=2)
    try:
        refused = _structure_problem(fm_text)
        if refused is not None:
            return problem(refused[0] + 2, refused[1])
        meta = yaml.load(fm_text, Loader=_FastLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 2 if mark else 2
        return problem(
            line, f"front matter is not valid YAML: {_clip(exc.problem or str(exc), 200)}"
        )
    except yaml.YAMLError as exc:
        return problem(2, f"front matter is not valid YAML: {_clip(str(exc), 200)}")
    if not isinstance(meta, dict):
        return problem(2, "front matter must be a mapping of fields (id: …, title: …)")

    document = _build_document(meta, body, path, front, problems)
    if problems:
        return None, problems
    assert document is not None
    return document, problems


def _build_document(
    meta: dict[Any, Any], body: str, path: str, front: _FrontMatter, problems: list[Problem]
) -> Document | None:
    def bad(key: Any, message: str, *sub: Any) -> None:
        problems.append(Problem(path, front.line(key, *sub), message))

    def optional_text(key: str) -> str | None:
        value = meta.get(key)
        if value is None:
            return None
        if not isinstance(value, str) or not value.strip():
            bad(key, f"'{key}' must be non-empty text, got {_describe(value)}")
            return None
        return " ".join(value.split())

    doc_id = meta.get("id")
    if doc_id is None:
        bad("id", "missing required field 'id' (a stable slug such as 'my-post')")
    elif not isinstance(doc_id, str) or not ID_PATTERN.match(doc_id) or len(doc_id) > MAX_ID_LENGTH:
        bad(
            "id",
            f"'id' must be a slug of lowercase letters, digits and single hyphens (at most {MAX_ID_LENGTH} characters), got {_describe(doc_id)}",
        )
        doc_id = None

    title = optional_text("title")
    subtitle = optional_text("subtitle")
    url = optional_text("url")
    if url is not None and not re.match(r"^https?://[^\s/]+", url):
        bad("url", f"'url' must be an http(s) address, got {_short(url)}")
    publisher = optional_text("publisher")

    authors: list[AuthorName] = []
    raw_authors = meta.get("authors")
    if raw_authors is None:
        bad(
            "authors",
            "missing required field 'authors' (a list of names; [] when the byline names nobody)",
        )
    elif not isinstance(raw_authors, list):
        bad("authors", f"'authors' must be a list of names, got {_describe(raw_authors)}")
    else:
        for index, printed in enumerate(raw_authors):
            if not isinstance(printed, str) or not name_key(printed):
                bad("authors", f"authors[{index}] must be a name, got {_describe(printed)}", index)
                continue
            name, affiliation = split_affiliation(printed)
            authors.append(AuthorName(name=name, key=name_key(name), affiliation=affiliation))

    published = meta.get("published")
    if isinstance(published, str):
        try:
            published = date.fromisoformat(published.strip())
        except ValueError:
            bad("published", f"'published' must be a date like 2020-12-08, got {_short(published)}")
            published = None
    elif isinstance(published, datetime):
        published = published.date()
    elif published is not None and not isinstance(published, date):
        bad("published", f"'published' must be a date like 2020-12-08, got {_describe(published)}")
        published = None

    kind = meta.get("kind")
    if kind is None:
        bad("kind", "missing required field 'kind' (post, letter, …)")
    elif not isinstance(kind, str) or not KIND_PATTERN.match(kind):
        bad(
            "kind",
            f"'kind' must be a lowercase word such as 'post' or 'letter', got {_describe(kind)}",
        )
        kind = None

    excerpt = meta.get("excerpt")
    if excerpt is None:
        bad(
            "excerpt",
            "missing required field 'excerpt' (true when the body is only the opening of a longer text)",
        )
    elif not isinstance(excerpt, bool):
        bad("excerpt", f"'excerpt' must be true or false, got {_describe(excerpt)}")

    if not body.strip():
        problems.append(
            Problem(path, front.line() + 1, "the document has no body text after the front matter")
        )

    reasons = _reasons(meta.get("reasons"), body, bad)

    annotations: dict[str, object] = {}
    for key, value in meta.items():
        if key in KNOWN_FIELDS:
            continue
        if not isinstance(key, str) or not ANNOTATION_KEY.match(key):
            bad(
                key,
                f"annotation name {_short(key)} must be lowercase letters, digits and underscores",
            )
        elif not _is_simple(value):
            bad(key, f"annotation '{key}' must be text, a number, true/false or a list of those")
        else:
            annotations[key] = (
                [_plain(v) for v in value] if isinstance(value, list) else _plain(value)
            )

    if problems or doc_id is None or kind is None or not isinstance(excerpt, bool):
        return None
    return Document(
        id=doc_id,
        title=title,
        subtitle=subtitle,
        authors=tuple(authors),
        published=published,
        url=url,
        publisher=publisher,
        kind=kind,
        excerpt=excerpt,
        body=body,
        reasons=reasons,
        annotations=annotations,
        source_path=path,
    )


def _reasons(raw: Any, body: str, bad: Any) -> tuple[Reason, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list):
        bad(
            "reasons", f"'reasons' must be a list of {{label, quote}} entries, got {_describe(raw)}"
        )
        return ()
    reasons: list[Reason] = []
    parts = paragraphs(body) if raw else []  # once per file, not once per reason
    for index, entry in enumerate(raw):
        if not isinstance(entry, dict) or set(entry) != {"label", "quote"}:
            bad(
                "reasons",
                f"reasons[{index}] must have exactly the fields 'label' and 'quote'",
                index,
            )
            continue
        label, quote = entry["label"], entry["quote"]
        if not isinstance(label, str) or not label.strip():
            bad("reasons", f"reasons[{index}].label must be non-empty text", index, "label")
            continue
        if not isinstance(quote, str) or not quote.strip():
            bad("reasons", f"reasons[{index}].quote must be non-empty text", index, "quote")
            continue
        paragraph = next(
            (number for number, text in enumerate(parts, start=1) if quote in text), None
        )
        if paragraph is None:
            bad(
                "reasons",
                f"reasons[{index}].quote does not occur verbatim in the body: {_short(quote, 80)}",
                index,
                "quote",
            )
            continue
        reasons.append(Reason(label=" ".join(label.split()), quote=quote, paragraph=paragraph))
    return tuple(reasons)


def _is_simple(value: Any) -> bool:
    scalar = (str, int, float, bool, date, type(None))
    if isinstance(value, scalar):
        return True
    return isinstance(value, list) and all(isinstance(v, scalar) for v in value)


def _plain(value: Any) -> object:
    """An annotation value as JSON can store it: dates (alone or in a list) as ISO text."""
    return value.isoformat() if isinstance(value, date) else value


def _describe(value: Any) -> str:
    if value is None:
        return "nothing (null)"
    if isinstance(value, bool):
        return f"{str(value).lower()} (a boolean)"
    return f"{_short(value)} (a {type(value).__name__})"


# --- folders ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class KnownFile:
    """What the index remembers of a file, to skip re-reading it when it did not change."""

    doc_id: str
    size: int
    mtime_ns: int
    content_hash: str


@dataclass(frozen=True, slots=True)
class ScanResult:
    files: tuple[ParsedFile, ...]
    problems: tuple[Problem, ...]
    reparsed: int


class ListedFile(NamedTuple):
    path: str
    """relative to the corpus folder, with forward slashes"""
    size: int
    mtime_ns: int


LISTING_CHUNK = 1000
"""Files a listing hands over at a time (a reload stores each chunk in SQLite, not in Python)."""


def iter_corpus_listing(
    corpus_dir: Path, chunk_files: int = LISTING_CHUNK
) -> Iterator[list[ListedFile]]:
    """Every `*.md` file below the folder (hidden ones skipped), in chunks, in no set order.

    Streams os.scandir: neither the folder's entries nor the files found are ever all in memory
    (a folder of 100,000 files is 100,000 DirEntry objects). os.scandir, not os.walk with a Path
    per file: at 100,000 files, building and stat-ing Path objects took 2.6 s of a reload that
    changes nothing. Only size and mtime are kept (a whole os.stat_result is 16 objects). Symlinked
    folders are not entered (as os.walk does by default); a file that vanishes or cannot be
    stat-ed meanwhile is skipped.
    """
    found: list[ListedFile] = []
    folders = [("", os.fspath(corpus_dir))]
    while folders:
        prefix, folder = folders.pop()
        try:
            entries = os.scandir(folder)
        except OSError:
            continue
        with entries:
            for entry in entries:
                name = entry.name
                if name.startswith("."):
                    continue
                try:
                    if entry.is_dir():
                        if not entry.is_symlink():
                            folders.append((f"{prefix}{name}/", entry.path))
                        continue
                    if name.endswith(".md"):
                        stat = entry.stat()
                        found.append(ListedFile(prefix + name, stat.st_size, stat.st_mtime_ns))
                except OSError:
                    continue
                if len(found) >= chunk_files:
                    yield found
                    found = []
    if found:
        yield found


def list_corpus_files(corpus_dir: Path) -> list[ListedFile]:
    """Every `*.md` file below the folder, sorted by relative path (for small folders and checks;
    a reload streams `iter_corpus_listing` into SQLite instead)."""
    found = [listed for chunk in iter_corpus_listing(corpus_dir) for listed in chunk]
    found.sort(key=lambda item: item.path)
    return found


def read_corpus_bytes(corpus_dir: Path, rel: str, max_bytes: int) -> bytes:
    """The bytes of one corpus file: a regular file, at most `max_bytes` (see bot.corpus.files).

    Symlinks: one that leads to a regular file inside the corpus folder is followed; one that
    leads outside it is refused (the corpus is published to Discord, and a link must not publish
    a file from elsewhere on the machine). Raises UnreadableFile (TooLarge for a big file).
    """
    path = os.path.join(corpus_dir, rel)
    if os.path.islink(path):
        root = os.path.realpath(corpus_dir)
        target = os.path.realpath(path)
        if os.path.commonpath([root, target]) != root:
            raise UnreadableFile(
                "is a symbolic link to a file outside the corpus folder; only files inside it are read"
            )
    return read_regular_file(path, max_bytes)


class FileRead(NamedTuple):
    """One file read against what the index knows of it (see `read_corpus_file`)."""

    file: ParsedFile | None
    """None when the file could not be read or is invalid (see problems)"""
    problems: list[Problem]
    reparsed: bool
    """the file was parsed (its bytes were new to the index)"""


def read_corpus_file(
    corpus_dir: Path, listed: ListedFile, known: KnownFile | None, *, max_bytes: int
) -> FileRead:
    """Read one listed file, skipping all the work the index makes unnecessary.

    A file whose size and mtime match `known` is not read at all (its document is None); one whose
    bytes hash the same is not parsed. Pure, synchronous work (read, hash, parse): run it in a
    worker thread.
    """
    rel, size, mtime_ns = listed
    if known and known.size == size and known.mtime_ns == mtime_ns:
        return FileRead(ParsedFile(rel, size, mtime_ns, known.content_hash, None), [], False)
    try:
        raw = read_corpus_bytes(corpus_dir, rel, max_bytes)
    except UnreadableFile as exc:
        return FileRead(None, [Problem(rel, None, str(exc))], False)
    digest = content_hash(raw)
    if known and known.content_hash == digest:
        return FileRead(ParsedFile(rel, size, mtime_ns, digest, None), [], False)
    document, file_problems = parse_document(raw, rel, max_bytes=max_bytes)
    if file_problems:
        return FileRead(None, file_problems, True)
    assert document is not None
    return FileRead(
        ParsedFile(rel, size, mtime_ns, digest, replace(document, content_hash=digest)), [], True
    )


BATCH_FILES = 500
"""Files read and parsed per batch: a reload holds about two batches of documents at once (at
100,000 documents, parsing everything first took 520 MB)."""


class CorpusScanner:
    """Reads a corpus folder a batch of files at a time, in path order, without an index.

    For `corpus-bot check` and small folders: it lists the folder in memory and remembers every id
    it saw (to report duplicates), which a reload of a large corpus must not do (see
    `bot.corpus.reload`, which keeps both in SQLite). `next_batch` is pure, synchronous work
    (stat, read, hash, parse): run it in a worker thread.

    Problems accumulate over the batches, all of them: reading and parsing ones in `problems`, ids
    used by two files in `duplicates` (the later file is reported, with the line of its `id:`).
    """

    def __init__(self, corpus_dir: Path, *, max_bytes: int, batch_files: int = BATCH_FILES) -> None:
        self.corpus_dir = corpus_dir
        self.max_bytes = max_bytes
        self.batch_files = batch_files
        self.problems: list[Problem] = []
        self.duplicates: list[Problem] = []
        self.reparsed = 0
        self._owner: dict[str, str] = {}
        self._listing: list[ListedFile] | None = None
        self._position = 0

    @property
    def all_problems(self) -> list[Problem]:
        return [*self.problems, *self.duplicates]

    def next_batch(self) -> list[ParsedFile] | None:
        """The next files in path order (unreadable and invalid ones left out), None at the end."""
        if self._listing is None:
            if self.corpus_dir.is_dir():
                self._listing = list_corpus_files(self.corpus_dir)
            else:
                self._listing = []
                self.problems.append(Problem(str(self.corpus_dir), None, "corpus folder not found"))
        if self._position >= len(self._listing):
            return None
        chunk = self._listing[self._position : self._position + self.batch_files]
        self._position += len(chunk)
        files: list[ParsedFile] = []
        for rel, size, mtime_ns in chunk:
            parsed = self._read(rel, size, mtime_ns)
            if parsed is None:
                continue
            assert parsed.document is not None  # without an index every file is parsed
            doc_id = parsed.document.id
            owner = self._owner.setdefault(doc_id, rel)
            if owner != rel:
                self.duplicates.append(
                    Problem(
                        rel,
                        id_line(self.corpus_dir / rel, self.max_bytes),
                        f"id '{doc_id}' is already used by {owner}; ids must be unique",
                    )
                )
            files.append(parsed)
        return files

    def _read(self, rel: str, size: int, mtime_ns: int) -> ParsedFile | None:
        read = read_corpus_file(
            self.corpus_dir, ListedFile(rel, size, mtime_ns), None, max_bytes=self.max_bytes
        )
        self.problems.extend(read.problems)
        self.reparsed += read.reparsed
        return read.file


def scan_corpus(corpus_dir: Path, *, max_bytes: int) -> ScanResult:
    """Read the whole folder at once (see CorpusScanner, which this drives to the end).

    For small folders and tests; a reload streams batches instead, to keep memory flat.
    """
    scanner = CorpusScanner(corpus_dir, max_bytes=max_bytes)
    files: list[ParsedFile] = []
    while (batch := scanner.next_batch()) is not None:
        files.extend(batch)
    return ScanResult(tuple(files), tuple(scanner.all_problems), scanner.reparsed)


def id_line(path: Path, max_bytes: int = 1_000_000) -> int | None:
    """Line of the `id:` field, for the (rare) duplicate-id message (read as a corpus file is:
    the file may have been swapped for a FIFO since it was parsed)."""
    try:
        raw = read_regular_file(path, max_bytes)
    except UnreadableFile:
        return None
    for number, line in enumerate(raw.split(b"\n"), start=1):
        if line.startswith(b"id:"):
            return number
    return None
