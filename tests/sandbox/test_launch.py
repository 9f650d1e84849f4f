"""`corpus-bot sandbox` as a person starts it: a real process, from a fresh folder, twice in
a row, and left with Ctrl-C while it waits for a line."""

from __future__ import annotations

import json
import os
import pty
import queue
import re
import signal
import subprocess
import sys
import threading
import urllib.request
from pathlib import Path

from tests.conftest import BUNDLED_CORPUS, REPO

STARTUP_TIMEOUT = 90


def sandbox_command(*extra: str) -> list[str]:
    return [sys.executable, "-m", "bot", "--corpus", str(BUNDLED_CORPUS), "sandbox", *extra]


def environment() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DISCORD_", "CORPUS_BOT_"))}
    env["PYTHONPATH"] = str(REPO)
    return env


def corpus_listing() -> dict[str, int]:
    return {p.name: p.stat().st_mtime_ns for p in BUNDLED_CORPUS.iterdir()}


def test_the_sandbox_answers_twice_in_a_row_from_a_fresh_folder(tmp_path: Path) -> None:
    before = corpus_listing()
    outputs = []
    for _ in range(2):
        done = subprocess.run(
            sandbox_command(),
            cwd=tmp_path,
            env=environment(),
            input="/post post: meltdown\nquit\n",
            capture_output=True,
            text=True,
            timeout=STARTUP_TIMEOUT,
            check=False,
        )
        assert done.returncode == 0, done.stderr[-2000:]
        assert "Traceback" not in done.stderr and "Traceback" not in done.stdout
        assert "Race to Fix Meltdown and Spectre" in done.stdout, done.stdout[-2000:]
        assert "logging in" not in done.stderr + done.stdout, "the log goes to its file"
        assert "ready as corpus-bot" in (tmp_path / "data" / "sandbox.log").read_text("utf-8")
        outputs.append(done.stdout)
    copy = tmp_path / "data" / "sandbox-corpus"
    assert f"Corpus: copied to {copy}" in outputs[0]
    assert f"Corpus: the copy in {copy}" in outputs[1]
    assert sorted(p.name for p in copy.iterdir()) == sorted(before)
    assert corpus_listing() == before, "the repository's corpus/ is never written"


