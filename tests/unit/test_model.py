from __future__ import annotations

import copy
from datetime import date
from typing import Any

import pytest

from papers_digest.errors import MalformedResponseError
from papers_digest.model import Paper, clean_text, paper_from_api, parse_day_response, rank
from tests.conftest import REAL_DAY, SEED_DAY, api_items

REAL = api_items(REAL_DAY)


def _by_id(arxiv_id: str) -> dict[str, Any]:
    return next(item for item in REAL if item["paper"]["id"] == arxiv_id)


def test_real_day_parses_every_paper() -> None:
    parsed = parse_day_response(REAL, REAL_DAY)
    assert len(parsed.papers) == 30
    assert parsed.skipped == ()


@pytest.mark.parametrize(
    ("api_key", "attribute"),
    [
        ("organization", "organization"),
        ("githubRepo", "github_repo"),
        ("githubStars", "github_stars"),
        ("projectPage", "project_page"),
        ("ai_summary", "ai_summary"),
        ("ai_keywords", "ai_keywords"),
        ("submittedOnDailyAt", "submitted_on_daily_at"),
    ],
)
def test_optional_fields_present_and_absent(api_key: str, attribute: str) -> None:
    """Every optional field is kept when the API sends it and empty when it is absent."""
    holder = "item" if api_key == "organization" else "paper"
    with_field = [item for item in REAL if api_key in (item if holder == "item" else item["paper"])]
    item = copy.deepcopy(with_field[0] if with_field else REAL[0])
    if not with_field:  # ai_* fields are absent on this day: add them the API's way
        item["paper"][api_key] = (
            ["token compression", "omnimodal"] if api_key == "ai_keywords" else "A summary."
        )
    present = paper_from_api(item)
    assert getattr(present, attribute) not in (None, ())

    item.pop(api_key, None)
    item["paper"].pop(api_key, None)
    absent = paper_from_api(item)
    assert getattr(absent, attribute) in (None, ())


def test_fields_readers_want_come_through() -> None:
    paper = paper_from_api(_by_id("2607.23193"))
    assert paper.title.startswith("OmniScope: Modality-Decoupled")
    assert paper.upvotes == 3
    assert paper.authors[:2] == ("Jinsen Su", "Yongdong Luo")
    assert paper.github_repo == "https://github.com/MAC-AutoML/OmniScope"
    assert paper.github_stars == 5
    assert paper.organization is None
    assert paper.hf_url == "https://huggingface.co/papers/2607.23193"
    assert paper.arxiv_url == "https://arxiv.org/abs/2607.23193"
    assert paper.submitted_on_daily_at == "2026-07-31T00:00:00.000Z"


def test_organization_is_the_clean_fullname() -> None:
    with_org = next(item for item in REAL if "organization" in item)
    assert paper_from_api(with_org).organization == with_org["organization"]["fullname"]
    seed = {p.arxiv_id: p for p in parse_day_response(api_items(SEED_DAY), SEED_DAY).papers}
    assert seed["2601.19834"].organization == "ByteDance Seed"
    assert seed["2601.17645"].organization is None


def test_older_response_without_newer_keys_and_with_hard_line_breaks() -> None:
    """2024 responses lack submittedOnDailyAt, organization and ai_*, and wrap lines."""
    item = {
        "paper": {
            "id": "2403.00001",
            "authors": [{"name": "A. Author", "hidden": False}, {"name": "Hidden", "hidden": True}],
            "publishedAt": "2024-03-01T00:00:00.000Z",
            "title": "Sigmoid Loss for Language Image Pre-Training\n  for\n  Contrastive Loss",
            "summary": "We propose a simple\npairwise loss.\n\nIt works.",
            "upvotes": 0,
        },
        "numComments": 2,
    }
    paper = paper_from_api(item)
    assert paper.title == "Sigmoid Loss for Language Image Pre-Training for Contrastive Loss"
    assert paper.abstract == "We propose a simple pairwise loss. It works."
    assert paper.authors == ("A. Author",)
    assert paper.upvotes == 0
    assert paper.num_comments == 2
    assert paper.submitted_on_daily_at is None
    assert parse_day_response([item], date(2024, 3, 1)).papers == (paper,)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("a\n  b", "a b"),
        ("nul\x00byte", "nul byte"),
        ("bell\x07 and del\x7f", "bell and del"),
        ("lone \ud800 surrogate", "lone \ufffd surrogate"),
        ("emoji 🤗 and עברית", "emoji 🤗 and עברית"),
        ("  ", ""),
    ],
)
def test_clean_text(text: str, expected: str) -> None:
    assert clean_text(text) == expected


