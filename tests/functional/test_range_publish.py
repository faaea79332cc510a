"""Publishing a range of days at once (a backfill's end), and the lease that keeps the
feed function from publishing a backfill's days one by one meanwhile."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from typing import Any

import feedparser
import pytest

from papers_digest import feed_handler, lease
from papers_digest.days import last_complete_day
from papers_digest.errors import InvalidEventError
from papers_digest.feed_index import empty_index, merge_digest, parse_index
from papers_digest.keys import (
    FEED_INDEX_KEY,
    FEED_KEY,
    LEASE_KEY,
    day_page_key,
    digest_key,
    month_page_key,
)
from papers_digest.publish import publish_day, publish_days
from papers_digest.settings import FeedSettings
from papers_digest.store import JSON_TYPE, S3Store
from tests.conftest import BUCKET, FakeLambdaContext, object_created
from tests.digests import digest_for, store_digest
from tests.s3faults import counted_store

SETTINGS = FeedSettings(site_url="https://papers.example.com", max_days=5)
FIRST, LAST = date(2026, 5, 20), date(2026, 7, 18)  # 60 days over three months
RANGE = [FIRST + timedelta(days=n) for n in range(60)]


def test_a_range_is_published_once_with_every_page_of_it(s3: Any) -> None:
    store, calls = counted_store()
    recent = date(2026, 7, 30)  # a day the feeds already hold, newer than the range
    store_digest(store, digest_for(recent))
    publish_day(store, recent, SETTINGS)
    for day in RANGE:
        store_digest(store, digest_for(day))
    calls.clear()

    result = publish_days(store, FIRST, LAST, SETTINGS)

    assert result.status == "published"
    expected = empty_index()
    for day in [*RANGE, recent]:
        expected = merge_digest(expected, digest_for(day), SETTINGS)
    index = parse_index(s3.get_object(Bucket=BUCKET, Key=FEED_INDEX_KEY)["Body"].read())
    assert {**index, "assets": None} == {**expected, "assets": None}
    written = set(result.keys_written)
    assert {day_page_key(day.isoformat()) for day in RANGE} <= written
    assert {month_page_key(m) for m in ("2026-05", "2026-06", "2026-07")} <= written
    # The range's LIST, the index, the window's LIST (healing) and a GET per day; a PUT
    # per page and feed, each once.
    assert calls["GET"] == 1 + 1 + 1 + 60
    assert calls["PUT"] == len(written)
    page = s3.get_object(Bucket=BUCKET, Key=day_page_key(FIRST.isoformat()))["Body"].read()
    assert digest_for(FIRST).papers[0].arxiv_id.encode() in page
    feed = feedparser.parse(s3.get_object(Bucket=BUCKET, Key=FEED_KEY)["Body"].read())
    assert not feed.bozo
    assert [entry.id.rsplit(":", 1)[1] for entry in feed.entries][:2] == [
        "2026-07-30",
        "2026-07-18",
    ]


def test_a_corrupt_digest_in_the_range_is_skipped_with_a_note(s3: Any) -> None:
    store = S3Store(BUCKET)
    for day in RANGE[:3]:
        store_digest(store, digest_for(day))
    store.put(digest_key(RANGE[1]), b'{"schema_version": ', JSON_TYPE)

    result = publish_days(store, FIRST, RANGE[2], SETTINGS)

    assert result.status == "published"
    skipped = [note.split(":")[0] for note in result.notes if note.startswith("skipped")]
    assert skipped == [f"skipped {digest_key(RANGE[1])}"]
    assert day_page_key(RANGE[1].isoformat()) not in result.keys_written


# ------------------------------------------------------------------ the feed function

NOW = datetime.now(UTC)


@pytest.fixture
def feed_env(s3: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setenv("SITE_URL", "https://papers.example.com")
    for day in RANGE[:3]:
        store_digest(S3Store(BUCKET), digest_for(day))
    return s3


def landed(day: date) -> dict[str, Any]:
    result: dict[str, Any] = feed_handler.lambda_handler(
        object_created(digest_key(day)), FakeLambdaContext()
    )
    return result


@pytest.mark.parametrize(
    ("lease_body", "held"),
    [
        (lease.Lease(FIRST, LAST, "b-1", NOW + timedelta(minutes=10)).to_bytes(), True),
        # over: expired, or for other days (a corrupt lease: tests/reliability)
        (lease.Lease(FIRST, LAST, "b-1", NOW - timedelta(seconds=1)).to_bytes(), False),
        (lease.Lease(LAST, LAST, "b-1", NOW + timedelta(minutes=10)).to_bytes(), False),
    ],
    ids=["held", "expired", "other-days"],
)
def test_a_backfills_lease_holds_its_days_events(
    feed_env: Any, lease_body: bytes, held: bool
) -> None:
    S3Store(BUCKET).put(LEASE_KEY, lease_body, JSON_TYPE)

    result = landed(FIRST)

    assert result["status"] == ("held" if held else "published")
    assert (result["keys_written"] == []) is held


def test_the_scheduled_days_digest_is_published_at_once_under_a_backfills_lease(
    feed_env: Any,
) -> None:
    """A backfill up to yesterday holds the feeds; the scheduled run's day landing then is
    news: published (and its readers notified) as usual, while the older days wait."""
    store, yesterday = S3Store(BUCKET), last_complete_day(NOW)
    store_digest(store, digest_for(yesterday))
    lease.take(store, FIRST, yesterday, "b-1", NOW + timedelta(minutes=10), now=NOW)

    assert landed(yesterday)["status"] == "published"
    assert landed(FIRST)["status"] == "held"


def test_a_released_lease_holds_nothing_and_another_owner_cannot_release_it(
    feed_env: Any,
) -> None:
    store = S3Store(BUCKET)
    lease.take(store, FIRST, LAST, "b-1", NOW + timedelta(minutes=10), now=NOW)
    lease.release(store, "b-2", NOW)
    assert landed(FIRST)["status"] == "held"
    lease.release(store, "b-1", NOW)
    assert landed(FIRST)["status"] == "published"


def test_the_publish_event_publishes_the_range(feed_env: Any) -> None:
    lease.take(S3Store(BUCKET), FIRST, LAST, "b-1", NOW + timedelta(minutes=10), now=NOW)
    event = {"publish": {"from": FIRST.isoformat(), "to": LAST.isoformat()}}

    result = feed_handler.lambda_handler(event, FakeLambdaContext())

    assert result["status"] == "published"
    assert day_page_key(RANGE[2].isoformat()) in result["keys_written"]
    index = json.loads(feed_env.get_object(Bucket=BUCKET, Key=FEED_INDEX_KEY)["Body"].read())
    assert sorted(index["days"]) == [day.isoformat() for day in RANGE[:3]]


@pytest.mark.parametrize(
    ("publish", "message"),
    [
        ("2026-05-20", "publish must be"),
        ({"from": "2026-05-20"}, "publish must be"),
        ({"from": "2026-05-20", "to": "2026-5-1"}, "invalid date '2026-5-1'"),
        ({"from": "2026-07-18", "to": "2026-05-20"}, "is after to"),
        ({"from": "0001-01-01", "to": "9999-12-31"}, "before Hugging Face Daily Papers"),
        ({"from": "x" * 100_000, "to": "2026-05-20"}, r"invalid date 'x{40}'\.\.\.: expected"),
    ],
)
def test_a_bad_publish_event_is_one_clear_error(publish: Any, message: str) -> None:
    with pytest.raises(InvalidEventError, match=message):
        feed_handler.lambda_handler({"publish": publish}, FakeLambdaContext())
