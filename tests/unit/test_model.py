from __future__ import annotations

import copy
import re
from dataclasses import replace
from datetime import UTC, date, datetime
from typing import Any

import pytest

from papers_digest.errors import MalformedResponseError
from papers_digest.model import (
    Digest,
    Paper,
    clean_text,
    hf_paper_url,
    paper_from_api,
    parse_day_response,
    rank,
)
from papers_digest.render import digest_json
from tests import hostile
from tests.conftest import REAL_DAY, SEED_DAY, api_items
from tests.documents import DELETE, mutated

REAL = api_items(REAL_DAY)
RANKED = rank(parse_day_response(REAL, REAL_DAY).papers, 30)
DIGEST = Digest(
    REAL_DAY,
    RANKED[:10],
    30,
    datetime(2026, 7, 31, 0, 15, tzinfo=UTC),
    datetime(2026, 8, 1, 0, 15, tzinfo=UTC),
    unlisted=RANKED[10:],
)


def _by_id(arxiv_id: str) -> dict[str, Any]:
    return next(item for item in REAL if item["paper"]["id"] == arxiv_id)


def test_real_day_parses_every_paper() -> None:
    parsed = parse_day_response(REAL, REAL_DAY)
    assert len(parsed.papers) == 30
    assert parsed.skipped == ()
    assert parsed.notes == ()


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


def _paper(name: str, upvotes: int) -> Paper:
    arxiv_id = f"2607.0000{ord(name) - ord('a') + 1}"  # a, b, c sort as their ids do
    return Paper(arxiv_id=arxiv_id, title=name, abstract="", upvotes=upvotes)


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
    assert [paper.title for paper in ranked] == expected


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


@pytest.mark.parametrize(
    ("arxiv_id", "accepted"),
    [
        ("0704.0001", True),  # the first new-style id
        ("1412.9999", True),  # four digits until the end of 2014
        ("1501.00001", True),  # five from 2015
        ("2607.23193", True),
        *((bad, False) for bad in hostile.IDS.values()),
    ],
    ids=["0704", "1412", "1501", "2607", *hostile.IDS],
)
def test_paper_ids_must_be_arxiv_ids(arxiv_id: str, accepted: bool) -> None:
    """A bad id skips the item, and no link can be built from one."""
    item = copy.deepcopy(REAL[0])
    item["paper"]["id"] = arxiv_id
    if accepted:
        paper = paper_from_api(item)
        assert paper.hf_url == f"https://huggingface.co/papers/{arxiv_id}"
        assert paper.arxiv_url == f"https://arxiv.org/abs/{arxiv_id}"
        return
    with pytest.raises(ValueError, match=r"^paper\.id is .*, not an arXiv id such as 2607\.23193$"):
        paper_from_api(item)
    with pytest.raises(ValueError, match="not an arXiv id"):
        replace(DIGEST.papers[0], arxiv_id=arxiv_id)
    with pytest.raises(ValueError, match="not an arXiv id"):
        hf_paper_url(arxiv_id)


URL_FIELDS = [("paper", "githubRepo", "github_repo"), ("paper", "projectPage", "project_page"),
              ("item", "thumbnail", "thumbnail")]  # fmt: skip


@pytest.mark.parametrize("url", hostile.URLS.values(), ids=hostile.URLS.keys())
@pytest.mark.parametrize(("holder", "key", "attribute"), URL_FIELDS, ids=lambda x: x)
def test_a_bad_url_is_dropped_with_a_note(url: str, holder: str, key: str, attribute: str) -> None:
    item = copy.deepcopy(_by_id("2607.23193"))  # has a githubRepo and a projectPage
    (item["paper"] if holder == "paper" else item)[key] = url
    parsed = parse_day_response([item], REAL_DAY)
    (paper,) = parsed.papers
    assert getattr(paper, attribute) is None
    name = f"paper.{key}" if holder == "paper" else key
    (note,) = parsed.notes
    assert note.startswith(f"item 0 (2607.23193): {name} is ")
    assert note.endswith(", not an http(s) URL: dropped")
    assert "\n" not in note


