"""Shared fixtures: real SQLite files in temporary folders, a copy of the bundled corpus."""

from __future__ import annotations

import asyncio
import os
import shutil
import threading
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import TypeVar

import pytest

from bot.corpus.service import CorpusService, ServiceSettings
from tests.postgres_server import PostgresServer, find_binaries, fresh_database, missing_reason

T = TypeVar("T")
REPO = Path(__file__).resolve().parent.parent
BUNDLED_CORPUS = REPO / "corpus"
SHARED_DIR = Path(os.environ.get("CORPUS_BOT_SHARED_DIR") or REPO.parent / "shared")
"""The team's reference material beside the checkout (../shared: the seed texts the corpus
bodies were copied from). A clone does not have it: tests that read it skip, the rest of the
suite runs. CORPUS_BOT_SHARED_DIR points elsewhere; a folder that does not exist runs the suite
as a clone would."""


def shared_file(*parts: str) -> Path:
    """A file of SHARED_DIR, or a skip of the calling test when it is absent."""
    path = SHARED_DIR.joinpath(*parts)
    if not path.is_file():
        pytest.skip(f"{path} is not here (the team's ../shared folder is not beside this checkout)")
    return path


@pytest.fixture
def corpus_dir(tmp_path: Path) -> Path:
    """A private copy of the bundled corpus that a test may edit."""
    target = tmp_path / "corpus"
    shutil.copytree(BUNDLED_CORPUS, target)
    return target


@pytest.fixture
def settings(tmp_path: Path, corpus_dir: Path) -> ServiceSettings:
    return ServiceSettings(db_path=tmp_path / "data" / "corpus.db", corpus_dir=corpus_dir)


STORAGES = pytest.mark.both_storages
"""Put on a module (``pytestmark = STORAGES``) to run each of its tests that takes `service` with
the service as `storage: sqlite` opens it and as `storage: postgres` does (issue #14: one suite
for both backends); its other tests run once."""


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "both_storages: tests taking `service` run on sqlite and on postgres"
    )


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if metafunc.definition.get_closest_marker("both_storages") and (
        "storage" in metafunc.fixturenames
    ):
        metafunc.parametrize("storage", ["sqlite", "postgres"], indirect=True)


@pytest.fixture
def storage(request: pytest.FixtureRequest) -> tuple[str, str | None]:
    """The backend `service` runs on, and PostgreSQL's DSN for it: sqlite unless a module asks
    for both (STORAGES). A plain fixture: an async one cannot ask for another fixture while the
    event loop runs it."""
    name = getattr(request, "param", "sqlite")
    if name == "postgres":
        return name, request.getfixturevalue("postgres_dsn")
    return name, None


@pytest.fixture
async def service(
    settings: ServiceSettings, storage: tuple[str, str | None]
) -> AsyncIterator[CorpusService]:
    """The core service over a freshly built index of the bundled corpus.

    With postgres it is what `storage: postgres` runs (bot/composition.py): the index is a
    replica of a real PostgreSQL database, every reload publishes the folder there, and after
    the test the database must hold exactly the corpus documents the replica holds."""
    name, dsn = storage
    if dsn is None:
        svc = await CorpusService.open(settings)
        await svc.reload()
        try:
            yield svc
        finally:
            await svc.close()
        return
    from tests.shared_storage import replica_service  # asyncpg: only where PostgreSQL runs

    async with replica_service(settings, dsn) as svc:
        yield svc


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """A real PostgreSQL server for the session (tests/postgres_server.py); skips without one."""
    binaries = find_binaries()
    if binaries is None:
        pytest.skip(missing_reason())
    with PostgresServer(binaries) as server:
        yield server


@pytest.fixture
async def postgres_dsn(postgres_server: PostgresServer) -> AsyncIterator[str]:
    """The DSN of a new, empty database on the session's PostgreSQL server, dropped after."""
    async with fresh_database(postgres_server) as dsn:
        yield dsn


@pytest.fixture
def cli(
    tmp_path: Path,
    corpus_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> Callable[..., tuple[int, str, str]]:
    """`corpus-bot` run in this process over a copy of the corpus and the index `tmp_path/i.db`:
    `cli("ask", "post", "x")` -> (exit status, stdout, stderr)."""
    monkeypatch.chdir(tmp_path)  # no ./config.yaml here: defaults apply

    def run(*args: str) -> tuple[int, str, str]:
        from bot.cli import main

        code = main(["--corpus", str(corpus_dir), "--db", str(tmp_path / "i.db"), *args])
        out, err = capsys.readouterr()
        return code, out, err

    return run


def write_doc(folder: Path, name: str, *, front: str, body: str = "Some body text.") -> Path:
    """Write a corpus file from front-matter lines and a body."""
    path = folder / name
    path.write_text(f"---\n{front.strip()}\n---\n{body}\n", encoding="utf-8")
    return path


HANG_GUARD_SECONDS = 30.0
"""Not a timing assertion: a bound after which a read that never returns counts as a hang."""
EVENTUALLY_LOOK_SECONDS = 0.02


async def eventually(condition: Callable[[], object], describe: str) -> None:
    """Wait until `condition()` is truthy, looking every EVENTUALLY_LOOK_SECONDS, for state
    nothing signals (a loop task running, a request a test server logged); fails as a hang
    after HANG_GUARD_SECONDS. The emulator's `wait_for` looks only when Discord traffic happens."""
    async with asyncio.timeout(HANG_GUARD_SECONDS):
        while not condition():  # noqa: ASYNC110 - no event to wait on: the state is polled
            await asyncio.sleep(EVENTUALLY_LOOK_SECONDS)
    assert condition(), describe


def billion_laughs() -> str:
    """Nine levels of nine aliases: 500 bytes of YAML, 9^9 strings once expanded."""
    lines = ['a: &a ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for previous, name in zip("abcdefgh", "bcdefghi", strict=True):
        lines.append(f"{name}: &{name} [" + ", ".join([f"*{previous}"] * 9) + "]")
    return "\n".join(lines)


def finishes(work: Callable[[], T]) -> T:
    """Run `work` in a thread; fail (instead of hanging the suite) when it never returns."""
    result: list[T] = []
    errors: list[BaseException] = []

    def run() -> None:
        try:
            result.append(work())
        except BaseException as exc:  # noqa: BLE001 - handed to the test
            errors.append(exc)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(HANG_GUARD_SECONDS)
    assert not thread.is_alive(), "the read never returned (it blocks on the file)"
    if errors:
        raise errors[0]
    return result[0]


def release_fifo(fifo: Path) -> None:
    """Let a reader stuck opening the FIFO (the code before the fix) go: open it for writing
    and close it, so its open returns and its read sees the end."""
    try:
        os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))
    except OSError:
        pass  # ENXIO: nobody is waiting on it
