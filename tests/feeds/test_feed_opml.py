"""OPML: hostile files refused with one clear line, imports reported feed by feed, exports that
read back."""

from __future__ import annotations

import pytest

from bot.config import FeedSourceConfig
from bot.feeds.opml import MAX_OPML_BYTES, MAX_OUTLINES, OpmlError, read_opml
from tests.feeds.feed_world import FeedServer
from tests.feeds.test_feed_sources import Opener, feeds, open_feed

__all__ = ["feeds", "open_feed"]  # fixtures, imported to be used here


def opml(*outlines: str) -> bytes:
    body = "\n".join(outlines)
    return f'<?xml version="1.0" encoding="UTF-8"?>\n<opml version="2.0"><head/><body>\n{body}\n</body></opml>'.encode()


@pytest.mark.parametrize(
    ("data", "said"),
    [
        (
            b'<?xml version="1.0"?>\n<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;">]>'
            b"<opml><body><outline xmlUrl='&lol2;'/></body></opml>",
            "line 2: a DOCTYPE declaration is not accepted",
        ),
        (
            b'<?xml version="1.0"?>\n\n<!doctype x SYSTEM "file:///etc/passwd"><opml/>',
            "line 3: a DOCTYPE",
        ),
        (b"<opml><body><outline xmlUrl='x'></body></opml>", "line 1, column"),
        (b"<rss><channel/></rss>", "not OPML (its root element is <rss>)"),
        (  # the namespace's URI is the file's text: not repeated (a link in Discord)
            b"<opml xmlns='https://x.example/'><body/></opml>",
            "not OPML (its root element is <opml> in an XML namespace)",
        ),
        (b"<opml version='2.0'><head/></opml>", "without a <body>"),
        ("<opml>é</opml>".encode("latin-1"), "not UTF-8"),
        (b" " * (MAX_OPML_BYTES + 1), "over 1000 kB"),
    ],
)
def test_unreadable_files_are_refused_with_why(data: bytes, said: str) -> None:
    with pytest.raises(OpmlError) as refused:
        read_opml(data, name="feeds.opml")
    assert said in str(refused.value) and str(refused.value).startswith("feeds.opml")


def test_nested_outlines_are_read_and_folders_skipped_up_to_the_cap() -> None:
    data = opml(
        '<outline text="Folder"><outline text="A &amp; B" xmlUrl="https://a.example/feed"/></outline>',
        '<outline text="Just a link" htmlUrl="https://b.example/"/>',
        *(f'<outline xmlUrl="https://c.example/{n}"/>' for n in range(MAX_OUTLINES + 2)),
    )
    feeds, more = read_opml(data)
    assert feeds[0].url == "https://a.example/feed" and feeds[0].title == "A & B"
    assert len(feeds) == MAX_OUTLINES and more == 3


async def test_import_reports_each_outline_and_export_reads_back(
    open_feed: Opener, feeds: FeedServer
) -> None:
    ada = FeedSourceConfig("ada", feeds.url("/ada.xml"))
    async with open_feed(ada) as service:
        report = await service.import_opml(
            opml(
                f'<outline text="The Blog" xmlUrl="{feeds.url("/blog.xml")}"/>',
                f'<outline text="Ada again" xmlUrl="{feeds.url("/ada.xml")}"/>',
                '<outline text="Files" xmlUrl="file:///etc/passwd"/>',
            ),
            added_by="discord:1",
        )
        assert [(f.title, name) for f, name in report.added] == [("The Blog", "the-blog")]
        assert [(f.title, name) for f, name in report.skipped] == [("Ada again", "ada")]
        ((refused_feed, why),) = report.refused
        assert refused_feed.url == "file:///etc/passwd" and "not an http(s) URL" in str(why)
        assert service.source_names() == ["corpus", "ada", "the-blog"]
        assert feeds.requests == []  # nothing fetched: the next poll is each feed's baseline

        exported = await service.export_opml()
        listed, _more = read_opml(exported)
        assert [(f.url, f.title) for f in listed] == [
            (feeds.url("/ada.xml"), "ada"),
            (feeds.url("/blog.xml"), "the-blog"),
        ]


async def test_an_export_escapes_what_a_url_holds(open_feed: Opener) -> None:
    async with open_feed() as service:
        await service.import_opml(
            opml('<outline text="x" xmlUrl="https://e.example/f?a=1&amp;b=&quot;2&quot;"/>'),
            added_by=None,
        )
        (feed,), _ = read_opml(await service.export_opml())
        assert feed.url == "https://e.example/f?a=1&b=%222%22"
