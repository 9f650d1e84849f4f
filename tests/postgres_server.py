"""A real PostgreSQL server for the tests (and the bench), started from the machine's binaries.

The PostgreSQL backend (bot/storage/postgres/) is tested against the real thing, never a mock:
`PostgresServer` runs `initdb` into a fresh temporary folder and starts `postgres` on a Unix
socket in that folder only (no TCP port, so parallel runs never collide and nothing listens on
the network), with durability off (a throwaway cluster need not survive a power cut).

PostgreSQL refuses to run as root, and CI runs as root: then the cluster belongs to an
unprivileged account (`postgres` when the Debian package made one, else `nobody`), the
temporary folder is handed to it, and both programs run under its uid and gid with no
supplementary groups. The server's parent-death signal is SIGQUIT (immediate shutdown), so even
a test run killed with SIGKILL leaves no server behind; `stop` shuts it down fast, then harder
after a bound, and removes the folder.

Binaries are looked up in `CORPUS_BOT_POSTGRES_BIN` (a folder), beside an `initdb` on PATH, then
in Debian's `/usr/lib/postgresql/<version>/bin` (the highest version). With none, `find_binaries`
returns None and the fixtures skip, saying so; `.ci/run` installs Debian's `postgresql` package
where it can.
"""

from __future__ import annotations

import contextlib
import ctypes
import itertools
import os
import pwd
import re
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from urllib.parse import quote

BIN_ENV = "CORPUS_BOT_POSTGRES_BIN"
DEBIAN_ROOT = Path("/usr/lib/postgresql")
SUPERUSER = "corpus_bot"
"""The cluster's bootstrap superuser (initdb -U): the role tests and the bench connect as."""
PORT = 5432
"""Only names the socket file (.s.PGSQL.5432) in the server's own folder: no TCP listener."""
START_TIMEOUT_S = 60.0
STOP_TIMEOUT_S = 30.0
FAST_SETTINGS = {
    "listen_addresses": "",
    "fsync": "off",
    "synchronous_commit": "off",
    "full_page_writes": "off",
    "max_connections": "50",
    "shared_buffers": "128MB",
    "logging_collector": "off",
}
"""Settings of a throwaway cluster: no TCP, no durability (a crash loses it, and that is fine)."""
_PR_SET_PDEATHSIG = 1


class PostgresServerError(RuntimeError):
    """The server could not be created or started; the message holds the tail of its log."""


@dataclass(frozen=True, slots=True)
class PostgresBinaries:
    bin_dir: Path

    @property
    def initdb(self) -> Path:
        return self.bin_dir / "initdb"

    @property
    def postgres(self) -> Path:
        return self.bin_dir / "postgres"

    def version(self) -> str:
        out = subprocess.run(
            [str(self.postgres), "--version"], capture_output=True, text=True, check=True
        ).stdout
        return out.strip()


def _usable(folder: Path) -> PostgresBinaries | None:
    found = PostgresBinaries(folder)
    if os.access(found.initdb, os.X_OK) and os.access(found.postgres, os.X_OK):
        return found
    return None


def _version_key(folder: Path) -> tuple[int, ...]:
    return tuple(int(part) for part in re.findall(r"\d+", folder.name)) or (0,)


def find_binaries() -> PostgresBinaries | None:
    """PostgreSQL's initdb and postgres, side by side, or None when this machine has none."""
    configured = os.environ.get(BIN_ENV)
    if configured:
        return _usable(Path(configured))
    on_path = shutil.which("initdb")
    if on_path:
        # Debian links /usr/local/bin/initdb (or a wrapper) to the versioned folder: resolve it.
        found = _usable(Path(on_path).resolve().parent) or _usable(Path(on_path).parent)
        if found:
            return found
    if DEBIAN_ROOT.is_dir():
        for folder in sorted(DEBIAN_ROOT.iterdir(), key=_version_key, reverse=True):
            found = _usable(folder / "bin")
            if found:
                return found
    return None


