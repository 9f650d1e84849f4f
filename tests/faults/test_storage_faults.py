"""Storage faults as a user meets them: a damaged index, one locked by another process, a full
disk. Each is one line on stderr naming the file and what to do, with exit status 3, never a
traceback; when only writing fails, `ask` still answers from the index as it is.

The faults are real (see tests/storage_faults.py): SQLite reports each with its own result code.
"""

from __future__ import annotations

import json
import os
import resource
import shutil
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from bot.corpus.errors import StorageFault
from bot.corpus.service import CorpusService, ServiceSettings
from tests.conftest import REPO, write_doc
from tests.storage_faults import (
    corrupt_index,
    disk_full,
    disk_full_on_open,
    run_bot_process,
    short_busy_timeout,
    write_lock_held,
)

NEW = "id: fresh-post\ntitle: A Fresh Post About Zebras\nauthors: [Zed Writer]\nkind: post\nexcerpt: false"


def one_line(err: str) -> str:
    assert "Traceback" not in err
    assert err.count("\n") == 1, err
    return err


@pytest.mark.parametrize("how", ["garbage", "truncated"])
@pytest.mark.parametrize(
    "command", [("ask", "post", "meltdown"), ("index",), ("ask", "authors", "--json")]
)
def test_damaged_index_is_named_with_how_to_rebuild_it(
    cli, tmp_path: Path, how: str, command: tuple[str, ...]
) -> None:
    assert cli("index")[0] == 0
    corrupt_index(tmp_path / "i.db", how)
    code, out, err = cli(*command)
    assert code == 3
    line = one_line(err)
    if "--json" in command:
        assert json.loads(out)["error"] == {
            "kind": "storage",
            "message": line[len("corpus-bot: ") : -1],
            "candidates": [],
        }
    else:
        assert out == ""
    assert f"{tmp_path / 'i.db'} is not a valid index (" in line
    assert "move it aside and run `corpus-bot index` to rebuild it" in line


def test_check_does_not_need_the_index(cli, tmp_path: Path) -> None:
    """`check` validates the config and the corpus files: a damaged index is not its business."""
    assert cli("index")[0] == 0
    corrupt_index(tmp_path / "i.db", "garbage")
    code, out, err = cli("check")
    assert code == 0 and out.startswith("OK: config and corpus") and err == ""
    assert (tmp_path / "i.db").read_bytes().startswith(b"these bytes are not")


