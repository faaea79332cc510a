"""Bad and repeated events: a clear error naming the problem, or a no-op; never a write
outside the day's own keys."""

from __future__ import annotations

from typing import Any

import pytest

from papers_digest import digest_handler, feed_handler
from papers_digest.errors import InvalidEventError
from papers_digest.store import S3Store
from tests.conftest import BUCKET, REAL_DAY, FakeLambdaContext, object_created
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
    ("an event that is not an object", ["2026-07-31"], "event is a list"),
]  # fmt: skip

FOREIGN_FEED_EVENTS = [
    ("an Object Created event for another bucket", "someone-elses-bucket",
     "digests/2026-07-31.json", "event names bucket 'someone-elses-bucket'"),
]  # fmt: skip

IGNORED_KEYS = [
    "_posts/2026-07-31-hf-daily-papers.md",
    "digests/2026-07-31.json.tmp",
    "digests/2026-13-45.json",
    "digests/nested/2026-07-31.json",
    "feed.xml",
    "state/feed-index.json",
]


@pytest.fixture
def bucket(s3: Any, ledger_factory: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    """A bucket holding a published day."""
    monkeypatch.setenv("SITE_URL", "https://papers.example.com")
    store = S3Store(BUCKET)
    store_digest(store, digest_for(REAL_DAY))
    feed_handler.lambda_handler(object_created("digests/2026-07-31.json"), FakeLambdaContext())
    return ledger_factory(store)


@pytest.mark.fault("events", "refused")
@pytest.mark.parametrize(("name", "event", "message"), REFUSED_DIGEST_EVENTS,
                         ids=[case[0] for case in REFUSED_DIGEST_EVENTS])  # fmt: skip
def test_the_digest_function_refuses_bad_events(
    bucket: Any, name: str, event: Any, message: str
) -> None:
    before = bucket.snapshot()
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")) as err:
        digest_handler.lambda_handler(event, FakeLambdaContext())
    assert "\n" not in str(err.value)
    bucket.intact(before)


@pytest.mark.fault("events", "refused")
@pytest.mark.parametrize(("name", "event_bucket", "key", "message"), FOREIGN_FEED_EVENTS,
                         ids=[case[0] for case in FOREIGN_FEED_EVENTS])  # fmt: skip
def test_the_feed_function_refuses_events_for_a_bucket_it_does_not_own(
    bucket: Any, name: str, event_bucket: str, key: str, message: str
) -> None:
    before = bucket.snapshot()
    with pytest.raises(InvalidEventError, match=message):
        feed_handler.lambda_handler(object_created(key, event_bucket), FakeLambdaContext())
    bucket.intact(before)


@pytest.mark.fault("events", "refused")
@pytest.mark.parametrize(
    "event",
    [{"detail-type": "Object Created", "detail": {"bucket": {}}}, {"Records": [{}]}, {}],
    ids=[
        "Object Created without a key",
        "an S3 notification (the stack sends none)",
        "an empty event",
    ],
)
def test_the_feed_function_refuses_malformed_events(bucket: Any, event: Any) -> None:
    before = bucket.snapshot()
    with pytest.raises(InvalidEventError):
        feed_handler.lambda_handler(event, FakeLambdaContext())
    bucket.intact(before)


@pytest.mark.fault("events", "no-op")
@pytest.mark.parametrize("key", IGNORED_KEYS, ids=[f"Object Created for {k}" for k in IGNORED_KEYS])
def test_an_object_outside_the_digests_is_a_no_op(bucket: Any, key: str) -> None:
    before = bucket.snapshot()
    result = feed_handler.lambda_handler(object_created(key), FakeLambdaContext())
    assert result["status"] == "ignored"
    bucket.intact(before)


@pytest.mark.fault("events", "no-op")
def test_the_same_event_ten_times_changes_nothing(bucket: Any) -> None:
    before = bucket.snapshot()
    for _ in range(10):
        result = feed_handler.lambda_handler(
            object_created("digests/2026-07-31.json"), FakeLambdaContext()
        )
        assert result["status"] == "unchanged"
    bucket.intact(before)
    assert before["feed.xml"].count(b"<item>") == 1
