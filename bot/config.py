"""Settings for corpus-bot: an optional YAML file plus the environment.

Why it is shaped this way:
- Secrets (the Discord token, the PostgreSQL URL with its password) come only from the
  environment, so a config file can be committed, shared or pasted into an issue without leaking
  anything. A `token` or `database_url` key in the file is an error naming the variable to use.
- A checkout with no config at all works: the bundled `corpus/` and a local `data/` directory,
  both resolved against the current working directory.
- A bad file is reported all at once, one line per problem, each naming the key path and the
  file:line it came from, so a deploy fails with a list to fix instead of one error per restart.
- The reader is hand-written on PyYAML's node tree, not pydantic (issue #11, measured on a
  prototype: pydantic v2 dataclasses, `extra="forbid"`, these checks as PlainValidators, a node
  walk for lines, an error translator). Only the structure moved to pydantic (unknown keys,
  defaults, nulls): every message, line and hostile-input guard (size cap, nesting, aliases kept
  shared, huge ints) still had to be written here, plus the glue. It was 503 code lines against
  these 519 with 9 of 118 config tests still failing: a model validator raises one error and does
  not run once a field failed, so cross-field checks (shard ids, repeated sources, backoff) lost
  problems; lines inside aliased nodes, huge ints in lists and tags on collections needed more
  code. Importing it took 115-160 ms against 34-53 ms (`corpus-bot --help` 0.24 s against
  0.16 s), for 9.7 MB of new dependencies.
"""

from __future__ import annotations

import difflib
import math
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final, Literal, TypeVar, get_args
from urllib.parse import urlsplit

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from bot.corpus.files import TooLarge, UnreadableFile, read_regular_file

T = TypeVar("T")

DEFAULT_CONFIG_NAME: Final = "config.yaml"
LOG_LEVELS: Final = ("DEBUG", "INFO", "WARNING", "ERROR")
SOURCE_NAME_PATTERN: Final = re.compile(r"[a-z0-9-]{1,32}")
CORPUS_SOURCE: Final = "corpus"
"""The feed's name for the corpus folder (its seen-set, its line in /feed status, the `source`
option of /subscribe). `bot.feeds` takes it from here, so a feed source can never be named so:
sharing the corpus folder's seen-set, its first fetch announced 30 old items."""
RESERVED_SOURCE_NAMES: Final = frozenset({CORPUS_SOURCE})
MAX_CONFIG_BYTES: Final = 1_000_000
"""A config file is a few kilobytes; anything larger (or a FIFO, a device) is refused unread."""
MAX_CONFIG_DEPTH: Final = 20
"""Nesting levels a config file may use (it needs 4: feed, sources, a source, its keys)."""
MAX_SHOWN_DIGITS: Final = 30
"""A number in a problem line is shown whole up to this many digits."""

ENV_TOKEN: Final = "DISCORD_TOKEN"
ENV_API_BASE: Final = "DISCORD_API_BASE"
ENV_GATEWAY_URL: Final = "DISCORD_GATEWAY_URL"
ENV_DATA_DIR: Final = "CORPUS_BOT_DATA_DIR"
ENV_DATABASE_URL: Final = "CORPUS_BOT_DATABASE_URL"
SECRET_KEYS: Final = {"token": ENV_TOKEN, "database_url": ENV_DATABASE_URL}
"""Keys refused in a config file wherever they appear, each with the variable that holds it."""

Storage = Literal["sqlite", "postgres"]
"""Where the bot's state lives: one SQLite file per process (the default), or one PostgreSQL
database shared by every process on every machine (README, "Running on many machines")."""
STORAGES: Final[tuple[str, ...]] = get_args(Storage)
DATABASE_URL_SCHEMES: Final = ("postgresql", "postgres")

_MAX_SNOWFLAKE: Final = 2**63 - 1


@dataclass(frozen=True)
class FeedSourceConfig:
    """One RSS/Atom feed to follow; `name` is the short handle users type in commands."""

    name: str
    url: str


