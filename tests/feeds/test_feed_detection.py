"""Detection against real SQLite files or a real PostgreSQL database and a loopback feed server:
seen-sets, baselines, 304s, broken feeds, corpus files, and feed entries living in the corpus's
documents (on PostgreSQL the shared table; answers read them there once a replica pulls them,
which another component does: those answers are checked on SQLite)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import aiohttp
import pytest

from bot.config import FeedConfig, FeedSourceConfig
from bot.corpus.service import CorpusService, ServiceSettings
from bot.corpus.store import StoredDocument
from bot.feeds.engine import FeedEngine
from bot.feeds.entries import entry_id
from bot.feeds.models import CORPUS_SOURCE, Subscription
from bot.feeds.parse import normalize_link
from tests.conftest import write_doc
from tests.feeds.feed_world import (
    T0,
    FakeDiscord,
    FeedBackend,
    FeedServer,
    Item,
    atom,
    guidless_rss,
    medium_rss,
    running_feed_server,
    undeclared_rss,
)

ADA = "/ada.xml"
BLOG = "/blog.xml"


@pytest.fixture
async def feeds() -> AsyncIterator[FeedServer]:
    async with running_feed_server() as server:
        yield server


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as http:
        yield http


async def stored(engine: FeedEngine, doc_id: str) -> StoredDocument:
    """An entry as the feed's database holds it (the record the poller wrote, either backend)."""
    document = await engine.database.document(doc_id)
    assert document is not None, doc_id
    return document


def feed_config(server: FeedServer, **changes: object) -> FeedConfig:
    sources = (FeedSourceConfig("ada", server.url(ADA)), FeedSourceConfig("blog", server.url(BLOG)))
    options: dict[str, object] = {
        "sources": sources,
        "timeout_seconds": 5.0,
        "user_agent": "corpus-bot-tests/1",
    }
    options.update(changes)
    return FeedConfig(**options)  # type: ignore[arg-type]


async def subscribe(engine: FeedEngine, channel_id: int, **changes: object) -> Subscription:
    options: dict[str, object] = {
        "guild_id": 1,
        "channel_id": channel_id,
        "source": None,
        "author": None,
        "keyword": None,
        "mention_role_id": None,
        "mode": "instant",
        "digest_minute": None,
        "created_by": 7,
        "now": T0,
    }
    options.update(changes)
    sub, _created = await engine.feeds.subscribe(**options)  # type: ignore[arg-type]
    return sub


FIRST = [
    Item("a1", "Why Corpora Need Curators"),
    Item("a2", "Indexing, Briefly", author="Grace Sample"),
]
NEW = Item("a3", "Seen-Sets Beat Dates", html="<p>Dates lie. Keys do not.</p><p>Use keys.</p>")


async def test_first_fetch_is_a_baseline_that_announces_nothing_but_indexes_everything(
    backend: FeedBackend, service: CorpusService, feeds: FeedServer, session: aiohttp.ClientSession
) -> None:
    feeds.serve(ADA, medium_rss(FIRST))
    fake = FakeDiscord()
    engine = FeedEngine(
        service,
        feed_config(feeds, sources=feed_config(feeds).sources[:1]),
        fake,
        database=await backend.database(service),
    )
    await subscribe(engine, 100)

    (report,) = await engine.poll_sources(session, T0)
    sent = await engine.send(T0)

    assert report.outcome == "baseline" and report.queued == 0
    assert len(report.new_entries) == 2
    assert sent.posted == 0 and fake.messages == {}
    assert await engine.database.document(entry_id("ada", "https://medium.com/p/a1")) is not None
    if backend.serves_commands:
        hits = await service.search("curators")
        assert entry_id("ada", "https://medium.com/p/a1") in {hit.ref.id for hit in hits.hits}
    state = await engine.feeds.source_state("ada")
    assert state.baseline_at == T0 and state.etag and state.entries == 0
    assert (await engine.feeds.source_states())["ada"].entries == 2


