"""S3 misbehaves: retries absorb throttling, lost races are retried, a run cut short is
repaired by the next, and a broken feed index is rebuilt from the digests."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
import requests

from papers_digest import feed_handler
from papers_digest.errors import CorruptObjectError, StoreError
from papers_digest.keys import FEED_INDEX_KEY, FEED_KEY, LEASE_KEY, digest_key, post_key
from papers_digest.lease import Lease
from papers_digest.pipeline import run_day
from papers_digest.publish import publish_day, rebuild
from papers_digest.render import digest_json
from papers_digest.settings import FeedSettings, PostSettings
from papers_digest.source import DailyPapersClient
from papers_digest.store import JSON_TYPE, S3Store
from tests.conftest import BUCKET, REAL_DAY, FakeLambdaContext, Ledger, object_created
from tests.digests import days_before, digest_for, store_digest
from tests.s3faults import counted_store, inject
from tools.replay_server import ReplayServer

NOW = datetime(2026, 8, 2, tzinfo=UTC)


@pytest.fixture(autouse=True)
def no_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    """botocore's retries are under test here, not its waiting between them."""
    from botocore.retries import standard

    monkeypatch.setattr(standard.ExponentialBackoff, "delay_amount", lambda self, context: 0)


FEEDS = FeedSettings(site_url="https://papers.example.com")


def faulty_store(operation: str, failures: list[tuple[int, str]], key_part: str = "") -> Any:
    client = S3Store.default_client()
    answered = inject(client, operation, failures, key_part)
    return S3Store(BUCKET, client), answered


def digest_run(replay: ReplayServer, store: S3Store) -> Any:
    client = DailyPapersClient(requests.Session(), replay.url)
    return run_day(REAL_DAY, source=client, store=store, settings=PostSettings(), now=NOW)


def days_in_index(store: S3Store) -> list[str]:
    index = json.loads(store.get(FEED_INDEX_KEY).body)  # type: ignore[union-attr]
    return sorted(index["days"])


THROTTLING = [
    ("PutObject", [(503, "SlowDown")] * 2),
    ("PutObject", [(500, "InternalError")]),
    ("PutObject", [(503, "ServiceUnavailable")]),
    ("GetObject", [(503, "SlowDown")] * 3),
    ("HeadObject", [(503, "SlowDown")]),
]


@pytest.mark.fault("store", "recovered")
@pytest.mark.parametrize(("operation", "failures"), THROTTLING,
                         ids=[f"{op} {f[0][1]} x{len(f)}" for op, f in THROTTLING])  # fmt: skip
def test_botocore_retries_absorb_throttling(
    s3_server: Any, replay: ReplayServer, ledger: Ledger, operation: str, failures: Any
) -> None:
    store, answered = faulty_store(operation, list(failures))
    before = ledger.snapshot(store)
    result = digest_run(replay, store)
    publish = publish_day(store, REAL_DAY, FEEDS)
    assert result.status == "created"
    assert publish.status == "published"
    assert len(answered) == len(failures)
    ledger.intact(before, set(result.keys_written) | set(publish.keys_written))


@pytest.mark.fault("store", "refused")
def test_throttling_beyond_the_retry_budget_is_a_clear_error(
    s3_server: Any, replay: ReplayServer, ledger: Ledger
) -> None:
    store, _ = faulty_store("PutObject", [(503, "SlowDown")] * 5)
    before = ledger.snapshot(store)
    with pytest.raises(StoreError, match=r"cannot write s3://.*/_posts/2026-07-31.*: SlowDown"):
        digest_run(replay, store)
    ledger.intact(before)


@pytest.mark.fault("store", "recovered")
@pytest.mark.parametrize(
    "code",
    [(412, "PreconditionFailed"), (409, "ConditionalRequestConflict")],
    ids=["412 on the feed index", "409 on the feed index"],
)
def test_a_lost_race_on_the_feed_index_is_retried(
    s3_server: Any, ledger: Ledger, code: tuple[int, str]
) -> None:
    plain = S3Store(BUCKET)
    for day in days_before(date(2026, 7, 30), 2):
        store_digest(plain, digest_for(day))
    publish_day(plain, date(2026, 7, 30), FEEDS)
    store_digest(plain, digest_for(REAL_DAY))
    store, answered = faulty_store("PutObject", [code], key_part=FEED_INDEX_KEY)
    before = ledger.snapshot(store)
    result = publish_day(store, REAL_DAY, FEEDS, sleep=lambda _: None)
    assert answered == [code[1]]
    assert result.index_attempts == 2
    assert days_in_index(store) == ["2026-07-29", "2026-07-30", "2026-07-31"]
    ledger.intact(before, set(result.keys_written))