@dataclass(frozen=True)
class FeedConfig:
    """How the feed watcher polls sources (and the corpus folder) and backs off from failures."""

    interval_seconds: int = 900
    max_announcements_per_cycle: int = 10
    user_agent: str = "corpus-bot/0.1 (+https://github.com/corpus-bot/corpus-bot)"
    timeout_seconds: float = 20.0
    max_bytes: int = 5_000_000
    backoff_base_seconds: float = 300.0
    backoff_max_seconds: float = 21600.0
    pause_after_failures: int = 8
    allow_private_addresses: bool = False
    """Let feeds added from Discord or the CLI reach loopback, link-local and private addresses
    (off: a URL an admin types is fetched from inside the bot's network, see bot/feeds/addresses.py).
    Sources listed in this file are the config owner's choice and are never checked."""
    sources: tuple[FeedSourceConfig, ...] = ()


@dataclass(frozen=True, repr=False)
class DiscordConfig:
    """Discord connection settings. `token` comes from the environment only and never shows in
    repr/str, so logging a config (or a traceback that prints one) cannot leak it."""

    token: str | None = None
    api_base: str | None = None
    gateway_url: str | None = None
    dev_guild_id: int | None = None
    admin_user_ids: tuple[int, ...] = ()
    shard_count: int | None = None
    shard_ids: tuple[int, ...] | None = None
    sync_on_start: bool = True
    cooldown_seconds: float = 10.0

    def __repr__(self) -> str:
        token = "'<set>'" if self.token else "None"
        return (
            f"DiscordConfig(token={token}, api_base={self.api_base!r}, "
            f"gateway_url={self.gateway_url!r}, dev_guild_id={self.dev_guild_id!r}, "
            f"admin_user_ids={self.admin_user_ids!r}, shard_count={self.shard_count!r}, "
            f"shard_ids={self.shard_ids!r}, sync_on_start={self.sync_on_start!r}, "
            f"cooldown_seconds={self.cooldown_seconds!r})"
        )

    __str__ = __repr__


@dataclass(frozen=True, kw_only=True)
class Config:
    """Everything the bot needs to start. Paths are absolute. Build it with `load_config`."""

    corpus_dir: Path
    data_dir: Path
    log_level: str = "INFO"
    max_file_bytes: int = 1_000_000
    discord: DiscordConfig = field(default_factory=DiscordConfig)
    feed: FeedConfig = field(default_factory=FeedConfig)
    storage: Storage = "sqlite"
    database_url: str | None = field(default=None, repr=False)
    """With `storage: postgres`, the URL from CORPUS_BOT_DATABASE_URL (never from the file). It
    holds a password: left out of repr, so printing or logging a Config cannot leak it."""
    config_path: Path | None = None

    @property
    def db_path(self) -> Path:
        """This process's SQLite index: the whole state with sqlite; with postgres its replica
        of the shared documents (the commands read it; PostgreSQL holds the record)."""
        return self.data_dir / ("replica.db" if self.storage == "postgres" else "corpus.db")


class ConfigError(Exception):
    """The configuration cannot be used. `problems` holds one line per problem, each naming the
    key path (or environment variable) and, when known, `file:line`."""

    def __init__(self, problems: list[str]) -> None:
        self.problems: list[str] = list(problems)
        if len(self.problems) == 1:
            message = self.problems[0]
        else:
            lines = "\n".join(f"  {p}" for p in self.problems)
            message = f"{len(self.problems)} problems in the configuration:\n{lines}"
        super().__init__(message)


# --------------------------------------------------------------------------------------------
# Reading YAML nodes with their line numbers.


class _Problem(str):
    """A check's complaint, told apart from a valid text value by its type."""


class _Invalid:
    """Marks a value that failed validation; the load ends in ConfigError, so it is never used."""


_INVALID: Final = _Invalid()
_Check = Callable[[object], Any]  # returns the converted value or a _Problem


