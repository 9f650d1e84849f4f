"""Which subscriptions want an entry: a source, then any number of conditions (all or any).

A condition looks at one field of the entry and matches it one of three ways:

- ``contains``: the value occurs anywhere in the field, ignoring case and accents;
- ``words``: the value occurs as whole words, folded the way the rest of the bot folds
  (``bot.corpus.names``): an author "saltz" or "Émily SALTZ" matches "Emily Saltz", a keyword
  "bias" matches "bias" but not "biased"; several words match that phrase (for ``author``: every
  word is a word of one author's name);
- ``regex``: an RE2 pattern, case-insensitive, linear-time on any input (``bot.feeds.patterns``).

Fields: ``title``, ``author`` (each author), ``summary`` (the entry's text: a feed item's
content or summary, a corpus document's body; its first ``MATCH_TEXT_CHARS``), ``categories``
(a feed item's categories/tags; corpus documents have none) and ``text`` (title and summary).
A field with several values (authors, categories) matches when one of them does. ``negate``
inverts a condition; a condition on a field the entry does not have (no byline, no categories)
never matches, negated or not: nothing is guessed.

A subscription's ``author`` and ``keyword`` (from ``/subscribe``) are read as the first two
conditions (``author`` words, ``text`` words), so a subscription made before conditions existed
matches exactly what it matched then.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from bot.corpus.names import fold, name_key
from bot.feeds.models import Condition, EntryFacts, Subscription
from bot.feeds.patterns import pattern_problem, search

MATCH_TEXT_CHARS = 20_000
"""How much of an entry's text conditions look at: bounded work per entry, whatever it holds."""
MAX_CATEGORIES = 30
CATEGORY_CHARS = 100
MAX_CONDITIONS = 10
"""Conditions a subscription may have besides ``author`` and ``keyword``."""
MAX_VALUE_CHARS = 200


def entry_facts(
    entry_id: str,
    source: str,
    title: str,
    authors: Iterable[str],
    text: str,
    categories: Iterable[str] = (),
) -> EntryFacts:
    """Fold an entry's fields once, so matching it against many subscriptions stays cheap."""
    names = tuple(author for author in authors if author.strip())
    summary = text[:MATCH_TEXT_CHARS]
    tags = tuple(c for c in categories if c.strip())[:MAX_CATEGORIES]
    fields: dict[str, tuple[str, ...]] = {}
    for name, values in (
        ("title", (title,)),
        ("author", names),
        ("summary", (summary,)),
        ("categories", tags),
        ("text", (title, summary)),
    ):
        present = tuple(value for value in values if value.strip())
        if present:
            fields[name] = present
    return EntryFacts(
        entry_id=entry_id,
        source=source,
        author_keys=tuple(name_key(author) for author in names),
        folded_text=f" {fold(title)} {fold(text)} ",
        fields=fields,
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


def _loose(text: str) -> str:
    """Case and accents ignored, punctuation kept (``contains "c++"`` means those characters)."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()


def field_values(entry: EntryFacts, field: str, form: str) -> tuple[str, ...]:
    """``field``'s values as ``contains`` (form "loose") or ``words`` (form "folded", padded
    with spaces) compare them, cached on the entry."""
    key = (form, field)
    cached = entry.normalized.get(key)
    if cached is None:
        values = entry.fields.get(field, ())
        if form == "loose":
            cached = tuple(_loose(value) for value in values)
        else:
            cached = tuple(f" {fold(value)} " for value in values)
        entry.normalized[key] = cached
    return cached


def effective_conditions(subscription: Subscription) -> tuple[Condition, ...]:
    """The subscription's conditions in order: ``author`` and ``keyword`` first, when set."""
    legacy: list[Condition] = []
    if subscription.author:
        legacy.append(Condition("author", "words", subscription.author))
    if subscription.keyword:
        legacy.append(Condition("text", "words", subscription.keyword))
    return (*legacy, *subscription.conditions)


def condition_matches(condition: Condition, entry: EntryFacts) -> bool:
    """Whether ``entry`` passes ``condition`` (see the module docstring)."""
    values = entry.fields.get(condition.field, ())
    if not values:
        return False
    if condition.match == "regex":
        hit = any(search(condition.value, value) for value in values)
    elif condition.match == "contains":
        needle = _loose(condition.value)
        hit = any(needle in value for value in field_values(entry, condition.field, "loose"))
    elif condition.field == "author":
        hit = author_matches(condition.value, entry)
    elif condition.field == "text":
        hit = keyword_matches(condition.value, entry)
    else:
        needle = fold(condition.value)
        folded = field_values(entry, condition.field, "folded")
        hit = not needle or any(f" {needle} " in value for value in folded)
    return hit != condition.negate


@dataclass(frozen=True, slots=True)
class Drop:
    """Why a subscription does not want an entry: another ``source``, or its conditions."""

    source: str | None = None
    """The only source the subscription takes, when the entry comes from another."""
    failed: tuple[tuple[int, Condition], ...] = ()
    """The conditions that did not match, numbered from 1 as ``/feed filter list`` shows them:
    with ``all``, the first that failed; with ``any``, every one (none matched)."""


def why_dropped(subscription: Subscription, entry: EntryFacts) -> Drop | None:
    """None when the subscription wants the entry, else why not."""
    if subscription.source is not None and subscription.source != entry.source:
        return Drop(source=subscription.source)
    conditions = effective_conditions(subscription)
    if not conditions:
        return None
    if subscription.match_mode == "any":
        failed: list[tuple[int, Condition]] = []
        for number, condition in enumerate(conditions, 1):
            if condition_matches(condition, entry):
                return None
            failed.append((number, condition))
        return Drop(failed=tuple(failed))
    for number, condition in enumerate(conditions, 1):
        if not condition_matches(condition, entry):
            return Drop(failed=((number, condition),))
    return None


def wants(subscription: Subscription, entry: EntryFacts) -> bool:
    """True when the subscription's source and conditions accept the entry."""
    return why_dropped(subscription, entry) is None


def wanting_pairs(
    subscriptions: Sequence[Subscription], entries: Sequence[EntryFacts]
) -> list[tuple[Subscription, EntryFacts]]:
    """Every (subscription, entry) to queue, entries in order. CPU work that grows with
    subscriptions x entries x conditions (each bounded): run in a worker thread."""
    return [(sub, entry) for entry in entries for sub in subscriptions if wants(sub, entry)]


def condition_problem(condition: Condition) -> tuple[str, str, str] | None:
    """(option, message, detail) when ``condition`` cannot be stored: an empty or too long
    value, or a regex RE2 refuses (``detail`` is RE2's own message, which quotes the pattern:
    the front end shows it as typed); None when it is fine. ``message`` holds ``{value}`` where
    the detail goes."""
    if not condition.value.strip():
        return "value", "the value is empty", ""
    if len(condition.value) > MAX_VALUE_CHARS:
        return (
            "value",
            f"the value is {len(condition.value)} characters; at most {MAX_VALUE_CHARS}",
            "",
        )
    if condition.match == "regex":
        problem = pattern_problem(condition.value)
        if problem is not None:
            return "value", "the regex engine (RE2) refuses it: {value}", problem
    return None
