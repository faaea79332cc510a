"""Runs racing each other: one correct digest, and a feed holding each day once."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
import requests

from papers_digest.keys import FEED_INDEX_KEY, FEED_KEY, digest_key, post_key
from papers_digest.model import parse_day_response, rank
from papers_digest.pipeline import run_day
from papers_digest.publish import publish_day
from papers_digest.settings import FeedSettings, PostSettings
from papers_digest.source import DailyPapersClient
from tests.conftest import REAL_DAY, api_items
from tests.digests import days_before, digest_for, store_digest
from tests.s3faults import AtomicRequestStore
from tools.replay_server import ReplayServer

NOW = datetime(2026, 8, 2, tzinfo=UTC)
FEEDS = FeedSettings(site_url="https://papers.example.com")


def together(*jobs: Callable[[], Any]) -> list[Any]:
    """Run the jobs in threads released at once; re-raise the first failure."""
    barrier = threading.Barrier(len(jobs))
    results: list[Any] = [None] * len(jobs)

    def run(position: int, job: Callable[[], Any]) -> None:
        barrier.wait()
        try:
            results[position] = job()
        except BaseException as exc:  # handed to the test below
            results[position] = exc

    threads = [threading.Thread(target=run, args=(i, job)) for i, job in enumerate(jobs)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for result in results:
        if isinstance(result, BaseException):
            raise result
    return results


def digest_run(url: str) -> Any:
    client = DailyPapersClient(requests.Session(), url)
    return run_day(REAL_DAY, source=client, store=AtomicRequestStore(), settings=PostSettings(),
                   now=NOW)  # fmt: skip


@pytest.mark.fault("concurrency", "holds")
@pytest.mark.parametrize("runs", [2, 4], ids=["2 digest runs at once", "4 digest runs at once"])
def test_digest_runs_for_the_same_day_at_once(s3: Any, replay: ReplayServer, runs: int) -> None:
    results = together(*[lambda: digest_run(replay.url)] * runs)
    # Whichever run wins each key, each is written exactly once and the rest see it done.
    written = sorted(key for result in results for key in result.keys_written)
    assert written == sorted([digest_key(REAL_DAY), post_key(REAL_DAY)])
    assert [r.status for r in results].count("unchanged") >= runs - 2
    stored = json.loads(AtomicRequestStore().get(digest_key(REAL_DAY)).body)  # type: ignore[union-attr]
    expected = rank(parse_day_response(api_items(REAL_DAY), REAL_DAY).papers, 10)
    assert [p["arxiv_id"] for p in stored["papers"]] == [p.arxiv_id for p in expected]


@pytest.mark.fault("concurrency", "holds")
def test_a_digest_run_racing_a_feed_publish(s3: Any, replay: ReplayServer) -> None:
    earlier = date(2026, 7, 30)
    store = AtomicRequestStore()
    store_digest(store, digest_for(earlier))
    together(lambda: digest_run(replay.url), lambda: publish_day(store, earlier, FEEDS))
    publish_day(store, REAL_DAY, FEEDS)  # the Object Created event of the new digest
    together(lambda: publish_day(store, REAL_DAY, FEEDS),  # and a duplicate delivery
             lambda: publish_day(store, earlier, FEEDS))  # fmt: skip
    index = json.loads(store.get(FEED_INDEX_KEY).body)  # type: ignore[union-attr]
    assert sorted(index["days"]) == ["2026-07-30", "2026-07-31"]
    feed = store.get("feed.xml").body  # type: ignore[union-attr]
    assert feed.count(b"hf-papers-digest:day:2026-07-31<") == 1
    assert feed.count(b"hf-papers-digest:day:2026-07-30<") == 1


@pytest.mark.fault("concurrency", "holds")
def test_an_older_run_that_finishes_last_never_replaces_a_newer_digest(
    s3: Any, replay: ReplayServer
) -> None:
    """Two runs of a day overlap: the one that fetched later (more upvotes) stores its
    digest first; the one that fetched earlier finishes last and must not undo it."""
    store, settings = AtomicRequestStore(), PostSettings()
    newer = run_day(REAL_DAY, source=ListedSource(bump=5), store=store, settings=settings,
                    now=NOW)  # fmt: skip
    older = run_day(REAL_DAY, source=ListedSource(bump=0), store=store, settings=settings,
                    now=NOW - timedelta(minutes=2))  # fmt: skip
    assert (newer.status, older.status) == ("created", "superseded")
    assert digest_key(REAL_DAY) not in older.keys_written
    stored = json.loads(store.get(digest_key(REAL_DAY)).body)  # type: ignore[union-attr]
    assert stored["generated_at"] == NOW.isoformat(timespec="seconds")


class ListedSource:
    """The recorded day, every paper's upvotes raised by `bump`."""

    def __init__(self, bump: int) -> None:
        self.bump = bump

    def fetch_day(self, day: date) -> list[Any]:
        items = api_items(day)
        for item in items:
            item["paper"]["upvotes"] += self.bump
        return items