def test_locked_index_cannot_be_updated_but_still_answers(
    cli,
    tmp_path: Path,
    corpus_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert cli("index")[0] == 0
    write_doc(corpus_dir, "12-fresh.md", front=NEW, body="Zebras have stripes.")
    short_busy_timeout(monkeypatch, 100)
    with write_lock_held(tmp_path / "i.db"):
        code, out, err = cli("index")
        assert code == 3 and out == ""
        assert "is locked by another process (database is locked after waiting 0.1 s)" in one_line(
            err
        )
        assert str(tmp_path / "i.db") in err and "another corpus-bot?" in err
        code, out, err = cli("ask", "post", "meltdown")
    assert code == 0 and "Jasmine Wang" in out
    assert one_line(err).startswith("corpus-bot: warning: the index was not updated: ")
    assert cli("index")[0] == 0  # the lock is gone: the update goes through
    assert "Zebras" in cli("ask", "post", "fresh-post")[1]


def test_full_disk_index_fails_and_ask_answers_from_the_index(
    cli,
    corpus_dir: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert cli("index")[0] == 0
    write_doc(corpus_dir, "12-fresh.md", front=NEW, body="Zebras have stripes. " * 2000)
    disk_full_on_open(monkeypatch)
    code, out, err = cli("index")
    assert code == 3 and out == ""
    assert one_line(err) == (
        f"corpus-bot: no space left on the disk to write {tmp_path / 'i.db'} (database or disk is full): "
        "free some disk space, then try again\n"
    )
    for question in (
        ("post", "meltdown"),
        ("summarize", "access-now-resigns-from-pai", "--sentences", "10"),
    ):
        code, out, err = cli("ask", *question)
        assert code == 0 and ("Access Now" in out or "Jasmine Wang" in out)
        assert (
            "no space left on the disk" in one_line(err)
            and "warning: the index was not updated" in err
        )
    code, _, err = cli("ask", "post", "fresh-post")
    assert code == 1 and "No post matches" in err.splitlines()[-1]


async def test_a_summary_is_answered_when_its_cache_cannot_be_written(
    service: CorpusService, corpus_dir: Path
) -> None:
    """The summary cache is a write made while answering a read: with the disk full it is skipped
    (a summary of 40 KB needs new pages, so SQLite refuses it for real), never an error; a reload,
    which must write, says the disk is full and changes nothing."""
    await disk_full(service.store)
    await service.store.cache_summary(
        "d" * 64, "big", ["A sentence that is long enough. " * 40] * 32
    )
    assert await service.store.cached_summary("d" * 64, "big") is None
    summary = await service.summarize("access-now-resigns-from-pai", sentences=10)
    assert len(summary.sentences) == 10
    write_doc(corpus_dir, "12-fresh.md", front=NEW, body="Zebras have stripes. " * 2000)
    with pytest.raises(StorageFault) as caught:
        await service.reload()
    assert caught.value.problem == "full"
    assert (await service.stats()).documents == 11


def _cli_process(
    args: list[str],
    tmp_path: Path,
    *,
    file_size_limit: int | None = None,
    env: dict[str, str] | None = None,
) -> subprocess.CompletedProcess[str]:
    def limit_file_size() -> None:  # in the child: writes past the limit fail with EFBIG
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        assert file_size_limit is not None
        resource.setrlimit(resource.RLIMIT_FSIZE, (file_size_limit, file_size_limit))

    full_env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1", **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        cwd=tmp_path,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        preexec_fn=limit_file_size if file_size_limit is not None else None,
    )


def test_nothing_can_be_written_and_ask_still_answers(tmp_path: Path, corpus_dir: Path) -> None:
    """No write at all succeeds (a file-size limit of 0 bytes: the kernel refuses every write that
    would put a byte in a file, as a full disk does), so SQLite cannot even create the `-shm`
    file WAL readers need. The index was closed cleanly, as after any command; `ask` opens it
    read-only in exclusive locking mode and answers; `index` and `run` say it cannot be written."""
    db = tmp_path / "i.db"
    built = _cli_process(["--corpus", str(corpus_dir), "--db", str(db), "index"], tmp_path)
    assert built.returncode == 0, built.stderr
    assert not (tmp_path / "i.db-shm").exists()
    asked = _cli_process(
        ["--corpus", str(corpus_dir), "--db", str(db), "ask", "post", "meltdown"],
        tmp_path,
        file_size_limit=0,
    )
    assert asked.returncode == 0, asked.stderr
    assert "Jasmine Wang" in asked.stdout
    assert one_line(asked.stderr).startswith(
        f"corpus-bot: warning: the index was not updated: {db} cannot be written ("
    )
    indexed = _cli_process(
        ["--corpus", str(corpus_dir), "--db", str(db), "index"], tmp_path, file_size_limit=0
    )
    assert indexed.returncode == 3
    assert one_line(indexed.stderr).startswith(f"corpus-bot: {db} cannot be written (")
    ran = _cli_process(
        ["--corpus", str(corpus_dir), "--db", str(db), "run"],
        tmp_path,
        file_size_limit=0,
        env={"DISCORD_TOKEN": "never-used", "DISCORD_API_BASE": "http://127.0.0.1:9/api/v10"},
    )
    assert ran.returncode == 3 and "Traceback" not in ran.stderr
    assert ran.stderr.splitlines()[-1].startswith(f"corpus-bot: {db} cannot be written (")


@pytest.fixture
def tiny_tmpfs(tmp_path: Path) -> Path:
    """A real 2 MB filesystem (tmpfs), when the tests may mount one (root, a `mount` command)."""
    mount_point = tmp_path / "tmpfs"
    mount_point.mkdir()
    if os.geteuid() != 0 or shutil.which("mount") is None:
        pytest.skip("mounting a small filesystem needs root")
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(mount_point)],
        capture_output=True,
        check=False,
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.decode(errors='replace').strip()}")
    try:
        yield mount_point
    finally:
        subprocess.run(["umount", "-l", str(mount_point)], capture_output=True, check=False)