@pytest.mark.fault("store", "recovered")
@pytest.mark.parametrize(
    "failing_key",
    [post_key(REAL_DAY), digest_key(REAL_DAY)],
    ids=[
        "the post write fails, the next run repairs",
        "the digest write fails, the next run repairs",
    ],
)
def test_a_run_cut_short_between_the_post_and_the_digest_is_repaired(
    s3_server: Any, replay: ReplayServer, ledger: Ledger, failing_key: str
) -> None:
    store, _ = faulty_store("PutObject", [(403, "AccessDenied")], key_part=failing_key)
    with pytest.raises(StoreError, match=f"cannot write s3://{BUCKET}/{failing_key}"):
        digest_run(replay, store)
    before = ledger.snapshot(store)

    repaired = digest_run(replay, S3Store(BUCKET))

    assert repaired.status == "created"
    missing = {post_key(REAL_DAY), digest_key(REAL_DAY)} - set(before)
    assert set(repaired.keys_written) == missing
    plain = S3Store(BUCKET)
    assert json.loads(plain.get(digest_key(REAL_DAY)).body)["day"] == "2026-07-31"  # type: ignore[union-attr]
    assert plain.get(post_key(REAL_DAY)) is not None
    ledger.intact(before, missing)


@pytest.mark.fault("store", "recovered")
@pytest.mark.parametrize(
    "index",
    [None, b"", b"{truncated", b'{"schema_version": 1}', b"[]", b'{"schema_version": 7}'],
    ids=[
        f"feed index {what}, rebuilt"
        for what in (
            "missing",
            "empty",
            "truncated",
            "of the wrong shape",
            "an array",
            "of an unknown schema_version",
        )
    ],
)
def test_a_missing_or_corrupt_feed_index_is_rebuilt_not_trusted(
    s3_server: Any, ledger: Ledger, index: bytes | None
) -> None:
    store = S3Store(BUCKET)
    days = days_before(REAL_DAY, 4)
    for day in days:
        store_digest(store, digest_for(day))
    if index is not None:
        s3_server.put_object(Bucket=BUCKET, Key=FEED_INDEX_KEY, Body=index)
    before = ledger.snapshot(store)
    result = publish_day(store, REAL_DAY, FEEDS)
    assert days_in_index(store) == sorted(day.isoformat() for day in days)
    assert result.notes[0] == "index missing or corrupt: rebuilt from the digests"
    ledger.intact(before, set(result.keys_written))
    assert FEED_KEY in result.keys_written


def _index_with(day_entry: dict[str, Any]) -> bytes:
    return json.dumps(
        {
            "schema_version": 2,
            "days": {"2026-07-30": day_entry},
            "papers": {},
            "months": {"2026-07": ["2026-07-30"]},
        }
    ).encode()


_GOOD_DAY = {
    "published_at": "2026-07-30T09:15:00+09:00",
    "generated_at": "2026-07-31T00:00:00+00:00",
    "papers_that_day": 1,
    "papers": [{"arxiv_id": "2607.28582", "title": "A title", "abstract": "", "upvotes": 3}],
}


@pytest.mark.fault("store", "recovered")
@pytest.mark.parametrize(
    "index",
    [
        _index_with({**_GOOD_DAY, "published_at": "2026-07-30T09:15:00"}),
        _index_with({**_GOOD_DAY, "papers": "2607.28582"}),
        _index_with({**_GOOD_DAY, "papers": [{**_GOOD_DAY["papers"][0], "title": 7}]}),
        _index_with({**_GOOD_DAY, "papers": [{**_GOOD_DAY["papers"][0], "arxiv_id": "x)"}]}),
    ],
    ids=[
        "feed index entry with a naive datetime, rebuilt",
        "feed index entry whose papers are text, rebuilt",
        "feed index entry whose title is a number, rebuilt",
        "feed index entry with a hostile id, rebuilt",
    ],
)
def test_an_index_entry_the_renderers_cannot_take_is_rebuilt(
    s3_server: Any, ledger: Ledger, index: bytes
) -> None:
    store = S3Store(BUCKET)
    store_digest(store, digest_for(REAL_DAY))
    s3_server.put_object(Bucket=BUCKET, Key=FEED_INDEX_KEY, Body=index)
    before = ledger.snapshot(store)
    result = publish_day(store, REAL_DAY, FEEDS)
    assert result.notes[0] == "index missing or corrupt: rebuilt from the digests"
    assert days_in_index(store) == ["2026-07-31"]
    ledger.intact(before, set(result.keys_written))


@pytest.mark.fault("store", "recovered")
def test_a_day_whose_publish_failed_for_good_comes_back_with_the_next(
    s3_server: Any, ledger: Ledger
) -> None:
    store, calls = counted_store()
    first, lost, last = days_before(REAL_DAY, 3)[::-1]
    store_digest(store, digest_for(first))
    publish_day(store, first, FEEDS)
    store_digest(store, digest_for(lost))  # its publish never happens: retries exhausted
    store_digest(store, digest_for(last))
    before = ledger.snapshot(store)
    calls.clear()

    result = publish_day(store, last, FEEDS)

    # The digest, the index, one LIST of the feed window, and the missing digest.
    assert dict(calls) == {"GET": 4, "PUT": 11, "HEAD": 1}
    assert days_in_index(store) == [first.isoformat(), lost.isoformat(), last.isoformat()]
    assert result.notes == (f"healed: {digest_key(lost)} was missing from the feeds",)
    ledger.intact(before, set(result.keys_written))


