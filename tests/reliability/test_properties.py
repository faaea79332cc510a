"""Properties of the renderers for any text Hypothesis can think of."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import replace
from datetime import date

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from papers_digest.feed_index import empty_index, merge_digest
from papers_digest.markup import plain_text, xml_text
from papers_digest.model import clean_text
from papers_digest.render import render_post, yaml_scalar
from papers_digest.rss import render_day_feed, render_papers_feed
from papers_digest.settings import FeedSettings, PostSettings
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
