"""Reading a file that someone else controls: regular files only, never blocking, within a cap.

Corpus files and the config file are named by people, and a name can point at anything: a FIFO
(`open` waits forever for a writer; a reload holding the write transaction then stalls every
writer of the index), a device (`/dev/zero` never ends: `read()` grew to 4.4 GB in 15 s), a
folder. So a file is opened with O_NONBLOCK (opening a FIFO returns at once instead of waiting),
checked with `fstat` on the open descriptor (what was opened, not what the name pointed at a
moment before; the name is stat-ed first, so a device is not even opened), and read up to `max_bytes + 1` bytes whatever its size claims to be, so a file
that grows while it is read still costs at most the cap.
"""

from __future__ import annotations

import os
import stat
from typing import Final

_READ_FLAGS: Final = (
    os.O_RDONLY
    | getattr(os, "O_NONBLOCK", 0)
    | getattr(os, "O_NOCTTY", 0)
    | getattr(os, "O_CLOEXEC", 0)
)
_CHUNK: Final = 1 << 16


class UnreadableFile(Exception):
    """A file that is not read: not a regular file, too large, or an OS error. The message is
    short, names no path (callers name the file) and says what to do."""


class TooLarge(UnreadableFile):
    """The file is over the byte limit; `size` is what it said it holds (None: it grew while it
    was read, past what its size said)."""

    def __init__(self, size: int | None, limit: int) -> None:
        held = f"is {size:,} bytes" if size is not None else "grew while it was read"
        super().__init__(f"file {held}, over the {limit:,}-byte limit")
        self.size = size
        self.limit = limit


def kind_of(mode: int) -> str:
    """What a non-regular file is, in words a person recognises."""
    if stat.S_ISDIR(mode):
        return "a folder"
    if stat.S_ISFIFO(mode):
        return "a FIFO (named pipe)"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a regular file"


def _require_regular(mode: int) -> None:
    if not stat.S_ISREG(mode):
        raise UnreadableFile(f"is {kind_of(mode)}, not a regular file; only regular files are read")


def read_regular_file(path: str | os.PathLike[str], max_bytes: int) -> bytes:
    """The bytes of the regular file at `path` (symlinks followed), at most `max_bytes` of them.

    Raises `TooLarge` for a bigger file (checked on the size before reading, and again on what
    was read), `UnreadableFile` for anything that is not a regular file or cannot be opened.
    """
    try:
        # Not opened at all when the name already says it is no regular file: opening some
        # devices does something (a terminal, a tape that rewinds, a watchdog that starts).
        _require_regular(os.stat(path).st_mode)
        fd = os.open(path, _READ_FLAGS)
    except OSError as exc:
        raise UnreadableFile(f"cannot be read: {exc.strerror or exc}") from None
    try:
        info = os.fstat(fd)
        _require_regular(info.st_mode)  # what was opened: the name may point elsewhere by now
        if info.st_size > max_bytes:
            raise TooLarge(info.st_size, max_bytes)
        # A regular file never blocks; turn O_NONBLOCK off anyway so a read is a plain read.
        os.set_blocking(fd, True)
        chunks: list[bytes] = []
        left = max_bytes + 1
        while left > 0:
            chunk = os.read(fd, min(left, _CHUNK))
            if not chunk:
                break
            chunks.append(chunk)
            left -= len(chunk)
        raw = b"".join(chunks)
    except OSError as exc:
        raise UnreadableFile(f"cannot be read: {exc.strerror or exc}") from None
    finally:
        os.close(fd)
    if len(raw) > max_bytes:
        raise TooLarge(None, max_bytes)
    return raw
