"""html_to_text: readable blocks out, invisible content dropped, never an exception."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.feeds.html_text import collapse_whitespace, html_to_text


@pytest.mark.parametrize(
    ("html", "expected"),
    [
        ("<p>One</p><p>Two</p>", "One\n\nTwo"),
        ("<h2>Title</h2>Body text", "Title\n\nBody text"),
        ("line one<br>line two<br/>line three", "line one\nline two\nline three"),
        ("a<br><br><br><br>b", "a\n\nb"),
        ("<ul><li>x</li><li>y</li></ul>", "- x\n- y"),
        ('<ol start="3"><li>c</li><li>d</li></ol>', "3. c\n4. d"),
        ("<div><div><p>deep</p></div></div><p>next</p>", "deep\n\nnext"),
        ("<p>  lots   of\n\t space  </p>", "lots of space"),
        ("<p>a <b> b </b> c</p>", "a b c"),
        ("Tom &amp; Jerry &lt;3 &#169; &eacute; &bogus;", "Tom & Jerry <3 © é &bogus;"),
        ("x&nbsp;y", "x y"),
        ("<pre>  indented\n    code</pre>", "indented\n    code"),
        (
            "<table><tr><td>1</td><td>2</td></tr><tr><td>3</td><td>4</td></tr></table>",
            "1 | 2\n3 | 4",
        ),
        ("<p>before</p><hr><p>after</p>", "before\n\nafter"),
        ("", ""),
        ("plain text, no tags", "plain text, no tags"),
    ],
)
def test_structure_becomes_line_breaks(html: str, expected: str) -> None:
    assert html_to_text(html) == expected


@pytest.mark.parametrize(
    "html",
    [
        "<p>keep</p><script>var secret = 1;</script>",
        "<p>keep</p><style>p { color: red }</style>",
        '<p>keep</p><iframe src="https://evil.example/">frame text</iframe>',
        "<p>keep</p><noscript>enable js</noscript><template><p>tpl</p></template>",
        "<head><title>page title</title></head><p>keep</p>",
        "<p>keep</p><svg><text>drawn</text></svg>",
        "<p>keep<script>never closed",
    ],
)
def test_invisible_content_is_dropped(html: str) -> None:
    assert html_to_text(html) == "keep"


@pytest.mark.parametrize(
    "html",
    [
        "<p>unclosed <b>bold <i>italic",
        "</p></div></li>stray end tags",
        "<![if !supportLists]>word<![endif]>",
        "<!-- unterminated comment",
        "<a href='x' <b>broken attr</a>",
        "<![CDATA[ raw ]]> after",
        "<!DOCTYPE html><html><body>ok</body></html>",
        "&#x110000; &#0; &#xD800; bad refs",
        "<" * 50 + ">" * 50,
    ],
)
def test_broken_markup_never_raises(html: str) -> None:
    assert isinstance(html_to_text(html), str)


def test_max_chars_caps_the_output() -> None:
    html = "<p>" + "word " * 10_000 + "</p>"

    text = html_to_text(html, max_chars=100)

    assert len(text) <= 100
    assert text.startswith("word word")


def test_collapse_whitespace() -> None:
    assert collapse_whitespace("  a \u00a0\n b\t") == "a b"


@settings(max_examples=300)
@given(
    st.text(
        alphabet=st.sampled_from(list("<>/!-[]&;#xap br li script =\"' \n\u00a0é")), max_size=80
    )
)
def test_never_raises_and_output_is_tidy(html: str) -> None:
    text = html_to_text(html, max_chars=50)

    assert len(text) <= 50
    assert text == text.strip()
    assert "\n\n\n" not in text
    assert all(line == line.rstrip() for line in text.split("\n"))
