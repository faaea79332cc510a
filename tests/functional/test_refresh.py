"""The refresh window: a scheduled run also runs the days before its day again, and a day
whose upvotes moved is rewritten, its feed items updated in place."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import feedparser
import pytest

from papers_digest import digest_handler, feed_handler
from papers_digest.keys import FEED_KEY, PAPERS_FEED_KEY, digest_key, post_key
from tests.conftest import BUCKET, FakeLambdaContext, Ledger, object_created
from tools.replay_server import ReplayServer

DAY = date(2026, 7, 31)
EARLIER = [DAY - timedelta(days=1), DAY - timedelta(days=2)]
SCHEDULED = {"scheduled_time": "2026-08-01T00:15:00Z"}


@pytest.fixture
def three_days(s3: Any, days_server: Any) -> ReplayServer:
    """A replay server with DAY and the two days before it, each with its own papers."""
    server: ReplayServer = days_server([DAY, *EARLIER])
    return server


def scheduled_run() -> dict[str, Any]:
    result: dict[str, Any] = digest_handler.lambda_handler(SCHEDULED, FakeLambdaContext())
    return result


def items(s3: Any, key: str) -> list[Any]:
    parsed = feedparser.parse(s3.get_object(Bucket=BUCKET, Key=key)["Body"].read())
    assert not parsed.bozo
    return list(parsed.entries)


def test_a_changed_upvote_rewrites_that_day_and_its_items_in_place(
    s3: Any, three_days: ReplayServer, ledger: Ledger
) -> None:
    first = scheduled_run()
    assert first["refresh"]["refreshed"] == {"2026-07-30": "created", "2026-07-29": "created"}
    for day in [*reversed(EARLIER), DAY]:
        feed_handler.lambda_handler(object_created(digest_key(day)), FakeLambdaContext())
    day_items, paper_items = items(s3, FEED_KEY), items(s3, PAPERS_FEED_KEY)
    listed = sorted(three_days.days["2026-07-30"], key=lambda item: -item["paper"]["upvotes"])
    moved = listed[4]  # the fifth of the day before's papers
    moved_url = f"https://huggingface.co/papers/{moved['paper']['id']}"
    moved["paper"]["upvotes"] += 1000  # it is now the day's first
    before = ledger.snapshot()

    again = scheduled_run()

    assert again["status"] == "unchanged"
    assert again["refresh"]["refreshed"] == {"2026-07-30": "updated", "2026-07-29": "unchanged"}
    # That day, and the roll-up of the closed month holding it (07-31 closed July).
    july = ("_posts/2026-07-31-hf-monthly-papers-2026-07.md", "digests/monthly/2026-07.json")
    assert ("2026-07", "updated") in [(r["period"], r["status"]) for r in again["rollups"]]
    changed = {post_key(EARLIER[0]), digest_key(EARLIER[0]), *july}
    ledger.intact(before, may_change=changed)
    assert {key for key, body in ledger.snapshot().items() if before[key] != body} == changed
    assert (
        feed_handler.lambda_handler(object_created(digest_key(EARLIER[0])), FakeLambdaContext())[
            "status"
        ]
        == "published"
    )
    new_day_items, new_paper_items = items(s3, FEED_KEY), items(s3, PAPERS_FEED_KEY)
    # The same items, by guid, each once; only the refreshed day's changed. (Papers of a
    # day are ordered by upvotes, so the moved paper moved up in papers.xml.)
    assert [entry.id for entry in new_day_items] == [entry.id for entry in day_items]
    new_ids = [entry.id for entry in new_paper_items]
    assert sorted(new_ids) == sorted(entry.id for entry in paper_items)
    assert len(set(new_ids)) == len(new_ids)
    pairs = zip(day_items, new_day_items, strict=True)
    changed_items = [old.id for old, new in pairs if old.summary != new.summary]
    assert changed_items == [day_items[1].id]
    assert day_items[1].id.endswith("2026-07-30")
    (paper,) = [entry for entry in new_paper_items if entry.id == moved_url]
    upvotes = moved["paper"]["upvotes"]
    assert f"<strong>Upvotes: </strong>{upvotes}<" in paper.summary
    assert f"{moved_url}" in new_day_items[1].summary.split("</li>")[0]  # first of its day


def test_a_chosen_day_is_run_alone(s3: Any, three_days: ReplayServer) -> None:
    result = digest_handler.lambda_handler({"date": "2026-07-31"}, FakeLambdaContext())
    assert "refresh" not in result
    assert [request["date"] for request in three_days.requests] == ["2026-07-31"]


@pytest.mark.parametrize(("setting", "fetched"), [("0", 1), ("1", 2), ("2", 3)])
def test_the_window_is_a_setting(
    s3: Any, three_days: ReplayServer, monkeypatch: pytest.MonkeyPatch, setting: str, fetched: int
) -> None:
    monkeypatch.setenv("REFRESH_DAYS", setting)
    scheduled_run()
    assert len(three_days.requests) == fetched  # one request a day: the source's cost
