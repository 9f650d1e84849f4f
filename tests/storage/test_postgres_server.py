"""The test helper that runs a real PostgreSQL server (tests/postgres_server.py)."""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import asyncpg
import pytest

from tests import postgres_server
from tests.conftest import HANG_GUARD_SECONDS, REPO
from tests.postgres_server import (
    BIN_ENV,
    PostgresServer,
    PostgresServerError,
    find_binaries,
    missing_reason,
    server_account,
)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie (exited, not yet reaped by its parent) counts as gone.
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def _postmaster_pid(server: PostgresServer) -> int:
    return int((server.data_dir / "postmaster.pid").read_text().splitlines()[0])


async def test_the_session_server_answers_sql_on_its_socket_only(postgres_dsn: str) -> None:
    conn = await asyncpg.connect(postgres_dsn)
    try:
        assert int(await conn.fetchval("SHOW server_version_num")) >= 150000
        database = postgres_dsn.rsplit("/", 1)[1].split("?")[0]
        assert await conn.fetchval("SELECT current_database()") == database
        # Nothing listens on TCP: the socket in the server's own folder is the only way in.
        assert await conn.fetchval("SHOW listen_addresses") == ""
    finally:
        await conn.close()


def test_the_server_runs_as_an_unprivileged_account(postgres_server: PostgresServer) -> None:
    owner = postgres_server.data_dir.stat().st_uid
    status = Path(f"/proc/{_postmaster_pid(postgres_server)}/status").read_text()
    uid = os.geteuid()
    if uid == 0:
        account = server_account()
        assert account is not None and account.uid != 0
        uid = account.uid
    assert owner == uid
    assert f"Uid:\t{uid}\t{uid}\t" in status


async def test_each_test_gets_an_empty_database_of_its_own(postgres_dsn: str) -> None:
    conn = await asyncpg.connect(postgres_dsn)
    try:
        tables = await conn.fetchval(
            "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public'"
        )
        assert tables == 0
    finally:
        await conn.close()


def test_stop_ends_every_server_process_and_removes_the_folder() -> None:
    binaries = find_binaries()
    if binaries is None:
        pytest.skip(missing_reason())
    server = PostgresServer(binaries)
    server.start()
    folder = server.socket_dir
    pid = _postmaster_pid(server)
    assert _alive(pid)
    server.stop()
    server.stop()  # idempotent
    assert not _alive(pid)
    assert not folder.exists()


def test_a_failed_start_says_why_and_leaves_nothing_behind() -> None:
    binaries = find_binaries()
    if binaries is None:
        pytest.skip(missing_reason())
    parent = Path(tempfile.mkdtemp(prefix="corpus-bot-pg-parent-"))
    try:
        parent.chmod(0o755)  # the server's account must be able to enter it
        # A setting postgres refuses: it exits at once, and its log says which.
        server = PostgresServer(binaries, parent=parent, settings={"shared_buffers": "lots"})
        with pytest.raises(PostgresServerError, match="shared_buffers"):
            server.start()
        assert server.folder is None and server.process is None
        assert list(parent.iterdir()) == []
    finally:
        shutil.rmtree(parent, ignore_errors=True)


def test_a_killed_test_run_leaves_no_server_behind(tmp_path: Path) -> None:
    """The process that started the server dies by SIGKILL (no finally runs): the server's
    parent-death signal shuts it down."""
    if find_binaries() is None:
        pytest.skip(missing_reason())
    script = textwrap.dedent(
        """
        import sys, time
        from tests.postgres_server import PostgresServer, find_binaries
        server = PostgresServer(find_binaries())
        server.start()
        pid = open(server.data_dir / "postmaster.pid").read().split()[0]
        print(pid, server.socket_dir, flush=True)
        time.sleep(600)
        """
    )
    child = subprocess.Popen(
        [sys.executable, "-c", script], cwd=REPO, stdout=subprocess.PIPE, text=True
    )
    try:
        assert child.stdout is not None
        pid_text, folder = child.stdout.readline().split()
    finally:
        child.kill()
        child.wait()
    pid = int(pid_text)
    try:
        # Not a timing assertion: a bound after which a server still running counts as leaked.
        deadline = time.monotonic() + HANG_GUARD_SECONDS
        while _alive(pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not _alive(pid), "the server outlived the process that started it"
    finally:
        if _alive(pid):
            os.kill(pid, 9)
        shutil.rmtree(folder, ignore_errors=True)


def test_no_binaries_means_none_and_a_reason_naming_what_to_install(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(BIN_ENV, str(tmp_path))  # a folder without initdb
    assert find_binaries() is None
    assert BIN_ENV in missing_reason() and str(tmp_path) in missing_reason()
    monkeypatch.delenv(BIN_ENV)
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setattr(postgres_server, "DEBIAN_ROOT", tmp_path / "no-such-folder")
    assert find_binaries() is None
    assert "postgresql package" in missing_reason()


async def _fetchval(dsn: str, *statements: str) -> object:
    """Run `statements` on a connection of their own; the value of the last."""
    conn = await asyncpg.connect(dsn)
    try:
        for statement in statements[:-1]:
            await conn.execute(statement)
        return await conn.fetchval(statements[-1])
    finally:
        await conn.close()


def test_a_kept_cluster_outlives_stop_and_starts_again_without_initdb() -> None:
    binaries = find_binaries()
    if binaries is None:
        pytest.skip(missing_reason())
    parent = Path(tempfile.mkdtemp(prefix="corpus-bot-pg-parent-"))
    try:
        parent.chmod(0o755)
        kept = parent / "cluster"
        with PostgresServer(binaries, keep=kept) as first:
            made = asyncio.run(
                _fetchval(
                    first.dsn(),
                    "CREATE TABLE kept (n integer)",
                    "INSERT INTO kept VALUES (7)",
                    "SELECT n FROM kept",
                )
            )
            assert made == 7
        assert (kept / "data" / "PG_VERSION").is_file()
        with PostgresServer(binaries, keep=kept) as second:
            assert asyncio.run(_fetchval(second.dsn(), "SELECT n FROM kept")) == 7
    finally:
        shutil.rmtree(parent, ignore_errors=True)
