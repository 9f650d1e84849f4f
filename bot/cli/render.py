"""How the CLI shows answers: plain text for people, one JSON object for programs.

Both renderings come from the same typed answers the Discord layer renders as embeds, so the
command line shows exactly what the bot would say.

Text for people goes to a terminal, which obeys what it is sent: an ANSI escape in a corpus title
would recolour, retitle or clear it, a carriage return overwrite the line, a bidi override reorder
what is read. Every public `*_text` function returns its text through `for_terminal`, the same
`strip_controls` the Discord layer uses. JSON needs nothing: `json.dumps` writes every control
character as a `\\u` escape.
"""

from __future__ import annotations

import functools
import textwrap
from collections.abc import Callable
from typing import Any, ParamSpec

from bot.corpus.errors import AnswerError
from bot.corpus.models import (
    EXCERPT_NOTE,
    HIGHLIGHT_CLOSE,
    HIGHLIGHT_OPEN,
    Answer,
    AuthorCount,
    AuthorPosts,
    DocumentRef,
    Post,
    Problem,
    Reasons,
    ReloadReport,
    SearchResults,
    Summary,
    shown_title,
)
from bot.text_safety import strip_controls
from bot.wording import counted, counted_matches

WIDTH = 100
P = ParamSpec("P")


def for_terminal(render: Callable[P, str]) -> Callable[P, str]:
    """`render`'s text without escape sequences, control characters or bidi overrides."""

    @functools.wraps(render)
    def rendered(*args: P.args, **kwargs: P.kwargs) -> str:
        return strip_controls(render(*args, **kwargs))

    return rendered


# --- JSON ------------------------------------------------------------------------------------


def document_json(ref: DocumentRef) -> dict[str, Any]:
    return {
        "id": ref.id,
        "title": ref.title,
        "title_source": ref.title_source,
        "subtitle": ref.subtitle,
        "authors": list(ref.authors),
        "published": ref.published.isoformat() if ref.published else None,
        "url": ref.url,
        "publisher": ref.publisher,
        "kind": ref.kind,
        "excerpt": ref.excerpt,
    }


def highlight_markdown(snippet: str) -> str:
    """Search snippets mark matches with ⟦…⟧; people and JSON consumers get **bold** Markdown."""
    return snippet.replace(HIGHLIGHT_OPEN, "**").replace(HIGHLIGHT_CLOSE, "**")


def post_json(post: Post) -> dict[str, Any]:
    return {
        "document": document_json(post.ref),
        "body": post.body,
        "word_count": post.word_count,
        "annotations": post.annotations,
    }


def author_json(answer: AuthorPosts) -> dict[str, Any]:
    return {
        "author": author_count_json(answer.author),
        "documents": [document_json(r) for r in answer.posts],
        "total": answer.total if answer.total is not None else len(answer.posts),
        "offset": answer.offset,
    }


def author_count_json(author: AuthorCount) -> dict[str, Any]:
    return {"name": author.name, "posts": author.posts}


def summary_json(summary: Summary) -> dict[str, Any]:
    return {
        "document": document_json(summary.ref),
        "sentences": list(summary.sentences),
        "excerpt": summary.excerpt,
        "note": EXCERPT_NOTE if summary.excerpt else None,
    }


def reasons_json(answer: Reasons) -> dict[str, Any]:
    return {
        "document": document_json(answer.ref),
        "topic": answer.topic,
        "reasons": [
            {"label": r.label, "quote": r.quote, "paragraph": r.paragraph} for r in answer.reasons
        ],
    }


def search_json(results: SearchResults) -> dict[str, Any]:
    return {
        "query": results.query,
        "total": results.total,
        "total_is_lower_bound": results.total_is_lower_bound,
        "ranked": results.ranked,
        "hits": [
            {
                "document": document_json(h.ref),
                "snippet": highlight_markdown(h.snippet),
                "score": round(h.score, 4),
            }
            for h in results.hits
        ],
    }


def answer_json(answer: Answer) -> dict[str, Any]:
    """`ask question`: each passage with the keys the issue names (quote, paragraph, id, title,
    url, score), plus what a citation needs (authors, published, excerpt)."""
    return {
        "question": answer.question,
        "passages": [
            {
                "quote": p.quote,
                "paragraph": p.paragraph,
                "id": p.ref.id,
                "title": shown_title(p.ref.title, p.ref.title_source),
                "url": p.ref.url,
                "score": p.score,
                "authors": list(p.ref.authors),
                "published": p.ref.published.isoformat() if p.ref.published else None,
                "excerpt": p.excerpt,
            }
            for p in answer.passages
        ],
    }


def report_json(report: ReloadReport) -> dict[str, Any]:
    return {
        "added": list(report.added),
        "changed": list(report.changed),
        "removed": list(report.removed),
        "added_count": report.added_count,
        "changed_count": report.changed_count,
        "removed_count": report.removed_count,
        "unchanged": report.unchanged,
        "reparsed": report.reparsed,
        "seconds": round(report.seconds, 3),
    }


def problems_json(problems: list[Problem]) -> dict[str, Any]:
    return {"problems": [{"file": p.where, "line": p.line, "message": p.message} for p in problems]}


# --- text ------------------------------------------------------------------------------------


CANDIDATES_SHOWN = 10
"""Candidates a failed answer lists, as in Discord."""


