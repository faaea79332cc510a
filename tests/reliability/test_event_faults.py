"""Bad and repeated events: a clear error naming the problem, or a no-op; never a write
outside the day's own keys."""

from __future__ import annotations

import re
from typing import Any

import pytest

from papers_digest import digest_handler, feed_handler
from papers_digest.errors import InvalidEventError
from papers_digest.publish import publish_day
from papers_digest.settings import feed_settings
from papers_digest.store import FolderStore, S3Store
from tests.conftest import BUCKET, REAL_DAY, FakeLambdaContext, Ledger, copy_objects, object_created
from tests.digests import digest_for, store_digest

REFUSED_DIGEST_EVENTS = [
    ("an impossible date", {"date": "2026-02-30"}, "invalid date '2026-02-30'"),
    ("a date in another format", {"date": "31/07/2026"}, "expected YYYY-MM-DD"),
    ("a future date", {"date": "2999-12-31"}, "day 2999-12-31 has not ended yet"),
    ("a date before Daily Papers", {"date": "2023-05-03"},
     "before Hugging Face Daily Papers began (2023-05-04)"),
    ("a malformed scheduled time", {"scheduled_time": "tomorrow at 9"},
     "invalid timestamp 'tomorrow at 9'"),
    ("a scheduled time that is not text", {"scheduled_time": 1785000000}, "invalid timestamp"),
    ("a Scheduled Event without its time", {"detail-type": "Scheduled Event", "detail": {}},
     "event has none of `date`, `scheduled_time`"),
    ("an unknown event", {"Records": []}, "event has none of"),
    ("an event of other keys", {"hello": "world"}, "event has none of"),
    ("an event that is not an object", ["2026-07-31"], "event is a list"),
]  # fmt: skip

REFUSED_FEED_EVENTS = [
    ("an Object Created event for another bucket",
     object_created("digests/2026-07-31.json", bucket="someone-else"),
     "event names bucket 'someone-else', but this function publishes"),
    ("Object Created without a bucket", {"detail-type": "Object Created", "detail": {}},
     "lacks detail.bucket.name"),
    ("Object Created without a key", {"detail-type": "Object Created", "detail": {"bucket": {}}},
     "lacks detail.bucket.name or detail.object.key"),
    ("an S3 notification (the stack sends none)", {"Records": [{"s3": {}}]},
     "neither an S3 Object Created event"),
    ("a digest event sent to the feed function", {"date": "2026-07-31"},
     "neither an S3 Object Created event"),
    ("an empty event", {}, "neither an S3 Object Created event"),
]  # fmt: skip

SITE_URL = "https://papers.example.com"
IGNORED_KEYS = [
    "_posts/2026-07-31-hf-daily-papers.md",
    "digests/2026-07-31.json.tmp",
    "digests/notes.txt",
    "digests/2026-13-45.json",
    "digests/nested/2026-07-31.json",
    "digests/weekly/2026-W99.json",  # no such ISO week
    "digests/weekly/2025-W53.json",  # 2025 has 52
    "digests/monthly/2026-13.json",
    "digests/monthly/2026-W31.json",  # a week under the months
    "rollups.xml",
    "feed.xml",
    "state/feed-index.json",
]


@pytest.fixture(scope="module")
def published(tmp_path_factory: pytest.TempPathFactory) -> FolderStore:
    """What the feed function writes for a day's digest."""
    folder = FolderStore(tmp_path_factory.mktemp("published"))
    store_digest(folder, digest_for(REAL_DAY))
    publish_day(folder, REAL_DAY, feed_settings({"SITE_URL": SITE_URL}))
    return folder


@pytest.fixture
def bucket(
    s3: Any, published: FolderStore, ledger: Ledger, monkeypatch: pytest.MonkeyPatch
) -> Ledger:
    """A bucket holding a published day, and the ledger that watches it."""
    monkeypatch.setenv("SITE_URL", SITE_URL)
    copy_objects(published, S3Store(BUCKET))
    return ledger


@pytest.mark.fault("events", "refused")
@pytest.mark.parametrize(("name", "event", "message"), REFUSED_DIGEST_EVENTS,
                         ids=[case[0] for case in REFUSED_DIGEST_EVENTS])  # fmt: skip
def test_the_digest_function_refuses_bad_events(
    bucket: Ledger, name: str, event: Any, message: str
) -> None:
    before = bucket.snapshot()
    with pytest.raises(InvalidEventError, match=re.escape(message)) as err:
        digest_handler.lambda_handler(event, FakeLambdaContext())
    assert "\n" not in str(err.value)
    bucket.intact(before)


@pytest.mark.fault("events", "refused")
@pytest.mark.parametrize(("name", "event", "message"), REFUSED_FEED_EVENTS,
                         ids=[case[0] for case in REFUSED_FEED_EVENTS])  # fmt: skip
def test_the_feed_function_refuses_foreign_or_malformed_events(
    bucket: Ledger, name: str, event: Any, message: str
) -> None:
    before = bucket.snapshot()
    with pytest.raises(InvalidEventError, match=re.escape(message)) as err:
        feed_handler.lambda_handler(event, FakeLambdaContext())
    assert "\n" not in str(err.value)
    bucket.intact(before)


@pytest.mark.fault("events", "no-op")
@pytest.mark.parametrize("key", IGNORED_KEYS, ids=[f"Object Created for {k}" for k in IGNORED_KEYS])
def test_an_object_outside_the_digests_is_a_no_op(bucket: Ledger, key: str) -> None:
    before = bucket.snapshot()
    result = feed_handler.lambda_handler(object_created(key), FakeLambdaContext())
    assert (result["status"], result["notes"]) == ("ignored", [f"not a digest: {key}"])
    bucket.intact(before)


@pytest.mark.fault("events", "no-op")
def test_the_same_event_ten_times_changes_nothing(bucket: Ledger) -> None:
    before = bucket.snapshot()
    for _ in range(10):
        result = feed_handler.lambda_handler(
            object_created("digests/2026-07-31.json"), FakeLambdaContext()
        )
        assert result["status"] == "unchanged"
    bucket.intact(before)
    assert before["feed.xml"].count(b"<item>") == 1
