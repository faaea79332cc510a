"""Machine-written summaries from Amazon Bedrock's Converse API, with botocore's Stubber:
the request the adapter sends, throttling, a denied model, and a re-run that asks nothing."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.exceptions import ReadTimeoutError
from botocore.stub import ANY, Stubber

from papers_digest.keys import digest_key, post_key
from papers_digest.model import Digest
from papers_digest.pipeline import RunResult, run_day
from papers_digest.settings import PostSettings, SummarySettings
from papers_digest.store import FolderStore
from papers_digest.summarize import ModelError, SummaryStep
from papers_digest.summarizers import BedrockConverse, build_summarizer
from tests.conftest import REAL_DAY, api_items

NOW = datetime(2026, 8, 1, 0, 15, tzinfo=UTC)
MODEL = "amazon.nova-micro-v1:0"
SETTINGS = SummarySettings(provider="bedrock", model=MODEL, concurrency=1)
PAPERS = 3


class RealDay:
    def fetch_day(self, day: Any) -> list[Any]:
        return api_items(REAL_DAY)


@pytest.fixture
def bedrock() -> Iterator[tuple[Any, Stubber]]:
    client = boto3.client(
        "bedrock-runtime",
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    with Stubber(client) as stubber:
        yield client, stubber
        stubber.assert_no_pending_responses()


def answer(text: str) -> dict[str, Any]:
    return {
        "output": {"message": {"role": "assistant", "content": [{"text": text}]}},
        "stopReason": "end_turn",
        "usage": {"inputTokens": 500, "outputTokens": 120, "totalTokens": 620},
        "metrics": {"latencyMs": 800},
    }


EXPECTED = {
    "modelId": MODEL,
    "system": [{"text": ANY}],
    "messages": [{"role": "user", "content": [{"text": ANY}]}],
    "inferenceConfig": {"maxTokens": SETTINGS.max_output_tokens, "temperature": 0.2},
}


def run(client: Any, out: Path, sleeps: list[float]) -> RunResult:
    step = SummaryStep(BedrockConverse(client, MODEL), SETTINGS, lang="ko", sleep=sleeps.append)
    return run_day(
        REAL_DAY,
        source=RealDay(),
        store=FolderStore(out),
        settings=PostSettings(top_n=PAPERS),
        now=NOW,
        summaries=step,
    )


def test_summaries_from_bedrock_then_a_rerun_asks_nothing(
    bedrock: tuple[Any, Stubber], tmp_path: Path
) -> None:
    client, stubber = bedrock
    stubber.add_client_error(
        "converse",
        "ThrottlingException",
        http_status_code=429,
        response_meta={"HTTPHeaders": {"retry-after": "2"}},
        expected_params=EXPECTED,
    )
    for rank in range(1, PAPERS + 1):
        stubber.add_response("converse", answer(f"요약 {rank}번."), EXPECTED)
    sleeps: list[float] = []
    first = run(client, tmp_path, sleeps)
    stubber.assert_no_pending_responses()
    assert sleeps == [2.0]
    assert first.summaries == {
        "reused": 0,
        "written": PAPERS,
        "missing": 0,
        "requests": PAPERS + 1,
        "tokens": 620 * PAPERS,
    }
    digest = Digest.from_json(json.loads((tmp_path / digest_key(REAL_DAY)).read_bytes()))
    texts = [p.machine_summary.text for p in digest.papers if p.machine_summary]
    assert texts == [f"요약 {rank}번." for rank in range(1, PAPERS + 1)]
    post = (tmp_path / post_key(REAL_DAY)).read_text("utf-8")
    assert post.count(f"AI 요약 ({MODEL}, 기계 작성)") == PAPERS

    again = run(client, tmp_path, sleeps)  # the Stubber fails on any request now
    assert again.summaries is not None
    assert (again.summaries["reused"], again.summaries["requests"]) == (PAPERS, 0)
    assert again.status == "unchanged"


@pytest.mark.parametrize(
    ("code", "status", "requests"),
    [
        ("AccessDeniedException", 403, 1),  # the role may not invoke the model: stop
        ("ValidationException", 400, PAPERS),  # this paper's request: the others go on
    ],
)
def test_a_refused_request_leaves_the_post_without_summaries(
    bedrock: tuple[Any, Stubber], tmp_path: Path, code: str, status: int, requests: int
) -> None:
    client, stubber = bedrock
    for _ in range(requests):
        stubber.add_client_error("converse", code, http_status_code=status)
    result = run(client, tmp_path, [])
    assert result.status == "created"
    assert result.summaries is not None
    assert (result.summaries["missing"], result.summaries["requests"]) == (PAPERS, requests)
    assert "AI 요약" not in (tmp_path / post_key(REAL_DAY)).read_text("utf-8")


def test_the_bedrock_client_leaves_retries_to_the_step_and_waits_no_longer_than_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    model = build_summarizer(SETTINGS)
    assert isinstance(model, BedrockConverse)
    config = model._client.meta.config
    assert config.retries["total_max_attempts"] == 1
    assert (config.connect_timeout, config.read_timeout) == (5.0, SETTINGS.timeout)


def test_a_bedrock_timeout_is_retried() -> None:
    class TimingOut:
        def converse(self, **request: Any) -> Any:
            raise ReadTimeoutError(endpoint_url="https://bedrock-runtime.us-east-1.amazonaws.com")

    with pytest.raises(ModelError) as error:
        BedrockConverse(TimingOut(), MODEL).complete("s", "u", 10, 1.0)
    assert (error.value.reason, error.value.retryable) == ("Bedrock ReadTimeoutError", True)
