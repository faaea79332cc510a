"""Publishing feeds into moto S3: constant cost, idempotent, and safe under races."""

from __future__ import annotations

import json
import threading
from datetime import date
from typing import Any

import boto3
import feedparser
import pytest

from papers_digest import digest_handler, feed_handler
from papers_digest.errors import InvalidEventError, StoreError
from papers_digest.keys import FEED_INDEX_KEY, FEED_KEY, PAPERS_FEED_KEY
from papers_digest.publish import index_from_digests, publish_day, rebuild
from papers_digest.settings import FeedSettings
from papers_digest.store import S3Store
from tests.conftest import BUCKET, FakeLambdaContext, event, object_created
from tests.digests import days_before, digest_for, store_digest
from tests.s3faults import AtomicRequestStore, count_requests
from tools.replay_server import ReplayServer

SETTINGS = FeedSettings(site_url="https://papers.example.com")
NEW_DAY = date(2026, 7, 31)


class CountingStore(S3Store):
    """An S3Store whose every HTTP request (HEAD and retries included) is counted."""

    def __init__(self) -> None:
        client = boto3.client("s3", region_name="us-east-1")
        self.calls = count_requests(client)
        super().__init__(BUCKET, client)


def feed_days(s3: Any) -> list[str]:
    body = s3.get_object(Bucket=BUCKET, Key=FEED_KEY)["Body"].read()
    parsed = feedparser.parse(body)
    assert not parsed.bozo
    return [entry.id.rsplit(":", 1)[1] for entry in parsed.entries]


@pytest.mark.parametrize("archive", [10, 100, 1000])
def test_publishing_a_day_costs_the_same_whatever_the_archive(s3: Any, archive: int) -> None:
    store = CountingStore()
    for day in days_before(date(2026, 7, 30), archive):
        store_digest(store, digest_for(day, top_n=2))
    rebuild(store, SETTINGS)
    store_digest(store, digest_for(NEW_DAY))
    store.calls.clear()

    result = publish_day(store, NEW_DAY, SETTINGS)

    assert result.status == "published"
    # GETs: digest, index, LIST; PUTs: the index, 6 feeds, 4 pages and search.json, 2 assets
    assert dict(store.calls) == {"GET": 3, "PUT": 13, "HEAD": 1}
    assert feed_days(s3)[0] == "2026-07-31"
    assert len(feed_days(s3)) == min(archive + 1, SETTINGS.max_days)


def test_a_replayed_event_changes_nothing(s3: Any) -> None:
    store = S3Store(BUCKET)
    store_digest(store, digest_for(NEW_DAY))
    publish_day(store, NEW_DAY, SETTINGS)
    before = {key: store.get(key) for key in (FEED_INDEX_KEY, FEED_KEY, PAPERS_FEED_KEY)}
    for _ in range(3):
        assert publish_day(store, NEW_DAY, SETTINGS).status == "unchanged"
    after = {key: store.get(key) for key in before}
    assert after == before
    assert feed_days(s3) == ["2026-07-31"]


def test_a_refreshed_day_updates_its_items_in_place(s3: Any) -> None:
    store = S3Store(BUCKET)
    first = digest_for(NEW_DAY)
    store_digest(store, first)
    publish_day(store, NEW_DAY, SETTINGS)
    refreshed = digest_for(NEW_DAY, tuple(reversed(first.papers)))
    store_digest(store, refreshed)
    assert publish_day(store, NEW_DAY, SETTINGS).status == "published"
    assert feed_days(s3) == ["2026-07-31"]
    papers = feedparser.parse(s3.get_object(Bucket=BUCKET, Key=PAPERS_FEED_KEY)["Body"].read())
    assert len(papers.entries) == 10


def test_concurrent_publishers_each_land_exactly_once(s3: Any) -> None:
    days = days_before(NEW_DAY, 6)
    for day in days:
        store_digest(S3Store(BUCKET), digest_for(day))
    barrier = threading.Barrier(len(days))
    errors: list[BaseException] = []

    def publish(day: date) -> None:
        store = AtomicRequestStore()
        barrier.wait()
        try:
            publish_day(store, day, SETTINGS, sleep=lambda _: None)
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=publish, args=(day,)) for day in days]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert sorted(feed_days(s3)) == sorted(day.isoformat() for day in days)
    index = json.loads(s3.get_object(Bucket=BUCKET, Key=FEED_INDEX_KEY)["Body"].read())
    assert sorted(index["days"]) == sorted(day.isoformat() for day in days)


