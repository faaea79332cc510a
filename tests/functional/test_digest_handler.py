"""The digest Lambda handler, invoked with the repo's events against moto S3."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from papers_digest import digest_handler
from papers_digest.errors import InvalidEventError, MalformedResponseError, SourceError
from tests.conftest import BUCKET, REAL_DAY, SEED_DAY, FakeLambdaContext, api_items, event
from tools.replay_server import Canned, ReplayServer

DIGEST = "digests/2026-07-31.json"
POST = "_posts/2026-07-31-hf-daily-papers.md"


@pytest.fixture
def env(s3: Any, replay: ReplayServer, monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setenv("HF_API_BASE", replay.url)
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

    stored = objects(env)
    assert set(stored) == {POST, DIGEST}
    assert stored[DIGEST]["ContentType"] == "application/json; charset=utf-8"
    assert stored[POST]["ContentType"] == "text/markdown; charset=utf-8"
    digest = json.loads(stored[DIGEST]["Body"].read())
    assert digest["schema_version"] == 1
    assert digest["day"] == "2026-07-31"
    assert [p["upvotes"] for p in digest["papers"]][:3] == [292, 283, 168]
    assert [p["rank"] for p in digest["papers"]] == list(range(1, 11))
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


def test_changed_upvotes_rewrite_the_day(env: Any, replay: ReplayServer) -> None:
    invoke(event("digest-scheduled.json"))
    refreshed = copy.deepcopy(api_items(REAL_DAY))
    refreshed[0]["paper"]["upvotes"] = 999
    replay.days[REAL_DAY.isoformat()] = refreshed
    summary = invoke(event("digest-scheduled.json"))
    assert summary["status"] == "updated"
    assert summary["keys_written"] == [POST, DIGEST]
    digest = json.loads(objects(env)[DIGEST]["Body"].read())
    assert digest["papers"][0]["upvotes"] == 999
    assert digest["papers"][0]["arxiv_id"] == refreshed[0]["paper"]["id"]


def test_a_post_lost_between_writes_is_repaired_by_the_next_run(env: Any) -> None:
    invoke(event("digest-scheduled.json"))
    env.delete_object(Bucket=BUCKET, Key=POST)
    summary = invoke(event("digest-scheduled.json"))
    assert summary["status"] == "updated"
    assert summary["keys_written"] == [POST]


@pytest.mark.parametrize(
    ("fault", "error"),
    [
        (Canned(200, b"<html>Service Unavailable</html>"), MalformedResponseError),
        (Canned(200, b'[{"paper": '), MalformedResponseError),
        (Canned(403, b"Forbidden"), SourceError),
    ],
)
def test_a_failed_fetch_raises_and_leaves_the_previous_digest(
    env: Any, replay: ReplayServer, fault: Canned, error: type[Exception]
) -> None:
    invoke(event("digest-scheduled.json"))
    before = {key: obj["Body"].read() for key, obj in objects(env).items()}
    replay.faults.append(fault)
    with pytest.raises(error):
        invoke(event("digest-scheduled.json"))
    assert {key: obj["Body"].read() for key, obj in objects(env).items()} == before


def test_a_later_page_failing_writes_nothing(
    env: Any, replay: ReplayServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(digest_handler, "DailyPapersClient", _small_pages)
    replay.faults.append(lambda query: Canned(404) if query.get("p") == "1" else None)
    with pytest.raises(SourceError, match="p=1: HTTP 404"):
        invoke(event("digest-scheduled.json"))
    assert objects(env) == {}


def _small_pages(*args: Any, **kwargs: Any) -> Any:
    from papers_digest.source import DailyPapersClient

    return DailyPapersClient(*args, **{**kwargs, "page_size": 20})


def test_an_empty_day_writes_nothing(env: Any) -> None:
    summary = invoke({"scheduled_time": "2026-08-02T00:15:00Z"})
    assert summary == {
        "day": "2026-08-01",
        "status": "empty",
        "papers": 0,
        "papers_that_day": 0,
        "keys_written": [],
        "skipped": [],
        "dropped": [],
    }
    assert objects(env) == {}


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        ({"date": "2026-02-30"}, "invalid date '2026-02-30'"),
        ({"date": "2999-01-01"}, "has not ended yet"),
        ({"hello": "world"}, "event has none of"),
    ],
)
def test_bad_events_raise_with_a_clear_message(
    env: Any, payload: dict[str, Any], message: str
) -> None:
    with pytest.raises(ValueError, match=message) as raised:
        invoke(payload)
    assert isinstance(raised.value, InvalidEventError | ValueError)
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