def _describe(value: object) -> str:
    """How a wrong value is shown in a problem line ("got 'bob'", "got null", "got a list"):
    a short prefix of a long text, never a whole huge number (printing an int of more than
    4,300 digits raises ValueError)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, int) and abs(value) >= 10**MAX_SHOWN_DIGITS:
        return f"a number of more than {MAX_SHOWN_DIGITS} digits"
    shown = repr(value) if isinstance(value, str) else str(value)
    return shown if len(shown) <= 60 else shown[:57] + "..."


class _Reader:
    """Walks the composed YAML tree, converting values and collecting every problem."""

    def __init__(self, label: str) -> None:
        self.label = label
        self._found: list[tuple[int, str]] = []  # (line, problem line)
        self._constructor = yaml.constructor.SafeConstructor()

    @property
    def problems(self) -> list[str]:
        """Every problem found, in file order (the order a person fixes them in)."""
        return [text for _, text in sorted(self._found, key=lambda found: found[0])]

    def problem(self, node: Node, path: str, message: str) -> None:
        line = node.start_mark.line + 1
        self._found.append((line, f"{self.label}:{line}: {path}: {message}"))

    def value(self, node: Node, path: str) -> Any:
        """The plain Python value of a node (scalars as YAML types them; lists; dicts)."""
        try:
            return self._constructor.construct_object(node, deep=True)
        except yaml.YAMLError as exc:
            problem = getattr(exc, "problem", None) or str(exc)
            self.problem(node, path, f"cannot read this value: {problem[:200]}")
        except ValueError:  # int(): more than 4,300 digits (sys.get_int_max_str_digits)
            self.problem(node, path, "cannot read this value: a number with too many digits")
        except RecursionError:
            self.problem(node, path, "cannot read this value: it is nested too deeply")
        return _INVALID

    def mapping(
        self, node: Node | None, path: str, known: tuple[str, ...]
    ) -> dict[str, tuple[Node, Node]] | None:
        """The entries of a mapping node, keyed by name, reporting unknown and repeated keys.

        A missing or null section counts as empty, so `discord:` with every line under it
        commented out (as in config.example.yaml) is fine. Returns None when not a mapping.
        """
        if node is None or _is_null(node):
            return {}
        if not isinstance(node, MappingNode):
            got = _describe(self.value(node, path))
            self.problem(node, path or "(top level)", f"expected a mapping of settings, got {got}")
            return None
        entries: dict[str, tuple[Node, Node]] = {}
        for key_node, value_node in node.value:
            key = self.value(key_node, path) if isinstance(key_node, ScalarNode) else None
            if not isinstance(key, str):
                self.problem(key_node, path or "(top level)", "setting names must be plain text")
                continue
            key_path = f"{path}.{key}" if path else key
            if key in SECRET_KEYS:
                self.problem(
                    key_node,
                    key_path,
                    "secrets are never read from a file; "
                    f"set the {SECRET_KEYS[key]} environment variable instead",
                )
            elif key not in known:
                close = difflib.get_close_matches(key, known, n=1)
                hint = f"did you mean {close[0]!r}?" if close else "known keys: " + ", ".join(known)
                self.problem(key_node, key_path, f"unknown key ({hint})")
            elif key in entries:
                first_line = entries[key][0].start_mark.line + 1
                self.problem(key_node, key_path, f"set twice (first on line {first_line})")
            else:
                entries[key] = (key_node, value_node)
        return entries

    def sequence(self, node: Node, path: str) -> list[Node] | None:
        """The items of a list node; null means an empty list. None when not a list."""
        if _is_null(node):
            return []
        if not isinstance(node, SequenceNode):
            self.problem(node, path, f"expected a list, got {_describe(self.value(node, path))}")
            return None
        return list(node.value)

    def scalar(
        self, node: Node, path: str, check: Callable[[object], T | _Problem]
    ) -> T | _Invalid:
        """Convert a scalar with `check`, which returns the value or a problem message."""
        raw = self.value(node, path)
        if raw is _INVALID:
            return _INVALID
        result = check(raw)
        if isinstance(result, _Problem):
            self.problem(node, path, str(result))
            return _INVALID
        return result


def _is_null(node: Node) -> bool:
    return isinstance(node, ScalarNode) and node.tag == "tag:yaml.org,2002:null"


# --------------------------------------------------------------------------------------------
# Value checks: each returns the converted value or a _Problem.


def _int_check(lo: int, hi: int, what: str = "an integer") -> Callable[[object], int | _Problem]:
    def check(raw: object) -> int | _Problem:
        if isinstance(raw, bool) or not isinstance(raw, int):
            return _Problem(f"expected {what}, got {_describe(raw)}")
        if not lo <= raw <= hi:
            return _Problem(f"must be between {lo} and {hi}, got {_describe(raw)}")
        return raw

    return check


def _number_check(
    lo: float, hi: float, *, lo_open: bool = False
) -> Callable[[object], float | _Problem]:
    def check(raw: object) -> float | _Problem:
        if isinstance(raw, bool) or not isinstance(raw, int | float) or not math.isfinite(raw):
            return _Problem(f"expected a number of seconds, got {_describe(raw)}")
        low_ok = raw > lo if lo_open else raw >= lo
        if not low_ok or raw > hi:
            bound = f"more than {lo:g}" if lo_open else f"at least {lo:g}"
            got = f"{raw:g}" if isinstance(raw, float) else _describe(raw)
            return _Problem(f"must be {bound} and at most {hi:g}, got {got}")
        return float(raw)

    return check


def _bool_check(raw: object) -> bool | _Problem:
    if not isinstance(raw, bool):
        return _Problem(f"expected true or false, got {_describe(raw)}")
    return raw


def _text_check(raw: object) -> str | _Problem:
    """A single line of text (it goes into HTTP headers), with a quoting hint when YAML read a
    number or true/false where text was meant."""
    if not isinstance(raw, str):
        quote = " (put it in quotes)" if isinstance(raw, int | float) else ""
        return _Problem(f"expected text, got {_describe(raw)}{quote}")
    if not raw.strip():
        return _Problem("must not be empty")
    if any(ord(c) < 32 or ord(c) == 127 for c in raw):
        return _Problem("must be a single line without control characters")
    return raw


def _snowflake_check(what: str) -> Callable[[object], int | _Problem]:
    """A Discord id. Quoted digits are accepted too, since ids are often copied as strings."""

    def check(raw: object) -> int | _Problem:
        value = raw
        if isinstance(raw, str) and raw.strip().isascii() and raw.strip().isdigit():
            value = int(raw.strip())
        if isinstance(value, bool) or not isinstance(value, int):
            return _Problem(f"expected an integer ({what}), got {_describe(raw)}")
        if not 0 < value <= _MAX_SNOWFLAKE:
            return _Problem(f"expected a positive integer ({what}), got {_describe(value)}")
        return value

    return check


def _url_problem(raw: object, schemes: tuple[str, ...]) -> str | None:
    """Why `raw` is not an absolute URL with one of `schemes`, or None when it is fine."""
    kinds = " or ".join(f"{scheme}://" for scheme in schemes)
    if not isinstance(raw, str):
        return f"expected a URL starting with {kinds}, got {_describe(raw)}"
    if not raw or any(c.isspace() or ord(c) < 32 for c in raw):
        return f"expected a URL without spaces, got {raw!r}"
    try:
        parts = urlsplit(raw)
        _ = parts.port  # raises ValueError on a malformed port
    except ValueError:
        return f"expected a URL starting with {kinds}, got {raw!r}"
    if parts.scheme.lower() not in schemes or not parts.hostname:
        return f"expected a URL starting with {kinds}, got {raw!r}"
    if parts.username is not None or parts.password is not None:
        return "credentials in URLs are not supported (the URL shows up in logs)"
    return None


def _url_check(*schemes: str) -> Callable[[object], str | _Problem]:
    def check(raw: object) -> str | _Problem:
        problem = _url_problem(raw, schemes)
        return _Problem(problem) if problem else str(raw)

    return check


def _log_level_check(raw: object) -> str | _Problem:
    if isinstance(raw, str) and raw.strip().upper() in LOG_LEVELS:
        return raw.strip().upper()
    choices = ", ".join(LOG_LEVELS)
    return _Problem(f"expected one of {choices}, got {_describe(raw)}")


def _storage_check(raw: object) -> str | _Problem:
    if isinstance(raw, str) and raw in STORAGES:
        return raw
    close = difflib.get_close_matches(raw, STORAGES, n=1) if isinstance(raw, str) else []
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    return _Problem(f"expected {' or '.join(STORAGES)}, got {_describe(raw)}{hint}")


def _database_url_problem(raw: str) -> str | None:
    """Why `raw` is not a PostgreSQL URL asyncpg can connect with, or None when it is one.

    Never quotes `raw`: it holds a password, and this message goes to a terminal and logs."""
    kinds = " or ".join(f"{scheme}://" for scheme in DATABASE_URL_SCHEMES)
    if any(c.isspace() or ord(c) < 32 or ord(c) == 127 for c in raw):
        return "the URL contains spaces or control characters (its value is not shown)"
    try:
        parts = urlsplit(raw)
        if "," not in parts.netloc:  # several hosts (host1:5432,host2:5432) is libpq's syntax too
            _ = parts.port  # raises ValueError on a port that is not a number in range
    except ValueError:
        return f"cannot read it as a URL {kinds}user:password@host:port/database (its value is not shown)"
    if parts.scheme.lower() not in DATABASE_URL_SCHEMES or not raw.startswith(f"{parts.scheme}://"):
        return f"expected a URL starting with {kinds} (its value is not shown)"
    return None


def _path_check(base: Path) -> Callable[[object], Path | _Problem]:
    def check(raw: object) -> Path | _Problem:
        if not isinstance(raw, str) or not raw.strip():
            return _Problem(f"expected a folder path, got {_describe(raw)}")
        return _resolve(raw, base)

    return check


def _resolve(raw: str, base: Path) -> Path:
    """`raw` made absolute against `base` (with `~` expanded), so later `chdir`s don't matter."""
    path = Path(raw).expanduser()
    return (path if path.is_absolute() else base / path).resolve()


