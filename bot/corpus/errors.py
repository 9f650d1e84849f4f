"""Errors the core raises on purpose. Each is an answer, not a crash: front ends map them to a
clear message (CLI: one line and a documented exit status; Discord: a friendly ephemeral reply).

`AnswerError` and `CorpusInvalid` are about the question or the corpus; a `Fault` is about the
world around the program (disk, network, credentials), with one message per fault for every
front end.
"""

from __future__ import annotations

import errno
import shutil
import sqlite3
from pathlib import Path
from typing import Literal

from bot.corpus.models import Candidate, Problem

AnswerErrorKind = Literal["not_found", "ambiguous", "bad_input"]


class AnswerError(Exception):
    """The question has no single answer: unknown or ambiguous input, or input that is invalid.

    `candidates` holds the closest matches, best first, for a "did you mean" (or what
    `heading` says they are).
    """

    def __init__(
        self,
        kind: AnswerErrorKind,
        message: str,
        candidates: list[Candidate] | None = None,
        *,
        heading: str = "Did you mean",
    ) -> None:
        super().__init__(message)
        self.kind: AnswerErrorKind = kind
        self.message = message
        self.candidates: list[Candidate] = list(candidates or [])
        self.heading = heading
        """What the candidates are to the person ("Did you mean", "Its reasons are")."""

    def to_json(self) -> dict[str, object]:
        return {
            "error": {
                "kind": self.kind,
                "message": self.message,
                "candidates": [{"value": c.value, "label": c.label} for c in self.candidates],
            }
        }


class CorpusInvalid(Exception):
    """The corpus folder has problems; nothing was changed. `problems` lists every one."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        head = f"{len(problems)} problem(s) in the corpus"
        super().__init__(head + "".join(f"\n  {p}" for p in problems))


FaultKind = Literal["storage", "network", "credentials"]
"""What failed outside the program: its index file, the network, or the credentials it was given."""


class Fault(Exception):
    """An expected failure of the world around the program (a full disk, a damaged or locked index,
    Discord out of reach, a refused token), not a bug and not a bad answer.

    Every front end maps it the same way, from these fields only: `message` is one line for the
    operator (the command line, the log) naming what failed and what to do; `user_message` is for
    people in Discord, who can do nothing about the server (no file names). Front ends never
    catch raw sqlite3, aiohttp or discord.py errors themselves: they are turned into a Fault where
    they arise (the store's connections, the launcher's login).
    """

    kind: FaultKind = "storage"

    def __init__(self, message: str, *, user_message: str) -> None:
        super().__init__(message)
        self.message = message
        self.user_message = user_message


StorageProblem = Literal["corrupt", "locked", "full", "unwritable", "unopenable"]


class StorageFault(Fault):
    """The index file cannot be used: damaged, locked by another process, out of disk space,
    not writable, or not openable. Made by `storage_fault` from SQLite's own error code."""

    kind: FaultKind = "storage"

    def __init__(
        self, problem: StorageProblem, path: Path, detail: str, *, waited_s: float = 0.0
    ) -> None:
        self.problem: StorageProblem = problem
        self.path = path
        self.detail = detail
        super().__init__(
            _STORAGE_MESSAGES[problem].format(path=path, detail=detail, waited=waited_s),
            user_message=_STORAGE_USER_MESSAGES[problem],
        )

    @property
    def blocks_writes_only(self) -> bool:
        """True when the index can still be read (only writing failed): answers may still be
        served from it, as they were before."""
        return self.problem in ("locked", "full", "unwritable")


_STORAGE_MESSAGES: dict[StorageProblem, str] = {
    "corrupt": "{path} is not a valid index ({detail}): move it aside and run `corpus-bot index` to rebuild it",
    "locked": "{path} is locked by another process ({detail} after waiting {waited:g} s): "
    "stop the other program using it (another corpus-bot?) or use another index file (--db), then try again",
    "full": "no space left on the disk to write {path} ({detail}): free some disk space, then try again",
    "unwritable": "{path} cannot be written ({detail}): check the disk and the permissions of the file and "
    "its folder, then try again",
    "unopenable": "{path} cannot be opened ({detail}): it must be a file (or not exist yet) in a folder "
    "that exists and can be written (--db, or data_dir in the config)",
}
_STORAGE_USER_MESSAGES: dict[StorageProblem, str] = {
    "corrupt": "The bot's index is damaged, so it cannot answer this right now. Its operator has been told.",
    "locked": "The bot's index is busy (another program holds it), so nothing was changed: what the bot "
    "served before, it still serves. Please try again in a minute.",
    "full": "The bot's disk is full, so nothing could be saved: nothing was changed, and what the bot served "
    "before, it still serves. Its operator has been told.",
    "unwritable": "The bot cannot write its index right now, so nothing was changed: what the bot served "
    "before, it still serves. Its operator has been told.",
    "unopenable": "The bot cannot open its index right now. Its operator has been told.",
}

