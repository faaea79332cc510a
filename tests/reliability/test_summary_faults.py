"""A hostile or failing summarizer through the Lambda handlers, configured by the
environment as deployed: a hostile model's answers reach the post, the feeds and the page
inert (each checked in its real client: Jekyll, feedparser, an HTML parser) and labelled;
a failing one leaves the post complete; both are counted in the metrics."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from papers_digest.keys import PAGE_KEY, PAPERS_FEED_KEY, post_key
from papers_digest.summarize import clean_summary
from tests import hostile
from tests.conftest import REAL_DAY
from tests.functional.test_jekyll import jekyll_build, visible_text
from tests.reliability.test_content_faults import PAGE, Built, check_outputs, publish, real_items
from tools.chat_stub import Answer, ChatStub
from tools.replay_server import ReplayServer

HOSTILE = list(hostile.TEXT.values())[:10]


@pytest.fixture
def stub(monkeypatch: pytest.MonkeyPatch) -> Iterator[ChatStub]:
    with ChatStub() as server:
        monkeypatch.setenv("SUMMARY_PROVIDER", "openai")
        monkeypatch.setenv("SUMMARY_MODEL", "stub-model")
        monkeypatch.setenv("SUMMARY_API_BASE", server.url)
        monkeypatch.setenv("SUMMARY_API_KEY", "sk-test")
        monkeypatch.setenv("SUMMARY_CONCURRENCY", "1")  # answers in the papers' order
        yield server


def metrics(out: str) -> dict[str, Any]:
    """The metric values of the handler's EMF record on stdout."""
    record = next(json.loads(line) for line in out.splitlines() if '"_aws"' in line)
    return {key: value for key, value in record.items() if key.startswith("Summaries")}


@pytest.mark.fault("content", "holds")
def test_a_hostile_model_reaches_every_output_inert_and_labelled(
    stub: ChatStub,
    s3: Any,
    replay: ReplayServer,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    stub.answers = [Answer(text=f"S {text}") for text in HOSTILE]
    summary, read = publish(real_items(), s3, replay, monkeypatch)
    assert summary["summaries"]["written"] == 10
    assert metrics(capsys.readouterr().out) == {
        "SummariesWritten": [10.0],
        "SummariesMissing": [0.0],
    }
    digest, page, papers = check_outputs(read, build(read, tmp_path))  # inert everywhere

    texts = [paper.machine_summary.text for paper in digest.papers if paper.machine_summary]
    assert texts == [clean_summary(f"S {text}") for text in HOSTILE]
    shown = " ".join(visible_text(page).split())
    assert "S {{ site.title }} {% include evil.html %}" in shown  # Liquid did not run
    assert shown.count("AI 요약 (stub-model, 기계 작성)") == 10
    for entry in papers.entries:
        assert "AI 요약 (stub-model, 기계 작성)" in entry.summary
    listing = read[PAGE_KEY].decode("utf-8")
    assert (
        listing.count(
            '<p class="machine-summary" lang="ko"><em>AI 요약 (stub-model, 기계 작성): </em>S '
        )
        == 10
    )
    # In each item's description and its content:encoded.
    assert read[PAPERS_FEED_KEY].count("AI 요약 (stub-model, 기계 작성)".encode()) == 20


@pytest.mark.fault("model", "recovered")
def test_a_model_that_fails_leaves_a_complete_post_and_a_metric(
    stub: ChatStub,
    s3: Any,
    replay: ReplayServer,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    stub.answers = [Answer(status=503, headers={"Retry-After": "0"})] * 40
    summary, read = publish(real_items(), s3, replay, monkeypatch)
    assert summary["status"] == "created"
    assert summary["summaries"]["missing"] == 10
    assert metrics(capsys.readouterr().out) == {
        "SummariesWritten": [0.0],
        "SummariesMissing": [10.0],
    }
    digest, _, _ = check_outputs(read, build(read, tmp_path))
    assert len(digest.papers) == 10
    assert all(paper.machine_summary is None for paper in digest.papers)


def build(read: dict[str, bytes], tmp_path: Path) -> Built:
    """The run's post as Jekyll builds it."""
    post = read[post_key(REAL_DAY)]
    posts = tmp_path / "site" / "_posts"
    posts.mkdir(parents=True)
    (posts / Path(post_key(REAL_DAY)).name).write_bytes(post)
    return Built(post, (jekyll_build(tmp_path / "site") / "posts" / PAGE).read_text("utf-8"))