# --------------------------------------------------------------------------------------------
# Sections.


# Scalar settings per section: key -> (check, whether null means "not set"). A key missing from
# the file keeps its dataclass default, so defaults live in one place: the dataclasses above.
_TOP_SCALARS: Final[dict[str, tuple[_Check, bool]]] = {
    "storage": (_storage_check, False),
    "log_level": (_log_level_check, False),
    "max_file_bytes": (_int_check(1024, 1_000_000_000), False),
}
_DISCORD_SCALARS: Final[dict[str, tuple[_Check, bool]]] = {
    "api_base": (_url_check("http", "https"), True),
    "gateway_url": (_url_check("ws", "wss"), True),
    "dev_guild_id": (_snowflake_check("a Discord server id"), True),
    "shard_count": (_int_check(1, 100_000), True),
    "sync_on_start": (_bool_check, False),
    "cooldown_seconds": (_number_check(0, 86_400, lo_open=True), False),
}
_FEED_SCALARS: Final[dict[str, tuple[_Check, bool]]] = {
    "interval_seconds": (_int_check(60, 7 * 86_400), False),
    "max_announcements_per_cycle": (_int_check(1, 100), False),
    "user_agent": (_text_check, False),
    "timeout_seconds": (_number_check(0, 600, lo_open=True), False),
    "max_bytes": (_int_check(1024, 1_000_000_000), False),
    "backoff_base_seconds": (_number_check(1, 7 * 86_400), False),
    "backoff_max_seconds": (_number_check(1, 30 * 86_400), False),
    "pause_after_failures": (_int_check(1, 1000), False),
    "allow_private_addresses": (_bool_check, False),
}
_TOP_KEYS: Final = ("corpus_dir", "data_dir", *_TOP_SCALARS, "discord", "feed")
_DISCORD_KEYS: Final = (*_DISCORD_SCALARS, "admin_user_ids", "shard_ids")
_FEED_KEYS: Final = (*_FEED_SCALARS, "sources")
_SOURCE_KEYS: Final = ("name", "url")