def test_rank_real_day_by_upvotes_highest_first() -> None:
    ranked = rank(parse_day_response(REAL, REAL_DAY).papers, top_n=10)
    assert [paper.upvotes for paper in ranked] == [292, 283, 168, 49, 47, 46, 40, 37, 31, 25]


def _paper(arxiv_id: str, upvotes: int) -> Paper:
    return Paper(arxiv_id=arxiv_id, title=arxiv_id, abstract="", upvotes=upvotes)


@pytest.mark.parametrize(
    ("papers", "top_n", "min_upvotes", "expected"),
    [
        ([("b", 5), ("a", 5), ("c", 9)], 10, 0, ["c", "a", "b"]),  # ties by arXiv id
        ([("a", 5), ("b", 5), ("c", 9)], 10, 0, ["c", "a", "b"]),  # input order irrelevant
        ([("a", 1), ("b", 2), ("c", 3)], 2, 0, ["c", "b"]),
        ([("a", 1), ("b", 2), ("c", 3)], 10, 2, ["c", "b"]),
        ([("a", 0)], 10, 1, []),
    ],
)
def test_rank_is_stable_and_bounded(
    papers: list[tuple[str, int]], top_n: int, min_upvotes: int, expected: list[str]
) -> None:
    ranked = rank([_paper(i, u) for i, u in papers], top_n=top_n, min_upvotes=min_upvotes)
    assert [paper.arxiv_id for paper in ranked] == expected


def test_duplicate_ids_keep_the_highest_upvotes() -> None:
    first, second = copy.deepcopy(REAL[0]), copy.deepcopy(REAL[0])
    second["paper"]["upvotes"] = first["paper"]["upvotes"] + 7
    parsed = parse_day_response([first, second, *REAL[1:]], REAL_DAY)
    assert len(parsed.papers) == 30
    by_id = {paper.arxiv_id: paper for paper in parsed.papers}
    assert by_id[first["paper"]["id"]].upvotes == second["paper"]["upvotes"]


def test_a_minority_of_bad_items_is_skipped_with_reasons() -> None:
    broken = copy.deepcopy(REAL[:3])
    broken[0]["paper"]["upvotes"] = "many"
    del broken[1]["paper"]["title"]
    broken[2]["paper"]["submittedOnDailyAt"] = "2026-07-30T00:00:00.000Z"
    parsed = parse_day_response([*broken, *REAL[3:]], REAL_DAY)
    assert len(parsed.papers) == 27
    assert len(parsed.skipped) == 3
    assert "paper.upvotes is 'many'" in parsed.skipped[0]
    assert "paper.title is missing" in parsed.skipped[1]
    assert "featured on 2026-07-30" in parsed.skipped[2]


def test_half_or_more_bad_items_refuse_the_day() -> None:
    items: list[Any] = [{"paper": {"id": "x"}}, 42, *REAL[:2]]
    with pytest.raises(MalformedResponseError, match="2 of 4 items for 2026-07-31 are unusable"):
        parse_day_response(items, REAL_DAY)


def test_digest_json_round_trips() -> None:
    from papers_digest.model import Digest

    papers = rank(parse_day_response(REAL, REAL_DAY).papers, 10)
    from datetime import UTC, datetime

    digest = Digest(
        REAL_DAY,
        papers,
        30,
        datetime(2026, 7, 31, 0, 15, tzinfo=UTC),
        datetime(2026, 8, 1, 0, 15, tzinfo=UTC),
    )
    assert Digest.from_json(digest.to_json()) == digest


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ({"schema_version": 99}, "schema_version 99 is not 1"),
        ({"schema_version": 1, "day": "2026-07-31"}, "digest is missing or mangles"),
    ],
)
def test_unreadable_digest_is_refused(document: dict[str, Any], message: str) -> None:
    from papers_digest.model import Digest

    with pytest.raises(MalformedResponseError, match=message):
        Digest.from_json(document)