async def test_a_new_item_is_queued_once_per_wanting_subscription_and_304s_cost_nothing(
    backend: FeedBackend, service: CorpusService, feeds: FeedServer, session: aiohttp.ClientSession
) -> None:
    feeds.serve(ADA, medium_rss(FIRST))
    engine = FeedEngine(
        service,
        feed_config(feeds, sources=feed_config(feeds).sources[:1]),
        FakeDiscord(),
        database=await backend.database(service),
    )
    await engine.poll_sources(session, T0)
    one, two = await subscribe(engine, 100), await subscribe(engine, 101)
    await subscribe(engine, 102, author="Nobody Atall")

    unchanged = await engine.poll_sources(session, T0 + timedelta(minutes=15))
    feeds.serve(ADA, medium_rss([NEW, *FIRST]))
    (report,) = await engine.poll_sources(session, T0 + timedelta(minutes=30))
    (again,) = await engine.poll_sources(session, T0 + timedelta(minutes=45))

    assert unchanged[0].outcome == "not_modified"
    assert report.outcome == "new" and report.new_entries == (
        entry_id("ada", "https://medium.com/p/a3"),
    )
    assert report.queued == 2
    assert again.outcome == "not_modified"
    assert feeds.hits(ADA) == [200, 304, 200, 304]
    assert all("If-None-Match" in headers for _path, headers in feeds.requests[1:])
    assert [len(await engine.feeds.pending_rows(sub.id)) for sub in (one, two)] == [1, 1]
    state = await engine.feeds.source_state("ada")
    assert state.last_new_item_at == T0 + timedelta(minutes=30)


async def test_conditional_get_state_survives_a_restart(
    backend: FeedBackend,
    settings: ServiceSettings,
    service: CorpusService,
    feeds: FeedServer,
    session: aiohttp.ClientSession,
) -> None:
    feeds.serve(ADA, medium_rss(FIRST))
    config = feed_config(feeds, sources=feed_config(feeds).sources[:1])
    await FeedEngine(
        service, config, FakeDiscord(), database=await backend.database(service)
    ).poll_sources(session, T0)
    await service.close()

    reopened = await CorpusService.open(settings)
    try:
        (report,) = await FeedEngine(
            reopened, config, FakeDiscord(), database=await backend.database(reopened)
        ).poll_sources(session, T0 + timedelta(hours=1))
    finally:
        await reopened.close()
    assert report.outcome == "not_modified"
    assert feeds.hits(ADA) == [200, 304]


async def test_items_published_during_downtime_are_found_by_key_not_by_date(
    backend: FeedBackend, service: CorpusService, feeds: FeedServer, session: aiohttp.ClientSession
) -> None:
    feeds.serve(ADA, medium_rss(FIRST))
    engine = FeedEngine(
        service,
        feed_config(feeds, sources=feed_config(feeds).sources[:1]),
        FakeDiscord(),
        database=await backend.database(service),
    )
    await engine.poll_sources(session, T0)
    sub = await subscribe(engine, 100)
    # Two items appear while the bot is down; one is back-dated before everything seen so far.
    old_dated = Item("a0", "An Old Draft Finally Published", published=T0 - timedelta(days=400))
    feeds.serve(ADA, medium_rss([NEW, *FIRST, old_dated]))

    (report,) = await engine.poll_sources(session, T0 + timedelta(days=2))

    assert report.outcome == "new" and len(report.new_entries) == 2
    assert {row.entry_id for row in await engine.feeds.pending_rows(sub.id)} == {
        entry_id("ada", "https://medium.com/p/a3"),
        entry_id("ada", "https://medium.com/p/a0"),
    }


async def test_a_changed_item_is_updated_in_place_and_flagged_for_editing(
    backend: FeedBackend, service: CorpusService, feeds: FeedServer, session: aiohttp.ClientSession
) -> None:
    feeds.serve(ADA, medium_rss(FIRST))
    fake = FakeDiscord()
    engine = FeedEngine(
        service,
        feed_config(feeds, sources=feed_config(feeds).sources[:1]),
        fake,
        database=await backend.database(service),
    )
    await engine.poll_sources(session, T0)
    sub = await subscribe(engine, 100)
    feeds.serve(ADA, medium_rss([NEW, *FIRST]))
    await engine.poll_sources(session, T0 + timedelta(minutes=15))
    await engine.send(T0 + timedelta(minutes=15))
    retitled = Item("a3", "Seen-Sets Beat Dates (Updated)", html=NEW.html)
    feeds.serve(ADA, medium_rss([retitled, *FIRST]))

    (report,) = await engine.poll_sources(session, T0 + timedelta(minutes=30))

    new_id = entry_id("ada", "https://medium.com/p/a3")
    assert report.outcome == "unchanged" and report.changed_entries == (new_id,)
    assert [row.entry_id for row in await engine.feeds.edit_rows(sub.id)] == [new_id]
    assert (await stored(engine, new_id)).ref.title == "Seen-Sets Beat Dates (Updated)"
    assert await engine.feeds.pending_rows(sub.id) == []


