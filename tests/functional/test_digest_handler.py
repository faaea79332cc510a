"""The digest Lambda handler, invoked with the repo's events against moto S3."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from papers_digest import digest_handler
from tests.conftest import BUCKET, REAL_DAY, SEED_DAY, FakeLambdaContext, api_items, event
from tools.replay_server import ReplayServer

DIGEST = "digests/2026-07-31.json"
POST = "_posts/2026-07-31-hf-daily-papers.md"


@pytest.fixture
def env(s3: Any, replay: ReplayServer, monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setenv("HF_API_BASE", replay.url)
    monkeypatch.setenv("REFRESH_DAYS", "0")  # the days before: tests/functional/test_refresh.py
    return s3


def invoke(payload: dict[str, Any]) -> dict[str, Any]:
    result: dict[str, Any] = digest_handler.lambda_handler(payload, FakeLambdaContext())
    return result


def objects(s3: Any) -> dict[str, dict[str, Any]]:
    listing = s3.list_objects_v2(Bucket=BUCKET).get("Contents", [])
    return {entry["Key"]: s3.get_object(Bucket=BUCKET, Key=entry["Key"]) for entry in listing}


@pytest.mark.parametrize("name", ["digest-scheduled.json", "digest-scheduled-classic.json"])
def test_scheduled_event_writes_digest_and_post(env: Any, name: str) -> None:
    summary = invoke(event(name))
    assert summary["day"] == "2026-07-31"
    assert summary["status"] == "created"
    assert summary["papers"] == 10
    assert summary["papers_that_day"] == 30
    assert summary["keys_written"] == [POST, DIGEST]

    # 07-31 ends July: the run builds its roll-up (from the one day stored), and tries the
    # last closed week, W30, whose roll-up is missing (no digest: nothing to write).
    month = ("_posts/2026-07-31-hf-monthly-papers-2026-07.md", "digests/monthly/2026-07.json")
    rollups = [
        (built["period"], built["status"], built["keys_written"]) for built in summary["rollups"]
    ]
    assert rollups == [("2026-07", "created", list(month)), ("2026-W30", "empty", [])]
    stored = objects(env)
    assert set(stored) == {POST, DIGEST, *month}
    assert stored[DIGEST]["ContentType"] == "application/json; charset=utf-8"
    assert stored[POST]["ContentType"] == "text/markdown; charset=utf-8"
    digest = json.loads(stored[DIGEST]["Body"].read())
    assert digest["schema_version"] == 2
    assert digest["day"] == "2026-07-31"
    assert [p["upvotes"] for p in digest["papers"]][:3] == [292, 283, 168]
    assert [p["rank"] for p in digest["papers"]] == list(range(1, 11))
    # The day's other 20 papers are kept, ranked after the listed ones, for the roll-ups.
    assert [p["rank"] for p in digest["unlisted"]] == list(range(11, 31))
    assert [p["upvotes"] for p in digest["unlisted"]][:2] == [22, 19]
    post = stored[POST]["Body"].read().decode("utf-8")
    assert "총 **10개**의 논문이 수집되었습니다." in post


def test_chosen_day_event(env: Any) -> None:
    summary = invoke(event("digest-chosen-day.json"))
    assert summary["day"] == SEED_DAY.isoformat()
    assert summary["papers"] == 3


def test_rerun_with_the_same_data_writes_nothing(env: Any) -> None:
    invoke(event("digest-scheduled.json"))
    before = {key: obj["ETag"] for key, obj in objects(env).items()}
    summary = invoke(event("digest-scheduled.json"))
    assert summary["status"] == "unchanged"
    assert summary["keys_written"] == []
    assert {key: obj["ETag"] for key, obj in objects(env).items()} == before


@pytest.mark.parametrize(
    ("upvotes", "written", "where"),
    # 2607.23193 has 3 upvotes, outside the top 10: at 999 it leads the post; at 4 it
    # stays unlisted, so the post is the same but the digest (kept for the roll-ups) not.
    [(999, [POST, DIGEST], ("papers", 0)), (4, [DIGEST], ("unlisted", 11))],
    ids=["listed", "unlisted"],
)
def test_changed_upvotes_rewrite_the_day(
    env: Any, replay: ReplayServer, upvotes: int, written: list[str], where: tuple[str, int]
) -> None:
    invoke(event("digest-scheduled.json"))
    refreshed = copy.deepcopy(api_items(REAL_DAY))
    refreshed[0]["paper"]["upvotes"] = upvotes
    replay.days[REAL_DAY.isoformat()] = refreshed
    summary = invoke(event("digest-scheduled.json"))
    assert summary["status"] == "updated"
    assert summary["keys_written"] == written
    digest = json.loads(objects(env)[DIGEST]["Body"].read())
    paper = digest[where[0]][where[1]]
    assert (paper["arxiv_id"], paper["upvotes"]) == (refreshed[0]["paper"]["id"], upvotes)


def test_an_empty_day_writes_nothing(env: Any) -> None:
    summary = invoke({"scheduled_time": "2026-08-02T00:15:00Z"})
    # No period closes on 08-01; the last closed week and month have no roll-up and no
    # digest either: nothing to build.
    assert [(built["period"], built["status"]) for built in summary.pop("rollups")] == [
        ("2026-07", "empty"),
        ("2026-W30", "empty"),
    ]
    assert summary == {
        "day": "2026-08-01",
        "status": "empty",
        "papers": 0,
        "papers_that_day": 0,
        "keys_written": [],
        "skipped": [],
        "dropped": [],
        "refresh": {"refreshed": {}, "failed": {}, "not_reached": []},
    }
    assert objects(env) == {}


def test_the_token_comes_from_the_ssm_parameter(
    env: Any, replay: ReplayServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    import boto3

    boto3.client("ssm", region_name="us-east-1").put_parameter(
        Name="/papers-digest/hf-token", Value="hf_from_ssm", Type="SecureString"
    )
    monkeypatch.setenv("HF_TOKEN_PARAMETER", "/papers-digest/hf-token")
    monkeypatch.setenv("HF_TOKEN", "hf_ignored_when_a_parameter_is_named")
    invoke(event("digest-scheduled.json"))
    assert [r["authorization"] for r in replay.requests] == ["Bearer hf_from_ssm"]