@pytest.mark.parametrize(
    ("holder", "key", "value", "attribute", "kept"),
    [
        ("paper", "githubRepo", "https://github.com/a/b", "github_repo", "https://github.com/a/b"),
        ("paper", "projectPage", "http://a.example/p?q=1&r=%20", "project_page",
         "http://a.example/p?q=1&r=%20"),
        ("item", "thumbnail", "https://cdn.example/論文.png", "thumbnail",
         "https://cdn.example/論文.png"),
        ("paper", "publishedAt", "2026-07-29T17:59:59.000Z", "published_at",
         "2026-07-29T17:59:59.000Z"),
        ("paper", "publishedAt", "2026-07-29T17:59:59\ud800", "published_at", None),
        ("paper", "publishedAt", "yesterday", "published_at", None),
        ("paper", "submittedOnDailyAt", "2026-07-31\x00", "submitted_on_daily_at", None),
        ("paper", "githubStars", "many", "github_stars", None),
        ("item", "numComments", -1, "num_comments", 0),
        ("paper", "summary", 42, "abstract", ""),
        ("paper", "ai_keywords", ["ok", 7], "ai_keywords", ()),
        ("paper", "ai_summary", ["not", "text"], "ai_summary", None),
    ],
)  # fmt: skip
def test_optional_values_are_checked_and_bad_ones_dropped(
    holder: str, key: str, value: Any, attribute: str, kept: Any
) -> None:
    item = copy.deepcopy(_by_id("2607.23193"))
    item.pop("summary", None)
    (item["paper"] if holder == "paper" else item)[key] = value
    parsed = parse_day_response([item], REAL_DAY)
    assert getattr(parsed.papers[0], attribute) == kept
    assert len(parsed.notes) == (0 if kept not in (None, 0, "", ()) else 1)


BAD = "bad \ud800 char \x07 here\n"


@pytest.mark.parametrize(
    "mutate",
    [
        lambda item: item["paper"].update(githubRepo=f"https://github.com/{BAD}"),
        lambda item: item["paper"].update(projectPage=BAD),
        lambda item: item.update(thumbnail=f"https://x.example/{BAD}.png"),
        lambda item: item["paper"].update(publishedAt=BAD),
        lambda item: item["paper"].update(submittedOnDailyAt=BAD),
        lambda item: item.update(organization={"name": BAD, "fullname": BAD}),
        lambda item: item["paper"]["authors"].append({"name": BAD, "hidden": False}),
        lambda item: item["paper"].update(ai_keywords=[BAD, "ok"]),
        lambda item: item["paper"].update(ai_summary=BAD, summary=BAD, title=BAD),
    ],
    ids=["githubRepo", "projectPage", "thumbnail", "publishedAt", "submittedOnDailyAt",
         "organization", "authors", "ai_keywords", "text"],
)  # fmt: skip
def test_no_api_string_reaches_the_digest_uncleaned(mutate: Any) -> None:
    item = copy.deepcopy(_by_id("2607.23193"))
    mutate(item)
    (paper,) = parse_day_response([item], REAL_DAY).papers
    strings = [value for value in paper.to_json().values() if isinstance(value, str)]
    strings += [*paper.authors, *paper.ai_keywords]
    assert all(clean_text(value) == value for value in strings)
    digest_json(replace(DIGEST, papers=(paper,))).encode("utf-8")


def test_digest_json_round_trips_and_stored_text_is_cleaned_again() -> None:
    assert Digest.from_json(DIGEST.to_json()) == DIGEST
    assert [item["rank"] for item in DIGEST.to_json()["unlisted"]] == list(range(11, 31))
    document = DIGEST.to_json()
    document["papers"][0]["title"] = "Stored \ud800 title\x07\n"
    document["papers"][0]["authors"] = ["A\u0085 B", " "]
    paper = Digest.from_json(document).papers[0]
    assert (paper.title, paper.authors) == ("Stored \ufffd title", ("A B",))


def test_a_version_1_digest_reads_with_no_unlisted_papers() -> None:
    """Digests written before the roll-ups kept only the listed papers."""
    document = {**DIGEST.to_json(), "schema_version": 1}
    del document["unlisted"]
    assert Digest.from_json(document) == replace(DIGEST, unlisted=())
    # and one that holds an `unlisted` list anyway is read as version 1 says: without it
    assert Digest.from_json({**document, "unlisted": "x"}).unlisted == ()