@for_terminal
def citation(ref: DocumentRef) -> str:
    """One line that says where an answer is from."""
    parts = [shown_title(ref.title, ref.title_source)]
    parts.append(
        "by " + _names(ref.authors) if ref.authors else f"by {ref.publisher or 'unknown author'}"
    )
    parts.append(ref.published.isoformat() if ref.published else "date unknown")
    line = " — ".join(parts)
    return f"{line}\n  {ref.url}" if ref.url else f"{line}\n  (no public URL known)"


def _names(names: tuple[str, ...]) -> str:
    if len(names) <= 2:
        return " and ".join(names)
    return ", ".join(names[:-1]) + ", and " + names[-1]


def _wrap(text: str, indent: str = "") -> str:
    return "\n".join(
        textwrap.fill(paragraph, WIDTH, initial_indent=indent, subsequent_indent=indent)
        for paragraph in text.split("\n")
    )


@for_terminal
def post_text(post: Post) -> str:
    lines = [citation(post.ref)]
    if post.ref.subtitle:
        lines.append(_wrap(post.ref.subtitle))
    if post.ref.excerpt:
        lines.append(
            f"[excerpt: the corpus holds only the opening of this post, {post.word_count} words]"
        )
    lines.append("")
    lines.append(post.body)
    return "\n".join(lines)


@for_terminal
def author_text(answer: AuthorPosts) -> str:
    lines = [f"{answer.author.name}: {counted(answer.author.posts, 'post')}, newest first"]
    for ref in answer.posts:
        date = ref.published.isoformat() if ref.published else "date unknown"
        lines.append(f"- {shown_title(ref.title, ref.title_source)} ({date}) [{ref.id}]")
    if answer.has_more:
        lines.append(f"(showing the newest {len(answer.posts)} of {answer.total})")
    return "\n".join(lines)


@for_terminal
def authors_text(authors: list[AuthorCount]) -> str:
    return "\n".join(f"{a.posts:3d}  {a.name}" for a in authors) or "No authors in the corpus."


@for_terminal
def summary_text(summary: Summary) -> str:
    lines = [citation(summary.ref), ""]
    if summary.sentences:
        lines.extend(_wrap(s, "  ") for s in summary.sentences)
    else:
        lines.append("  (no sentence of this text fits the summary's length budget)")
    if summary.excerpt:
        lines.extend(["", f"Note: {EXCERPT_NOTE}"])
    return "\n".join(lines)


@for_terminal
def reasons_text(answer: Reasons) -> str:
    head = "Access Now's reasons for resigning"
    if answer.topic:
        head += f" that mention '{answer.topic}'"
    lines = [head + ", quoted verbatim from:", citation(answer.ref), ""]
    for number, reason in enumerate(answer.reasons, start=1):
        lines.append(f"{number}. {reason.label} (paragraph {reason.paragraph})")
        lines.append(_wrap(f"“{reason.quote}”", "   > "))
    return "\n".join(lines)


@for_terminal
def answer_text(answer: Answer) -> str:
    """Each passage quoted verbatim with where it is from, best first."""
    lines = [
        f"What the corpus says, quoted verbatim, best first ({counted(len(answer.passages), 'passage')}):"
    ]
    for number, passage in enumerate(answer.passages, start=1):
        lines.append("")
        lines.append(_wrap(f"“{passage.quote}”", "   > ").replace("   > ", f"{number}. > ", 1))
        lines.append(
            f"   paragraph {passage.paragraph} of " + citation(passage.ref).replace("\n", "\n   ")
        )
        if passage.excerpt:
            lines.append(f"   ({EXCERPT_NOTE})")
    return "\n".join(lines)


@for_terminal
def search_text(results: SearchResults) -> str:
    if not results.hits:
        return f"No document matches '{results.query}'."
    lines = [
        f"{counted_matches(results.total, results.total_is_lower_bound)} '{results.query}'"
        + ("" if results.ranked else " (newest first: the words are too common to rank by)")
        + ":"
    ]
    for number, hit in enumerate(results.hits, start=1):
        lines.append(f"{number}. {shown_title(hit.ref.title, hit.ref.title_source)} [{hit.ref.id}]")
        lines.append(_wrap(highlight_markdown(hit.snippet), "   "))
    return "\n".join(lines)


@for_terminal
def report_text(report: ReloadReport) -> str:
    lines = [
        f"Index updated in {report.seconds:.2f} s: {report.added_count} added, {report.changed_count} changed, "
        f"{report.removed_count} removed, {report.unchanged} unchanged ({counted(report.reparsed, 'file')} parsed)."
    ]
    for label, ids, count in (
        ("added", report.added, report.added_count),
        ("changed", report.changed, report.changed_count),
        ("removed", report.removed, report.removed_count),
    ):
        lines.extend(f"  {label}: {doc_id}" for doc_id in ids)
        if count > len(ids):
            lines.append(f"  {label}: … and {count - len(ids)} more")
    return "\n".join(lines)


@for_terminal
def answer_error_text(error: AnswerError) -> str:
    """A question with no answer, on one line: the message, then the candidates (each once:
    what to type is shown only when the label does not already show it)."""
    if not error.candidates:
        return error.message
    shown = error.candidates[:CANDIDATES_SHOWN]
    listed = "; ".join(c.label if c.shows_value else f"{c.label} [{c.value}]" for c in shown)
    more = len(error.candidates) - len(shown)
    return f"{error.message} {error.heading}: {listed}" + (f"; and {more} more" if more > 0 else "")
