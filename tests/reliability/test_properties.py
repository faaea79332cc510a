"""Properties of the renderers for any text Hypothesis can think of."""

from __future__ import annotations

import copy
import json
import xml.etree.ElementTree as ET
from dataclasses import replace
from datetime import UTC, date, datetime
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from papers_digest.feed_index import empty_index, merge_digest
from papers_digest.markup import plain_text, xml_text
from papers_digest.model import Digest, clean_text, paper_from_api
from papers_digest.render import digest_json, render_post, yaml_scalar
from papers_digest.rss import render_day_feed, render_papers_feed
from papers_digest.settings import FeedSettings, PostSettings
from tests import hostile
from tests.conftest import REAL_DAY, api_items
from tests.digests import REAL_PAPERS, digest_for
from tests.htmlcheck import live_markup

DAY = date(2026, 7, 31)
FEEDS = FeedSettings(site_url="https://papers.example.com")
TEXT = st.text(st.characters(codec=None), max_size=300)
FAST = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@pytest.mark.fault("property", "holds")
@FAST
@given(TEXT)
def test_any_text_round_trips_through_yaml(text: str) -> None:
    assert yaml.safe_load(f"key: {yaml_scalar(text)}") == {"key": text}


@pytest.mark.fault("property", "holds")
@FAST
@given(title=TEXT, abstract=TEXT)
def test_the_post_keeps_any_title_as_yaml_and_inert(title: str, abstract: str) -> None:
    paper = replace(REAL_PAPERS[0], title=clean_text(title) or "x", abstract=clean_text(abstract))
    post = render_post(digest_for(DAY, (paper, *REAL_PAPERS[1:3])), PostSettings())
    _, front, body = post.split("---\n", 2)
    description = yaml.safe_load(front)["description"]
    assert description == plain_text(paper.title)
    assert "<" not in description
    assert "<" not in body  # no tag can open from the paper's text


@pytest.mark.fault("property", "holds")
@FAST
@given(title=TEXT, abstract=TEXT, author=TEXT)
def test_feed_items_carry_any_text_exactly_but_never_markup(
    title: str, abstract: str, author: str
) -> None:
    title, abstract, author = clean_text(title), clean_text(abstract), clean_text(author)
    paper = replace(REAL_PAPERS[0], title=title or "x", abstract=abstract,
                    authors=(author or "y",), organization=title or None)  # fmt: skip
    index = merge_digest(empty_index(), digest_for(DAY, (paper,)), FEEDS)
    item = ET.fromstring(render_papers_feed(index, FEEDS)).find("channel/item")
    assert item is not None
    assert item.findtext("title") == plain_text(paper.title)
    assert item.findtext("{http://purl.org/dc/elements/1.1/}creator") == plain_text(author or "y")
    assert "<" not in (item.findtext("title") or "") + (item.findtext("category") or "")
    description = item.findtext("description") or ""
    assert live_markup(description) == []
    shown = "".join(ET.fromstring(f"<d>{description}</d>").itertext())
    assert xml_text(abstract) in shown
    day_item = ET.fromstring(render_day_feed(index, FEEDS)).find("channel/item")
    assert day_item is not None
    assert live_markup(day_item.findtext("description") or "") == []


ITEM = next(item for item in api_items(REAL_DAY) if item["paper"]["id"] == "2607.23193")
API_STRING = st.one_of(
    TEXT,
    st.sampled_from([*hostile.TEXT.values(), *hostile.IDS.values(), *hostile.URLS.values()]),
    st.sampled_from(["2607.23193", "https://github.com/a/b", "2026-07-31T00:00:00.000Z"]),
)
API_STRINGS = {  # every string the API gives that reaches a Paper, and where it goes
    "id": lambda item, value: item["paper"].update(id=value),
    "title": lambda item, value: item["paper"].update(title=value),
    "summary": lambda item, value: item["paper"].update(summary=value),
    "ai_summary": lambda item, value: item["paper"].update(ai_summary=value),
    "ai_keywords": lambda item, value: item["paper"].update(ai_keywords=["kw", value]),
    "author": lambda item, value: item["paper"]["authors"].append({"name": value}),
    "organization": lambda item, value: item.update(organization={"fullname": value}),
    "githubRepo": lambda item, value: item["paper"].update(githubRepo=value),
    "projectPage": lambda item, value: item["paper"].update(projectPage=value),
    "thumbnail": lambda item, value: item.update(thumbnail=value),
    "publishedAt": lambda item, value: item["paper"].update(publishedAt=value),
    "submittedOnDailyAt": lambda item, value: item["paper"].update(submittedOnDailyAt=value),
}


@pytest.mark.fault("property", "holds")
@FAST
@given(st.fixed_dictionaries({name: API_STRING for name in API_STRINGS}))
def test_any_api_strings_give_a_digest_that_encodes_and_reads_back(values: dict[str, Any]) -> None:
    """Whatever strings the API sends, an item is refused (a bad id or title) or becomes
    a paper whose digest encodes as UTF-8 and reads back, checks and all, as the same."""
    item = copy.deepcopy(ITEM)
    for name, value in values.items():
        API_STRINGS[name](item, value)
    if values["id"] != "2607.23193" or not clean_text(values["title"]):
        with pytest.raises(ValueError, match=r"^paper\.(id|title) is"):
            paper_from_api(item)
        return
    paper = paper_from_api(item)
    stamp = datetime(2026, 8, 1, tzinfo=UTC)
    digest = Digest(REAL_DAY, (paper,), 1, stamp, stamp)
    stored = digest_json(digest).encode("utf-8")
    assert Digest.from_json(json.loads(stored)) == digest
