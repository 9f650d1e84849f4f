"""parse_feed on committed fixtures: stable keys, clean text, honest errors, no I/O."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.feeds.parse import (
    FeedParseError,
    ParsedFeed,
    normalize_link,
    parse_feed,
    split_authors,
)

SOURCE = "https://feeds.example.com/source.xml"
Load = Callable[[str], bytes]


def parse_fixture(load_fixture: Load, name: str, **options: Any) -> ParsedFeed:
    return parse_feed(load_fixture(name), source_url=SOURCE, **options)


def rss(items: str, *, channel_extra: str = "") -> bytes:
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
        f"<title>T</title><link>https://t.example/</link>{channel_extra}{items}"
        "</channel></rss>"
    ).encode()


def test_medium_feed(load_fixture: Load) -> None:
    feed = parse_fixture(load_fixture, "medium_rss.xml")

    assert feed.title == "Stories by Ada Example on Medium"
    assert feed.link == "https://medium.com/@ada.example"
    assert feed.warnings == ()
    first, second = feed.items
    assert first.key == "https://medium.com/p/b358cc81eeff"
    assert first.title == "Why Corpora Need Curators"
    assert first.authors == ("Ada Example",)
    assert first.link == "https://medium.com/@ada.example/why-corpora-need-curators-b358cc81eeff"
    assert first.published == datetime(2025, 3, 4, 9, 10, 1, tzinfo=UTC)
    assert first.updated == datetime(2025, 3, 4, 9, 12, 44, tzinfo=UTC)
    assert first.text.startswith("Why Corpora Need Curators\n\nA corpus is only as good as")
    assert "tend it & the rules they keep." in first.text
    assert "- Collect with care\n- Describe honestly" in first.text
    assert "Read more\nin the next post." in first.text
    assert "alert" not in first.text  # script content never reaches the text
    assert second.key == "https://medium.com/p/0a1b2c3d4e5f"
    assert second.authors == ("Ada Example", "Grace Sample", "Linus Placeholder")
    # ?source=rss----…, utm_* and the #fragment are gone; the article path stays.
    assert second.link == "https://medium.com/@ada.example/indexing-briefly-0a1b2c3d4e5f"
    assert second.text == "Inverted indexes map terms to documents.\n\nThat is all."


def test_atom_feed(load_fixture: Load) -> None:
    feed = parse_fixture(load_fixture, "atom.xml")

    assert feed.title == "Example Archive Blog"
    release, plain = feed.items
    assert release.key == "tag:blog.example.org,2025:posts/42"
    assert release.title == "Release notes: v2 & more"  # type="html" title rendered to text
    assert release.authors == ("Grace Sample", "Linus Placeholder")
    # Relative link resolved against xml:base; utm_source stripped, other params kept.
    assert release.link == "https://blog.example.org/posts/release-v2.html?ref=home"
    assert release.published == datetime(2025, 2, 10, 11, 0, tzinfo=UTC)
    assert release.updated == datetime(2025, 2, 11, 7, 30, tzinfo=UTC)
    assert release.text == "Version two is out.\n\nChanges\n\n1. Faster search\n2. Fewer bugs"
    assert plain.title == "Plain <text> title"  # plain-text title is not parsed as HTML
    assert plain.text == "Plain text content with a literal <tag> in it.\nSecond line."
    assert plain.published is None
    assert plain.authors == ()


def test_rss_without_guids_keys_on_the_exact_link_then_hash(load_fixture: Load) -> None:
    feed = parse_fixture(load_fixture, "rss_no_guid.xml")

    linked, unlinked = feed.items
    assert (
        linked.key == "https://news.example.net/stories/1?utm_source=rss&utm_campaign=feed&id=7#top"
    )
    assert linked.link == linked.legacy_key == "https://news.example.net/stories/1?id=7"
    assert linked.authors == ("Jo Editor",)
    assert linked.text == "The first story."
    assert unlinked.link is None
    assert unlinked.key.startswith("sha256:") and len(unlinked.key) == len("sha256:") + 64
    again = parse_fixture(load_fixture, "rss_no_guid.xml")
    assert [item.key for item in again.items] == [item.key for item in feed.items]


def test_keys_and_hashes_ignore_changing_dates(load_fixture: Load) -> None:
    before = parse_fixture(load_fixture, "dates_v1.xml")
    after = parse_fixture(load_fixture, "dates_v2.xml")

    assert [item.published for item in before.items] != [item.published for item in after.items]
    assert [item.key for item in before.items] == ["restless-1", "https://restless.example.com/two"]
    assert [item.key for item in after.items] == [item.key for item in before.items]
    assert [i.content_hash for i in after.items] == [i.content_hash for i in before.items]


def test_content_hash_changes_when_an_item_is_edited() -> None:
    item = "<item><guid>g1</guid><title>{title}</title><description>{body}</description></item>"
    original = parse_feed(rss(item.format(title="A", body="Body")), source_url=SOURCE).items[0]
    retitled = parse_feed(rss(item.format(title="B", body="Body")), source_url=SOURCE).items[0]
    rewritten = parse_feed(rss(item.format(title="A", body="Body!")), source_url=SOURCE).items[0]

    assert original.key == retitled.key == rewritten.key == "g1"
    assert len({original.content_hash, retitled.content_hash, rewritten.content_hash}) == 3


def test_salvageable_malformed_feed_yields_items_and_a_warning(load_fixture: Load) -> None:
    feed = parse_fixture(load_fixture, "malformed_salvageable.xml")

    assert [item.title for item in feed.items] == ["Tom & Jerry unescaped", "Second item"]
    assert feed.items[0].text == "An unescaped ampersand & an unclosed tag."
    (warning,) = feed.warnings
    assert warning.startswith("malformed feed, salvaged 2 item(s): ")
    assert "line 7" in warning


def test_hopeless_malformed_feed_raises_with_line(load_fixture: Load) -> None:
    with pytest.raises(FeedParseError, match=r"^not a feed: .* at line 3, column \d+$"):
        parse_fixture(load_fixture, "malformed_hopeless.xml")


def test_html_page_raises(load_fixture: Load) -> None:
    with pytest.raises(FeedParseError, match="^not a feed: got an HTML page$"):
        parse_fixture(load_fixture, "html_page.html")


@pytest.mark.parametrize(
    ("data", "pattern"),
    [
        (b"", "^not a feed: the document is empty$"),
        (b"  \n\t ", "^not a feed: the document is empty$"),
        (b"<config><value>1</value></config>", "^not a feed: no RSS, Atom or RDF root element$"),
        (b"\x00\xff\xfe garbage \x01", "^not a feed: "),
        (b"just some words", "^not a feed: "),
    ],
)
def test_unusable_documents_raise(data: bytes, pattern: str) -> None:
    with pytest.raises(FeedParseError, match=pattern):
        parse_feed(data, source_url=SOURCE)


def test_valid_feed_without_items_is_empty_not_an_error() -> None:
    feed = parse_feed(rss(""), source_url=SOURCE)

    assert feed.items == ()
    assert feed.title == "T"
    assert feed.warnings == ()


def test_max_items_keeps_the_first_items_and_warns() -> None:
    items = "".join(f"<item><guid>id-{n}</guid><title>n{n}</title></item>" for n in range(7))

    feed = parse_feed(rss(items), source_url=SOURCE, max_items=3)

    assert [item.key for item in feed.items] == ["id-0", "id-1", "id-2"]
    assert feed.warnings == ("feed has 7 items; kept the first 3",)


def test_duplicate_and_empty_items_are_skipped_with_warnings() -> None:
    items = (
        "<item><guid>same</guid><title>first</title></item>"
        "<item><guid>same</guid><title>second</title></item>"
        "<item><description>   </description></item>"
    )

    feed = parse_feed(rss(items), source_url=SOURCE)

    assert [item.title for item in feed.items] == ["first"]
    assert feed.warnings == (
        "item 2 repeats key 'same'; skipped",
        "item 3 has no id, link, title or text; skipped",
    )


def test_relative_links_resolve_against_the_source_url() -> None:
    feed = parse_feed(
        rss("<item><title>x</title><link>/posts/7?utm_campaign=z</link></item>"),
        source_url="https://Blog.Example.com/feed/rss.xml",
    )

    assert feed.items[0].link == "https://blog.example.com/posts/7"
    assert feed.items[0].key == "https://blog.example.com/posts/7?utm_campaign=z"


def test_unsafe_link_schemes_are_dropped() -> None:
    feed = parse_feed(
        rss("<item><guid>g</guid><title>x</title><link>javascript:alert(1)</link></item>"),
        source_url=SOURCE,
    )

    assert feed.items[0].link is None
    assert feed.items[0].key == "g"


def test_bytes_that_look_like_a_path_are_never_opened(tmp_path: Path, load_fixture: Load) -> None:
    # feedparser opens a *file name* when given bytes; parse_feed must treat input as data.
    feed_file = tmp_path / "feed.xml"
    feed_file.write_bytes(load_fixture("atom.xml"))

    with pytest.raises(FeedParseError):
        parse_feed(str(feed_file).encode(), source_url=SOURCE)


async def test_parsing_never_fetches_external_entities_or_dtds(feed_server: Any) -> None:
    dtd = feed_server.url("/feed.xml")
    data = (
        '<?xml version="1.0"?>'
        f'<!DOCTYPE rss SYSTEM "{dtd}" [<!ENTITY remote SYSTEM "{dtd}">'
        f'<!ENTITY local SYSTEM "file:///etc/passwd">]>'
        '<rss version="2.0"><channel><title>T</title>'
        "<item><guid>g</guid><title>x &remote; &local;</title></item></channel></rss>"
    ).encode()

    feed = parse_feed(data, source_url=feed_server.url("/source.xml"))

    assert feed_server.requests == []
    assert all("root:" not in (item.title or "") + item.text for item in feed.items)


def test_entity_expansion_bomb_does_not_blow_up() -> None:
    entities = '<!ENTITY a0 "lol">' + "".join(
        f'<!ENTITY a{n} "{f"&a{n - 1};" * 10}">' for n in range(1, 10)
    )
    data = (
        f'<?xml version="1.0"?><!DOCTYPE rss [{entities}]><rss version="2.0"><channel>'
        "<title>T</title><item><guid>g</guid><title>&a9;</title></item></channel></rss>"
    ).encode()

    feed = parse_feed(data, source_url=SOURCE)

    assert "ignored 9 entity declaration(s) that could expand without bound" in feed.warnings
    assert [item.key for item in feed.items] == ["g"]
    assert all(len(item.title or "") < 1_000 for item in feed.items)


def test_harmless_entity_declarations_still_work() -> None:
    data = (
        b'<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY nbsp "&#160;"><!ENTITY org "Example">]>'
        b'<rss version="2.0"><channel><title>T</title>'
        b"<item><guid>g</guid><title>a&nbsp;b &org;</title></item></channel></rss>"
    )

    feed = parse_feed(data, source_url=SOURCE)

    assert feed.items[0].title == "a b Example"
    assert feed.warnings == ()


def test_entity_declarations_in_utf16_are_refused() -> None:
    data = (
        '<?xml version="1.0" encoding="utf-16"?><!DOCTYPE rss [<!ENTITY a "&b;&b;">]>'
        '<rss version="2.0"><channel><title>T</title></channel></rss>'
    ).encode("utf-16")

    with pytest.raises(FeedParseError, match="entity declarations"):
        parse_feed(data, source_url=SOURCE)


def test_utf16_feed_parses() -> None:
    data = (
        '<?xml version="1.0" encoding="utf-16"?><rss version="2.0"><channel><title>Ünï</title>'
        "<item><guid>12345</guid><title>Grüße</title></item></channel></rss>"
    ).encode("utf-16")

    feed = parse_feed(data, source_url=SOURCE)

    assert feed.title == "Ünï"
    assert feed.items[0].title == "Grüße"
    assert feed.items[0].link is None  # a bare guid is not a link


@pytest.mark.parametrize(
    ("link", "expected"),
    [
        ("HTTPS://News.Example.NET:443/a?utm_source=x&id=7#top", "https://news.example.net/a?id=7"),
        ("http://Example.com", "http://example.com/"),
        ("http://example.com:8080/a?q=a+b%20c", "http://example.com:8080/a?q=a+b%20c"),
        ("https://medium.com/p/x?source=rss----7e3f8b2c1d0a---4", "https://medium.com/p/x"),
        ("https://medium.com/@u?source=rss-3f2a1b0c9d8e------2", "https://medium.com/@u"),
        ("https://example.com/?source=homepage", "https://example.com/?source=homepage"),
        ("https://example.com/a?fbclid=1&UTM_Medium=2&b=3", "https://example.com/a?b=3"),
        ("javascript:alert(1)", None),
        ("/relative/only", None),
        ("mailto:someone@example.com", None),
        ("http://example.com:99999/", None),
        ("", None),
        (None, None),
    ],
)
def test_normalize_link(link: str | None, expected: str | None) -> None:
    assert normalize_link(link) == expected


@given(
    st.from_regex(
        r"https?://[A-Za-z0-9]{1,10}\.[a-z]{2,4}(:[0-9]{1,4})?(/[A-Za-z0-9._~-]{0,8}){0,3}"
        r"(\?([a-z_]{1,6}=[A-Za-z0-9]{0,5})(&[a-z_]{1,6}=[A-Za-z0-9]{0,5}){0,3})?(#[a-z]{0,5})?",
        fullmatch=True,
    )
)
def test_normalize_link_is_idempotent(link: str) -> None:
    once = normalize_link(link)
    assert once is not None
    assert normalize_link(once) == once
    assert "utm_" not in once and "#" not in once


@pytest.mark.parametrize(
    ("byline", "expected"),
    [
        (
            "Ada Example, Grace Sample and Linus Placeholder",
            ("Ada Example", "Grace Sample", "Linus Placeholder"),
        ),
        ("A, B and C", ("A", "B", "C")),
        ("Ada, Bob, and Carol", ("Ada", "Bob", "Carol")),
        ("Ada Lovelace and Grace Hopper", ("Ada Lovelace", "Grace Hopper")),
        ("Ada Lovelace, Grace Hopper", ("Ada Lovelace", "Grace Hopper")),
        ("Hopper, Grace", ("Hopper, Grace",)),
        ("Smith, John and Doe, Jane", ("Smith, John and Doe, Jane",)),
        ("Simon & Schuster", ("Simon & Schuster",)),
        ("Tom and Jerry", ("Tom and Jerry",)),
        ("Ada Example", ("Ada Example",)),
        ("  Ada   Example  ", ("Ada Example",)),
        ("", ()),
    ],
)
def test_split_authors(byline: str, expected: tuple[str, ...]) -> None:
    assert split_authors(byline) == expected


@given(st.text(alphabet=st.sampled_from(list("ab ,&nd")), max_size=30))
def test_split_authors_never_invents_or_loses_words(byline: str) -> None:
    names = split_authors(byline)

    assert all(name and name == name.strip() for name in names)
    # Splitting only removes separators: every word of every name comes from the byline.
    original_words = set(re.split(r"[\s,]+", byline))
    assert all(word in original_words for name in names for word in re.split(r"[\s,]+", name))
    if len(names) > 1:
        assert len(set(names)) == len(names)
        assert all(any(char.isalpha() for char in name) for name in names)


def test_items_whose_links_differ_only_in_a_fragment_or_tracking_parameter_stay_apart() -> None:
    items = "".join(
        f"<item><title>{title}</title><link>{link}</link></item>"
        for title, link in [
            ("Part one", "https://Blog.Example.com:443/live#one"),
            ("Part two", "https://blog.example.com/live#two"),
            ("Spring issue", "https://blog.example.com/issue?utm_campaign=spring"),
            ("Summer issue", "https://blog.example.com/issue?utm_campaign=summer"),
            ("Plain", "https://blog.example.com/plain"),
        ]
    )

    feed = parse_feed(rss(items), source_url=SOURCE)

    assert feed.warnings == ()
    assert [item.key for item in feed.items] == [
        "https://blog.example.com/live#one",
        "https://blog.example.com/live#two",
        "https://blog.example.com/issue?utm_campaign=spring",
        "https://blog.example.com/issue?utm_campaign=summer",
        "https://blog.example.com/plain",
    ]
    assert [item.legacy_key for item in feed.items] == [
        "https://blog.example.com/live",
        "https://blog.example.com/live",
        "https://blog.example.com/issue",
        "https://blog.example.com/issue",
        None,  # the same key as in 0.1: nothing to recognise
    ]


def test_keys_do_not_depend_on_the_source_url() -> None:
    # A bare guid defaults to isPermaLink="true"; it must not be resolved into a URL that
    # changes when the feed is fetched from a new address.
    data = rss("<item><guid>12345</guid><title>x</title><link>/p/1</link></item>")

    old = parse_feed(data, source_url="http://old.example.com/feed")
    new = parse_feed(data, source_url="https://new.example.org/rss")

    assert old.items[0].key == new.items[0].key == "12345"
    assert old.items[0].link == "http://old.example.com/p/1"
    assert new.items[0].link == "https://new.example.org/p/1"


def test_rss_item_without_update_date_has_no_updated(load_fixture: Load) -> None:
    item = parse_fixture(load_fixture, "rss_no_guid.xml").items[0]

    assert item.published == datetime(2025, 2, 5, 9, 0, tzinfo=UTC)
    assert item.updated is None