@pytest.mark.parametrize(
    ("body", "status", "error_part"),
    [
        (b"<rss><channel><item><title>broken", 200, "not a feed"),
        (
            (Path(__file__).parent / "fixtures" / "malformed_hopeless.xml").read_bytes(),
            200,
            "not a feed",
        ),
        (b"<!doctype html><html><body>Sign in</body></html>", 200, "HTML page"),
        (b"", 500, "HTTP 500"),
    ],
)
async def test_a_broken_feed_costs_its_source_one_attempt_and_nothing_else(
    backend: FeedBackend,
    service: CorpusService,
    feeds: FeedServer,
    session: aiohttp.ClientSession,
    body: bytes,
    status: int,
    error_part: str,
) -> None:
    feeds.serve(ADA, medium_rss(FIRST))
    feeds.serve(BLOG, atom([Item("b1", "Release notes")]))
    engine = FeedEngine(
        service,
        feed_config(feeds, backoff_base_seconds=300.0),
        FakeDiscord(),
        database=await backend.database(service),
    )
    await engine.poll_sources(session, T0)
    blog_state = await engine.feeds.source_state("blog")
    if status == 200:
        feeds.serve(BLOG, body)
    else:
        feeds.fail(BLOG, status)
    feeds.serve(ADA, medium_rss([NEW, *FIRST]))

    reports = {r.source: r for r in await engine.poll_sources(session, T0 + timedelta(minutes=15))}
    early = {r.source: r for r in await engine.poll_sources(session, T0 + timedelta(minutes=16))}

    assert reports["ada"].outcome == "new"
    assert reports["blog"].outcome == "error" and error_part in (reports["blog"].error or "")
    state = await engine.feeds.source_state("blog")
    assert state.error_streak == 1 and state.last_error == reports["blog"].error
    assert state.next_attempt_at == T0 + timedelta(minutes=15, seconds=300)
    assert state.etag == blog_state.etag, "a failed attempt must keep the validators"
    assert state.baseline_at == blog_state.baseline_at
    assert (
        early["blog"].outcome == "not_due" and len(feeds.hits(BLOG)) == 2
    )  # no request while backing off

    later = {r.source: r for r in await engine.poll_sources(session, T0 + timedelta(minutes=21))}
    assert later["blog"].outcome == "error"
    assert (await engine.feeds.source_state("blog")).next_attempt_at == T0 + timedelta(
        minutes=21, seconds=600
    )

    feeds.serve(BLOG, atom([Item("b1", "Release notes")]))
    recovered = await engine.poll_sources(session, T0 + timedelta(hours=2))
    assert {r.source: r.outcome for r in recovered}["blog"] in ("unchanged", "not_modified")
    healthy = await engine.feeds.source_state("blog")
    assert healthy.error_streak == 0 and healthy.next_attempt_at is None and not healthy.failing


async def test_a_source_that_keeps_failing_is_flagged_never_dropped(
    backend: FeedBackend, service: CorpusService, feeds: FeedServer, session: aiohttp.ClientSession
) -> None:
    feeds.fail(BLOG, 503)
    engine = FeedEngine(
        service,
        feed_config(feeds, pause_after_failures=3, backoff_max_seconds=600.0),
        FakeDiscord(),
        database=await backend.database(service),
    )
    now = T0
    for _ in range(3):
        await engine.poll_sources(session, now, only="blog")
        now += timedelta(hours=1)
    state = await engine.feeds.source_state("blog")
    assert state.failing and state.error_streak == 3
    assert (
        state.next_attempt_at is not None and state.next_attempt_at <= now
    )  # still retried at the cap
    (forced,) = await engine.poll_sources(session, T0, only="blog", force=True)
    assert forced.outcome == "error" and len(feeds.hits(BLOG)) == 4


