"""Weekly and monthly roll-ups built from stored digests (tests/rollup_month.py's July):
the ranking over every paper of the period, the statistics, what is written and when, the
digest function's hooks, rollups.xml from the feed function, and the command line."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import feedparser
import pytest

from papers_digest import digest_handler, feed_handler
from papers_digest.keys import digest_key
from papers_digest.pipeline import run_day
from papers_digest.rollup import Period, Rollup
from papers_digest.rollup_feed import MAX_ROLLUPS, publish_rollups
from papers_digest.rollups import build_rollup, scheduled_rollups
from papers_digest.settings import FeedSettings
from papers_digest.store import JSON_TYPE, FolderStore, S3Store, Store
from tests import hostile
from tests.conftest import BUCKET, REAL_DAY, FakeLambdaContext, copy_objects, object_created
from tests.functional.test_cli import CLI, run_cli
from tests.rollup_month import (
    D0706,
    D0714,
    NOW,
    SETTINGS,
    TWICE,
    V1_DAY,
    MonthSource,
    publish_month,
)
from tests.s3faults import counted_store

JULY, W27, W31 = Period.parse("2026-07"), Period.parse("2026-W27"), Period.parse("2026-W31")
FEED = FeedSettings(site_url="https://papers.example.com")


@pytest.fixture(scope="module")
def month(tmp_path_factory: pytest.TempPathFactory) -> FolderStore:
    """July's days as the pipeline stored them (daily top 3), read-only for the tests."""
    store = FolderStore(tmp_path_factory.mktemp("july"))
    publish_month(store)
    return store


@pytest.fixture
def bucket(tmp_path: Path, month: FolderStore) -> FolderStore:
    """A copy of July's days that a test may write to."""
    store = FolderStore(tmp_path / "bucket")
    copy_objects(month, store)
    return store


def stored_rollup(store: Store, period: Period) -> Rollup:
    found = store.get(period.key)
    assert found is not None
    return Rollup.from_json(json.loads(found.body))


def test_a_month_ranks_every_paper_of_its_days_once_at_its_latest_upvotes(
    bucket: FolderStore,
) -> None:
    result = build_rollup(bucket, JULY, SETTINGS, NOW)
    assert (result.status, result.days_read, result.papers) == ("created", 5, 41)
    rollup = stored_rollup(bucket, JULY)
    ranking = [(item.paper.arxiv_id, item.paper.upvotes) for item in rollup.papers]
    assert ranking == [
        (TWICE, 292),  # featured on 07-14 (100 then) and 07-31: once, at 292
        ("2607.28227", 283),
        ("2607.28568", 168),
        ("2607.06001", 60),
        ("2607.06002", 55),
        ("2607.06003", 50),
        ("2607.27919", 49),  # 7th of its day (07-31): not in that day's post
        ("2607.06004", 48),  # 4th of its day (07-06): not in that day's post
    ]
    assert rollup.papers[0].days == (D0714, REAL_DAY)
    for day, unlisted in ((REAL_DAY, "2607.27919"), (D0706, "2607.06004")):
        daily = json.loads(bucket.get(digest_key(day)).body)  # type: ignore[union-attr]
        assert unlisted not in [paper["arxiv_id"] for paper in daily["papers"]]
        assert unlisted in [paper["arxiv_id"] for paper in daily["unlisted"]]
    # 30 real papers + 2 + 4 + 3 (one of them featured again on 07-31) + 3 of the version 1
    # digest (its 4th was never kept); 06-30 belongs to June.
    assert rollup.papers_in_period == 30 + 2 + 4 + 2 + 3
    assert rollup.total_upvotes == 1182 + (7 + 5) + (60 + 55 + 50 + 48) + (8 + 0) + (13 + 13 + 10)
    assert rollup.average_upvotes == round(1451 / 41, 1) == 35.4
    assert [day.isoformat() for day in rollup.days_covered] == [
        "2026-07-03", "2026-07-06", "2026-07-14", "2026-07-21", "2026-07-31",
    ]  # fmt: skip
    assert rollup.organizations[:2] == (("Kling Team", 4), ("muset.ai", 3))
    assert len(rollup.organizations) == 10
    assert rollup.keywords == (("LLM", 3), ("diffusion", 2), ("reinforcement learning", 1))
    weeks = [(week, item.paper.arxiv_id) for week, item in rollup.weeks]
    assert weeks == [
        ("2026-W27", "2607.03001"),  # June's 2606.30001 (999) is W27's but not July's
        ("2026-W28", "2607.06001"),
        ("2026-W29", TWICE),
        ("2026-W30", "2607.21001"),  # 13 upvotes each: the lower id first
        ("2026-W31", TWICE),
    ]


