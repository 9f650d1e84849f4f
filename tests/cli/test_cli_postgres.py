"""The command line with `storage: postgres`, as people run it on two machines: each
`corpus-bot` a process of its own, with its own folder (config.yaml, data dir, corpus folder),
on one real PostgreSQL database (CORPUS_BOT_DATABASE_URL).

`feeds …` reads and writes the feed's shared tables (a feed added on one machine is followed
everywhere), `index` publishes what it loaded, `ask` answers from a replica pulled from the
database (a fresh machine with an empty corpus folder answers from what another machine
indexed, and publishes nothing of its own), and a database that cannot be used is one line
naming the server, never the password, exit 3.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
from dataclasses import dataclass
from pathlib import Path

import asyncpg

from tests.conftest import HANG_GUARD_SECONDS, write_doc
from tests.storage.replicas import eventually

MELTDOWN = "lessons-from-meltdown-and-spectre"
CORPUS_DOCUMENTS = 11
SECRET = "pg-secret-pw"
UNREACHABLE = f"postgresql://bot:{SECRET}@/corpus?host=/nonexistent-corpus-bot-socket"
"""A database URL with a password, whose server does not exist (a Unix socket folder that is
not there: refused at once, no network)."""


@dataclass(frozen=True, slots=True)
class Machine:
    """One machine's corpus-bot: `home` holds its config.yaml (`storage: postgres`) and its data
    dir; `corpus` is its corpus folder; `database_url` the shared database."""

    home: Path
    corpus: Path
    database_url: str

    @classmethod
    def at(cls, home: Path, corpus: Path, database_url: str) -> Machine:
        home.mkdir(parents=True, exist_ok=True)
        corpus.mkdir(parents=True, exist_ok=True)
        (home / "config.yaml").write_text(
            "storage: postgres\nfeed:\n  allow_private_addresses: true  # the loopback site\n",
            encoding="utf-8",
        )
        return cls(home, corpus, database_url)

    async def run(self, *args: str) -> tuple[int, str, str]:
        """`corpus-bot --corpus CORPUS ARGS` in its own process: (exit status, stdout, stderr)."""
        process = await asyncio.create_subprocess_exec(
            *self.command(*args),
            cwd=self.home,
            env=self.environment(),
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        try:
            out, err = await asyncio.wait_for(process.communicate(), HANG_GUARD_SECONDS * 2)
        finally:
            if process.returncode is None:
                process.kill()
                await process.wait()
        assert process.returncode is not None
        return process.returncode, out.decode(errors="replace"), err.decode(errors="replace")

    def command(self, *args: str) -> list[str]:
        return [sys.executable, "-m", "bot", "--corpus", str(self.corpus), *args]

    def environment(self) -> dict[str, str]:
        return {
            **os.environ,
            "CORPUS_BOT_DATA_DIR": str(self.home / "data"),
            "CORPUS_BOT_DATABASE_URL": self.database_url,
        }


_WAITING_ON_A_LOCK = (
    "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
    "AND wait_event_type = 'Lock'"
)
"""The sessions of this test's database waiting for a lock another session holds."""


def _one_line(err: str) -> str:
    """The single `corpus-bot:` line a failure prints, checked to be the whole of stderr."""
    assert "Traceback" not in err, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("corpus-bot: "), err
    return lines[0]


def _revise_meltdown_title(corpus: Path) -> None:
    """Edit the meltdown post's title in a corpus folder: its title starts with "Revised "."""
    path = corpus / "01-lessons-from-meltdown-and-spectre.md"
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace("\ntitle: ", "\ntitle: Revised ", 1), encoding="utf-8")


async def _shared_corpus(dsn: str) -> dict[str, str]:
    """The corpus documents PostgreSQL holds: id -> title."""
    conn = await asyncpg.connect(dsn)
    try:
        rows = await conn.fetch("SELECT id, title FROM documents WHERE origin = 'corpus'")
    finally:
        await conn.close()
    return {row["id"]: row["title"] for row in rows}


async def test_a_feed_added_on_one_machine_is_listed_and_removed_on_another(
    postgres_dsn: str, tmp_path: Path, site: str
) -> None:
    a = Machine.at(tmp_path / "a", tmp_path / "a" / "corpus", postgres_dsn)
    b = Machine.at(tmp_path / "b", tmp_path / "b" / "corpus", postgres_dsn)

    code, out, err = await a.run("feeds", "add", site + "/", "--json")
    assert code == 0, err
    assert json.loads(out)["added"]["name"] == "the-example-blog"

    code, out, err = await b.run("feeds", "list", "--json")
    assert code == 0, err
    (listed,) = json.loads(out)["sources"]
    assert (listed["name"], listed["url"], listed["added_by"]) == (
        "the-example-blog",
        site + "/blog.xml",
        "cli",
    )
    assert listed["health"]["entries"] == 1, "A's first fetch is recorded for every machine"
    code, out, err = await b.run("feeds", "export")
    assert code == 0 and f'xmlUrl="{site}/blog.xml"' in out, err

    code, out, err = await b.run("feeds", "remove", "the-example-blog")
    assert code == 0 and "Stopped following the-example-blog." in out, err
    code, out, err = await a.run("feeds", "list")
    assert code == 0 and "No feed is followed" in out, err
    assert not (a.home / "data" / "corpus.db").exists()