def test_really_full_disk(tiny_tmpfs: Path, tmp_path: Path, corpus_dir: Path) -> None:
    """The real thing: the index on a filesystem with no free block left."""
    db = tiny_tmpfs / "i.db"
    assert (
        _cli_process(["--corpus", str(corpus_dir), "--db", str(db), "index"], tmp_path).returncode
        == 0
    )
    with (tiny_tmpfs / "filler").open("wb") as filler, pytest.raises(OSError):
        while True:
            filler.write(b"\0" * 65536)
            filler.flush()
    asked = _cli_process(
        ["--corpus", str(corpus_dir), "--db", str(db), "ask", "post", "meltdown"], tmp_path
    )
    assert asked.returncode == 0 and "Jasmine Wang" in asked.stdout, asked.stderr
    assert (
        f"warning: the index was not updated: no space left on the disk to write {db}"
        in one_line(asked.stderr)
    )
    write_doc(corpus_dir, "12-fresh.md", front=NEW)
    indexed = _cli_process(["--corpus", str(corpus_dir), "--db", str(db), "index"], tmp_path)
    assert indexed.returncode == 3
    assert one_line(indexed.stderr).startswith(
        f"corpus-bot: no space left on the disk to write {db}"
    )


def test_run_with_a_damaged_index_says_so_in_one_line(tmp_path: Path, corpus_dir: Path) -> None:
    db = tmp_path / "i.db"
    corrupt_index(db, "garbage")
    result = run_bot_process(db, corpus_dir, REPO)
    assert result.returncode == 3
    assert "Traceback" not in result.stderr
    assert result.stderr.splitlines()[-1] == (
        f"corpus-bot: {db} is not a valid index (file is not a database): "
        "move it aside and run `corpus-bot index` to rebuild it"
    )


async def test_a_new_index_where_its_folder_cannot_be_made(
    tmp_path: Path, corpus_dir: Path
) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the data folder should be", encoding="utf-8")
    settings = ServiceSettings(db_path=blocker / "data" / "i.db", corpus_dir=corpus_dir)
    with pytest.raises(StorageFault) as caught:
        await CorpusService.open(settings)
    assert (
        caught.value.problem == "unopenable"
        and str(blocker / "data" / "i.db") in caught.value.message
    )


def test_an_index_path_that_is_a_folder(tmp_path: Path, corpus_dir: Path) -> None:
    """SQLite cannot open it; aiosqlite's worker thread then used to outlive the event loop and
    print "Exception in thread" with two tracebacks after the message."""
    result = _cli_process(
        ["--corpus", str(corpus_dir), "--db", str(tmp_path), "ask", "post", "meltdown"], tmp_path
    )
    assert result.returncode == 3
    assert one_line(result.stderr) == (
        f"corpus-bot: {tmp_path} cannot be opened (unable to open database file): it must be a file "
        "(or not exist yet) in a folder that exists and can be written (--db, or data_dir in the config)\n"
    )


async def test_errors_that_are_not_the_files_fault_pass_through_unchanged(
    service: CorpusService,
) -> None:
    """A constraint broken by a statement is a bug or a case its caller handles, not a fault of
    the file: it stays sqlite3's own error, with no cause chained to it."""
    with pytest.raises(sqlite3.IntegrityError) as caught:
        async with service.store.transaction() as writer:
            await writer.execute("INSERT INTO meta (key, value) VALUES ('k', NULL)")
    assert caught.value.__cause__ is None


@pytest.mark.parametrize(
    ("code", "problem"),
    [
        (11, "corrupt"),  # SQLITE_CORRUPT
        (26, "corrupt"),  # SQLITE_NOTADB
        (266, "corrupt"),  # SQLITE_IOERR_READ: a page that cannot be read
        (522, "corrupt"),  # SQLITE_IOERR_SHORT_READ: a file cut short
        (5, "locked"),  # SQLITE_BUSY
        (13, "full"),  # SQLITE_FULL
        (778, "unwritable"),  # SQLITE_IOERR_WRITE on a disk with room
        (8, "unwritable"),  # SQLITE_READONLY
        (14, "unopenable"),  # SQLITE_CANTOPEN
    ],
)
def test_sqlite_result_codes_map_to_storage_problems(
    tmp_path: Path, code: int, problem: str
) -> None:
    """Below the real faults above: every code the mapping knows (set by hand on an error)."""
    from bot.corpus.errors import storage_fault

    error = sqlite3.OperationalError("some SQLite message")
    error.sqlite_errorcode = code  # type: ignore[attr-defined]
    fault = storage_fault(error, tmp_path / "i.db")
    assert fault is not None and fault.problem == problem
    assert str(tmp_path / "i.db") in fault.message and "some SQLite message" in fault.message
    constraint = sqlite3.IntegrityError("NOT NULL constraint failed")
    constraint.sqlite_errorcode = 1299  # type: ignore[attr-defined]
    assert storage_fault(constraint, tmp_path / "i.db") is None