def test_ctrl_c_leaves_at_once_while_the_prompt_waits(tmp_path: Path) -> None:
    """At a terminal, the prompt waits in a read of the terminal; Ctrl-C used to leave that
    read blocked, and the process waited for Enter before it could exit."""
    for both_ends in (True, False):  # a terminal; or typed into, with the output piped on
        terminal, child_end = pty.openpty()
        process = subprocess.Popen(
            sandbox_command(),
            cwd=tmp_path,
            env=environment(),
            stdin=child_end,  # kept open: the prompt is waiting for a line
            stdout=child_end if both_ends else subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        os.close(child_end)
        source = terminal if both_ends else process.stdout.fileno()  # type: ignore[union-attr]
        chunks: queue.Queue[bytes] = queue.Queue()
        threading.Thread(target=_pump, args=(source, chunks), daemon=True).start()
        try:
            seen = b""
            while b"Type help for the commands" not in seen:
                seen += chunks.get(timeout=STARTUP_TIMEOUT)
            process.send_signal(signal.SIGINT)
            returncode = process.wait(timeout=30)
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
        while True:
            chunk = chunks.get(timeout=10)
            if not chunk:
                break
            seen += chunk
        os.close(terminal)
        stderr = process.stderr.read().decode() if process.stderr else ""
        assert returncode == 0, stderr[-2000:]
        assert "Traceback" not in stderr and "Fatal Python error" not in stderr, stderr[-2000:]
        assert b"Sandbox stopped." in seen, "the bot and the index were closed"


def _pump(fd: int, chunks: queue.Queue[bytes]) -> None:
    """Everything the process writes, then b"" at its end (a closed pty reads as EIO)."""
    while True:
        try:
            chunk = os.read(fd, 65536)
        except OSError:
            chunk = b""
        chunks.put(chunk)
        if not chunk:
            return


def test_web_prints_its_loopback_url_and_serves_the_page_there(tmp_path: Path) -> None:
    process = subprocess.Popen(
        sandbox_command("--web"),
        cwd=tmp_path,
        env=environment(),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    chunks: queue.Queue[bytes] = queue.Queue()
    threading.Thread(target=_pump, args=(process.stdout.fileno(), chunks), daemon=True).start()  # type: ignore[union-attr]
    try:
        seen = b""
        while not (found := re.search(rb"Open (http://127\.0\.0\.1:\d+/) in your browser", seen)):
            seen += chunks.get(timeout=STARTUP_TIMEOUT)
        with urllib.request.urlopen(found.group(1).decode(), timeout=30) as page:
            assert b'aria-label="Message"' in page.read()
        with urllib.request.urlopen(
            found.group(1).decode() + "sandbox/api/state", timeout=30
        ) as api:
            assert json.load(api)["title"] == "corpus-bot sandbox"
        process.send_signal(signal.SIGINT)
        returncode = process.wait(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    stderr = process.stderr.read().decode() if process.stderr else ""
    assert returncode == 0 and "Traceback" not in stderr, stderr[-2000:]


def test_the_launched_sandbox_runs_the_feed_and_prints_an_announcement(tmp_path: Path) -> None:
    """The whole path a person takes: subscribe by name, add a file to the sandbox's corpus
    copy, /reload; the bot's post in #announcements is printed without being asked for."""
    process = subprocess.Popen(
        sandbox_command(),
        cwd=tmp_path,
        env=environment(),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert process.stdin is not None and process.stdout is not None
    chunks: queue.Queue[bytes] = queue.Queue()
    threading.Thread(target=_pump, args=(process.stdout.fileno(), chunks), daemon=True).start()
    seen = b""

    def wait_for(text: bytes) -> None:
        nonlocal seen
        while text not in seen:
            seen += chunks.get(timeout=STARTUP_TIMEOUT)

    def type_line(line: str) -> None:
        assert process.stdin is not None
        process.stdin.write(line.encode() + b"\n")
        process.stdin.flush()

    try:
        wait_for(b"Type help for the commands")
        type_line("/subscribe channel: #announcements")
        wait_for(b"#announcements gets every new entry")
        copy = tmp_path / "data" / "sandbox-corpus"
        (copy / "12-zebras.md").write_text(
            "---\nid: zebra-post\ntitle: Zebras and Stripes\nauthors: [Zed Writer]\nkind: post\n"
            "excerpt: false\n---\nZebras have stripes. Nobody knows why.\n",
            encoding="utf-8",
        )
        type_line("/reload")
        wait_for(b"#announcements \xc2\xb7 corpus-bot:")
        wait_for(b"Zebras and Stripes")
        process.stdin.close()
        returncode = process.wait(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    stderr = process.stderr.read().decode() if process.stderr else ""
    assert returncode == 0 and "Traceback" not in stderr, stderr[-2000:]
    assert not (BUNDLED_CORPUS / "12-zebras.md").exists()


def test_what_stops_the_sandbox_from_starting_is_one_line(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the data folder should be", encoding="utf-8")
    cases = [
        (["--web", "--port", "70000"], {}, "corpus-bot sandbox: --port 70000: a port is a number"),
        (
            [],
            {"CORPUS_BOT_DATA_DIR": str(blocker)},
            f"corpus-bot sandbox: cannot prepare the sandbox in {blocker}",
        ),
    ]
    for extra, env, message in cases:
        done = subprocess.run(
            sandbox_command(*extra),
            cwd=tmp_path,
            env={**environment(), **env},
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=STARTUP_TIMEOUT,
            check=False,
        )
        assert done.returncode == 2, done.stderr[-2000:]
        assert message in done.stderr and "Traceback" not in done.stderr, done.stderr[-2000:]
