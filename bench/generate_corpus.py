"""Write a deterministic synthetic corpus in the bundled format, for benchmarking the core.

Run by hand (never by CI). From the repository root:

    .venv/bin/python bench/generate_corpus.py --count 100000 --out /tmp/synthetic-corpus
    .venv/bin/python bench/generate_corpus.py --count 20 --out /tmp/tiny --seed 7 --words-mean 300

Why synthetic: the bundled corpus has eleven documents, far too few to show how the index, the
queries and memory behave at 100,000. The text is nonsense, but its *statistics* are realistic,
which is what an index cares about:

- words drawn from a 5,000-word vocabulary (common English words first, then made-up ones) with
  Zipf frequencies, so a few words occur in every document and most in few;
- titles of 4-12 words, some with a colon or a question mark (quoted in the YAML), ~1% untitled;
- 1-5 authors per document from a pool of ~2,000 names, some accented ("Zoë Müller"), some with an
  affiliation ("(PAI)"), with Zipf-like popularity: a handful of prolific authors, a long tail;
- dates spread over ten years, a few publishers and kinds, ~20% excerpts, ~15% subtitles;
- bodies of paragraphs of sentences (an occasional Markdown heading), lengths log-normal around
  `--words-mean`; plus two long documents with known ids and exact word counts: `long-5000` and
  `long-20000` (they count towards `--count`).

Determinism: the same `--count`, `--seed` and `--words-mean` give byte-identical files whatever
`--jobs` is, because every document has its own random generator seeded from (seed, index).
Files are written as they are generated (nothing is held in memory), by `--jobs` processes.
"""

from __future__ import annotations

import argparse
import itertools
import json
import math
import multiprocessing
import operator
import os
import random
import re
import sys
import time
import unicodedata
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

LONG_DOCUMENTS: dict[str, int] = {"long-5000": 5000, "long-20000": 20000}
"""Ids and exact word counts of the long documents every generated corpus holds."""

VOCABULARY_SIZE = 5000
AUTHOR_POOL_SIZE = 2000
TITLE_VOCABULARY = 1200
"""Titles draw from the 1,200 most frequent content words: mostly real ones."""
WORD_ZIPF_EXPONENT = 1.0
AUTHOR_ZIPF_EXPONENT = 1.0
AUTHOR_ZIPF_SHIFT = 3
"""Popularity of the author of rank r is 1/(r + shift)^s: prolific, but not absurdly so."""
FIRST_DATE = date(2015, 1, 1)
DATE_SPAN_DAYS = 3652
MAX_BODY_WORDS = 12_000
"""Ordinary documents are capped well under the loader's 1 MB limit."""
_SAMPLE_TABLE_BITS = 16
"""The Zipf table has exactly 2**16 slots, so two random bytes pick a word (no modulo bias)."""

# Ranked roughly by frequency: function words first, then words an AI-policy corpus uses a lot.
_COMMON_WORDS = """
the of and to a in is that for it as with was on be by this are or at from an not have but
which has they their can more we its will one been were about other all also new these if would
our there what so who when into some than how may them most such could only many people should
over use time those first two then between each through because work both well where while
after like make just even used data systems system research public including any much however
own within during against three across both without often under how before way years world
information models model policy government companies technology could need help support those
human rights social media news content online platforms platform users user community communities
example important different develop development practices practice risk risks harm harms
responsible ethical ethics design designed decisions decision process processes impact impacts
access privacy security safety transparency accountability fairness bias algorithmic algorithms
algorithm learning machine intelligence artificial automated automation tools tool evaluation
standards standard guidance framework frameworks approach approaches organizations organization
partners partnership members stakeholders civil society industry academic experts expert field
fields questions question challenges challenge issues issue problem problems solutions solution
report reports study studies analysis evidence results findings review case cases context
manipulated misinformation labeling labels label detection synthetic images video audio
publication norms disclosure researchers researcher scientists science engineers engineering
journalists newsrooms editorial readers audiences audience trust trusted truth claims claim
health pandemic vaccine virus outbreak hospitals patients clinical medical care workers labor
economic economy market markets jobs workforce education students schools cities regulation
regulators laws law legal legislation courts rights protections consent surveillance facial
recognition police policing criminal justice communities marginalized demographic groups group
individuals individual identity language languages culture cultural history historical future
global international national local regional countries country states europe africa asia
america canada india china brazil kenya strategy goals goal mission values principles
principle commitments commitment resources funding budget costs benefits benefit outcomes
measure measures metrics benchmarks testing tests audit audits auditing monitoring oversight
governance board leadership team teams staff members partners program programs project projects
workshop workshops convening meeting meetings interviews survey surveys participants feedback
open source code software hardware infrastructure cloud computing compute devices networks
internet web website blog post posts article articles letter letters paper papers book books
café naïve résumé façade rôle coöperation déjà élite fiancée señor über
""".split()

