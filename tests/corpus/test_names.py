"""Author-name normalization, by example and by property."""

from __future__ import annotations

import unicodedata

from hypothesis import given
from hypothesis import strategies as st

from bot.corpus.names import fold, name_key, split_affiliation

names = st.text(alphabet=st.characters(categories=("L", "N", "Zs", "P")), max_size=40)
simple_case = st.text(
    alphabet=st.characters(categories=("L", "N", "Zs", "P")).filter(
        lambda c: len(c.upper()) == len(c.lower()) == 1
    ),
    max_size=40,
)
"""Letters whose upper case is two letters are left out of the case property: upper-casing 'ᾀ'
really adds a letter ('ἈΙ'), which no folding can take back without breaking accent folding."""


def test_examples() -> None:
    assert split_affiliation("Emily Saltz (PAI)") == ("Emily Saltz", "PAI")
    assert split_affiliation("  Sam   Gregory (WITNESS) ") == ("Sam Gregory", "WITNESS")
    assert split_affiliation("Access Now") == ("Access Now", None)
    assert name_key("Émily  SALTZ (PAI)") == "emily saltz"
    assert name_key("O’Neil-Smith, Jr.") == "o neil smith jr"


@given(names)
def test_fold_is_idempotent(text: str) -> None:
    assert fold(fold(text)) == fold(text)


@given(simple_case)
def test_case_and_spacing_do_not_matter(text: str) -> None:
    assert fold(text.upper()) == fold(text.lower()) == fold("  " + text.replace(" ", "   ") + " ")


@given(names)
def test_accents_do_not_matter(text: str) -> None:
    decomposed = unicodedata.normalize("NFD", text)
    stripped = "".join(c for c in decomposed if not unicodedata.combining(c))
    assert fold(text) == fold(stripped)


@given(names, st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZ ", min_size=1, max_size=12))
def test_affiliation_never_enters_the_key(name: str, affiliation: str) -> None:
    if "(" in name or ")" in name or not fold(name):
        return
    assert name_key(f"{name} ({affiliation})") == name_key(name)


@given(names)
def test_key_has_only_lowercase_words(text: str) -> None:
    key = name_key(text)
    assert key == key.strip() and "  " not in key
    assert all(ch.isalnum() or ch == " " for ch in key)


def _strip_marks_char_by_char(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


@given(st.text(max_size=200))
def test_stripping_marks_run_by_run_equals_char_by_char(text: str) -> None:
    from bot.corpus.names import _strip_marks

    assert _strip_marks(text) == _strip_marks_char_by_char(text)
    assert _strip_marks("Zoë Müller née Ǆ ᾀ x\u0301") == _strip_marks_char_by_char(
        "Zoë Müller née Ǆ ᾀ x\u0301"
    )