@pytest.mark.parametrize(
    ("path", "value", "message"),
    [
        ((), [], "digest is [], not an object"),
        (("schema_version",), 99, "digest schema_version 99 is not one of 1, 2; regenerate it"),
        (("schema_version",), DELETE, "digest schema_version None is not one of 1, 2"),
        (("schema_version",), True, "digest schema_version True is not one of 1, 2"),
        (("unlisted",), DELETE, "unlisted is missing"),
        (("unlisted",), {}, "unlisted is {}, not a list"),
        (("unlisted", 0, "rank"), 1, "unlisted[0].rank is 1, not its position 11"),
        (("unlisted", 3, "title"), 42, "unlisted[3].title is 42, not text"),
        (("unlisted", 0, "arxiv_id"), RANKED[0].arxiv_id,
         f"papers and unlisted list {RANKED[0].arxiv_id} twice"),
        (("day",), "2026-7-31", "day is '2026-7-31', not a day (YYYY-MM-DD)"),
        (("day",), DELETE, "day is missing"),
        (("published_at",), "2026-07-31T00:15:00", "published_at is '2026-07-31T00:15:00', "
         "not an ISO 8601 time with a UTC offset"),
        (("generated_at",), "2026-08-01 00:15", "generated_at is '2026-08-01 00:15', not"),
        (("generated_at",), 1785000000, "generated_at is 1785000000, not an ISO 8601 time"),
        (("generated_at",), "last night", "generated_at is 'last night', not an ISO 8601 time"),
        (("papers_that_day",), "30", "papers_that_day is '30', not a count"),
        (("papers",), {}, "papers is {}, not a list"),
        (("papers", 1), "x", "papers[1] is 'x', not an object"),
        (("papers", 1), None, "papers[1] is missing"),
        (("papers", 0, "rank"), 2, "papers[0].rank is 2, not its position 1"),
        (("papers", 0, "rank"), DELETE, "papers[0].rank is missing"),
        (("papers", 0, "arxiv_id"), hostile.IDS["Markdown and HTML injection"],
         "papers[0].arxiv_id is '2607.99999) <img"),
        (("papers", 0, "arxiv_id"), "2607.23193v2", "papers[0].arxiv_id is '2607.23193v2', not"),
        (("papers", 0, "title"), 42, "papers[0].title is 42, not text"),
        (("papers", 0, "title"), " \x07 ", r"papers[0].title is ' \x07 ', not a title"),
        (("papers", 0, "title"), DELETE, "papers[0].title is missing"),
        (("papers", 0, "abstract"), ["a"], "papers[0].abstract is ['a'], not text"),
        (("papers", 0, "upvotes"), "3", "papers[0].upvotes is '3', not a count"),
        (("papers", 0, "upvotes"), True, "papers[0].upvotes is True, not a count"),
        (("papers", 0, "upvotes"), -1, "papers[0].upvotes is -1, not a count"),
        (("papers", 0, "upvotes"), 2.5, "papers[0].upvotes is 2.5, not a count"),
        (("papers", 0, "upvotes"), 10**12, "papers[0].upvotes is 1000000000000, not a count"),
        (("papers", 0, "authors"), "Mallory", "papers[0].authors is 'Mallory', not a list of text"),
        (("papers", 0, "authors"), [{"name": "M"}], "papers[0].authors is [{'name': 'M'}], not"),
        (("papers", 0, "ai_keywords"), "rl", "papers[0].ai_keywords is 'rl', not a list of text"),
        (("papers", 0, "ai_keywords"), [1], "papers[0].ai_keywords is [1], not a list of text"),
        (("papers", 0, "organization"), 7, "papers[0].organization is 7, not text"),
        (("papers", 0, "ai_summary"), {}, "papers[0].ai_summary is {}, not text"),
        (("papers", 0, "github_stars"), "5", "papers[0].github_stars is '5', not a count"),
        (("papers", 0, "num_comments"), False, "papers[0].num_comments is False, not a count"),
        (("papers", 0, "github_repo"), "javascript:alert(1)",
         "papers[0].github_repo is 'javascript:alert(1)', not an http(s) URL"),
        (("papers", 0, "project_page"), hostile.URLS["attribute breakout"],
         "papers[0].project_page is 'https://x.example/\" onmouseover"),
        (("papers", 0, "thumbnail"), "//evil.example/x.png",
         "papers[0].thumbnail is '//evil.example/x.png', not an http(s) URL"),
        (("papers", 0, "published_at"), "soon", "papers[0].published_at is 'soon', not an ISO"),
        (("papers", 0, "submitted_on_daily_at"), 20260731,
         "papers[0].submitted_on_daily_at is 20260731, not an ISO 8601 timestamp"),
    ],
)  # fmt: skip
def test_a_malformed_digest_is_refused_naming_the_field(
    path: tuple[str | int, ...], value: Any, message: str
) -> None:
    with pytest.raises(ValueError, match=f"^{re.escape(message)}") as refused:
        Digest.from_json(mutated(DIGEST.to_json(), path, value))
    assert "\n" not in str(refused.value)


def test_no_one_field_can_swell_every_output() -> None:
    """A 200,000-character author or title, or a thousand authors, is cut to what no
    real paper exceeds, so every output stays a size a feed reader can parse."""
    item = copy.deepcopy(api_items(REAL_DAY)[0])
    item["paper"]["title"] = "T" * 200_000
    item["paper"]["authors"] = [{"name": "N" * 200_000, "hidden": False}] * 1_000
    paper = paper_from_api(item)
    assert (len(paper.title), paper.title[-1]) == (5_000, "…")
    assert len(paper.authors) == 200
    assert {len(name) for name in paper.authors} == {5_000}
    assert Paper.from_json(paper.to_json()) == paper  # the cut is stable when read back
