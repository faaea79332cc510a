"""Machine-written summaries through the pipeline, against an OpenAI-compatible stub on
127.0.0.1: what is written, what is reused, what the budget allows, and that the post
goes out complete, without the summaries the model did not give."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import requests

from papers_digest.keys import digest_key, post_key
from papers_digest.model import MAX_SUMMARY_CHARS, Digest
from papers_digest.pipeline import RunResult, run_day
from papers_digest.settings import PostSettings, SummarySettings
from papers_digest.store import FolderStore
from papers_digest.summarize import SummaryStep
from papers_digest.summarizers import OpenAICompatible
from tests.conftest import API_FIXTURES, REAL_DAY, api_items
from tests.digests import REAL_PAPERS
from tests.functional.test_cli import run_cli
from tools.chat_stub import Answer, ChatStub
from tools.replay_server import ReplayServer, load_days

NOW = datetime(2026, 8, 1, 0, 15, tzinfo=UTC)
SETTINGS = SummarySettings(provider="openai", model="stub-model", api_base="x", api_key="k")
KEY = "sk-test-0123456789"


class RealDay:
    def fetch_day(self, day: Any) -> list[Any]:
        return api_items(REAL_DAY)


@pytest.fixture
def stub() -> Iterator[ChatStub]:
    with ChatStub() as server:
        yield server


class Sleeps(list[float]):
    """An injected sleep that records its pauses and returns at once."""

    def __call__(self, seconds: float) -> None:
        self.append(seconds)


def run(
    stub: ChatStub | None,
    out: Path,
    *,
    lang: str = "ko",
    sleeps: Sleeps | None = None,
    **limits: Any,
) -> RunResult:
    step = None
    if stub is not None:
        model = OpenAICompatible(requests.Session(), stub.url, "stub-model", KEY)
        step = SummaryStep(
            model,
            replace(SETTINGS, **limits),
            lang=lang,
            sleep=sleeps if sleeps is not None else Sleeps(),
        )
    return run_day(
        REAL_DAY,
        source=RealDay(),
        store=FolderStore(out),
        settings=PostSettings(lang=lang),
        now=NOW,
        summaries=step,
    )


def stored(out: Path) -> tuple[Digest, str]:
    digest = Digest.from_json(json.loads((out / digest_key(REAL_DAY)).read_bytes()))
    return digest, (out / post_key(REAL_DAY)).read_text("utf-8")


@pytest.mark.parametrize("lang", ["ko", "en"])
def test_each_paper_gets_a_labelled_summary_in_the_post_and_the_digest(
    stub: ChatStub, tmp_path: Path, lang: str
) -> None:
    result = run(stub, tmp_path, lang=lang)
    digest, post = stored(tmp_path)
    assert result.summaries == {
        "reused": 0,
        "written": 10,
        "missing": 0,
        "requests": 10,
        "tokens": 3800,
    }
    assert len(stub.requests) == 10
    assert {h["Authorization"] for h in stub.headers} == {f"Bearer {KEY}"}
    label = "AI 요약 (stub-model, 기계 작성)" if lang == "ko" else "Summary (machine-written by"
    assert post.count(label) == 10
    for paper in digest.papers:
        assert paper.machine_summary is not None
        assert paper.machine_summary.text == f"About {paper.title}."
        assert (paper.machine_summary.model, paper.machine_summary.lang) == ("stub-model", lang)
        assert f"{paper.machine_summary.text}\n   - Abstract:" in post
    request = stub.requests[0]
    assert request["model"] == "stub-model"
    assert request["max_tokens"] == SETTINGS.max_output_tokens
    assert request["messages"][1]["content"].startswith("제목: " if lang == "ko" else "Title: ")


def test_a_rerun_reuses_every_summary_and_makes_no_request(stub: ChatStub, tmp_path: Path) -> None:
    run(stub, tmp_path)
    stub.requests.clear()
    again = run(stub, tmp_path)
    assert stub.requests == []
    assert again.status == "unchanged"
    assert again.summaries is not None
    assert (again.summaries["reused"], again.summaries["requests"]) == (10, 0)


def test_a_rerun_with_another_model_pays_again(stub: ChatStub, tmp_path: Path) -> None:
    run(stub, tmp_path)
    stub.requests.clear()
    step = SummaryStep(
        OpenAICompatible(requests.Session(), stub.url, "other-model", KEY), SETTINGS, lang="ko"
    )
    store = FolderStore(tmp_path)
    result = run_day(
        REAL_DAY, source=RealDay(), store=store, settings=PostSettings(), now=NOW, summaries=step
    )
    assert len(stub.requests) == 10
    assert result.status == "updated"


def test_429_then_an_answer_waits_as_told_and_writes_the_summary(
    stub: ChatStub, tmp_path: Path
) -> None:
    stub.answers = [Answer(status=429, headers={"Retry-After": "7"})]
    sleeps = Sleeps()
    result = run(stub, tmp_path, sleeps=sleeps, concurrency=1)
    assert sleeps == [7.0]
    assert len(stub.requests) == 11
    assert result.summaries is not None
    assert (result.summaries["written"], result.summaries["missing"]) == (10, 0)


@pytest.mark.parametrize(
    ("answers", "limits", "requests_made"),
    [
        ([Answer(status=500)] * 40, {}, 40),  # 4 attempts a paper, then none
        ([Answer(status=401)], {"concurrency": 1}, 1),  # a bad key: no further request
        ([Answer(status=200, delay=3)] * 10, {"timeout": 1}, None),  # slower than the timeout
        ([Answer(status=429, headers={"Retry-After": "3600"})] * 10, {"concurrency": 1}, 1),
        ([Answer(body=b"<html>not json</html>")] * 10, {}, 10),
        ([Answer(text="")] * 10, {}, 10),
        ([Answer(body=b'{"choices": "' + b"x" * 300_000 + b'"}')] * 10, {}, 10),
        ([], {"max_papers": 0}, 0),
        ([], {"max_tokens": 100}, 0),
    ],
    ids=[
        "500 for good",
        "401",
        "a slow answer past the timeout",
        "Retry-After past the deadline",
        "not JSON",
        "empty text",
        "an answer over 256 KB",
        "no papers in the budget",
        "no tokens in the budget",
    ],
)
def test_without_answers_the_post_goes_out_complete_without_summaries(
    stub: ChatStub,
    tmp_path: Path,
    answers: list[Answer],
    limits: dict[str, Any],
    requests_made: int | None,
) -> None:
    run(None, tmp_path / "plain")
    stub.answers = list(answers)
    result = run(stub, tmp_path / "summarized", **limits)
    assert result.status == "created"
    assert result.summaries is not None
    assert (result.summaries["written"], result.summaries["missing"]) == (0, 10)
    if requests_made is not None:
        assert len(stub.requests) == requests_made
    for key in (post_key(REAL_DAY), digest_key(REAL_DAY)):
        assert (tmp_path / "summarized" / key).read_bytes() == (
            tmp_path / "plain" / key
        ).read_bytes()


@pytest.mark.parametrize("concurrency", [1, 4])
@pytest.mark.parametrize(("limits", "written"), [({"max_papers": 3}, 3), ({"max_tokens": 2500}, 2)])
def test_the_budget_limits_requests_and_the_rest_go_without(
    stub: ChatStub, tmp_path: Path, limits: dict[str, Any], written: int, concurrency: int
) -> None:
    # Each answer counts 1,000 tokens; each request reserves its estimate (~700-1,100 for
    # these papers) first: 2,500 tokens allow two, whatever the order.
    stub.answers = [Answer(usage=(900, 100))] * 10
    result = run(stub, tmp_path, concurrency=concurrency, **limits)
    digest, _ = stored(tmp_path)
    assert len(stub.requests) == written
    assert result.summaries is not None
    assert (result.summaries["written"], result.summaries["missing"]) == (written, 10 - written)
    assert sum(paper.machine_summary is not None for paper in digest.papers) == written
    assert result.summaries["tokens"] == 1000 * written


def test_a_failed_summary_is_written_by_the_next_run(stub: ChatStub, tmp_path: Path) -> None:
    stub.answers = [Answer(status=400)]
    first = run(stub, tmp_path, concurrency=1)
    stub.requests.clear()
    second = run(stub, tmp_path)
    assert first.summaries is not None
    assert second.summaries is not None
    assert (first.summaries["written"], first.summaries["missing"]) == (9, 1)
    assert (second.summaries["reused"], second.summaries["written"]) == (9, 1)
    assert len(stub.requests) == 1
    assert second.status == "updated"


def test_a_long_answer_is_cut(stub: ChatStub, tmp_path: Path) -> None:
    stub.answers = [Answer(text="word " * 1000)] * 10
    run(stub, tmp_path)
    digest, _ = stored(tmp_path)
    for paper in digest.papers:
        assert paper.machine_summary is not None
        assert len(paper.machine_summary.text) <= MAX_SUMMARY_CHARS
        assert paper.machine_summary.text.endswith("word…")


def test_the_command_line_turns_summaries_on_from_the_environment(
    stub: ChatStub, tmp_path: Path
) -> None:
    env = {
        "SUMMARY_PROVIDER": "openai",
        "SUMMARY_MODEL": "stub-model",
        "SUMMARY_API_BASE": stub.url,
        "SUMMARY_API_KEY": KEY,
    }
    with ReplayServer(load_days(API_FIXTURES)) as replay:
        args = ("run", "--date", "2026-07-31", "--api-base", replay.url, "--out", "site")
        first = run_cli(*args, cwd=tmp_path, env=env)
        again = run_cli(*args, cwd=tmp_path, env=env)
    assert (first.returncode, first.stderr) == (0, "")
    assert "(10 of 30 papers listed); summaries: 10 written, 0 reused, 0 missing;" in first.stdout
    assert "unchanged (10 of 30 papers listed); summaries: 0 written, 10 reused" in again.stdout
    assert len(stub.requests) == 10
    assert KEY not in first.stdout + first.stderr


def test_an_endpoint_that_refuses_connections_is_retried_then_given_up() -> None:
    with ChatStub() as closed:
        url = closed.url  # the port is closed once the stub has stopped
    model = OpenAICompatible(requests.Session(), url, "stub-model", KEY)
    sleeps = Sleeps()
    step = SummaryStep(model, replace(SETTINGS, concurrency=1), lang="en", sleep=sleeps)
    papers, report = step.add(REAL_PAPERS[:2], None)
    assert report.requests == 8
    assert sleeps == [1.0, 2.0, 4.0] * 2
    assert set(report.missing.values()) == {"cannot connect or read (ConnectionError) (4 attempts)"}
    assert papers == REAL_PAPERS[:2]