_SYLLABLE_ONSETS = (
    "b c d f g h k l m n p r s t v w b d l m n p r s t br ch cl dr fl gr pl pr sh st th tr".split()
)
_SYLLABLE_VOWELS = "a e i o u a e i o u a e i o u ai ea ee io ou".split()
_SYLLABLE_CODAS = ["", "", "", "", "", "", "", "", "n", "r", "s", "t", "l", "m", "nd", "st"]

_FUNCTION_WORDS = frozenset(
    "the of and to a in is that for it as with was on be by this are or at from an not have but "
    "which has they their can we its will one been were about if would our there what so who when "
    "into some than how may them such could only should over then between each through because "
    "both where while after like just even any much own within during against without often under "
    "before way those these other all also new more most many first two three".split()
)

_FIRST_NAMES = """
James Mary John Patricia Robert Jennifer Michael Linda William Elizabeth David Barbara Richard
Susan Joseph Jessica Thomas Sarah Charles Karen Christopher Lisa Daniel Nancy Matthew Betty
Anthony Margaret Mark Sandra Donald Ashley Steven Kimberly Paul Emily Andrew Donna Joshua
Michelle Kenneth Carol Kevin Amanda Brian Melissa George Deborah Timothy Stephanie Ronald
Rebecca Jason Sharon Edward Laura Jeffrey Cynthia Ryan Kathleen Jacob Amy Gary Angela Nicholas
Shirley Eric Anna Jonathan Brenda Stephen Pamela Larry Emma Justin Nicole Scott Helen Brandon
Samantha Benjamin Katherine Samuel Christine Gregory Debra Alexander Rachel Frank Carolyn
Patrick Janet Raymond Catherine Jack Maria Dennis Heather Jerry Diane Tyler Ruth Aaron Julie
Jose Olivia Adam Joyce Nathan Virginia Henry Victoria Zachary Kelly Douglas Lauren Peter
Christina Kyle Joan Noah Evelyn Ethan Judith Jeremy Megan Walter Andrea Christian Cheryl
Keenan Hannah Terry Jacqueline Austin Martha Sean Gloria Gerald Teresa Carl Ann Harold Sara
Dylan Madison Arthur Frances Lawrence Kathryn Jordan Janice Jesse Jean Bryan Abigail Billy
Alice Bruce Judy Gabriel Sophia Joe Grace Logan Denise Albert Amber Willie Doris Alan Marilyn
Eugene Danielle Russell Beverly Vincent Isabella Philip Theresa Bobby Diana Johnny Natalie
Bradley Brittany Roy Charlotte Ralph Marie Wayne Kayla Elijah Alexis Randy Lori Jasmine McKane
Elena Claire Access Jeni Rebecca Tina Sam Yuki Wei Priya Arjun Chidi Amara Kwame Fatima Omar
José Zoë Søren Chloé François Łukasz Mária Björn Renée André Jürgen Inés Ángel Noémie Dvořák
Siobhán Zoltán Ümit Çağla Gaëlle Joël Anaïs Héloïse Ludovít Ólafur Þóra Małgorzata
Anne-Marie Jean-Luc Mary-Kate
""".split()