CORRUPT_DIGESTS = {
    "a digest stored under another day's key": lambda d: {**d, "day": "2026-07-29"},
    "a digest whose paper title is a number": lambda d: {
        **d, "papers": [{**d["papers"][0], "title": 42}, *d["papers"][1:]]},
    "a digest with naive datetimes": lambda d: {**d, "published_at": "2026-07-31T09:15:00"},
    "a digest whose authors are one string": lambda d: {
        **d, "papers": [{**d["papers"][0], "authors": "Mallory"}, *d["papers"][1:]]},
}  # fmt: skip


@pytest.mark.fault("store", "refused")
@pytest.mark.parametrize("corrupt", CORRUPT_DIGESTS.values(), ids=CORRUPT_DIGESTS.keys())
def test_a_corrupt_digest_is_refused_and_never_freezes_the_feeds(
    s3_server: Any, ledger: Ledger, corrupt: Any
) -> None:
    store = S3Store(BUCKET)
    earlier = days_before(REAL_DAY, 2)[1]
    store_digest(store, digest_for(earlier))
    publish_day(store, earlier, FEEDS)
    bad = corrupt(json.loads(digest_json(digest_for(REAL_DAY))))
    s3_server.put_object(Bucket=BUCKET, Key=digest_key(REAL_DAY), Body=json.dumps(bad).encode())
    before = ledger.snapshot(store)

    with pytest.raises(CorruptObjectError, match=f"s3://{BUCKET}/{digest_key(REAL_DAY)}"):
        publish_day(store, REAL_DAY, FEEDS)
    ledger.intact(before)

    # The next day publishes, and a rebuild skips what it cannot read, with a note.
    next_day = date(2026, 8, 1)
    store_digest(store, digest_for(next_day))
    published = publish_day(store, next_day, FEEDS)
    assert published.notes == (f"skipped {digest_key(REAL_DAY)}: " + _refusal(store),)
    assert days_in_index(store) == [earlier.isoformat(), next_day.isoformat()]
    assert rebuild(store, FEEDS).notes == published.notes


def _refusal(store: S3Store) -> str:
    try:
        publish_day(store, REAL_DAY, FEEDS)
    except CorruptObjectError as exc:
        return str(exc)
    raise AssertionError("the corrupt digest was accepted")


@pytest.mark.fault("store", "refused")
def test_a_rebuild_that_cannot_read_a_digest_fails_instead_of_dropping_the_day(
    s3_server: Any, ledger: Ledger
) -> None:
    """Only a corrupt digest is skipped: S3 refusing a read must not thin out the feeds."""
    plain = S3Store(BUCKET)
    for day in days_before(REAL_DAY, 3):
        store_digest(plain, digest_for(day))
    rebuild(plain, FEEDS)
    before = ledger.snapshot(plain)
    store, _ = faulty_store("GetObject", [(403, "AccessDenied")], key_part=digest_key(REAL_DAY))
    with pytest.raises(StoreError, match=f"cannot read s3://{BUCKET}/{digest_key(REAL_DAY)}"):
        rebuild(store, FEEDS)
    ledger.intact(before)


LEASE_DAYS = b'"from": "2026-07-31", "to": "2026-07-31", "owner": "b-1"'
CORRUPT_LEASES = {
    "a backfill lease claiming 400 days holds nothing": Lease(
        REAL_DAY, REAL_DAY, "b-1", datetime.now(UTC) + timedelta(days=400)
    ).to_bytes(),
    "a backfill lease without its end holds nothing": b"{" + LEASE_DAYS + b"}",
    "a backfill lease with a naive end holds nothing": (
        b"{" + LEASE_DAYS + b', "until": "2999-01-01T00:00:00"}'
    ),
    "a backfill lease that is not UTF-8 holds nothing": b"\xff\xfe not json",
    "a backfill lease nested 100,000 deep holds nothing": b"[" * 100_000,
}


@pytest.mark.fault("store", "recovered")
@pytest.mark.parametrize("body", CORRUPT_LEASES.values(), ids=CORRUPT_LEASES)
def test_a_corrupt_backfill_lease_holds_nothing(
    s3: Any, monkeypatch: pytest.MonkeyPatch, body: bytes
) -> None:
    """A lease that cannot be read, or claims to last longer than a lease can, must not
    keep the feeds from publishing: the day is published as if no backfill ran."""
    monkeypatch.setenv("SITE_URL", "https://papers.example.com")
    store = S3Store(BUCKET)
    store_digest(store, digest_for(REAL_DAY))
    store.put(LEASE_KEY, body, JSON_TYPE)

    result = feed_handler.lambda_handler(object_created(digest_key(REAL_DAY)), FakeLambdaContext())

    assert result["status"] == "published"
    assert days_in_index(store) == ["2026-07-31"]