# SQLite's primary result codes (https://sqlite.org/rescode.html); an extended code keeps its
# primary code in the low byte.
_SQLITE_PERM, _SQLITE_BUSY, _SQLITE_LOCKED, _SQLITE_READONLY = 3, 5, 6, 8
_SQLITE_IOERR, _SQLITE_CORRUPT, _SQLITE_FULL, _SQLITE_CANTOPEN = 10, 11, 13, 14
_SQLITE_PROTOCOL, _SQLITE_NOTADB = 15, 26
_PROBLEM_OF_CODE: dict[int, StorageProblem] = {
    _SQLITE_CORRUPT: "corrupt",
    _SQLITE_NOTADB: "corrupt",
    _SQLITE_BUSY: "locked",
    _SQLITE_LOCKED: "locked",
    _SQLITE_PROTOCOL: "locked",
    _SQLITE_FULL: "full",
    _SQLITE_IOERR: "unwritable",
    _SQLITE_READONLY: "unwritable",
    _SQLITE_PERM: "unwritable",
    _SQLITE_CANTOPEN: "unopenable",
}
_SQLITE_IOERR_READ, _SQLITE_IOERR_SHORT_READ = 10 | 1 << 8, 10 | 2 << 8
_PROBLEM_OF_EXTENDED_CODE: dict[int, StorageProblem] = {
    # A page that cannot be read, or a file shorter than its own header says: the file is
    # damaged (cut short, a bad block), not a write that failed.
    _SQLITE_IOERR_READ: "corrupt",
    _SQLITE_IOERR_SHORT_READ: "corrupt",
}
NEARLY_FULL_BYTES = 1 << 20
"""Free space under which a disk counts as full: SQLite reports most writes that fail for lack of
space as "disk I/O error" (growing the -shm file, syncing), not as SQLITE_FULL."""


def storage_fault(
    exc: BaseException, path: Path, *, busy_timeout_s: float = 0.0
) -> StorageFault | None:
    """The StorageFault that SQLite's error `exc` on the index at `path` means, or None when it is
    not a fault of the file (a constraint, a bad statement: a bug, left as it is).

    Classified by SQLite's result code (`sqlite_errorcode`, Python 3.11+), never by the wording.
    """
    if isinstance(exc, StorageFault):
        return exc
    if isinstance(exc, OSError) and not isinstance(exc, sqlite3.Error):
        return _os_fault(exc, path)
    code = getattr(exc, "sqlite_errorcode", None)
    if not isinstance(exc, sqlite3.Error) or not isinstance(code, int):
        return None
    problem = _PROBLEM_OF_EXTENDED_CODE.get(code) or _PROBLEM_OF_CODE.get(code & 0xFF)
    if problem is None:
        return None
    if problem in ("unwritable", "unopenable") and _free_bytes(path) < NEARLY_FULL_BYTES:
        problem = "full"
    detail = str(exc) or getattr(exc, "sqlite_errorname", "SQLite error")
    return StorageFault(problem, path, detail, waited_s=busy_timeout_s)


def _os_fault(exc: OSError, path: Path) -> StorageFault | None:
    """Making the index's folder failed (before SQLite is involved)."""
    if exc.errno == errno.ENOSPC:
        return StorageFault("full", path, exc.strerror or str(exc))
    if exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS, errno.ENOTDIR, errno.EEXIST):
        return StorageFault("unopenable", path, exc.strerror or str(exc))
    return None


def _free_bytes(path: Path) -> int:
    """Free bytes on the disk that holds `path` (of its nearest existing folder); a disk that
    cannot be asked counts as not full."""
    for folder in (path.parent, *path.parent.parents):
        try:
            return shutil.disk_usage(folder).free
        except OSError:
            continue
    return NEARLY_FULL_BYTES
