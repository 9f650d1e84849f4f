"""`corpus-bot feeds list|add|remove` through the CLI's entry point, against a loopback site
(the `site` fixture of tests/cli/conftest.py)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

Cli = Callable[..., tuple[int, str, str]]


def allow_private(tmp_path: Path) -> None:
    """The CLI reads ./config.yaml (the cli fixture runs in tmp_path): the site is loopback."""
    (tmp_path / "config.yaml").write_text("feed:\n  allow_private_addresses: true\n")


def test_add_list_remove(cli: Cli, site: str, tmp_path: Path) -> None:
    allow_private(tmp_path)
    code, out, err = cli("feeds", "add", site + "/", "--json")
    assert code == 0, err
    added = json.loads(out)["added"]
    assert added == {
        "name": "the-example-blog",
        "url": site + "/blog.xml",
        "first_fetch": {"outcome": "baseline", "error": None},
    }
    code, out, _ = cli("feeds", "list")
    assert code == 0 and f"the-example-blog  {site}/blog.xml  (added by cli)" in out
    listed = json.loads(cli("feeds", "list", "--json")[1])["sources"]
    assert [s["name"] for s in listed] == ["the-example-blog"]
    assert listed[0]["health"]["error_streak"] == 0 and listed[0]["health"]["entries"] == 1

    code, out, err = cli("feeds", "add", site + "/blog.xml", "--name", "again")
    assert code == 1 and "already followed as “the-example-blog”" in err

    code, out, _ = cli("feeds", "remove", "the-example-blog")
    assert code == 0 and "Stopped following the-example-blog." in out
    code, out, err = cli("feeds", "remove", "the-example-blog", "--json")
    assert code == 1 and json.loads(out)["error"]["kind"] == "refused"


def test_add_refuses_loopback_unless_the_config_allows_it(cli: Cli, site: str) -> None:
    code, out, err = cli("feeds", "add", site + "/", "--json")
    assert code == 1
    error = json.loads(out)["error"]
    assert error["kind"] == "not_found" and "loopback" in error["message"]
    assert "allow_private_addresses" in err and "Traceback" not in err
    assert json.loads(cli("feeds", "list", "--json")[1]) == {"sources": []}


def test_a_bad_name_is_one_line(cli: Cli, site: str, tmp_path: Path) -> None:
    allow_private(tmp_path)
    code, _, err = cli("feeds", "add", site + "/blog.xml", "--name", "Not OK")
    assert code == 1 and err.count("\n") == 1 and "not a source name" in err


def test_import_then_export(cli: Cli, tmp_path: Path) -> None:
    opml = tmp_path / "feeds.opml"
    opml.write_text(
        '<opml version="2.0"><body>'
        '<outline text="Blog" xmlUrl="https://blog.example/feed"/>'
        '<outline text="Blog again" xmlUrl="https://blog.example/feed"/>'
        '<outline text="Mail" xmlUrl="mailto:x@example.org"/>'
        "</body></opml>"
    )
    code, out, err = cli("feeds", "import", str(opml))
    assert code == 0, err
    assert "added https://blog.example/feed as blog" in out
    assert "skipped https://blog.example/feed: already followed as blog" in out
    assert "refused mailto:x@example.org: “mailto:x@example.org” is not an http(s) URL" in out
    assert "1 added, 1 skipped, 1 refused." in out
    code, out, _ = cli("feeds", "export")
    assert code == 0 and 'xmlUrl="https://blog.example/feed"' in out and out.startswith("<?xml")


@pytest.mark.parametrize(
    ("content", "said"),
    [
        (b'<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><opml/>', "DOCTYPE declaration"),
        (None, "is not a file"),
    ],
)
def test_a_bad_import_is_one_line(
    cli: Cli, tmp_path: Path, content: bytes | None, said: str
) -> None:
    opml = tmp_path / "bad.opml"
    if content is not None:
        opml.write_bytes(content)
    code, out, err = cli("feeds", "import", str(opml), "--json")
    assert code == 1 and err.count("\n") == 1 and said in err
    assert json.loads(out)["error"]["kind"] == "bad_input"
