"""Publishing feeds into moto S3: constant cost, idempotent, and safe under races."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from typing import Any

import feedparser
import pytest

from papers_digest import digest_handler, feed_handler
from papers_digest.errors import StoreError
from papers_digest.feed_index import empty_index, merge_digest
from papers_digest.keys import FEED_KEY, PAPERS_FEED_KEY
from papers_digest.model import Digest
from papers_digest.publish import index_from_digests, publish_day, rebuild
from papers_digest.settings import FeedSettings
from papers_digest.store import S3Store
from tests.conftest import BUCKET, FakeLambdaContext, event
from tests.digests import REAL_PAPERS, days_before, digest_for, store_digest
from tests.s3faults import counted_store
from tools.replay_server import ReplayServer

SETTINGS = FeedSettings(site_url="https://papers.example.com")
NEW_DAY = date(2026, 7, 31)


def days_in_feed(s3: Any) -> list[str]:
    """The days feed.xml lists, newest first."""
    body = s3.get_object(Bucket=BUCKET, Key=FEED_KEY)["Body"].read()
    parsed = feedparser.parse(body)
    assert not parsed.bozo
    return [entry.id.rsplit(":", 1)[1] for entry in parsed.entries]


@pytest.mark.parametrize("archive", [10, 300])  # below the 30-day window, and ten times it
def test_publishing_a_day_costs_the_same_whatever_the_archive(s3: Any, archive: int) -> None:
    store, calls = counted_store()
    for day in days_before(date(2026, 7, 30), archive):
        store_digest(store, digest_for(day, top_n=2))
    rebuild(store, SETTINGS)
    store_digest(store, digest_for(NEW_DAY))
    calls.clear()

    result = publish_day(store, NEW_DAY, SETTINGS)

    assert result.status == "published"
    # GETs: digest, index, LIST; PUTs: the index, 6 feeds, 3 pages and search.json (the
    # stylesheet and script went out with the first publish)
    assert dict(calls) == {"GET": 3, "PUT": 11, "HEAD": 1}
    assert days_in_feed(s3)[0] == "2026-07-31"
    assert len(days_in_feed(s3)) == min(archive + 1, SETTINGS.max_days)


def test_a_refreshed_day_updates_its_items_in_place(s3: Any) -> None:
    store = S3Store(BUCKET)
    first = digest_for(NEW_DAY)
    store_digest(store, first)
    publish_day(store, NEW_DAY, SETTINGS)
    refreshed = digest_for(NEW_DAY, tuple(reversed(first.papers)))
    store_digest(store, refreshed)
    assert publish_day(store, NEW_DAY, SETTINGS).status == "published"
    assert days_in_feed(s3) == ["2026-07-31"]
    papers = feedparser.parse(s3.get_object(Bucket=BUCKET, Key=PAPERS_FEED_KEY)["Body"].read())
    assert len(papers.entries) == 10


def test_a_missing_digest_is_a_clear_error(s3: Any) -> None:
    with pytest.raises(StoreError, match=r"no digest at s3://.*/digests/2026-07-31.json"):
        publish_day(S3Store(BUCKET), NEW_DAY, SETTINGS)


# ------------------------------------------------------------------ the handler


@pytest.fixture
def feed_env(s3: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setenv("SITE_URL", "https://papers.example.com")
    return s3


def invoke_feed(payload: dict[str, Any]) -> dict[str, Any]:
    result: dict[str, Any] = feed_handler.lambda_handler(payload, FakeLambdaContext())
    return result


def test_end_to_end_digest_lands_then_feed_holds_the_day(
    feed_env: Any, replay: ReplayServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HF_API_BASE", replay.url)
    digest_handler.lambda_handler(event("digest-scheduled.json"), FakeLambdaContext())
    result = invoke_feed(event("feed-object-created.json"))
    assert result["status"] == "published"
    assert days_in_feed(feed_env) == ["2026-07-31"]
    head = feed_env.head_object(Bucket=BUCKET, Key=FEED_KEY)
    assert head["ContentType"] == "application/rss+xml; charset=utf-8"
    assert head["CacheControl"] == "public, max-age=300"


def test_rebuild_event_publishes_every_stored_day(feed_env: Any) -> None:
    for day in days_before(NEW_DAY, 4):
        store_digest(S3Store(BUCKET), digest_for(day))
    result = invoke_feed(event("feed-rebuild.json"))
    assert result["status"] == "rebuilt"
    assert days_in_feed(feed_env) == [day.isoformat() for day in days_before(NEW_DAY, 4)]


def overlapping(day: date) -> Digest:
    """Four of fifteen real papers, the next four each day: each paper is featured on four
    days running, and again fifteen days later, its upvotes changed."""
    offset = day.toordinal()
    papers = tuple(
        replace(REAL_PAPERS[(offset + k) % 15], upvotes=offset % 97 + k) for k in range(4)
    )
    return digest_for(day, papers)


def test_a_rebuild_gives_the_index_day_by_day_publishing_gives(s3: Any) -> None:
    """Newest first, stopping once the window is full, for a bounded number of reads:
    the whole index equal to an oldest-first merge of every day, papers featured on
    several days (and trimmed, then featured again) included."""
    days = list(reversed(days_before(NEW_DAY, 90)))
    store, calls = counted_store()
    for day in days:
        store_digest(store, overlapping(day))
    settings = FeedSettings(site_url="https://papers.example.com", max_days=20, max_papers=10)
    day_by_day = empty_index()
    for day in days:
        day_by_day = merge_digest(day_by_day, overlapping(day), settings)
    calls.clear()

    rebuilt = index_from_digests(store, settings)

    assert rebuilt.notes == ()
    assert rebuilt.index == day_by_day
    assert len(rebuilt.index["papers"]) == 10
    assert max(len(paper["days"]) for paper in rebuilt.index["papers"].values()) == 8
    assert dict(calls) == {"GET": 1 + 20}  # one LIST page, then the window's days