_LAST_NAMES = """
Smith Johnson Williams Brown Jones Garcia Miller Davis Rodriguez Martinez Hernandez Lopez
Gonzalez Wilson Anderson Thomas Taylor Moore Jackson Martin Lee Perez Thompson White Harris
Sanchez Clark Ramirez Lewis Robinson Walker Young Allen King Wright Scott Torres Nguyen Hill
Flores Green Adams Nelson Baker Hall Rivera Campbell Mitchell Carter Roberts Gomez Phillips
Evans Turner Diaz Parker Cruz Edwards Collins Reyes Stewart Morris Morales Murphy Cook Rogers
Gutierrez Ortiz Morgan Cooper Peterson Bailey Reed Kelly Howard Ramos Kim Cox Ward Richardson
Watson Brooks Chavez Wood James Bennett Gray Mendoza Ruiz Hughes Price Alvarez Castillo Sanders
Patel Myers Long Ross Foster Jimenez Powell Jenkins Perry Russell Sullivan Bell Coleman Butler
Henderson Barnes Gonzales Fisher Vasquez Simmons Romero Jordan Patterson Alexander Hamilton
Graham Reynolds Griffin Wallace Moreno West Cole Hayes Bryant Herrera Gibson Ellis Tran Medina
Aguilar Stevens Murray Ford Castro Marshall Owens Harrison Fernandez McDonald Woods Washington
Kennedy Wells Vargas Henry Chen Freeman Webb Tucker Guzman Burns Crawford Olson Simpson Porter
Hunter Gordon Mendez Silva Shaw Snyder Mason Dixon Munoz Hunt Hicks Holmes Palmer Wagner Black
Robertson Boyd Rose Stone Salazar Fox Warren Mills Meyer Rice Schmidt Garza Daniels Ferguson
Saltz Wardle Leibowicz Andrus Spitzer Xiang Wang Hwang Okafor Mensah Haddad Tanaka Suzuki
Müller Núñez Öztürk Nguyễn Dvořák Ó'Brien O'Brien Schröder Ångström Gómez Peña Łukaszewicz
Çelik Sørensen Lindqvist Håkansson Kovačević Jovanović Novák Horváth Szabó Françoise Lefèvre
Dubois Bélanger Gauthier Rousseau Fontaine Kowalski Nowak Wiśniewski Ivanova Petrov Smirnov
D'Angelo Van-der-Berg García-Márquez Al-Sayed
""".split()

_AFFILIATIONS = ["PAI", "ACLU", "EFF", "BBC", "MIT", "Access Now", "Data & Society", "WITNESS"]
_PUBLISHERS = [
    "Partnership on AI",
    "Example Press",
    "The Daily Ledger",
    "Northwind Review",
    "Civic Signals",
    "Open Policy Lab",
    "Harbor Media",
    "Lumen Journal",
    "Atlas Observatory",
    "Fieldnotes",
    "Médiathèque Nordique",
    "Quarterly of Applied Ethics",
]
_KINDS = ["post"] * 14 + ["letter", "report", "news", "interview", "press-release"]
_PLAIN_SAFE = re.compile(r"^[^\W\d_][\w .'’&-]*$")
_NON_SLUG = re.compile(r"[^a-z0-9]+")
_YAML_WORDS = frozenset({"yes", "no", "true", "false", "null", "on", "off", "y", "n", "~"})
"""Plain scalars YAML would read as something other than text."""


@dataclass(frozen=True, slots=True)
class Vocabulary:
    """Words by rank, and a lookup table that turns uniform random bits into Zipf draws."""

    words: tuple[str, ...]
    table: tuple[str, ...]
    """Each word repeated in proportion to its Zipf probability (at least once): indexing it with
    uniform random bits samples the distribution in O(1), far faster than a weighted bisect."""
    title_words: tuple[str, ...]
    """Content words (no function words) in rank order, for titles."""