_Entries = Mapping[str, tuple[Node, Node]]


def _read_scalars(
    reader: _Reader, entries: _Entries, prefix: str, table: Mapping[str, tuple[_Check, bool]]
) -> dict[str, Any]:
    """The checked values of the `table` keys present in `entries` (_INVALID when wrong)."""
    out: dict[str, Any] = {}
    for key, (check, nullable) in table.items():
        if key not in entries:
            continue
        node = entries[key][1]
        out[key] = None if nullable and _is_null(node) else reader.scalar(node, prefix + key, check)
    return out


def _read_top(reader: _Reader, root: Node | None, base: Path, cwd: Path) -> dict[str, Any]:
    entries = reader.mapping(root, "", _TOP_KEYS) or {}
    paths = {"corpus_dir": (_path_check(base), False), "data_dir": (_path_check(base), False)}
    section = {key: entries[key][1] for key in ("discord", "feed") if key in entries}
    return {
        "corpus_dir": cwd / "corpus",
        "data_dir": cwd / "data",
        **_read_scalars(reader, entries, "", {**paths, **_TOP_SCALARS}),
        "discord": _read_discord(reader, section.get("discord")),
        "feed": _read_feed(reader, section.get("feed")),
    }


def _read_discord(reader: _Reader, node: Node | None) -> dict[str, Any]:
    entries = reader.mapping(node, "discord", _DISCORD_KEYS)
    if entries is None:
        return {}
    out = _read_scalars(reader, entries, "discord.", _DISCORD_SCALARS)
    if "admin_user_ids" in entries:
        out["admin_user_ids"] = _read_admin_ids(reader, entries["admin_user_ids"][1])
    if "shard_ids" in entries:
        out["shard_ids"] = _read_shard_ids(reader, entries["shard_ids"], out.get("shard_count"))
    return out


