"""Reader filters on the recorded day: what they keep, what the digest records, what the
post says."""

from __future__ import annotations

import copy
import json
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest

from papers_digest.filters import NO_FILTERS, Filters, apply
from papers_digest.model import Digest, parse_day_response
from papers_digest.pipeline import run_day
from papers_digest.settings import PostSettings, filter_settings
from papers_digest.store import FolderStore
from tests.conftest import REAL_DAY, api_items

NOW = datetime(2026, 8, 1, 0, 30, tzinfo=UTC)


def papers(items: list[dict[str, Any]] | None = None) -> Any:
    return parse_day_response(items or api_items(REAL_DAY), REAL_DAY).papers


class Source:
    def __init__(self, items: list[dict[str, Any]]) -> None:
        self.items = items

    def fetch_day(self, day: date) -> list[Any]:
        return self.items


@pytest.mark.parametrize(
    ("filters", "kept_upvotes", "removed"),
    [
        (NO_FILTERS, None, 0),
        (Filters(include_keywords=("memory",)), [3, 12, 7, 8, 49], 25),
        # whole words: "Agent" is neither "agents" nor "Agentic"; case does not matter
        (Filters(include_keywords=("Agent",)), [12, 7, 3, 10, 3, 283, 46, 9, 168], 21),
        (Filters(include_keywords=("agents",)), [12, 7, 3, 10, 3, 31, 283, 3, 9, 292], 20),
        (Filters(include_keywords=("world model",)), [16], 29),
        (Filters(include_organizations=("kling team",)), [25, 47], 28),
        (Filters(exclude_organizations=("MUSET.AI",)), None, 3),
        (Filters(exclude_keywords=("llm  agents",)), None, 3),
        (
            Filters(
                include_keywords=("memory",),
                exclude_organizations=("Nanyang Technological University",),
            ),
            [3, 7, 8, 49],
            26,
        ),
    ],
)
def test_filters_on_the_recorded_day(
    filters: Filters, kept_upvotes: list[int] | None, removed: int
) -> None:
    day = papers()
    kept, left_out = apply(day, filters)
    assert left_out == removed
    assert len(kept) == len(day) - removed
    if kept_upvotes is not None:
        assert [paper.upvotes for paper in kept] == kept_upvotes
    if filters == NO_FILTERS:
        assert kept == day


def test_ai_keywords_are_searched() -> None:
    items = copy.deepcopy(api_items(REAL_DAY))
    items[5]["paper"]["ai_keywords"] = ["diffusion transformer", "video"]
    kept, _ = apply(papers(items), Filters(include_keywords=("Diffusion Transformer",)))
    assert [paper.upvotes for paper in kept] == [22]


@pytest.mark.parametrize("lang", ["en", "ko"])
def test_the_digest_records_the_filters_and_the_post_says_what_they_removed(
    tmp_path: Path, lang: str
) -> None:
    filters = Filters(include_organizations=("Kling Team", "muset.ai"))
    store = FolderStore(tmp_path)
    result = run_day(
        REAL_DAY,
        source=Source(api_items(REAL_DAY)),
        store=store,
        settings=PostSettings(lang=lang, top_n=2),
        now=NOW,
        filters=filters,
    )
    assert (result.papers_listed, result.papers_that_day) == (2, 30)
    stored = json.loads((tmp_path / "digests/2026-07-31.json").read_text())
    assert stored["filters"] == {
        "include_keywords": [],
        "exclude_keywords": [],
        "include_organizations": ["Kling Team", "muset.ai"],
        "exclude_organizations": [],
    }
    assert stored["papers_filtered_out"] == 25
    assert [paper["upvotes"] for paper in stored["papers"]] == [47, 46]  # ranked after filtering
    assert Digest.from_json(stored).filters == filters
    post = (tmp_path / "_posts/2026-07-31-hf-daily-papers.md").read_text()
    line = {
        "en": "\nYour filters left out 25 of the day's 30 papers.\n\n## ",
        "ko": "\n필터가 그날의 논문 30개 중 25개를 제외했습니다.\n\n## ",
    }
    assert line[lang] in post


def test_without_filters_the_digest_has_no_filter_fields(tmp_path: Path) -> None:
    run_day(
        REAL_DAY,
        source=Source(api_items(REAL_DAY)),
        store=FolderStore(tmp_path),
        settings=PostSettings(),
        now=NOW,
    )
    stored = json.loads((tmp_path / "digests/2026-07-31.json").read_text())
    assert "filters" not in stored
    assert "papers_filtered_out" not in stored
    post = (tmp_path / "_posts/2026-07-31-hf-daily-papers.md").read_text()
    assert "필터" not in post
    assert Digest.from_json(stored).filters == NO_FILTERS  # and an older digest reads the same


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"filters": ["memory"]}, "filters is ['memory'], not an object"),
        ({"filters": {"include_keywords": "memory"}}, "filters.include_keywords is 'memory'"),
        ({"filters": {"include_words": ["x"]}}, "filters.include_words is ['x'], not a known"),
        ({"papers_filtered_out": -1}, "papers_filtered_out is -1, not a count"),
    ],
)
def test_a_stored_digest_with_malformed_filters_is_refused(
    change: dict[str, Any], message: str, tmp_path: Path
) -> None:
    run_day(
        REAL_DAY,
        source=Source(api_items(REAL_DAY)),
        store=FolderStore(tmp_path),
        settings=PostSettings(),
        now=NOW,
        filters=Filters(exclude_keywords=("memory",)),
    )
    stored = json.loads((tmp_path / "digests/2026-07-31.json").read_text())
    with pytest.raises(ValueError, match=message.replace("[", r"\[").replace("(", r"\(")):
        Digest.from_json({**stored, **change})


def test_filter_settings_read_comma_separated_lists() -> None:
    env = {
        "FILTER_INCLUDE_KEYWORDS": " LLM agents, memory ,,",
        "FILTER_EXCLUDE_ORGS": "muset.ai",
        "FILTER_INCLUDE_ORGS": " ",
    }
    assert filter_settings(env) == Filters(
        include_keywords=("LLM agents", "memory"), exclude_organizations=("muset.ai",)
    )
    assert filter_settings({}) == NO_FILTERS
