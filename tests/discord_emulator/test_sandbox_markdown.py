"""Discord markdown as the sandbox parses it for both front ends: what each construct becomes,
and (property) that no input breaks the parser or yields a link that is not http(s)."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from discord_emulator.markdown import (
    MAX_DEPTH,
    Names,
    parse_blocks,
    parse_inline,
    plain_text,
    safe_href,
)


def test_inline_constructs() -> None:
    names = Names(user=lambda uid: "alice" if uid == 1 else None, channel=lambda cid: "general")
    assert parse_inline("**b** *i* __u__ ~~s~~ ||x|| `c*d`", names) == [
        {"t": "b", "c": ["b"]},
        " ",
        {"t": "i", "c": ["i"]},
        " ",
        {"t": "u", "c": ["u"]},
        " ",
        {"t": "s", "c": ["s"]},
        " ",
        {"t": "spoiler", "c": ["x"]},
        " ",
        {"t": "code", "text": "c*d"},
    ]
    assert parse_inline("<@1> <@2> <#3> <t:60:R>", names) == [
        {"t": "mention", "text": "@alice"},
        " ",
        {"t": "mention", "text": "@2"},
        " ",
        {"t": "mention", "text": "#general"},
        " ",
        {"t": "time", "epoch": 60, "style": "R"},
    ]
    assert parse_inline(r"\*not italic\* \_nor\_ \\") == ["*not italic* _nor_ \\"]


def test_links_only_to_the_web() -> None:
    assert parse_inline("[docs](https://example.org/a?b=1)") == [
        {"t": "link", "href": "https://example.org/a?b=1", "c": ["docs"]}
    ]
    assert parse_inline("[x](javascript:alert(1))") == [
        {"t": "span", "c": ["[x](javascript:alert(1)"]},
        ")",
    ]
    assert parse_inline(r"[A \[draft\]](<https://example.org/a>)") == [  # as the bot writes them
        {"t": "link", "href": "https://example.org/a", "c": ["A [draft]"]}
    ]
    assert parse_inline("[x](<javascript:alert(1)>)") == [
        {"t": "span", "c": ["[x](<javascript:alert(1)>)"]}
    ]
    assert parse_inline("see https://example.org/x.") == [
        "see ",
        {"t": "link", "href": "https://example.org/x", "c": ["https://example.org/x"]},
        ".",
    ]
    assert safe_href("HTTPS://EXAMPLE.ORG") == "HTTPS://EXAMPLE.ORG"
    assert safe_href(" data:text/html,x") is None and safe_href("//evil.example") is None
    assert safe_href("https://example.org/" + "a" * 2048) is None


def test_blocks() -> None:
    blocks = parse_blocks("# Title\n> quoted\n-# small\n- item\n```py\ncode **here**\n```\nend")
    assert [b["t"] for b in blocks] == ["h1", "quote", "subtext", "item", "codeblock", "line"]
    assert blocks[4] == {"t": "codeblock", "lang": "py", "text": "code **here**"}


def _links(nodes: list[Any]) -> list[str]:
    out = []
    for node in nodes:
        if isinstance(node, dict):
            if node.get("t") == "link":
                out.append(node["href"])
            out.extend(_links(node.get("c") or []))
    return out


@settings(max_examples=300, deadline=None)
@given(
    st.text(
        alphabet=st.sampled_from(list("*_~|`[]()<>:#@&\\-> \nahttps:/tjavscrip0123")), max_size=200
    )
)
def test_any_text_parses_and_links_stay_on_the_web(text: str) -> None:
    for block in parse_blocks(text):
        if block["t"] != "codeblock":
            plain_text(block["c"])
            assert all(h.lower().startswith(("http://", "https://")) for h in _links(block["c"]))


def test_nesting_is_bounded() -> None:
    deep = "**" * (MAX_DEPTH * 4) + "x" + "**" * (MAX_DEPTH * 4)
    assert "x" in plain_text(parse_inline(deep))


def test_the_longest_description_of_markup_characters_parses() -> None:
    """4,096 characters (an embed description's limit) of each construct's opening: the
    parser's patterns end at their first closing, so none of these take long."""
    for unit in ("*", "`", "``a`", "[", "[a](", "_a ", "||", "~~a", "<t:", "> ", "```\n"):
        text = (unit * (4096 // len(unit)))[:4096]
        assert plain_text([n for b in parse_blocks(text) for n in b.get("c", [])]) is not None