def _read_admin_ids(reader: _Reader, node: Node) -> tuple[int, ...] | _Invalid:
    """Admin user ids; a repeated id is harmless, so it is dropped rather than reported."""
    items = reader.sequence(node, "discord.admin_user_ids")
    if items is None:
        return _INVALID
    ids: list[int] = []
    failed = False
    check = _snowflake_check("a Discord user id")
    for index, item in enumerate(items):
        user_id = reader.scalar(item, f"discord.admin_user_ids[{index}]", check)
        if isinstance(user_id, _Invalid):
            failed = True
        elif user_id not in ids:
            ids.append(user_id)
    return _INVALID if failed else tuple(ids)


def _read_shard_ids(
    reader: _Reader, key_and_value: tuple[Node, Node], shard_count: object
) -> tuple[int, ...] | None | _Invalid:
    """Shard ids this process runs; they only make sense with a known `shard_count`."""
    key_node, node = key_and_value
    if _is_null(node):
        return None
    items = reader.sequence(node, "discord.shard_ids")
    if items is None:
        return _INVALID
    failed = False
    if not items:
        reader.problem(node, "discord.shard_ids", "must list at least one shard (or leave it out)")
        failed = True
    if shard_count is None:
        reader.problem(key_node, "discord.shard_ids", "requires discord.shard_count to be set")
        failed = True
    ids: list[int] = []
    for index, item in enumerate(items):
        path = f"discord.shard_ids[{index}]"
        shard_id = reader.scalar(item, path, _int_check(0, 100_000, "a shard number"))
        if isinstance(shard_id, _Invalid):
            failed = True
        elif isinstance(shard_count, int) and shard_id >= shard_count:
            limit = f"less than discord.shard_count ({shard_count})"
            reader.problem(item, path, f"must be {limit}, got {shard_id}")
            failed = True
        elif shard_id in ids:
            reader.problem(item, path, f"shard {shard_id} is listed twice")
            failed = True
        else:
            ids.append(shard_id)
    return _INVALID if failed else tuple(ids)


def _read_feed(reader: _Reader, node: Node | None) -> dict[str, Any]:
    entries = reader.mapping(node, "feed", _FEED_KEYS)
    if entries is None:
        return {}
    out = _read_scalars(reader, entries, "feed.", _FEED_SCALARS)
    if "sources" in entries:
        out["sources"] = _read_sources(reader, entries["sources"][1])
    defaults = FeedConfig()
    base = out.get("backoff_base_seconds", defaults.backoff_base_seconds)
    cap = out.get("backoff_max_seconds", defaults.backoff_max_seconds)
    if isinstance(base, float) and isinstance(cap, float) and cap < base:
        key = "backoff_max_seconds" if "backoff_max_seconds" in entries else "backoff_base_seconds"
        reader.problem(
            entries[key][1],
            "feed.backoff_max_seconds",
            f"must be at least feed.backoff_base_seconds ({base:g}), got {cap:g}",
        )
    return out


