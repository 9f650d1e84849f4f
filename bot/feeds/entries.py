"""Feed items as corpus documents: stable ids, origin ``feed:<source>``, searchable text.

A feed item becomes an ordinary :class:`~bot.corpus.models.Document` so `/post`, `/search` and
`/summarize` work on it like on any corpus file. Its origin is ``feed:<name>``, which the corpus
reload never touches (it only diffs ``origin = 'corpus'``), so entries survive `/reload` and
restarts. The id depends only on the source name and the item's key, so the same item always
maps to the same document, however often it is fetched; an item whose seen-set row was written
under an older key scheme keeps the id it got then (the poller takes the seen-set's id).
"""

from __future__ import annotations

import hashlib
from datetime import datetime

from bot.corpus.models import AuthorName, Document
from bot.corpus.names import name_key, split_affiliation
from bot.feeds.parse import FeedItem

ENTRY_KIND = "post"
ID_HASH_CHARS = 12


def feed_origin(source: str) -> str:
    return f"feed:{source}"


def entry_id(source: str, item_key: str) -> str:
    """``feed-<source>-<12 hex of sha256(key)>``: short, URL-safe, and stable across fetches."""
    digest = hashlib.sha256(item_key.encode("utf-8")).hexdigest()[:ID_HASH_CHARS]
    return f"feed-{source}-{digest}"


def document_categories(annotations: dict[str, object]) -> tuple[str, ...]:
    """A feed entry's categories as :func:`item_document` stored them (none for corpus files)."""
    stored = annotations.get("categories")
    if not isinstance(stored, list):
        return ()
    return tuple(value for value in stored if isinstance(value, str))


def item_document(source: str, item: FeedItem, *, publisher: str | None) -> Document:
    """The document an item is stored as. ``content_hash`` is the item's own (title, authors,
    link, text), so a changed item is told from an unchanged one the same way everywhere."""
    authors: list[AuthorName] = []
    for printed in item.authors:
        name, affiliation = split_affiliation(printed)
        key = name_key(name)
        if key and all(a.key != key for a in authors):
            authors.append(AuthorName(name=name, key=key, affiliation=affiliation))
    moment = item.published or item.updated
    annotations: dict[str, object] = {"feed_source": source, "feed_key": item.key}
    if moment is not None:
        annotations["published_at"] = _iso(moment)
    if item.categories:
        annotations["categories"] = list(item.categories)
    body = item.text or item.title or item.link or ""
    return Document(
        id=entry_id(source, item.key),
        title=item.title,
        subtitle=None,
        authors=tuple(authors),
        published=moment.date() if moment else None,
        url=item.link,
        publisher=publisher,
        kind=ENTRY_KIND,
        excerpt=False,
        body=body,
        annotations=annotations,
        content_hash=item.content_hash,
        origin=feed_origin(source),
    )


def _iso(moment: datetime) -> str:
    return moment.isoformat(timespec="seconds")