async def test_medium_rss_and_atom_items_become_searchable_summarizable_documents(
    backend: FeedBackend, service: CorpusService, feeds: FeedServer, session: aiohttp.ClientSession
) -> None:
    medium_item = Item(
        "m1",
        "Auditing Datasets",
        author="Ada Example, Grace Sample and Linus Placeholder",
        html="<h3>Auditing Datasets</h3><p>Audits find gaps early. They also build trust with "
        "communities.</p><p>Third sentence here.</p>",
    )
    feeds.serve(ADA, medium_rss([medium_item]))
    feeds.serve(
        BLOG,
        atom(
            [
                Item(
                    "posts/42",
                    "Release notes: v2",
                    author="Grace Sample",
                    html="<p>Version two is out. Search is faster.</p>",
                    link="https://blog.example.org/posts/42.html",
                )
            ]
        ),
    )
    engine = FeedEngine(
        service, feed_config(feeds), FakeDiscord(), database=await backend.database(service)
    )

    await engine.poll_sources(session, T0)

    medium_id = entry_id("ada", "https://medium.com/p/m1")
    post = await stored(engine, medium_id)
    assert post.ref.title == "Auditing Datasets"
    assert post.ref.authors == ("Ada Example", "Grace Sample", "Linus Placeholder")
    assert post.ref.url == "https://medium.com/@ada/m1"  # Medium's ?source=rss… stripped
    assert post.ref.published == T0.date()
    assert "Audits find gaps early." in post.body
    atom_id = entry_id("blog", "tag:blog.example.org,2025:posts/42")
    assert (await stored(engine, atom_id)).ref.authors == ("Grace Sample",)
    if backend.serves_commands:
        summary = await service.summarize(medium_id, sentences=2)
        assert summary.sentences and all(s in post.body for s in summary.sentences)
        assert {hit.ref.id for hit in (await service.search("faster")).hits} == {atom_id}
        assert (await service.author("Linus Placeholder")).posts[0].id == medium_id

    report = await service.reload()  # a corpus reload never touches feed entries
    assert medium_id not in report.removed and atom_id not in report.removed
    assert (await stored(engine, atom_id)).ref.id == atom_id


async def test_corpus_files_are_a_source_baseline_first_then_new_and_changed(
    backend: FeedBackend, service: CorpusService, corpus_dir: Path
) -> None:
    fake = FakeDiscord()
    engine = FeedEngine(service, FeedConfig(), fake, database=await backend.database(service))
    first = await engine.check_corpus(T0, reload=False)
    await subscribe(engine, 100)
    write_doc(
        corpus_dir,
        "fresh.md",
        front="id: fresh-post\ntitle: Fresh Post\nauthors: [Ada Example]\n"
        "kind: post\nexcerpt: false",
        body="Fresh words here. More words follow.",
    )

    found = await engine.check_corpus(T0 + timedelta(minutes=1), reload=True)
    again = await engine.check_corpus(T0 + timedelta(minutes=2), reload=True)

    assert first.baseline and first.queued == 0 and first.new_count >= 10 and first.new_entries
    assert found.new_entries == ("fresh-post",) and found.new_count == 1 and found.queued == 1
    assert again.new_entries == () and again.new_count == 0 and again.queued == 0
    await engine.send(T0 + timedelta(minutes=2))
    assert fake.entries_in(100) == ["fresh-post"]

    write_doc(
        corpus_dir,
        "fresh.md",
        front="id: fresh-post\ntitle: Fresh Post, Revised\nauthors: [Ada Example]\n"
        "kind: post\nexcerpt: false",
        body="Fresh words here. More words follow.",
    )
    changed = await engine.check_corpus(T0 + timedelta(minutes=3), reload=True)
    report = await engine.send(T0 + timedelta(minutes=3))
    assert changed.changed_entries == ("fresh-post",) and changed.changed_count == 1
    assert report.edited == 1 and report.posted == 0
    (posted,) = fake.in_channel(100)
    assert posted.latest.announcement.title == "Fresh Post, Revised"  # type: ignore[union-attr]
    state = (await engine.feeds.source_states())[CORPUS_SOURCE]
    assert state.last_new_item_at == T0 + timedelta(minutes=1)


async def test_a_corpus_file_added_while_the_bot_was_down_is_still_announced(
    backend: FeedBackend, settings: ServiceSettings, service: CorpusService, corpus_dir: Path
) -> None:
    engine = FeedEngine(
        service, FeedConfig(), FakeDiscord(), database=await backend.database(service)
    )
    await engine.check_corpus(T0, reload=False)
    await subscribe(engine, 100)
    await service.close()
    write_doc(
        corpus_dir,
        "while-down.md",
        front="id: while-down\ntitle: Written While Down\nauthors: []\nkind: post\nexcerpt: false",
    )
    reopened = await CorpusService.open(settings)
    try:
        await reopened.reload()  # the launcher's startup reload: nobody hears of it
        fake = FakeDiscord()
        found = await FeedEngine(
            reopened, FeedConfig(), fake, database=await backend.database(reopened)
        ).check_corpus(T0 + timedelta(hours=1), reload=False)
        await FeedEngine(
            reopened, FeedConfig(), fake, database=await backend.database(reopened)
        ).send(T0 + timedelta(hours=1))
    finally:
        await reopened.close()
    assert found.new_entries == ("while-down",)
    assert fake.entries_in(100) == ["while-down"]


