"""The shared gate for text and links leaving the bot (bot/text_safety.py), and the Discord
helpers built on it (masked links, `fit_embed`'s URLs): pure functions, no Discord needed."""

from __future__ import annotations

import re

import discord
from hypothesis import given
from hypothesis import strategies as st

from bot.discord_app.limits import LINK_URL_LIMIT, fit_content, fit_embed, masked_link
from bot.text_safety import URL_LIMIT, strip_controls, web_url

UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def test_ansi_sequences_go_whole_and_lone_controls_go_too() -> None:
    text = (
        "a\x1b[1;31mred\x1b[0m \x1b]0;title\x07b \x1b]8;;https://x\x1b\\c\x9b2J d\x00\x07\x7f\x85e"
    )
    assert strip_controls(text) == "ared b c de"


def test_bidi_overrides_and_isolates_go_line_breaks_and_tabs_stay() -> None:
    assert strip_controls("x\u202eevil\u202c \u2066y\u2069\tz\r\nw\rv") == "xevil y\tz\nwv"
    assert strip_controls("Zoë — “plain” text\n") == "Zoë — “plain” text\n"


@given(st.text(max_size=400))
def test_nothing_unsafe_survives(text: str) -> None:
    assert not UNSAFE.search(strip_controls(text))


PIECES = st.sampled_from(
    [
        "a",
        "Zoë",
        "\n",
        "\t",
        "\r\n",
        "\r",
        "\x1b[31m",
        "\x1b]0;t\x07",
        "\x9b2J",
        "\u202e",
        "\x00",
        " ",
    ]
)


@given(st.lists(PIECES | st.text(max_size=5), max_size=30).map("".join))
def test_the_quick_paths_give_what_the_substitutions_give(text: str) -> None:
    """strip_controls returns text untouched without substituting when nothing is to remove."""
    from bot.text_safety import _ANSI, _CONTROLS

    assert strip_controls(text) == _CONTROLS.sub("", _ANSI.sub("", text.replace("\r\n", "\n")))


def test_web_url_is_cached_and_still_checks_its_limit() -> None:
    url = "https://example.org/a b"
    assert web_url(url) == web_url(url) == "https://example.org/a%20b"
    assert web_url(url, limit=10) is None  # the limit is part of what is cached


def test_web_url_keeps_http_links_and_refuses_the_rest() -> None:
    assert web_url("https://example.org/a?b=1#c") == "https://example.org/a?b=1#c"
    assert web_url("HTTP://Example.ORG:8080/p") == "http://example.org:8080/p"
    for bad in (
        "javascript:alert(1)",
        "ftp://example.org/",
        "https:///x",
        "//example.org/x",
        "",
        None,
        "https://exa mple.org/",
        "https://example.org:99999/",
    ):
        assert web_url(bad) is None, bad


def test_web_url_encodes_what_could_end_a_link_and_drops_credentials() -> None:
    assert web_url('https://example.org/a b>c<d"e`f') == "https://example.org/a%20b%3Ec%3Cd%22e%60f"
    assert web_url("https://user:pw@example.org/x") == "https://example.org/x"
    assert web_url("https://bücher.example/ü") == "https://xn--bcher-kva.example/%C3%BC"


def test_web_url_drops_a_url_over_the_limit_instead_of_cutting_it() -> None:
    fits = "https://example.org/" + "a" * (URL_LIMIT - len("https://example.org/"))
    assert web_url(fits) == fits
    assert web_url(fits + "a") is None
    assert web_url("https://example.org/" + "a" * 1_000_000) is None  # bounded work


def test_a_label_cannot_close_or_open_a_link() -> None:
    link = masked_link("Title ](https://evil.example) [five", "https://ok.example/p")
    assert link == "[Title \\](https:\u200b//evil.example) \\[five](<https://ok.example/p>)"
    assert masked_link("A `title`", "javascript:alert(1)") == "A \\`title\\`"
    assert masked_link("T", "https://x.example/" + "a" * LINK_URL_LIMIT) == "T"
    assert masked_link("T", "https://x.example/a)b>c") == "[T](<https://x.example/a)b%3Ec>)"
    # A URL in the label is escaped too (safe() leaves URLs alone): its backtick would open a code
    # span that swallows the `](`; a line break would end the label's line.
    assert masked_link("see https://a.example/`x_y\nnext", "https://ok.example/") == (
        "[see https:\u200b//a.example/\\`x\\_y next](<https://ok.example/>)"
    )


def test_fit_embed_drops_urls_discord_would_refuse_and_strips_controls() -> None:
    embed = discord.Embed(
        title="t\x1b[31m\u202e", url="https://x.example/" + "a" * 2100, description="d\x00"
    )
    embed.set_author(name="a", url="ftp://x.example/", icon_url="https://x.example/i.png")
    embed.set_footer(text="f\r", icon_url="javascript:x")
    embed.set_thumbnail(url="data:image/png;base64,AAAA")
    embed.add_field(name="\x07", value="v\u2066")
    payload = fit_embed(embed).to_dict()
    assert payload["title"] == "t" and payload["description"] == "d" and "url" not in payload
    assert payload["author"] == {"name": "a", "icon_url": "https://x.example/i.png"}
    assert payload["footer"] == {"text": "f"} and "thumbnail" not in payload
    assert payload["fields"][0]["name"] == "\u200b" and payload["fields"][0]["value"] == "v"


def test_fit_content_is_clean_and_within_2000() -> None:
    assert (
        fit_content("ok\x1b[2J" + "x" * 3000).startswith("okx")
        and len(fit_content("x " * 3000)) <= 2000
    )
