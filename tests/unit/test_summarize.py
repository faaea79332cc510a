"""The summary step's pure parts and its runner with a fake model: stored summaries read
strictly, model text cleaned and capped, the cache key, the prompts (overridable), the
settings, the deadline and the bound on concurrency."""

from __future__ import annotations

import json
import threading
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from papers_digest.errors import ConfigError
from papers_digest.model import MAX_SUMMARY_CHARS, Digest, MachineSummary
from papers_digest.render import digest_json
from papers_digest.settings import SummarySettings, summary_settings
from papers_digest.summarize import (
    Completion,
    ModelError,
    SummaryStep,
    build_prompts,
    cached_summaries,
    clean_summary,
)
from papers_digest.summarizers import build_summarizer, summary_step
from tests.conftest import REAL_DAY
from tests.digests import REAL_PAPERS, digest_for

SUMMARY = MachineSummary("Two sentences. About a paper.", "amazon.nova-micro-v1:0", "ko", "a" * 64)
PAPERS = REAL_PAPERS[:4]


def stored(**changes: Any) -> dict[str, Any]:
    """A digest's JSON whose first paper has SUMMARY, with `changes` to that summary."""
    papers = (replace(PAPERS[0], machine_summary=SUMMARY), *PAPERS[1:])
    data = digest_for(REAL_DAY, papers).to_json()
    data["papers"][0]["machine_summary"].update(changes)
    return data


def test_a_summary_round_trips_and_a_digest_without_one_has_no_key() -> None:
    digest = Digest.from_json(stored())
    assert digest.papers[0].machine_summary == SUMMARY
    assert "machine_summary" not in digest.to_json()["papers"][1]
    assert Digest.from_json(json.loads(digest_json(digest))) == digest


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"text": ""}, "text"),
        ({"text": "x" * (MAX_SUMMARY_CHARS + 1)}, "text"),
        ({"text": 3}, "text"),
        ({"model": "bad model id"}, "model"),
        ({"model": "<script>"}, "model"),
        ({"lang": "fr"}, "lang"),
        ({"inputs_sha256": "abc"}, "inputs_sha256"),
        ({"inputs_sha256": None}, "inputs_sha256"),
    ],
)
def test_a_stored_summary_is_read_strictly(change: dict[str, Any], field: str) -> None:
    with pytest.raises(ValueError, match=rf"papers\[0\]\.machine_summary\.{field}"):
        Digest.from_json(stored(**change))
    assert cached_summaries(json.dumps(stored(**change)).encode()) == {}


@pytest.mark.parametrize(
    "body", [None, b"", b"not json", b"[]", b'{"papers": 3}', b'{"papers": [1, {"x": 1}]}']
)
def test_an_unreadable_stored_digest_caches_nothing(body: bytes | None) -> None:
    assert cached_summaries(body) == {}


def test_the_cache_holds_the_stored_summaries_by_id() -> None:
    assert cached_summaries(json.dumps(stored()).encode()) == {PAPERS[0].arxiv_id: SUMMARY}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("  One.\n\nTwo.\r\n", "One. Two."),
        ("nul\x00 bell\x07 \ud800 end", "nul bell \ufffd end"),
        ("word " * 400, ("word " * 400)[: MAX_SUMMARY_CHARS - 1].rsplit(" ", 1)[0] + "…"),
        ("가" * 1000, "가" * (MAX_SUMMARY_CHARS - 1) + "…"),
    ],
    ids=["line breaks", "control characters", "long, cut at a space", "long without spaces"],
)
def test_model_text_is_cleaned_and_capped(text: str, expected: str) -> None:
    assert clean_summary(text) == expected
    assert len(clean_summary(text)) <= MAX_SUMMARY_CHARS


@pytest.mark.parametrize(
    "change",
    [{"title": "Another title"}, {"abstract": "Another abstract."}, {"ai_summary": "Other."}],
)
def test_the_cache_key_changes_with_every_input(change: dict[str, str]) -> None:
    (before,) = build_prompts(PAPERS[:1], "ko", None)
    (after,) = build_prompts([replace(PAPERS[0], **change)], "ko", None)
    (english,) = build_prompts(PAPERS[:1], "en", None)
    assert len({before.sha256, after.sha256, english.sha256}) == 3


def test_prompt_templates_can_be_overridden_and_a_broken_one_is_named(tmp_path: Path) -> None:
    (tmp_path / "en").mkdir()
    (tmp_path / "en" / "summary-user.txt.j2").write_text("Only {{ paper.title }}", "utf-8")
    (prompt,) = build_prompts(PAPERS[:1], "en", str(tmp_path))
    assert prompt.user == f"Only {PAPERS[0].title}"
    assert prompt.system.startswith("You summarize research papers")
    (tmp_path / "en" / "summary-user.txt.j2").write_text("{{ paper.nothing }}", "utf-8")
    with pytest.raises(ConfigError, match=r"prompt template en/summary-user\.txt\.j2: .*nothing"):
        build_prompts(PAPERS[:1], "en", str(tmp_path))