def _read_sources(reader: _Reader, node: Node) -> tuple[FeedSourceConfig, ...] | _Invalid:
    items = reader.sequence(node, "feed.sources")
    if items is None:
        return _INVALID
    sources: list[FeedSourceConfig] = []
    first_index: dict[tuple[str, str], int] = {}  # ("name" | "url", value) -> first source
    failed = False
    for index, item in enumerate(items):
        path = f"feed.sources[{index}]"
        entries = reader.mapping(item, path, _SOURCE_KEYS)
        if entries is None:
            failed = True
            continue
        values: dict[str, Any] = {}
        for key, check in (("name", _source_name_check), ("url", _url_check("http", "https"))):
            if key not in entries:
                reader.problem(item, f"{path}.{key}", "is required")
                values[key] = _INVALID
                continue
            value = values[key] = reader.scalar(entries[key][1], f"{path}.{key}", check)
            if isinstance(value, str) and (key, value) in first_index:
                other = f"feed.sources[{first_index[key, value]}]"
                reader.problem(entries[key][1], f"{path}.{key}", f"same {key} as {other}")
                failed = True
            elif isinstance(value, str):
                first_index[key, value] = index
        if any(isinstance(v, _Invalid) for v in values.values()):
            failed = True
        else:
            sources.append(FeedSourceConfig(**values))
    return _INVALID if failed else tuple(sources)


def _source_name_check(raw: object) -> str | _Problem:
    if not isinstance(raw, str) or not SOURCE_NAME_PATTERN.fullmatch(raw):
        return _Problem(
            "expected a short name of lowercase letters, digits and '-' (at most 32), "
            f"got {_describe(raw)}"
        )
    if raw in RESERVED_SOURCE_NAMES:
        return _Problem(f"{raw!r} is the corpus folder's own source name; choose another name")
    return raw


# --------------------------------------------------------------------------------------------
# The environment.


def _env_value(env: Mapping[str, str], name: str) -> str | None:
    """An environment variable, with empty meaning unset (as `FOO=` in a compose file does)."""
    value = env.get(name, "").strip()
    return value or None


def _apply_env(
    env: Mapping[str, str], settings: dict[str, Any], cwd: Path, problems: list[str]
) -> None:
    """Overlay the environment on the file's settings; the token only ever comes from here."""
    discord = settings["discord"]
    token = _env_value(env, ENV_TOKEN)
    if token is not None and any(c.isspace() or ord(c) < 32 for c in token):
        # Never echo the value: it is a secret, and this message may end up in logs.
        problems.append(f"environment {ENV_TOKEN}: the token contains spaces or line breaks")
        token = None
    discord["token"] = token
    for name, key, schemes in (
        (ENV_API_BASE, "api_base", ("http", "https")),
        (ENV_GATEWAY_URL, "gateway_url", ("ws", "wss")),
    ):
        value = _env_value(env, name)
        if value is None:
            continue
        problem = _url_problem(value, schemes)
        if problem:
            problems.append(f"environment {name}: {problem}")
        else:
            discord[key] = value
    data_dir = _env_value(env, ENV_DATA_DIR)
    if data_dir is not None:
        settings["data_dir"] = _resolve(data_dir, cwd)
    if settings.get("storage") == "postgres":
        settings["database_url"] = _database_url(env, problems)


def _database_url(env: Mapping[str, str], problems: list[str]) -> str | None:
    """The PostgreSQL URL `storage: postgres` needs: from the environment only (it holds a
    password), checked enough that a typo is one line naming the variable, not a driver's
    traceback at the first query. Read only with `storage: postgres`."""
    url = _env_value(env, ENV_DATABASE_URL)
    if url is None:
        problems.append(
            f"environment {ENV_DATABASE_URL}: not set, and storage: postgres needs it "
            "(e.g. postgresql://user:password@host:5432/corpus_bot)"
        )
        return None
    problem = _database_url_problem(url)
    if problem:
        problems.append(f"environment {ENV_DATABASE_URL}: {problem}")
        return None
    return url