@dataclass(frozen=True, slots=True)
class Settings:
    count: int
    seed: int
    words_mean: int


def build_vocabulary(seed: int) -> Vocabulary:
    """The ranked vocabulary: the common words above, then made-up ones, and the sampling table."""
    rng = random.Random(f"vocabulary:{seed}")
    words: list[str] = []
    seen: set[str] = set()
    for word in _COMMON_WORDS:
        if word not in seen:
            seen.add(word)
            words.append(word)
    while len(words) < VOCABULARY_SIZE:
        syllables = rng.choice((1, 2, 2, 2, 2, 2, 3, 3, 3, 4))
        word = "".join(
            rng.choice(_SYLLABLE_ONSETS)
            + rng.choice(_SYLLABLE_VOWELS)
            + rng.choice(_SYLLABLE_CODAS)
            for _ in range(syllables)
        )
        if word not in seen and len(word) <= 14:
            seen.add(word)
            words.append(word)
    return Vocabulary(
        words=tuple(words),
        table=_zipf_table(words, WORD_ZIPF_EXPONENT),
        title_words=tuple(w for w in words if w not in _FUNCTION_WORDS),
    )


def _zipf_table(items: Sequence[str], exponent: float) -> tuple[str, ...]:
    """Exactly 2**_SAMPLE_TABLE_BITS slots; every item gets at least one, the rest by weight."""
    size = 1 << _SAMPLE_TABLE_BITS
    weights = [1.0 / rank**exponent for rank in range(1, len(items) + 1)]
    spare = size - len(items)
    total = sum(weights)
    slots = [1 + int(w / total * spare) for w in weights]
    slots[0] += size - sum(slots)  # rounding leftovers go to the most frequent word
    table = tuple(
        itertools.chain.from_iterable(
            itertools.repeat(i, n) for i, n in zip(items, slots, strict=True)
        )
    )
    assert len(table) == size
    return table


def build_author_pool(seed: int) -> tuple[str, ...]:
    """~2,000 distinct names in popularity order (rank 1 is the most prolific)."""
    rng = random.Random(f"authors:{seed}")
    pool: list[str] = []
    seen: set[str] = set()
    while len(pool) < AUTHOR_POOL_SIZE:
        first, last = rng.choice(_FIRST_NAMES), rng.choice(_LAST_NAMES)
        roll = rng.random()
        if roll < 0.08:  # a middle initial
            name = f"{first} {rng.choice('ABCDEFGHJKLMNPRSTW')}. {last}"
        elif roll < 0.12:  # a double-barrelled surname
            name = f"{first} {last} {rng.choice(_LAST_NAMES)}"
        else:
            name = f"{first} {last}"
        if name not in seen:
            seen.add(name)
            pool.append(name)
    return tuple(pool)


def author_weights(pool_size: int = AUTHOR_POOL_SIZE) -> list[float]:
    """Cumulative Zipf-like weights of the author pool, for `random.choices(cum_weights=...)`."""
    return list(
        itertools.accumulate(
            1.0 / (r + AUTHOR_ZIPF_SHIFT) ** AUTHOR_ZIPF_EXPONENT for r in range(1, pool_size + 1)
        )
    )


def _yaml_scalar(text: str) -> str:
    """Plain YAML when unambiguous (as people write it), else a JSON string (valid YAML too)."""
    if _PLAIN_SAFE.match(text) and text.lower() not in _YAML_WORDS:
        return text
    return json.dumps(text, ensure_ascii=False)


def slug(text: str) -> str:
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    return _NON_SLUG.sub("-", ascii_text.lower()).strip("-")