@pytest.mark.parametrize(
    ("path", "error_part"),
    [
        ("/bomb", "expands past 1 MB limit"),
        ("/big", "over 1 MB limit"),
        ("/loop/a", "too many redirects"),
        ("/hang", "timed out"),
        ("/to-file", "unsupported URL scheme"),
    ],
)
async def test_hostile_sources_cost_one_attempt_and_leave_other_sources_alone(
    backend: FeedBackend,
    service: CorpusService,
    feeds: FeedServer,
    feed_server: object,
    session: aiohttp.ClientSession,
    path: str,
    error_part: str,
) -> None:
    feeds.serve(ADA, medium_rss(FIRST))
    hostile = FeedSourceConfig("hostile", feed_server.url(path))  # type: ignore[attr-defined]
    config = FeedConfig(
        sources=(FeedSourceConfig("ada", feeds.url(ADA)), hostile),
        timeout_seconds=0.5,
        max_bytes=1_000_000,
    )
    engine = FeedEngine(service, config, FakeDiscord(), database=await backend.database(service))

    reports = {r.source: r for r in await engine.poll_sources(session, T0)}

    assert reports["ada"].outcome == "baseline"
    assert reports["hostile"].outcome == "error" and error_part in (
        reports["hostile"].error or ""
    ), reports
    state = await engine.feeds.source_state("hostile")
    assert state.error_streak == 1 and state.baseline_at is None