# --------------------------------------------------------------------------------------------
# Entry point.


def _read_file(path: Path, label: str) -> str:
    """The config file's text: a regular file of at most MAX_CONFIG_BYTES (read as corpus files
    are, so a FIFO or a device named config.yaml is refused instead of hanging the start)."""
    if path.is_dir():
        raise ConfigError([f"config file is a folder, not a file: {label}"])
    if not path.exists():
        raise ConfigError([f"config file not found: {label}"])
    try:
        raw = read_regular_file(path, MAX_CONFIG_BYTES)
    except TooLarge as exc:
        raise ConfigError([f"{label}: {exc}"]) from None
    except UnreadableFile as exc:
        raise ConfigError([f"config file {label} {exc}"]) from None
    try:
        return raw.decode("utf-8").replace("\r\n", "\n")
    except UnicodeDecodeError as exc:
        raise ConfigError([f"{label}: not UTF-8 text ({exc.reason})"]) from None


def _nesting_problem(text: str, label: str) -> str | None:
    """A line nested deeper than MAX_CONFIG_DEPTH, found in the event stream (PyYAML's parser
    is iterative; its composer recurses, and 1,000 `[` raised RecursionError there)."""
    depth = 0
    for event in yaml.parse(text, Loader=yaml.SafeLoader):
        if isinstance(event, yaml.CollectionStartEvent):
            depth += 1
            if depth > MAX_CONFIG_DEPTH:
                where = f"{label}:{event.start_mark.line + 1}" if event.start_mark else label
                return f"{where}: nested more than {MAX_CONFIG_DEPTH} levels deep"
        elif isinstance(event, yaml.CollectionEndEvent):
            depth -= 1
    return None


def _compose(text: str, label: str) -> Node | None:
    """The YAML node tree of the file. Aliases stay shared nodes (nothing is expanded: a
    "billion laughs" file costs what it weighs), and nesting is capped before composing."""
    try:
        nested = _nesting_problem(text, label)
        if nested is not None:
            raise ConfigError([nested])
        return yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f"{label}:{mark.line + 1}" if mark else label
        column = f" (column {mark.column + 1})" if mark else ""
        detail = ", ".join(part for part in (exc.context, exc.problem) if part) or "invalid YAML"
        raise ConfigError([f"{where}: YAML syntax error{column}: {detail}"]) from None
    except yaml.YAMLError as exc:
        raise ConfigError([f"{label}: YAML syntax error: {str(exc)[:200]}"]) from None
    except RecursionError:
        raise ConfigError([f"{label}: the YAML is nested too deeply"]) from None


def load_config(
    path: Path | None = None,
    *,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
) -> Config:
    """Load settings from `path` (or `./config.yaml` if it exists) and the environment.

    `env` defaults to `os.environ` and `cwd` to the process's working directory; tests pass
    both. Relative paths in the file resolve against the file's folder, defaults and
    CORPUS_BOT_DATA_DIR against `cwd`. Raises ConfigError listing every problem found.
    """
    env = os.environ if env is None else env
    cwd = (Path.cwd() if cwd is None else cwd).resolve()
    if path is None:
        candidate = cwd / DEFAULT_CONFIG_NAME
        file_path, label = (candidate, DEFAULT_CONFIG_NAME) if candidate.is_file() else (None, "")
    else:
        file_path = _resolve(str(path), cwd)
        label = str(path)

    root = _compose(_read_file(file_path, label), label) if file_path is not None else None
    reader = _Reader(label)
    settings = _read_top(reader, root, file_path.parent if file_path else cwd, cwd)
    problems = reader.problems
    _apply_env(env, settings, cwd, problems)
    if problems:
        raise ConfigError(problems)

    discord, feed = settings.pop("discord"), settings.pop("feed")
    if any(v is _INVALID for v in (*settings.values(), *discord.values(), *feed.values())):
        raise AssertionError("an invalid setting was not reported")  # pragma: no cover
    if discord.get("api_base"):
        discord["api_base"] = discord["api_base"].rstrip("/")
    return Config(
        **settings,
        discord=DiscordConfig(**discord),
        feed=FeedConfig(**feed),
        config_path=file_path,
    )