class _Writer:
    """One document at a time, from its own random generator."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.vocabulary = build_vocabulary(settings.seed)
        self.authors = build_author_pool(settings.seed)
        self.author_cum_weights = author_weights(len(self.authors))
        sigma = 0.6
        self._length_mu = math.log(max(settings.words_mean, 20)) - sigma * sigma / 2
        self._length_sigma = sigma

    # --- text ----------------------------------------------------------------------------------

    def _words(self, rng: random.Random, n: int) -> list[str]:
        """`n` Zipf-distributed words: 16-bit random numbers index the table, all in C."""
        if n <= 1:
            return [self.vocabulary.table[rng.getrandbits(_SAMPLE_TABLE_BITS)] for _ in range(n)]
        indices = memoryview(rng.randbytes(2 * n)).cast("H")
        return list(operator.itemgetter(*indices)(self.vocabulary.table))

    def body(self, rng: random.Random, n_words: int) -> str:
        """Exactly `n_words` whitespace-separated tokens in paragraphs of sentences."""
        words = self._words(rng, n_words)
        paragraphs: list[str] = []
        position = 0
        random_ = rng.random
        while position < n_words:
            remaining = n_words - position
            if paragraphs and remaining > 40 and random_() < 0.06:  # a Markdown heading
                size = 3 + int(random_() * 5)  # the "##" marker counts as one of the words
                heading = words[position + 1 : position + size]
                paragraphs.append("## " + " ".join(heading).capitalize())
                position += size
                continue
            sentences: list[str] = []
            for _ in range(2 + int(random_() * 6)):
                remaining = n_words - position
                if remaining <= 0:
                    break
                size = min(5 + int(random_() * 24), remaining)
                chunk = words[position : position + size]
                position += size
                roll = random_()
                if size > 8 and roll < 0.4:
                    chunk[3 + int(roll * 2.5 * (size - 6))] += ","
                chunk[-1] += "." if roll < 0.9 else ("?" if roll < 0.95 else "!")
                chunk[0] = chunk[0].capitalize()
                sentences.append(" ".join(chunk))
            paragraphs.append(" ".join(sentences))
        return "\n\n".join(paragraphs)

    def title(self, rng: random.Random) -> str:
        n = rng.randint(4, 12)
        # Titles favour frequent content words, without the extreme skew of body text.
        pool = self.vocabulary.title_words
        span = min(len(pool), TITLE_VOCABULARY)
        picks = [pool[int(span * rng.random() ** 1.5)] for _ in range(n)]
        words = [w if (i and w in _FUNCTION_WORDS) else w.capitalize() for i, w in enumerate(picks)]
        roll = rng.random()
        if roll < 0.08 and n >= 6:
            cut = rng.randint(2, n - 3)
            words[cut] += ":"
            words[cut + 1] = words[cut + 1].capitalize()
        elif roll < 0.13:
            words[-1] += "?"
        return " ".join(words)

    # --- documents -----------------------------------------------------------------------------

    def document(self, index: int) -> tuple[str, str]:
        """(file name, file text) of document `index` (0-based)."""
        rng = random.Random(f"document:{self.settings.seed}:{index}")
        long_ids = list(LONG_DOCUMENTS)
        if index < len(long_ids):
            doc_id = long_ids[index]
            n_words = LONG_DOCUMENTS[doc_id]
            title: str | None = self.title(rng)
        else:
            title = self.title(rng) if rng.random() >= 0.01 else None
            n_words = int(rng.lognormvariate(self._length_mu, self._length_sigma))
            n_words = max(12, min(MAX_BODY_WORDS, n_words))
            stem = slug(" ".join((title or "untitled").split()[:5]))[:50].strip("-")
            doc_id = f"{stem}-{index}" if stem else f"doc-{index}"
        lines = ["---", f"id: {doc_id}"]
        if title is not None:
            lines.append(f"title: {_yaml_scalar(title)}")
        elif rng.random() < 0.5:
            lines.append(f"title_inferred: {_yaml_scalar(self.title(rng))}")
        if rng.random() < 0.15:
            lines.append(f"subtitle: {_yaml_scalar(self.title(rng) + ' and ' + self.title(rng))}")
        n_authors = rng.choices((1, 2, 3, 4, 5), weights=(45, 25, 15, 10, 5))[0]
        names = rng.choices(self.authors, cum_weights=self.author_cum_weights, k=n_authors)
        lines.append("authors:")
        for name in dict.fromkeys(names):  # a name once per byline
            if rng.random() < 0.03:
                name = f"{name} ({rng.choice(_AFFILIATIONS)})"
            lines.append(f"- {_yaml_scalar(name)}")
        if rng.random() < 0.97:
            lines.append(f"published: {FIRST_DATE + timedelta(days=rng.randrange(DATE_SPAN_DAYS))}")
        lines.append(f"url: https://example.org/posts/{doc_id}")
        lines.append(f"publisher: {_yaml_scalar(rng.choice(_PUBLISHERS))}")
        lines.append(f"kind: {rng.choice(_KINDS)}")
        lines.append(f"excerpt: {'true' if rng.random() < 0.2 else 'false'}")
        lines.append("---")
        text = "\n".join(lines) + "\n" + self.body(rng, n_words) + "\n"
        return f"{index:06d}-{doc_id}.md", text


_worker: _Writer | None = None


def _init_worker(settings: Settings) -> None:
    global _worker
    _worker = _Writer(settings)


def _write_range(job: tuple[Path, int, int]) -> int:
    """Write documents [start, stop) into the folder; returns the bytes written."""
    out, start, stop = job
    assert _worker is not None
    written = 0
    for index in range(start, stop):
        name, text = _worker.document(index)
        data = text.encode("utf-8")
        (out / name).write_bytes(data)
        written += len(data)
    return written


def _ranges(count: int, chunk: int) -> Iterator[tuple[int, int]]:
    for start in range(0, count, chunk):
        yield start, min(count, start + chunk)


def generate(
    out: Path,
    *,
    count: int,
    seed: int = 1,
    words_mean: int = 800,
    jobs: int | None = None,
    chunk: int = 500,
) -> int:
    """Write `count` documents into `out` (created; existing `*.md` files there are removed first,
    so the folder holds exactly this corpus). Returns the bytes written. Worker processes take
    `chunk` documents at a time; one process is used when there is a single chunk."""
    if count < len(LONG_DOCUMENTS):
        raise ValueError(f"count must be at least {len(LONG_DOCUMENTS)} (the long documents)")
    out.mkdir(parents=True, exist_ok=True)
    for old in out.glob("*.md"):
        old.unlink()
    settings = Settings(count=count, seed=seed, words_mean=words_mean)
    jobs = max(1, jobs if jobs is not None else (os.cpu_count() or 1))
    work = [(out, start, stop) for start, stop in _ranges(count, chunk)]
    if jobs == 1 or len(work) == 1:
        _init_worker(settings)
        return sum(_write_range(job) for job in work)
    context = multiprocessing.get_context("spawn")
    with context.Pool(jobs, initializer=_init_worker, initargs=(settings,)) as pool:
        return sum(pool.imap_unordered(_write_range, work))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, required=True, help="number of documents (>= 2)")
    parser.add_argument(
        "--out", type=Path, required=True, help="folder to write (its *.md are replaced)"
    )
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--words-mean", type=int, default=800, help="mean body length in words")
    parser.add_argument(
        "--jobs", type=int, default=None, help="worker processes (default: all cores)"
    )
    args = parser.parse_args(argv)
    started = time.perf_counter()
    written = generate(
        args.out, count=args.count, seed=args.seed, words_mean=args.words_mean, jobs=args.jobs
    )
    seconds = time.perf_counter() - started
    print(
        f"wrote {args.count:,} documents ({written / 1e6:,.1f} MB) to {args.out} in {seconds:.1f} s"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())


__all__ = ["LONG_DOCUMENTS", "build_author_pool", "build_vocabulary", "generate", "slug"]