async def test_new_corpus_entries_are_folded_in_a_worker_thread_a_batch_at_a_time(
    backend: FeedBackend, service: CorpusService, corpus_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Folding every new document's text is CPU work: it must never run on the event loop, and a
    large reload must not load every new body at once."""
    import threading

    from bot.feeds import corpus_source

    calls: list[tuple[bool, int]] = []
    real = corpus_source._facts_of_rows

    def spy(rows: list) -> list:
        rows = list(rows)
        calls.append((threading.current_thread() is threading.main_thread(), len(rows)))
        return real(rows)

    monkeypatch.setattr(corpus_source, "_facts_of_rows", spy)
    monkeypatch.setattr(corpus_source, "FACTS_BATCH", 2)
    engine = FeedEngine(
        service, FeedConfig(), FakeDiscord(), database=await backend.database(service)
    )
    await engine.check_corpus(T0, reload=False)
    for n in range(5):
        write_doc(
            corpus_dir,
            f"new-{n}.md",
            front=f"id: new-{n}\ntitle: New {n}\nauthors: [Ada Example]\n"
            "kind: post\nexcerpt: false",
            body="Words.",
        )
    found = await engine.check_corpus(T0 + timedelta(minutes=1), reload=True)
    assert found.new_count == 5 and len(found.new_entries) == 5
    assert calls == [(False, 2), (False, 2), (False, 1)]


async def test_a_feed_in_windows_1251_keeps_its_titles_through_the_poller(
    backend: FeedBackend, service: CorpusService, feeds: FeedServer, session: aiohttp.ClientSession
) -> None:
    title = "Новости корпуса: архивы и кураторы"
    feeds.serve(
        ADA,
        undeclared_rss([Item("r1", title, author="Иван Петров")], "windows-1251"),
        content_type="application/rss+xml; charset=windows-1251",
    )
    engine = FeedEngine(
        service,
        feed_config(feeds, sources=feed_config(feeds).sources[:1]),
        FakeDiscord(),
        database=await backend.database(service),
    )
    (report,) = await engine.poll_sources(session, T0)
    assert report.outcome == "baseline", report
    post = await stored(engine, entry_id("ada", "https://medium.com/p/r1"))
    assert post.ref.title == title
    assert list(post.ref.authors) == ["Иван Петров"]


LIVE = [
    ("Morning update", "https://live.example.org/day?utm_source=rss#morning"),
    ("Budget vote", "https://live.example.org/vote"),
]


async def test_items_whose_links_differ_only_in_a_fragment_or_tracking_parameter_are_all_announced(
    backend: FeedBackend, service: CorpusService, feeds: FeedServer, session: aiohttp.ClientSession
) -> None:
    feeds.serve(ADA, guidless_rss(LIVE))
    fake = FakeDiscord()
    engine = FeedEngine(
        service,
        feed_config(feeds, sources=feed_config(feeds).sources[:1]),
        fake,
        database=await backend.database(service),
    )
    await engine.poll_sources(session, T0)
    await subscribe(engine, 100)
    fresh = [
        ("Noon update", "https://live.example.org/day?utm_source=rss#noon"),
        ("Evening update", "https://live.example.org/day?utm_source=email#evening"),
        ("Spring issue", "https://live.example.org/issue?utm_campaign=spring"),
        ("Summer issue", "https://live.example.org/issue?utm_campaign=summer"),
    ]
    feeds.serve(ADA, guidless_rss([*fresh, *LIVE]))

    (report,) = await engine.poll_sources(session, T0 + timedelta(minutes=15))
    await engine.send(T0 + timedelta(minutes=15))

    assert report.outcome == "new" and len(report.new_entries) == 4 and report.warnings == ()
    titles = sorted(p.message.announcement.title for p in fake.in_channel(100))  # type: ignore[union-attr]
    assert titles == sorted(title for title, _link in fresh)
    (again,) = await engine.poll_sources(session, T0 + timedelta(minutes=30))
    assert again.outcome in ("unchanged", "not_modified") and again.new_entries == ()


async def test_a_seen_set_written_with_the_old_link_keys_announces_nothing_old_after_the_upgrade(
    backend: FeedBackend,
    service: CorpusService,
    feeds: FeedServer,
    session: aiohttp.ClientSession,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    feeds.serve(ADA, guidless_rss(LIVE))
    fake = FakeDiscord()
    engine = FeedEngine(
        service,
        feed_config(feeds, sources=feed_config(feeds).sources[:1]),
        fake,
        database=await backend.database(service),
    )
    with (
        monkeypatch.context() as old_version
    ):  # corpus-bot 0.1 keyed link-only items on the stripped link
        old_version.setattr("bot.feeds.parse.link_key", normalize_link)
        await engine.poll_sources(session, T0)
    old_id = entry_id("ada", "https://live.example.org/day")
    await subscribe(engine, 100)
    edited = ("Morning update, corrected", LIVE[0][1])
    clashing = (
        "Noon update",
        "https://live.example.org/day?utm_source=rss#noon",
    )  # 0.1 merged it away
    feeds.serve(ADA, guidless_rss([clashing, edited, LIVE[1]]))

    (report,) = await engine.poll_sources(session, T0 + timedelta(minutes=15))
    await engine.send(T0 + timedelta(minutes=15))

    assert report.changed_entries == (old_id,), (
        "the edited old item is an edit of its own post, not new"
    )
    assert [p.message.announcement.title for p in fake.in_channel(100)] == ["Noon update"]  # type: ignore[union-attr]
    assert (await stored(engine, old_id)).ref.title == "Morning update, corrected"
    (again,) = await engine.poll_sources(session, T0 + timedelta(minutes=30))
    assert again.new_entries == again.changed_entries == ()
    assert (await engine.feeds.source_states())["ada"].entries == 3


@pytest.mark.parametrize("clashing_first", [True, False])
async def test_after_the_upgrade_an_unchanged_old_item_keeps_its_identity_wherever_it_sits(
    backend: FeedBackend,
    service: CorpusService,
    feeds: FeedServer,
    session: aiohttp.ClientSession,
    monkeypatch: pytest.MonkeyPatch,
    clashing_first: bool,
) -> None:
    feeds.serve(ADA, guidless_rss(LIVE))
    fake = FakeDiscord()
    engine = FeedEngine(
        service,
        feed_config(feeds, sources=feed_config(feeds).sources[:1]),
        fake,
        database=await backend.database(service),
    )
    with monkeypatch.context() as old_version:
        old_version.setattr("bot.feeds.parse.link_key", normalize_link)
        await engine.poll_sources(session, T0)
    await subscribe(engine, 100)
    clashing = ("Noon update", "https://live.example.org/day?utm_source=rss#noon")
    feeds.serve(ADA, guidless_rss([clashing, *LIVE] if clashing_first else [*LIVE, clashing]))

    (report,) = await engine.poll_sources(session, T0 + timedelta(minutes=15))
    await engine.send(T0 + timedelta(minutes=15))

    assert report.changed_entries == ()
    assert [p.message.announcement.title for p in fake.in_channel(100)] == ["Noon update"]  # type: ignore[union-attr]