def missing_reason() -> str:
    configured = os.environ.get(BIN_ENV)
    if configured:
        return f"{BIN_ENV}={configured} holds no executable initdb and postgres"
    return (
        "no PostgreSQL binaries (initdb, postgres): not on PATH, not in "
        f"{DEBIAN_ROOT}/<version>/bin, and {BIN_ENV} is not set; install Debian's postgresql "
        "package (.ci/run does where it can)"
    )


@dataclass(frozen=True, slots=True)
class ServerAccount:
    """Who the cluster's files and processes belong to."""

    name: str
    uid: int
    gid: int


def server_account() -> ServerAccount | None:
    """The unprivileged account to run as when this process is root, else None (run as we are)."""
    if os.geteuid() != 0:
        return None
    for name in ("postgres", "nobody"):
        with contextlib.suppress(KeyError):
            entry = pwd.getpwnam(name)
            if entry.pw_uid != 0:
                return ServerAccount(name, entry.pw_uid, entry.pw_gid)
    raise PostgresServerError(
        "running as root and neither a 'postgres' nor a 'nobody' account exists to run PostgreSQL as"
    )


def _die_with_parent() -> None:
    """In the child, after the uid change (which would clear it): SIGQUIT when we die."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(_PR_SET_PDEATHSIG, signal.SIGQUIT)


class PostgresServer:
    """One throwaway cluster: `start()` returns when it accepts connections; `stop()` ends it.

    Use as a context manager, or call `stop` in a `finally`: it is idempotent and also cleans up
    after a failed start. With `keep` (a folder), the cluster lives there instead and outlives
    `stop`: the next server with the same `keep` starts on it without initdb (the bench reuses a
    loaded database that way).
    """

    def __init__(
        self,
        binaries: PostgresBinaries,
        *,
        parent: Path | None = None,
        settings: Mapping[str, str] | None = None,
        keep: Path | None = None,
    ) -> None:
        self.binaries = binaries
        self.keep = keep
        self.settings = {**FAST_SETTINGS, **(settings or {})}
        self.account = server_account()
        self.parent = parent
        self.folder: Path | None = None
        self.process: subprocess.Popen[bytes] | None = None

    # --- where it is --------------------------------------------------------------------

    @property
    def data_dir(self) -> Path:
        return self._folder() / "data"

    @property
    def socket_dir(self) -> Path:
        return self._folder()

    @property
    def log_path(self) -> Path:
        return self._folder() / "server.log"

    def _folder(self) -> Path:
        if self.folder is None:
            raise PostgresServerError("the server has not been started")
        return self.folder

    def dsn(self, database: str = "postgres") -> str:
        """A libpq/asyncpg URL to `database` over the server's Unix socket."""
        host = quote(str(self.socket_dir), safe="")
        return f"postgresql://{SUPERUSER}@/{quote(database, safe='')}?host={host}&port={PORT}"

    # --- life -----------------------------------------------------------------------------

    def start(self, timeout: float = START_TIMEOUT_S) -> str:
        """initdb, start, wait until ready; the DSN of its `postgres` database."""
        if self.process is not None:
            return self.dsn()
        # Not under pytest's tmp_path: that sits in a 0700 folder of root's that the server's
        # account could not enter. A short path also keeps the socket's within its 107 bytes.
        if self.keep is not None:
            self.keep.mkdir(mode=0o755, parents=True, exist_ok=True)
            self.folder = self.keep
        else:
            self.folder = Path(tempfile.mkdtemp(prefix="corpus-bot-pg-", dir=self.parent))
        try:
            if self.account is not None:
                os.chown(self.folder, self.account.uid, self.account.gid)
            if not (self.data_dir / "PG_VERSION").is_file():
                self._run_initdb(timeout)
            self._launch()
            self._wait_ready(timeout)
        except BaseException:
            self.stop()
            raise
        return self.dsn()

    def _child_options(self) -> dict[str, object]:
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "LC_ALL": "C.UTF-8",
            "LANG": "C.UTF-8",
            "HOME": str(self._folder()),
            "TZ": "UTC",
        }
        options: dict[str, object] = {"env": env, "cwd": str(self._folder())}
        if self.account is not None:
            options.update(user=self.account.uid, group=self.account.gid, extra_groups=[])
        return options

    def _run_initdb(self, timeout: float) -> None:
        command = [
            str(self.binaries.initdb),
            "-D",
            str(self.data_dir),
            "-U",
            SUPERUSER,
            "--auth=trust",
            "--encoding=UTF8",
            "--locale=C.UTF-8",
            "--no-sync",
        ]
        done = subprocess.run(
            command,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
            **self._child_options(),  # type: ignore[arg-type]
        )
        if done.returncode != 0:
            tail = "\n".join((done.stdout + done.stderr).splitlines()[-15:])
            raise PostgresServerError(f"initdb failed (exit {done.returncode}):\n{tail}")

    def _launch(self) -> None:
        command = [str(self.binaries.postgres), "-D", str(self.data_dir), "-p", str(PORT)]
        command += ["-k", str(self.socket_dir)]
        for name, value in self.settings.items():
            command += ["-c", f"{name}={value}"]
        log = open(self.log_path, "ab")  # handed to the child, closed here once it has it
        try:
            self.process = subprocess.Popen(
                command,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                preexec_fn=_die_with_parent,  # only prctl, in the child after the fork
                **self._child_options(),  # type: ignore[arg-type]
            )
        finally:
            log.close()

    def _wait_ready(self, timeout: float) -> None:
        """Until postmaster.pid says "ready" (PostgreSQL writes its state on the 8th line)."""
        pid_file = self.data_dir / "postmaster.pid"
        deadline = time.monotonic() + timeout
        process = self.process
        assert process is not None
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise PostgresServerError(
                    f"postgres exited with status {process.returncode} while starting:\n"
                    + self.log_tail()
                )
            with contextlib.suppress(OSError):
                lines = pid_file.read_text().splitlines()
                if len(lines) >= 8 and lines[7].strip() == "ready":
                    return
            time.sleep(0.05)
        raise PostgresServerError(
            f"postgres was not ready within {timeout:.0f} s:\n" + self.log_tail()
        )

    def log_tail(self, lines: int = 15) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except (OSError, PostgresServerError):
            return "(no server log)"
        return "\n".join(text.splitlines()[-lines:])

    def stop(self, timeout: float = STOP_TIMEOUT_S) -> None:
        """Fast shutdown (SIGINT), then immediate (SIGQUIT), then SIGKILL, each after `timeout`;
        then the folder is removed (unless kept). Idempotent."""
        process, self.process = self.process, None
        if process is not None and process.poll() is None:
            for sig in (signal.SIGINT, signal.SIGQUIT, signal.SIGKILL):
                with contextlib.suppress(ProcessLookupError):
                    process.send_signal(sig)
                try:
                    process.wait(timeout)
                    break
                except subprocess.TimeoutExpired:
                    continue
        folder, self.folder = self.folder, None
        if folder is not None and self.keep is None:
            shutil.rmtree(folder, ignore_errors=True)

    def __enter__(self) -> PostgresServer:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


_database_numbers = itertools.count(1)


@contextlib.asynccontextmanager
async def fresh_database(server: PostgresServer) -> AsyncIterator[str]:
    """A new, empty database on `server` for one test (dropped after it): its DSN."""
    import asyncpg

    name = f"test_{os.getpid()}_{next(_database_numbers)}"
    admin = await asyncpg.connect(server.dsn())
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    try:
        yield server.dsn(name)
    finally:
        admin = await asyncpg.connect(server.dsn())
        try:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await admin.close()