def test_a_week_across_two_months_takes_its_days_from_both(bucket: FolderStore) -> None:
    build_rollup(bucket, W27, SETTINGS, NOW)
    rollup = stored_rollup(bucket, W27)
    assert [item.paper.arxiv_id for item in rollup.papers] == [
        "2606.30001", "2607.03001", "2607.03002",
    ]  # fmt: skip
    assert (len(rollup.days_covered), len(W27.days), rollup.weeks) == (2, 7, ())
    post = bucket.get("_posts/2026-07-05-hf-weekly-papers-2026-w27.md")
    assert post is not None
    assert b"\ndate: 2026-07-06 09:15:00 +0900\n" in post.body  # the publish time after Sunday


def test_a_rebuild_writes_only_what_changed(bucket: FolderStore) -> None:
    assert build_rollup(bucket, JULY, SETTINGS, NOW).status == "created"
    again = build_rollup(bucket, JULY, SETTINGS, datetime(2026, 8, 4, tzinfo=UTC))
    assert (again.status, again.keys_written) == ("unchanged", ())
    # A refresh of 07-31 raises an unlisted paper's upvotes: the month follows.
    source = MonthSource()
    raised = next(i for i in source.days[REAL_DAY] if i["paper"]["id"] == "2607.27919")
    raised["paper"]["upvotes"] = 170
    later = datetime(2026, 8, 4, tzinfo=UTC)  # a refresh fetches after the first run
    assert run_day(REAL_DAY, source=source, store=bucket, settings=SETTINGS, now=later).status == (
        "updated"
    )
    updated = build_rollup(bucket, JULY, SETTINGS, NOW)
    assert (updated.status, len(updated.keys_written)) == ("updated", 2)
    top = stored_rollup(bucket, JULY).papers
    assert [(item.paper.arxiv_id, item.paper.upvotes) for item in top[2:4]] == [
        ("2607.27919", 170), ("2607.28568", 168),
    ]  # fmt: skip


def test_a_period_without_papers_writes_nothing(bucket: FolderStore) -> None:
    result = build_rollup(bucket, Period.parse("2026-05"), SETTINGS, NOW)
    assert (result.status, result.keys_written, result.days_read) == ("empty", (), 0)


# How a stored digest is broken, and what the note says about it.
CORRUPT = {
    "not JSON": "not a readable digest (Expecting property name",
    "hostile id": "not a readable digest (papers[1].arxiv_id is '2607.99999) <img",
    "hostile URL": "not a readable digest (papers[0].github_repo is 'https://x.example/",
    "another day's digest": "holds the digest of 2026-07-30, not 2026-07-14",
    "unknown schema_version": "not a readable digest (digest schema_version 7 is not one of",
}


def _corrupt(stored: bytes, name: str) -> bytes:
    data = json.loads(stored)
    if name == "hostile id":
        data["papers"][1]["arxiv_id"] = hostile.IDS["Markdown and HTML injection"]
    elif name == "hostile URL":
        data["papers"][0]["github_repo"] = hostile.URLS["attribute breakout"]
    elif name == "another day's digest":
        data["day"] = "2026-07-30"
    elif name == "not JSON":
        return b"{truncated"
    else:
        return b'{"schema_version": 7}'
    return json.dumps(data).encode()


@pytest.mark.parametrize("name", CORRUPT)
def test_an_unreadable_digest_is_skipped_with_one_line(
    bucket: FolderStore, name: str, caplog: pytest.LogCaptureFixture
) -> None:
    key = digest_key(D0714)
    bucket.put(key, _corrupt(bucket.get(key).body, name), JSON_TYPE)  # type: ignore[union-attr]
    result = build_rollup(bucket, JULY, SETTINGS, NOW)
    assert (result.status, result.days_read) == ("created", 4)
    (note,) = result.notes
    assert note.startswith(f"skipped {key}: ")
    assert "\n" not in note
    assert CORRUPT[name] in note
    assert [record.levelname for record in caplog.records] == ["WARNING"]
    assert D0714 not in stored_rollup(bucket, JULY).days_covered


def test_a_roll_up_costs_one_list_and_a_get_a_day(s3: Any, month: FolderStore) -> None:
    store, calls = counted_store()
    copy_objects(month, store)
    calls.clear()
    build_rollup(store, JULY, SETTINGS, NOW)
    # LIST (from 06-30: one page), 5 digests, then the post and the JSON: a GET each
    # (absent) and a conditional PUT each.
    assert dict(calls) == {"GET": 1 + 5 + 2, "PUT": 2}
    calls.clear()
    build_rollup(store, JULY, SETTINGS, NOW)
    assert dict(calls) == {"GET": 1 + 5 + 2}  # unchanged: nothing written


