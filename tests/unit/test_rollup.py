"""The pure roll-up core: periods, which are due after a run, and a stored roll-up read as
strictly as a digest (tests/hostile.py's corpus included)."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from email.utils import format_datetime
from typing import Any

import pytest
import yaml

from papers_digest.checks import clean_text, tagless
from papers_digest.errors import InvalidDayError
from papers_digest.keys import (
    day_of_digest_key,
    period_of_rollup_key,
    rollup_key,
    rollup_post_key,
)
from papers_digest.markup import DESCRIPTIONS
from papers_digest.model import Digest, Paper
from papers_digest.render import inert, render_rollup_post
from papers_digest.rollup import Period, Rollup, check_closed, due_periods, roll_up
from papers_digest.rss import render_rollups_feed
from papers_digest.settings import FeedSettings, PostSettings, post_settings
from tests import hostile
from tests.digests import REAL_PAPERS
from tests.documents import mutated


@pytest.mark.parametrize(
    ("text", "kind", "start", "end", "key", "slug"),
    [
        ("2026-W31", "week", date(2026, 7, 27), date(2026, 8, 2), "digests/weekly/2026-W31.json",
         "hf-weekly-papers-2026-w31"),
        ("2026-W01", "week", date(2025, 12, 29), date(2026, 1, 4), "digests/weekly/2026-W01.json",
         "hf-weekly-papers-2026-w01"),
        ("2026-W53", "week", date(2026, 12, 28), date(2027, 1, 3), "digests/weekly/2026-W53.json",
         "hf-weekly-papers-2026-w53"),
        ("2026-07", "month", date(2026, 7, 1), date(2026, 7, 31), "digests/monthly/2026-07.json",
         "hf-monthly-papers-2026-07"),
        ("2028-02", "month", date(2028, 2, 1), date(2028, 2, 29), "digests/monthly/2028-02.json",
         "hf-monthly-papers-2028-02"),
    ],
)  # fmt: skip
def test_a_period_has_its_days_key_and_slug(
    text: str, kind: str, start: date, end: date, key: str, slug: str
) -> None:
    period = Period.parse(text)
    assert (period.kind, period.start, period.end, period.id) == (kind, start, end, text)
    assert (period.key, rollup_key(text), period.slug) == (key, key, slug)
    assert len(period.days) == (end - start).days + 1
    assert period_of_rollup_key(key) == text
    assert day_of_digest_key(key) is None  # the daily side never takes it for a day


@pytest.mark.parametrize(
    "text",
    ["2025-W53", "2026-W00", "2026-W54", "2026-13", "2026-00", "2026-7", "26-07", "2026-W3",
     "2026-w31", " 2026-07", "2026-07\n", "0000-01", "２０２６-07", None, 202607, ""],
)  # fmt: skip
def test_a_period_that_does_not_exist_is_refused(text: Any) -> None:
    with pytest.raises(
        ValueError, match=r"^period is .*not an ISO week such as 2026-W31|^period is missing"
    ):
        Period.parse(text)


@pytest.mark.parametrize(
    "key",
    ["digests/weekly/2026-W31.json\n", "digests/weekly/2026-W31.json.tmp", "digests/2026-W31.json",
     "digests/monthly/2026-07-01.json", "digests/weekly/nested/2026-W31.json", "rollups.xml"],
)  # fmt: skip
def test_other_keys_are_not_roll_ups(key: str) -> None:
    assert period_of_rollup_key(key) is None


def test_the_post_is_named_by_the_period_s_last_day() -> None:
    period = Period.parse("2026-W31")
    assert rollup_post_key(period.id, period.end) == (
        "_posts/2026-08-02-hf-weekly-papers-2026-w31.md"
    )


W = Period.parse
D = date.fromisoformat


@pytest.mark.parametrize(
    ("days", "due"),
    [
        ([], []),
        ([D("2026-07-29")], []),  # a Wednesday: nothing closed
        ([D("2026-08-02")], [W("2026-W31")]),  # the Sunday: its week
        ([D("2026-07-31")], [W("2026-07")]),  # the month's last day (a Friday)
        ([D("2026-05-31")], [W("2026-05"), W("2026-W22")]),  # a Sunday that ends a month
        ([D("2026-08-02"), D("2026-08-01"), D("2026-07-31")], [W("2026-07"), W("2026-W31")]),
        ([D("2026-08-03"), D("2026-08-02")], [W("2026-W31")]),  # a refresh of the Sunday
        ([D("2026-07-31"), D("2026-08-03")], [W("2026-07"), W("2026-W31")]),  # closed by 08-03
    ],
)
def test_due_periods_are_the_closed_periods_of_the_days_run(
    days: list[date], due: list[Period]
) -> None:
    assert due_periods(days) == due


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("2026-W48", "2026-W48 ends on 2026-11-29, which has not ended yet"),
        ("2026-11", "2026-11 ends on 2026-11-30, which has not ended yet"),
        ("2023-04", "2023-04 is before Hugging Face Daily Papers began (2023-05-04)"),
    ],
)
def test_only_a_period_that_is_over_is_built(text: str, message: str) -> None:
    now = datetime(2026, 11, 29, 23, 0, tzinfo=UTC)
    with pytest.raises(InvalidDayError, match=f"^{re.escape(message)}"):
        check_closed(Period.parse(text), now)
    assert check_closed(W("2026-W48"), now + timedelta(hours=1)) == W("2026-W48")


NOW = datetime(2026, 8, 3, tzinfo=UTC)


def _digest(day: date, papers: tuple[Paper, ...], unlisted: tuple[Paper, ...] = ()) -> Digest:
    published = datetime(day.year, day.month, day.day, tzinfo=UTC)
    return Digest(day, papers, len(papers) + len(unlisted), published, NOW, unlisted=unlisted)


def _rollup(period: str = "2026-07", papers: tuple[Paper, ...] = REAL_PAPERS[:5]) -> Rollup:
    half = len(papers) // 2
    digests = [_digest(D("2026-07-30"), papers[:half]), _digest(D("2026-07-31"), papers[half:])]
    rollup = roll_up(W(period), digests, top_n=3, lang="ko", published_at=NOW, generated_at=NOW)
    assert rollup is not None
    return rollup


def test_a_roll_up_reads_back_as_written() -> None:
    for period in ("2026-07", "2026-W31"):
        rollup = _rollup(period)
        assert Rollup.from_json(json.loads(json.dumps(rollup.to_json()))) == rollup


def test_no_digest_or_no_paper_is_no_roll_up() -> None:
    kwargs: dict[str, Any] = {"top_n": 3, "lang": "en", "published_at": NOW, "generated_at": NOW}
    assert roll_up(W("2026-07"), [], **kwargs) is None
    assert roll_up(W("2026-07"), [_digest(D("2026-06-30"), REAL_PAPERS[:2])], **kwargs) is None


def test_a_later_digest_of_the_same_day_has_the_last_word() -> None:
    """Upvotes settle: of two digests of a day (a refresh), the one generated later wins."""
    paper = REAL_PAPERS[0]
    early = _digest(D("2026-07-31"), (replace(paper, upvotes=1),))
    late = replace(_digest(D("2026-07-31"), (paper,)), generated_at=NOW + timedelta(days=1))
    for digests in ([early, late], [late, early]):
        rollup = roll_up(W("2026-07"), digests, top_n=3, lang="en", published_at=NOW,
                         generated_at=NOW)  # fmt: skip
        assert rollup is not None
        assert [item.paper.upvotes for item in rollup.papers] == [paper.upvotes]


def test_the_digest_fetched_last_has_the_last_word_whatever_its_day() -> None:
    """A paper featured on 07-30 and 07-31: when 07-30 was fetched again after 07-31 (a
    chosen day's run, a backfill), its value is the latest, though its day is earlier."""
    paper = REAL_PAPERS[0]
    stale = _digest(D("2026-07-31"), (replace(paper, upvotes=1),))
    fresh = replace(_digest(D("2026-07-30"), (paper,)), generated_at=NOW + timedelta(days=1))
    rollup = roll_up(W("2026-07"), [stale, fresh], top_n=3, lang="en", published_at=NOW,
                     generated_at=NOW)  # fmt: skip
    assert rollup is not None
    ((only, days),) = [(item.paper, item.days) for item in rollup.papers]
    assert (only.upvotes, days) == (paper.upvotes, (D("2026-07-30"), D("2026-07-31")))


@pytest.mark.parametrize(
    ("path", "value", "message"),
    [
        (("schema_version",), 2, "roll-up schema_version 2 is not 1"),
        (("schema_version",), True, "roll-up schema_version True is not 1"),
        (("period",), "2026-13", "period is '2026-13', not an ISO week"),
        (("period",), "2026-06", "start is '2026-07-01', not '2026-06-01' of 2026-06"),
        (("kind",), "week", "kind is 'week', not 'month' of 2026-07"),
        (("days_in_period",), 30, "days_in_period is 30, not 31 of 2026-07"),
        (("days_covered",), ["2026-08-01"], "days_covered is ['2026-08-01'], not days of 2026-07"),
        (("days_covered",), ["2026-07-31", "2026-07-30"], "days_covered is ['2026-07-31', '20"),
        (("papers_in_period",), 1, "papers_in_period is 1, not at least the papers listed"),
        (("papers_in_period",), -1, "papers_in_period is -1, not a count"),
        (("total_upvotes",), 3, "total_upvotes is 3, not at least the listed papers' upvotes"),
        (("average_upvotes",), 1e308, "average_upvotes is 1e+308, not"),
        (("papers",), [], "papers_in_period is 5, not at least the papers listed, and one"),
        (("papers",), "x", "papers is 'x', not a list"),
        (("papers", 0, "rank"), 2, "papers[0].rank is 2, not 1"),
        (("papers", 1, "upvotes"), 10**6, "papers are not ranked by upvotes, each paper once"),
        (("papers", 1, "arxiv_id"), REAL_PAPERS[0].arxiv_id, "papers are not ranked by upvotes"),
        (("papers", 0, "days"), [], "papers[0].days is [], not the days it was featured"),
        (("papers", 0, "days"), "2026-07-31", "papers[0].days is '2026-07-31', not a list"),
        (("papers", 0, "title"), 42, "papers[0].title is 42, not text"),
        (("papers", 0, "arxiv_id"), hostile.IDS["path traversal"], "papers[0].arxiv_id is"),
        (("papers", 0, "thumbnail"), hostile.URLS["javascript:"], "papers[0].thumbnail is"),
        (("organizations",), [{"name": "A", "papers": 1}, {"name": "B", "papers": 2}],
         "organizations are not the most frequent first"),
        (("organizations",), [{"name": 7, "papers": 1}], "organizations[0].name is 7, not text"),
        (("organizations",), [{"name": "A", "papers": 0}], "organizations[0].papers is 0"),
        (("keywords",), [{"keyword": "x", "papers": 1}] * 11, "keywords is [{'keyword'"),
        (("weeks",), {}, "weeks is {}, not a list"),
        (("weeks",), [{"week": "2026-08", "paper": {}}], "weeks[0].week is '2026-08', not a week"),
        (("weeks",), [{"week": "2026-W40", "paper": {}}], "weeks[0].week is '2026-W40', not a"),
        (("weeks", 0, "week"), "2026-W27", "weeks[0].paper.days is ['2026-07-30'], not 2026-W27"),
        (("lang",), "fr", "lang is 'fr', not one of ko, en"),
        (("generated_at",), "2026-08-03T00:00:00", "generated_at is '2026-08-03T00:00:00', not"),
        ((), [], "roll-up is [], not an object"),
    ],
)  # fmt: skip
def test_a_malformed_roll_up_is_refused_naming_the_field(
    path: tuple[str | int, ...], value: Any, message: str
) -> None:
    with pytest.raises(ValueError, match=f"^{re.escape(message)}") as refused:
        Rollup.from_json(mutated(_rollup().to_json(), path, value))
    assert "\n" not in str(refused.value)


@pytest.mark.parametrize("lang", ["ko", "en"])
@pytest.mark.parametrize("name", hostile.TEXT, ids=list(hostile.TEXT))
def test_hostile_paper_text_stays_inert_in_the_post(lang: str, name: str) -> None:
    text = hostile.TEXT[name]
    paper = Paper.from_json({**REAL_PAPERS[0].to_json(), "title": text, "organization": text,
                             "ai_keywords": [text]})  # fmt: skip
    post = render_rollup_post(_rollup(papers=(paper, *REAL_PAPERS[1:3])), PostSettings(lang=lang))
    front, body = post.removeprefix("---\n").split("\n---\n", 1)
    matter = yaml.safe_load(front)
    assert matter["description"] == tagless(clean_text(text))
    assert (matter["render_with_liquid"], matter["slug"]) == (False, "hf-monthly-papers-2026-07")
    assert str(matter["date"]) == "2026-08-03 00:00:00 +0000"
    assert f"**{inert(clean_text(text))}** - 👍" in body
    assert (
        f"기관: {inert(clean_text(text))}" in body
        or f"Organization: {inert(clean_text(text))}" in body
    )
    assert "<script" not in body
    assert "<img" not in body


@pytest.mark.parametrize(
    ("lang", "kind", "heading", "categories"),
    [
        ("ko", "2026-07", "## 🗓️ 주별 1위", '["Monthly Papers", "월간"]'),
        ("en", "2026-07", "## 🗓️ Top paper of each week", '["Monthly Papers", "Monthly"]'),
        ("ko", "2026-W31", "## 📊 좋아요 순위 (상위 3개)", '["Weekly Papers", "주간"]'),
        ("en", "2026-W31", "## 📊 Ranked by upvotes (top 3)", '["Weekly Papers", "Weekly"]'),
    ],
)
def test_each_language_has_its_template(
    lang: str, kind: str, heading: str, categories: str
) -> None:
    rollup = replace(_rollup(kind), lang=lang)
    post = render_rollup_post(rollup, PostSettings(lang=lang))
    assert f'\nslug: "{W(kind).slug}"\n' in post
    assert f'\ntitle: "{W(kind).title}"\n' in post
    assert f"\ncategories: {categories}\n" in post
    every = "monthly" if kind == "2026-07" else "weekly"  # the daily posts' `daily` tag
    assert f'\ntags: ["huggingface", "papers", "{every}", "ai"]\n' in post
    assert heading in post
    assert ("주별 1위" in post or "each week" in post) == (kind == "2026-07")


def test_a_template_dir_overrides_the_roll_up_template(tmp_path: Any) -> None:
    (tmp_path / "en").mkdir()
    (tmp_path / "en" / "rollup.md.j2").write_text(
        "{{ period.id }}{% for item in papers %} {{ item.paper.arxiv_id }}{% endfor %}\n",
        encoding="utf-8",
    )
    settings = post_settings({"POST_LANG": "en", "TEMPLATE_DIR": str(tmp_path)})
    rollup = replace(_rollup(), lang="en")
    expected = " ".join(["2026-07", *(item.paper.arxiv_id for item in rollup.papers)])
    assert render_rollup_post(rollup, settings) == expected


@pytest.mark.parametrize(("value", "expected"), [(None, 20), ("5", 5)])
def test_the_roll_up_top_n_has_its_own_setting(value: str | None, expected: int) -> None:
    env = {"ROLLUP_TOP_N": value} if value else {}
    assert post_settings(env).rollup_top_n == expected


@pytest.mark.parametrize("value", ["0", "2001", "ten"])
def test_a_bad_roll_up_top_n_is_refused(value: str) -> None:
    with pytest.raises(Exception, match="ROLLUP_TOP_N"):
        post_settings({"ROLLUP_TOP_N": value})


def test_rollups_xml_has_the_channel_of_the_other_feeds() -> None:
    """Empty, in the configured language and with no build time; else in the newest
    roll-up's language, built when the newest was."""
    settings = FeedSettings(site_url="https://papers.example.com", language="en")
    empty = ET.fromstring(render_rollups_feed([], settings)).find("channel")
    assert empty is not None
    assert (empty.findtext("language"), empty.find("lastBuildDate")) == ("en", None)
    assert empty.findtext("description") == DESCRIPTIONS["rollups"]["en"]
    later = replace(_rollup("2026-W31"), generated_at=NOW + timedelta(hours=1))
    channel = ET.fromstring(render_rollups_feed([_rollup(), later], settings)).find("channel")
    assert channel is not None
    assert channel.findtext("language") == "ko"
    assert channel.findtext("lastBuildDate") == format_datetime(NOW + timedelta(hours=1))
    self_link = channel.find("{http://www.w3.org/2005/Atom}link")
    assert self_link is not None
    assert self_link.get("href") == "https://papers.example.com/rollups.xml"
