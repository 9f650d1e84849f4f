"""Which subscriptions want an entry: source, author and keyword filters.

Matching folds case and accents the way the rest of the bot does (``bot.corpus.names``), so a
filter typed as "saltz" or "Émily SALTZ" matches the author "Emily Saltz", and a keyword matches
whole words of the title or text ("bias" matches "bias" but not "biased"; a keyword of several
words matches that phrase).
"""

from __future__ import annotations

from collections.abc import Iterable

from bot.corpus.names import fold, name_key
from bot.feeds.models import EntryFacts, Subscription


def entry_facts(
    entry_id: str, source: str, title: str, authors: Iterable[str], text: str
) -> EntryFacts:
    """Fold an entry's fields once, so matching it against many subscriptions stays cheap."""
    return EntryFacts(
        entry_id=entry_id,
        source=source,
        author_keys=tuple(name_key(author) for author in authors),
        folded_text=f" {fold(title)} {fold(text)} ",
    )


def author_matches(wanted: str, entry: EntryFacts) -> bool:
    """Every word of ``wanted`` is a whole word of one author's name."""
    words = set(name_key(wanted).split())
    if not words:
        return True
    return any(words <= set(key.split()) for key in entry.author_keys)


def keyword_matches(keyword: str, entry: EntryFacts) -> bool:
    """The folded keyword occurs as whole words in the folded title or text."""
    needle = fold(keyword)
    return not needle or f" {needle} " in entry.folded_text


def wants(subscription: Subscription, entry: EntryFacts) -> bool:
    """True when the subscription's source, author and keyword filters all accept the entry."""
    if subscription.source is not None and subscription.source != entry.source:
        return False
    if subscription.author and not author_matches(subscription.author, entry):
        return False
    return not subscription.keyword or keyword_matches(subscription.keyword, entry)