class FakeModel:
    """Answers every prompt; `barrier` makes the first calls wait for each other."""

    model = "fake-model"

    def __init__(self, barrier: threading.Barrier | None = None) -> None:
        self.calls = 0
        self.in_flight = self.most_in_flight = 0
        self._lock = threading.Lock()
        self._barrier = barrier

    def complete(self, system: str, user: str, max_tokens: int, timeout: float) -> Completion:
        with self._lock:
            self.calls += 1
            self.in_flight += 1
            self.most_in_flight = max(self.most_in_flight, self.in_flight)
        if self._barrier is not None and self.calls <= self._barrier.parties:
            self._barrier.wait(timeout=10)
        with self._lock:
            self.in_flight -= 1
        return Completion(f"Summary of {user.splitlines()[0]}", 100, 50)


def test_requests_in_flight_never_pass_the_concurrency() -> None:
    model = FakeModel(threading.Barrier(2))  # breaks (and fails the test) unless 2 overlap
    step = SummaryStep(model, SummarySettings(concurrency=2), lang="en")
    papers, report = step.add(PAPERS, None)
    assert (model.calls, model.most_in_flight, report.written) == (4, 2, 4)
    assert all(paper.machine_summary for paper in papers)


def test_no_request_once_the_runs_deadline_has_passed() -> None:
    model = FakeModel()
    step = SummaryStep(model, SummarySettings(), lang="en", deadline=0.0, clock=lambda: 5.0)
    papers, report = step.add(PAPERS, None)
    assert model.calls == 0
    assert (report.written, len(report.missing)) == (0, len(PAPERS))
    assert papers == PAPERS


def test_an_adapter_that_breaks_costs_its_summary_only() -> None:
    class Broken(FakeModel):
        def complete(self, system: str, user: str, max_tokens: int, timeout: float) -> Completion:
            if user.startswith("Title: BROKEN"):
                raise KeyError("a bug")
            if user.startswith("Title: REFUSED"):
                raise ModelError("HTTP 400")
            return super().complete(system, user, max_tokens, timeout)

    papers = (replace(PAPERS[0], title="BROKEN"), replace(PAPERS[1], title="REFUSED"), PAPERS[2])
    _, report = SummaryStep(Broken(), SummarySettings(), lang="en").add(papers, None)
    assert report.written == 1
    assert report.missing == {
        PAPERS[0].arxiv_id: "unexpected KeyError",
        PAPERS[1].arxiv_id: "HTTP 400 (1 attempt)",
    }


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"SUMMARY_PROVIDER": "gpt"}, "SUMMARY_PROVIDER='gpt' is not one of off, bedrock, openai"),
        ({"SUMMARY_PROVIDER": "bedrock"}, "SUMMARY_MODEL=None is not a model id"),
        ({"SUMMARY_PROVIDER": "bedrock", "SUMMARY_MODEL": "a b"}, "SUMMARY_MODEL='a b' is not"),
        ({"SUMMARY_PROVIDER": "openai", "SUMMARY_MODEL": "m"}, "SUMMARY_API_BASE=None must be set"),
        (
            {"SUMMARY_PROVIDER": "openai", "SUMMARY_MODEL": "m", "SUMMARY_API_BASE": "ftp://x"},
            "SUMMARY_API_BASE='ftp://x' is not an absolute http(s) URL",
        ),
        (
            {"SUMMARY_PROVIDER": "openai", "SUMMARY_MODEL": "m", "SUMMARY_API_BASE": "http://x"},
            "needs SUMMARY_API_KEY or SUMMARY_API_KEY_PARAMETER",
        ),
        (
            {"SUMMARY_PROVIDER": "bedrock", "SUMMARY_MODEL": "m", "SUMMARY_CONCURRENCY": "0"},
            "SUMMARY_CONCURRENCY='0' must be from 1 to 32",
        ),
    ],
)
def test_bad_summary_settings_are_refused(env: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError) as error:
        summary_settings(env)
    assert message in str(error.value)


@pytest.mark.parametrize("env", [{}, {"SUMMARY_PROVIDER": "off"}, {"SUMMARY_PROVIDER": " "}])
def test_summaries_are_off_by_default(env: dict[str, str]) -> None:
    assert summary_settings(env) == SummarySettings()
    assert summary_step(env, lang="ko", template_dir=None) is None


OPENAI = SummarySettings(provider="openai", model="m", api_base="http://127.0.0.1:9/v1")


def test_the_key_comes_from_its_ssm_parameter_and_a_bad_one_is_not_shown() -> None:
    asked: list[str] = []

    def secret(name: str) -> str:
        asked.append(name)
        return " sk-secret-value \n"

    settings = replace(OPENAI, api_key_parameter="/papers/key")
    assert build_summarizer(settings, read_secret=secret) is not None
    assert asked == ["/papers/key"]
    with pytest.raises(ConfigError) as error:
        build_summarizer(settings, read_secret=lambda name: "sk-secret value")
    assert "the SSM parameter /papers/key is malformed" in str(error.value)
    assert "secret" not in str(error.value).replace("/papers/key", "")


def test_a_key_that_cannot_be_read_leaves_summaries_out_with_a_warning(
    caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    def unreachable(name: str) -> str:
        raise ConnectionError("no route to SSM")

    monkeypatch.setattr("papers_digest.summarizers._ssm_secret", unreachable)
    env = {
        "SUMMARY_PROVIDER": "openai",
        "SUMMARY_MODEL": "m",
        "SUMMARY_API_BASE": "http://127.0.0.1:9/v1",
        "SUMMARY_API_KEY_PARAMETER": "/papers/key",
    }
    assert summary_step(env, lang="ko", template_dir=None) is None
    assert caplog.messages == [
        "summaries left out of this run: the API key could not be read (ConnectionError)"
    ]