async def test_index_on_one_machine_answers_on_a_fresh_one_with_an_empty_folder(
    postgres_dsn: str, tmp_path: Path, corpus_dir: Path
) -> None:
    a = Machine.at(tmp_path / "a", corpus_dir, postgres_dsn)
    b = Machine.at(tmp_path / "b", tmp_path / "b" / "empty-corpus", postgres_dsn)

    code, out, err = await a.run("index")
    assert code == 0, err
    assert f"{CORPUS_DOCUMENTS} added" in out
    assert "Published to the shared database" in out
    assert len(await _shared_corpus(postgres_dsn)) == CORPUS_DOCUMENTS

    code, out, err = await b.run("ask", "post", "meltdown", "--json")
    assert code == 0, err
    assert json.loads(out)["document"]["id"] == MELTDOWN
    code, out, err = await b.run("ask", "search", "facial recognition", "--json")
    assert code == 0 and json.loads(out)["hits"], err
    # Answering read B's empty folder into nothing: what A published is still everyone's.
    assert len(await _shared_corpus(postgres_dsn)) == CORPUS_DOCUMENTS

    # A changes a post and indexes again: B's next answer pulls the new version.
    _revise_meltdown_title(corpus_dir)
    write_doc(
        corpus_dir,
        "zz-new-post.md",
        front="id: zz-new-post\ntitle: A post written on machine A\nauthors: [Ada Writer]\n"
        "published: 2024-01-02\nurl: https://example.org/zz-new-post\nkind: post\nexcerpt: false",
        body="Archives and curators agree on one thing.",
    )
    code, out, err = await a.run("index")
    assert code == 0 and "1 added, 1 changed" in out, err
    code, out, err = await b.run("ask", "post", "meltdown", "--json")
    assert code == 0, err
    assert json.loads(out)["document"]["title"].startswith("Revised ")
    code, out, err = await b.run("ask", "post", "zz-new-post")
    assert code == 0 and "A post written on machine A" in out, err


async def test_a_database_out_of_reach_is_one_line_naming_the_server_and_exit_3(
    tmp_path: Path, corpus_dir: Path
) -> None:
    machine = Machine.at(tmp_path / "m", corpus_dir, UNREACHABLE)
    for command in (
        ("ask", "post", "meltdown"),
        ("index",),
        ("feeds", "list"),
        ("feeds", "add", "https://example.org/feed.xml"),
    ):
        code, out, err = await machine.run(*command)
        assert code == 3, (command, out, err)
        line = _one_line(err)
        assert line.startswith(
            "corpus-bot: the database at /nonexistent-corpus-bot-socket/corpus cannot be used"
        ), line
        assert SECRET not in out + err
    code, out, err = await machine.run("ask", "post", "meltdown", "--json")
    assert code == 3 and json.loads(out)["error"]["kind"] == "storage"
    assert SECRET not in out + err


async def test_a_publish_the_database_cuts_short_is_one_line_and_exit_3(
    postgres_dsn: str, tmp_path: Path, corpus_dir: Path
) -> None:
    a = Machine.at(tmp_path / "a", corpus_dir, postgres_dsn)
    code, _, err = await a.run("index")
    assert code == 0, err
    before = await _shared_corpus(postgres_dsn)
    _revise_meltdown_title(corpus_dir)
    # Another session holds the row the publish must update; once the publish waits on it, its
    # session is ended, as a server restart or an operator would end it. (Watched from a third
    # session: one inside a transaction sees pg_stat_activity as it was at its first look.)
    blocker = await asyncpg.connect(postgres_dsn)
    watcher = await asyncpg.connect(postgres_dsn)
    held = blocker.transaction()
    await held.start()
    await blocker.execute("SELECT 1 FROM documents WHERE id = $1 FOR UPDATE", MELTDOWN)
    try:
        index = asyncio.create_task(a.run("index"))

        async def publisher_waits() -> bool:
            return bool(await watcher.fetch(_WAITING_ON_A_LOCK))

        await eventually(publisher_waits)
        (publisher,) = await watcher.fetch(_WAITING_ON_A_LOCK)
        assert await watcher.fetchval("SELECT pg_terminate_backend($1)", publisher["pid"])
        code, out, err = await index
    finally:
        await held.rollback()
        await blocker.close()
        await watcher.close()
    assert code == 3, (out, err)
    line = _one_line(err)
    assert line.startswith("corpus-bot: the database at "), line
    assert "CORPUS_BOT_DATABASE_URL" in line
    assert await _shared_corpus(postgres_dsn) == before, "the publish was all or nothing"

    code, _, err = await a.run("index")  # the next index publishes what the last could not
    assert code == 0, err
    assert (await _shared_corpus(postgres_dsn))[MELTDOWN].startswith("Revised ")