# ---------------------------------------------------------------- the digest function


def invoke_digest(payload: dict[str, Any]) -> dict[str, Any]:
    result: dict[str, Any] = digest_handler.lambda_handler(payload, FakeLambdaContext())
    return result


@pytest.fixture
def july_bucket(s3: Any, month: FolderStore, monkeypatch: pytest.MonkeyPatch) -> Any:
    copy_objects(month, S3Store(BUCKET))
    monkeypatch.setenv("TOP_N", "3")
    monkeypatch.setenv("ROLLUP_TOP_N", "8")
    return s3


def test_the_run_that_publishes_a_sunday_builds_its_week(
    july_bucket: Any, replay: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Monday 09:15 in Seoul publishes Sunday 08-02: W31 is closed. July's roll-up is
    missing, so the same run builds it too (a failed build is healed the same way)."""
    monkeypatch.setenv("HF_API_BASE", replay.url)
    summary = invoke_digest({"scheduled_time": "2026-08-03T00:15:00Z"})
    assert (summary["day"], summary["status"]) == ("2026-08-02", "empty")
    assert [(r["period"], r["status"]) for r in summary["rollups"]] == [
        ("2026-07", "created"), ("2026-W31", "created"),
    ]  # fmt: skip
    store = S3Store(BUCKET)
    assert stored_rollup(store, W31).papers[0].paper.arxiv_id == TWICE
    assert store.get("_posts/2026-08-02-hf-weekly-papers-2026-w31.md") is not None
    # The next day: nothing closes, both roll-ups are there: two HEADs and no build.
    assert invoke_digest({"scheduled_time": "2026-08-04T00:15:00Z"})["rollups"] == []


def test_a_failed_roll_up_does_not_fail_the_day(
    july_bucket: Any, replay: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    (tmp_path / "ko").mkdir()
    (tmp_path / "ko" / "rollup.md.j2").write_text("{{ no_such_value }}", encoding="utf-8")
    monkeypatch.setenv("TEMPLATE_DIR", str(tmp_path))
    monkeypatch.setenv("HF_API_BASE", replay.url)
    summary = invoke_digest({"scheduled_time": "2026-08-01T00:15:00Z"})
    assert (summary["day"], summary["status"]) == ("2026-07-31", "unchanged")
    failed = summary["rollups"][0]
    assert (failed["period"], failed["status"], failed["error"]) == (
        "2026-07", "failed", "ConfigError",
    )  # fmt: skip
    assert "rollup.md.j2, line 1: 'no_such_value' is undefined" in failed["message"]
    assert S3Store(BUCKET).get(JULY.key) is None
    # Fixed: the next run builds the missing month.
    monkeypatch.delenv("TEMPLATE_DIR")
    again = invoke_digest({"scheduled_time": "2026-08-02T00:15:00Z"})
    assert ("2026-07", "created") in [(r["period"], r["status"]) for r in again["rollups"]]


@pytest.mark.parametrize("period", ["2026-W31", "2026-07"])
def test_the_rollup_event_builds_that_period(july_bucket: Any, period: str) -> None:
    summary = invoke_digest({"rollup": period})
    assert (summary["period"], summary["status"]) == (period, "created")
    assert S3Store(BUCKET).get(Period.parse(period).key) is not None


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        ({"rollup": "2026-W99"}, "event: rollup is '2026-W99', not an ISO week"),
        ({"rollup": "2099-01"}, "event: 2099-01 ends on 2099-01-31, which has not ended yet"),
        ({"rollup": "2026-07", "date": "2026-07-31"}, "a roll-up event is"),
    ],
)
def test_a_bad_rollup_event_is_refused(s3: Any, payload: dict[str, Any], message: str) -> None:
    with pytest.raises(Exception, match=f"^{message}"):
        invoke_digest(payload)


def test_scheduled_rollups_never_raise(month: FolderStore) -> None:
    class Broken(FolderStore):
        def list_keys(self, prefix: str, start_after: str = "") -> Iterator[str]:
            raise OSError("disk on fire")

    results = scheduled_rollups(Broken(month.root), [date(2026, 8, 2)], SETTINGS, NOW,
                                lambda: True)  # fmt: skip
    assert [(r["period"], r["status"], r["error"]) for r in results] == [
        ("2026-07", "failed", "OSError"), ("2026-W31", "failed", "OSError"),
    ]  # fmt: skip


def test_a_roll_up_starts_only_with_time_left(bucket: FolderStore) -> None:
    """The time check comes before each period: once it says no, the rest are deferred
    and nothing of theirs is read or written."""
    answers = iter([True, False])
    results = scheduled_rollups(bucket, [date(2026, 8, 2)], SETTINGS, NOW, lambda: next(answers))
    assert [(r["period"], r["status"]) for r in results] == [
        ("2026-07", "created"), ("2026-W31", "deferred"),
    ]  # fmt: skip
    assert bucket.get(W31.key) is None


class ShortContext(FakeLambdaContext):
    """An invocation with less left than a roll-up's reserve."""

    def get_remaining_time_in_millis(self) -> int:
        return (digest_handler.ROLLUP_RESERVE_SECONDS - 1) * 1000


def test_a_run_short_of_time_defers_its_roll_ups_and_keeps_the_day(
    july_bucket: Any, replay: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HF_API_BASE", replay.url)
    monkeypatch.setenv("REFRESH_DAYS", "0")
    scheduled = {"scheduled_time": "2026-08-01T00:15:00Z"}  # a chosen day builds no roll-up
    summary = digest_handler.lambda_handler(scheduled, ShortContext())
    assert (summary["day"], summary["status"]) == ("2026-07-31", "unchanged")
    # July closes with 07-31; W30 is the latest closed week, missing.
    assert summary["rollups"] == [
        {"period": "2026-07", "status": "deferred"}, {"period": "2026-W30", "status": "deferred"},
    ]  # fmt: skip
    assert S3Store(BUCKET).get(JULY.key) is None


# ---------------------------------------------------------------- the feed function


def invoke_feed(payload: dict[str, Any]) -> dict[str, Any]:
    result: dict[str, Any] = feed_handler.lambda_handler(payload, FakeLambdaContext())
    return result


def test_a_rebuild_republishes_rollups_xml_too(july_bucket: Any) -> None:
    """`{"rebuild": true}` refreshes every output, so a new SITE_URL reaches rollups.xml."""
    build_rollup(S3Store(BUCKET), JULY, SETTINGS, NOW)
    summary = invoke_feed({"rebuild": True})
    assert summary["status"] == "rebuilt"
    assert {"feed.xml", "rollups.xml"} <= set(summary["keys_written"])
    body = S3Store(BUCKET).get("rollups.xml")
    assert body is not None
    parsed = feedparser.parse(body.body)
    assert not parsed.bozo
    assert [entry.title for entry in parsed.entries] == [JULY.title]


def test_a_roll_up_landing_publishes_rollups_xml(july_bucket: Any) -> None:
    store, calls = counted_store()
    for period in (W27, JULY, W31):
        build_rollup(store, period, SETTINGS, NOW)
    summary = invoke_feed(object_created(W31.key))
    assert (summary["status"], summary["keys_written"]) == ("published", ["rollups.xml"])
    calls.clear()
    publish_rollups(store, FEED)
    # LIST weekly and monthly, GET the 3 roll-ups, PUT the feed, LIST both again.
    assert dict(calls) == {"GET": 2 + 3 + 2, "PUT": 1}
    found = july_bucket.get_object(Bucket=BUCKET, Key="rollups.xml")
    assert found["ContentType"] == "application/rss+xml; charset=utf-8"
    parsed = feedparser.parse(found["Body"].read())
    assert not parsed.bozo, parsed.bozo_exception
    assert [entry.id for entry in parsed.entries] == [
        "hf-papers-digest:week:2026-W31",
        "hf-papers-digest:month:2026-07",
        "hf-papers-digest:week:2026-W27",
    ]
    assert [entry.title for entry in parsed.entries] == [
        "Hugging Face Weekly Papers - 2026-W31",
        "Hugging Face Monthly Papers - 2026-07",
        "Hugging Face Weekly Papers - 2026-W27",
    ]
    month = parsed.entries[1]
    assert month.link == "https://papers.example.com/"
    assert datetime(*month.published_parsed[:6], tzinfo=UTC) == datetime(
        2026, 8, 1, 0, 15, tzinfo=UTC
    )
    assert "논문 41개, 좋아요 합계 1451 (평균 35.4), 31일 중 5일." in month.summary
    assert month.summary.count("<li>") == 8
    assert f'href="https://huggingface.co/papers/{TWICE}"' in month.summary
    assert parsed.feed.language == "ko"


def test_a_rebuilt_roll_up_updates_its_item_in_place(july_bucket: Any) -> None:
    store = S3Store(BUCKET)
    build_rollup(store, JULY, SETTINGS, NOW)
    invoke_feed(object_created(JULY.key))
    build_rollup(store, JULY, replace(SETTINGS, rollup_top_n=2), NOW)
    invoke_feed(object_created(JULY.key))
    parsed = feedparser.parse(
        july_bucket.get_object(Bucket=BUCKET, Key="rollups.xml")["Body"].read()
    )
    (item,) = parsed.entries
    assert item.id == "hf-papers-digest:month:2026-07"
    assert item.summary.count("<li>") == 2


def test_rollups_xml_holds_the_newest_and_skips_what_it_cannot_read(
    bucket: FolderStore,
) -> None:
    weeks = [Period.parse(f"2026-W{n:02d}") for n in range(1, 31)]
    build_rollup(bucket, W31, SETTINGS, NOW)
    body = bucket.get(W31.key).body  # type: ignore[union-attr]
    for week in weeks:  # the same roll-up under older weeks' keys: each is refused
        bucket.put(week.key, body, JSON_TYPE)
    bucket.put(W27.key, b'{"schema_version": 1, "period": "2026-W27"}', JSON_TYPE)
    result = publish_rollups(bucket, FEED)
    assert len(result.notes) == MAX_ROLLUPS - 1
    assert all(note.count("\n") == 0 for note in result.notes)
    assert any("holds the roll-up of 2026-W31" in note for note in result.notes)
    parsed = feedparser.parse(bucket.get("rollups.xml").body)  # type: ignore[union-attr]
    assert not parsed.bozo
    assert [entry.id for entry in parsed.entries] == ["hf-papers-digest:week:2026-W31"]


# ---------------------------------------------------------------- the command line


def test_the_cli_builds_a_month_and_its_feed(tmp_path: Path, month: FolderStore) -> None:
    out = tmp_path / "site"
    copy_objects(month, FolderStore(out))
    done = run_cli("rollup", "--month", "2026-07", "--out", str(out), "--top", "5", "--lang",
                   "en", cwd=tmp_path)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("2026-07: created (41 papers from 5 days); wrote ")
    assert done.stdout.rstrip().endswith("digests/monthly/2026-07.json, rollups.xml")
    rollup = stored_rollup(FolderStore(out), JULY)
    assert (len(rollup.papers), rollup.lang) == (5, "en")
    post = (out / "_posts/2026-07-31-hf-monthly-papers-2026-07.md").read_text("utf-8")
    assert "## 🗓️ Top paper of each week" in post
    again = run_cli("--json", "rollup", "--month", "2026-07", "--out", str(out), "--top", "5",
                    "--lang", "en", cwd=tmp_path)  # fmt: skip
    assert json.loads(again.stdout)["status"] == "unchanged"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--week", "2026-07"], "--week '2026-07' is a month; use --month"),
        (["--month", "2026-W31"], "--month '2026-W31' is a week; use --week"),
        (["--month", "2026-13"], "--month is '2026-13', not an ISO week"),
        (["--week", "2099-W01"], "2099-W01 ends on 2099-01-04, which has not ended yet"),
        (["--month", "2026-07", "--top", "0"], "--top='0' must be from 1 to 2,000"),
    ],
)
def test_the_cli_refuses_a_bad_period_in_one_line(
    tmp_path: Path, args: list[str], message: str
) -> None:
    done = run_cli("rollup", *args, "--out", str(tmp_path), cwd=tmp_path)
    assert done.returncode == 2
    assert done.stderr.startswith("papers-digest: error: ")
    assert done.stderr.count("\n") == 1
    assert message in done.stderr


def test_the_cli_needs_a_period(tmp_path: Path) -> None:
    done = subprocess.run([*CLI, "rollup"], cwd=tmp_path, capture_output=True, text=True,
                          timeout=60, check=False)  # fmt: skip
    assert done.returncode == 2
    assert "one of the arguments --week --month is required" in done.stderr


def test_a_version_1_digest_still_reads_on_both_sides(bucket: FolderStore) -> None:
    """07-21 is stored as version 1 (no unlisted papers): the roll-up reads its listed
    papers and the feed side publishes it."""
    from papers_digest.publish import publish_day

    assert json.loads(bucket.get(digest_key(V1_DAY)).body)["schema_version"] == 1  # type: ignore[union-attr]
    assert publish_day(bucket, V1_DAY, FEED).status == "published"
    feed = feedparser.parse(bucket.get("feed.xml").body)  # type: ignore[union-attr]
    assert "hf-papers-digest:day:2026-07-21" in [entry.id for entry in feed.entries]