class InterleavingStore(S3Store):
    """Runs another publisher to completion just before this one's first feed write."""

    def __init__(self, then: Any) -> None:
        super().__init__(BUCKET)
        self.then = then

    def put(self, key: str, body: bytes, content_type: str, **options: Any) -> str:
        if key == FEED_KEY and self.then is not None:
            then, self.then = self.then, None
            then()
        return super().put(key, body, content_type, **options)


def test_a_publisher_that_rendered_an_older_index_does_not_have_the_last_word(s3: Any) -> None:
    first, second = date(2026, 7, 30), NEW_DAY
    for day in (first, second):
        store_digest(S3Store(BUCKET), digest_for(day))
    slow = InterleavingStore(then=lambda: publish_day(S3Store(BUCKET), second, SETTINGS))
    publish_day(slow, first, SETTINGS)
    assert feed_days(s3) == ["2026-07-31", "2026-07-30"]


@pytest.mark.parametrize("corruption", [None, b"{not json", b'{"schema_version": 7}'])
def test_a_missing_or_corrupt_index_is_rebuilt_from_the_digests(
    s3: Any, corruption: bytes | None
) -> None:
    store = S3Store(BUCKET)
    for day in days_before(NEW_DAY, 3):
        store_digest(store, digest_for(day))
    if corruption is not None:
        s3.put_object(Bucket=BUCKET, Key=FEED_INDEX_KEY, Body=corruption)
    result = publish_day(store, NEW_DAY, SETTINGS)
    assert result.status == "published"
    assert "rebuilt from the digests" in result.notes[0]
    assert feed_days(s3) == ["2026-07-31", "2026-07-30", "2026-07-29"]


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
    assert feed_days(feed_env) == ["2026-07-31"]
    head = feed_env.head_object(Bucket=BUCKET, Key=FEED_KEY)
    assert head["ContentType"] == "application/rss+xml; charset=utf-8"
    assert head["CacheControl"] == "public, max-age=300"


def test_ten_replays_keep_one_entry(feed_env: Any) -> None:
    store_digest(S3Store(BUCKET), digest_for(NEW_DAY))
    statuses = [invoke_feed(object_created("digests/2026-07-31.json"))["status"] for _ in range(10)]
    assert statuses == ["published"] + ["unchanged"] * 9
    assert feed_days(feed_env) == ["2026-07-31"]


@pytest.mark.parametrize(
    "key", ["_posts/2026-07-31-hf-daily-papers.md", "digests/notes.txt", "feed.xml"]
)
def test_an_object_outside_the_digests_is_ignored(feed_env: Any, key: str) -> None:
    result = invoke_feed(object_created(key))
    assert result["status"] == "ignored"
    listing = feed_env.list_objects_v2(Bucket=BUCKET).get("Contents", [])
    assert listing == []


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        (object_created("digests/2026-07-31.json", bucket="someone-else"),
         "event names bucket 'someone-else', but this function publishes"),
        ({"detail-type": "Object Created", "detail": {}}, "lacks detail.bucket.name"),
        ({"Records": [{"s3": {}}]}, "neither an S3 Object Created event"),
        ({"date": "2026-07-31"}, "neither an S3 Object Created event"),
    ],
)  # fmt: skip
def test_foreign_or_malformed_events_raise(
    feed_env: Any, payload: dict[str, Any], message: str
) -> None:
    with pytest.raises(InvalidEventError, match=message):
        invoke_feed(payload)
    assert feed_env.list_objects_v2(Bucket=BUCKET).get("Contents", []) == []


def test_rebuild_event_publishes_every_stored_day(feed_env: Any) -> None:
    for day in days_before(NEW_DAY, 4):
        store_digest(S3Store(BUCKET), digest_for(day))
    result = invoke_feed(event("feed-rebuild.json"))
    assert result["status"] == "rebuilt"
    assert feed_days(feed_env) == [day.isoformat() for day in days_before(NEW_DAY, 4)]


def test_a_rebuild_reads_only_the_digests_the_feeds_can_hold(s3: Any) -> None:
    """Newest first, stopping once both feeds are full, gives the index an oldest-first
    merge of everything gives, for a bounded number of reads."""
    from papers_digest.feed_index import empty_index, merge_digest

    days = list(reversed(days_before(NEW_DAY, 120)))
    store = CountingStore()
    for day in days:
        store_digest(store, digest_for(day, top_n=3))
    settings = FeedSettings(site_url="https://papers.example.com", max_days=30, max_papers=150)
    complete = empty_index()
    for day in days:
        complete = merge_digest(complete, digest_for(day, top_n=3), settings)
    store.calls.clear()

    index, notes = index_from_digests(store, settings)

    assert notes == ()
    assert index["days"] == complete["days"]
    assert index["papers"].keys() == complete["papers"].keys()
    assert dict(store.calls) == {"GET": 1 + 50}  # one LIST page, then 150 papers / 3 a day