@pytest.mark.fault("concurrency", "holds")
def test_a_digest_stamped_in_the_future_does_not_block_its_day(
    s3: Any, replay: ReplayServer
) -> None:
    """A skewed clock or a corrupt object must not make every later run `superseded`."""
    store, settings = AtomicRequestStore(), PostSettings()
    run_day(REAL_DAY, source=ListedSource(bump=0), store=store, settings=settings,
            now=NOW.replace(year=2099))  # fmt: skip
    fresh = run_day(REAL_DAY, source=ListedSource(bump=5), store=store, settings=settings,
                    now=NOW)  # fmt: skip
    assert fresh.status == "updated"
    stored = json.loads(store.get(digest_key(REAL_DAY)).body)  # type: ignore[union-attr]
    assert stored["generated_at"] == NOW.isoformat(timespec="seconds")


@pytest.mark.fault("concurrency", "holds")
def test_six_feed_publishes_at_once_each_land_exactly_once(s3: Any) -> None:
    days = days_before(REAL_DAY, 6)
    for day in days:
        store_digest(AtomicRequestStore(), digest_for(day))
    together(*[
        lambda day=day: publish_day(AtomicRequestStore(), day, FEEDS, sleep=lambda _: None)
        for day in days
    ])  # fmt: skip
    index = json.loads(AtomicRequestStore().get(FEED_INDEX_KEY).body)  # type: ignore[union-attr]
    assert sorted(index["days"]) == sorted(day.isoformat() for day in days)
    feed = AtomicRequestStore().get(FEED_KEY).body  # type: ignore[union-attr]
    for day in days:
        assert feed.count(f"hf-papers-digest:day:{day}<".encode()) == 1


class InterleavingStore(AtomicRequestStore):
    """Runs another publisher to completion just before this one's first feed write."""

    def __init__(self, then: Callable[[], Any]) -> None:
        super().__init__()
        self.then: Callable[[], Any] | None = then

    def put(self, key: str, body: bytes, content_type: str, **options: Any) -> str:
        if key == FEED_KEY and self.then is not None:
            then, self.then = self.then, None
            then()
        return super().put(key, body, content_type, **options)


@pytest.mark.fault("concurrency", "holds")
def test_a_publisher_that_rendered_an_older_index_does_not_have_the_last_word(s3: Any) -> None:
    first = date(2026, 7, 30)
    for day in (first, REAL_DAY):
        store_digest(AtomicRequestStore(), digest_for(day))
    slow = InterleavingStore(then=lambda: publish_day(AtomicRequestStore(), REAL_DAY, FEEDS))
    publish_day(slow, first, FEEDS)
    feed = AtomicRequestStore().get(FEED_KEY).body  # type: ignore[union-attr]
    assert b"hf-papers-digest:day:2026-07-31<" in feed
    assert feed.index(b"day:2026-07-31<") < feed.index(b"day:2026-07-30<")
