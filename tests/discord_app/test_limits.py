"""Discord's limits hold whatever the corpus holds (pure functions on real discord.Embed objects)."""

from __future__ import annotations

from datetime import date

import discord
from hypothesis import given
from hypothesis import strategies as st

from bot.corpus.models import DocumentRef, Post, Reason, Reasons
from bot.discord_app import limits
from bot.discord_app.limits import clip, fit_embed, safe
from bot.discord_app.render import number_page, post_embed, reasons_pages, timestamp


def test_clip_cuts_at_a_word_boundary_with_an_ellipsis() -> None:
    assert clip("short", 10) == "short"
    cut = clip("alpha beta gamma delta epsilon", 20)
    assert cut == "alpha beta gamma…" and len(cut) <= 20


@given(st.text(max_size=3000), st.integers(min_value=2, max_value=2000))
def test_clip_never_exceeds_the_limit(text: str, limit: int) -> None:
    assert len(clip(text, limit)) <= limit


def test_safe_blocks_mentions_and_markdown() -> None:
    shown = safe("@everyone **bold** <@123> @here")
    assert "@everyone" not in shown and "@here" not in shown and "**" not in shown


@given(
    title=st.text(max_size=600),
    description=st.text(max_size=9000),
    fields=st.lists(st.tuples(st.text(max_size=400), st.text(max_size=2000)), max_size=40),
    footer=st.text(max_size=3000),
)
def test_fit_embed_respects_every_limit(
    title: str, description: str, fields: list[tuple[str, str]], footer: str
) -> None:
    embed = discord.Embed(title=title, description=description)
    for name, value in fields:
        embed.add_field(name=name, value=value)
    embed.set_footer(text=footer)
    fit_embed(embed)
    assert len(embed.title or "") <= limits.TITLE
    assert len(embed.description or "") <= limits.DESCRIPTION
    assert len(embed.fields) <= limits.FIELDS
    assert all(
        len(f.name or "") <= limits.FIELD_NAME and len(f.value or "") <= limits.FIELD_VALUE
        for f in embed.fields
    )
    assert len(embed.footer.text or "") <= limits.FOOTER
    assert len(embed) <= limits.EMBED_TOTAL


REF = DocumentRef(
    id="x",
    title="T" * 400,
    title_source="given",
    authors=tuple(f"Author {n}" for n in range(300)),
    published=date(2020, 12, 8),
    url="https://example.org/x",
    publisher="P",
    kind="post",
    excerpt=True,
)


def test_a_huge_post_renders_within_limits() -> None:
    embed = post_embed(Post(ref=REF, body="word " * 20_000, word_count=20_000))
    assert len(embed) <= limits.EMBED_TOTAL and len(embed.title or "") <= limits.TITLE
    assert embed.description and "…" in embed.description


def test_long_quotes_stay_within_field_limits() -> None:
    reasons = Reasons(
        ref=REF, reasons=tuple(Reason(f"label {n}", "q " * 900, n) for n in range(9)), topic=None
    )
    pages = reasons_pages(reasons)
    assert sum(len(page.fields) - 2 for page in pages) == 9  # each page also cites its source
    for index, page in enumerate(pages):
        assert len(number_page(page, index, len(pages))) <= limits.EMBED_TOTAL
        if index + 1 < len(pages):  # as many ~1,000-character quotes on a page as fit
            assert len(page) + len(pages[index + 1].fields[0].value or "") > limits.EMBED_TOTAL - 40


def test_timestamps() -> None:
    assert timestamp(None) == "unknown"
    assert timestamp(date(2021, 2, 26)) == "<t:1614340800:D>"


def test_a_reload_of_many_files_lists_the_first_ids_and_counts_the_rest() -> None:
    from bot.corpus.models import ReloadReport
    from bot.discord_app.render import reload_embed

    first = tuple(f"post-{n:05d}" for n in range(50))
    embed = reload_embed(
        ReloadReport(added=first, added_count=100_000, unchanged=11, seconds=120.0)
    )
    assert embed.description is not None and embed.description.startswith(
        "100000 added · 0 changed"
    )
    [added] = embed.fields
    assert added.name == "Added" and added.value is not None
    assert added.value.startswith("`post-00000`, `post-00001`") and len(added.value) <= 1024
    assert len(embed) <= 6000


def test_long_ids_in_a_reload_report_still_end_with_how_many_more() -> None:
    from bot.corpus.models import ReloadReport
    from bot.discord_app.render import reload_embed

    first = tuple(f"{'x' * 70}-{n:05d}" for n in range(50))
    [changed] = reload_embed(ReloadReport(changed=first, changed_count=2_000)).fields
    assert changed.value is not None and len(changed.value) <= 1024
    shown = changed.value.count("`") // 2
    assert 0 < shown < 50 and changed.value.endswith(f" and {2_000 - shown} more")


def test_a_numbered_page_still_fits_its_footer_and_the_total() -> None:
    page = discord.Embed(title="t", description="d" * 3000)
    page.add_field(name="f", value="v" * 900)
    page.set_footer(text="x " * 1024)
    fit_embed(page)
    numbered = number_page(page, 0, 12)
    assert numbered.footer.text is not None and numbered.footer.text.endswith(" · page 1/12")
    assert len(numbered.footer.text) <= limits.FOOTER and len(numbered) <= limits.EMBED_TOTAL
    assert page.footer.text == fit_embed(page).footer.text, "the kept page is not numbered"
