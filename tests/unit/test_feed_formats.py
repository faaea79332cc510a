"""Atom 1.0 and JSON Feed 1.1 beside RSS: each valid for its format, from the same index,
with the paper's image, authors one by one, and its organization and keywords."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import date, datetime
from typing import Any

import feedparser
import pytest

from papers_digest.atom import render_day_atom, render_papers_atom
from papers_digest.feed_index import Index, empty_index, merge_digest
from papers_digest.jsonfeed import render_day_json_feed, render_papers_json_feed
from papers_digest.rss import render_day_feed, render_papers_feed
from papers_digest.settings import FeedSettings
from tests.digests import REAL_PAPERS, days_before, digest_for

SETTINGS = FeedSettings(site_url="https://papers.example.com")
LAST = date(2026, 7, 31)
# The real top paper, with what the recorded day lacks: HF's AI summary and keywords.
TOP = replace(REAL_PAPERS[0], ai_summary="A summary.", ai_keywords=("chemistry", "agents"))


def index_of_days() -> Index:
    index = empty_index()
    for day in reversed(days_before(LAST, 3)):
        papers = (TOP, *REAL_PAPERS[1:5]) if day == LAST else None
        index = merge_digest(index, digest_for(day, papers, top_n=5), SETTINGS)
    return index


def parse(document: bytes) -> Any:
    parsed = feedparser.parse(document)
    assert not parsed.bozo, parsed.get("bozo_exception")
    return parsed


@pytest.mark.parametrize(
    ("render", "version"),
    [(render_day_feed, "rss20"), (render_papers_feed, "rss20"),
     (render_day_atom, "atom10"), (render_papers_atom, "atom10")],
)  # fmt: skip
def test_rss_and_atom_parse_without_bozo(render: Any, version: str) -> None:
    parsed = parse(render(index_of_days(), SETTINGS))
    assert parsed.version == version
    assert parsed.feed.language == "ko"
    assert len(parsed.entries) in (3, 5 + 2 * 5)  # days, or papers


def test_the_day_feeds_share_ids_dates_and_links() -> None:
    index = index_of_days()
    rss, atom = parse(render_day_feed(index, SETTINGS)), parse(render_day_atom(index, SETTINGS))
    feed = json.loads(render_day_json_feed(index, SETTINGS))
    ids = [f"hf-papers-digest:day:{day}" for day in days_before(LAST, 3)]
    assert [e.id for e in rss.entries] == [e.id for e in atom.entries] == ids
    assert [item["id"] for item in feed["items"]] == ids
    entry, generated = atom.entries[0], index["days"]["2026-07-31"]["generated_at"]
    assert entry.updated == generated  # updated: when the digest was generated
    assert feed["items"][0]["date_modified"] == generated
    assert atom.feed.updated == generated
    assert entry.link == feed["items"][0]["url"] == SETTINGS.day_url("2026-07-31")
    assert [link.href for link in atom.feed.links if link.rel == "self"] == [
        "https://papers.example.com/atom.xml"
    ]


def test_a_paper_carries_its_image_authors_categories_and_summary_in_every_format() -> None:
    index = index_of_days()
    rss = parse(render_papers_feed(index, SETTINGS)).entries[0]
    atom = parse(render_papers_atom(index, SETTINGS)).entries[0]
    item = json.loads(render_papers_json_feed(index, SETTINGS))["items"][0]
    categories = ["New York University", "chemistry", "agents"]
    assert TOP.organization == categories[0]
    assert rss.id == atom.id == item["id"] == TOP.hf_url
    assert [tag.term for tag in rss.tags] == [tag.term for tag in atom.tags] == categories
    assert item["tags"] == categories
    assert rss.media_thumbnail == atom.media_thumbnail == [{"url": TOP.thumbnail}]
    assert item["image"] == TOP.thumbnail
    assert [author.name for author in atom.authors] == list(TOP.authors)
    assert [author["name"] for author in item["authors"]] == list(TOP.authors)
    assert atom.summary == item["summary"] == "A summary."
    assert "Keywords: </strong>chemistry, agents" in rss.content[0].value  # content:encoded
    assert "code ★ 8</a>" in item["content_html"]


# JSON Feed 1.1's required fields, and the types of those this project fills.
FEED_FIELDS = {"version": str, "title": str, "items": list, "home_page_url": str,
               "feed_url": str, "description": str, "language": str, "authors": list}  # fmt: skip
ITEM_FIELDS = {"id": str, "url": str, "title": str, "content_html": str, "date_modified": str}


@pytest.mark.parametrize("render", [render_day_json_feed, render_papers_json_feed])
def test_json_feeds_have_json_feed_1_1s_required_fields(render: Any) -> None:
    feed = json.loads(render(index_of_days(), SETTINGS))
    assert feed["version"] == "https://jsonfeed.org/version/1.1"
    assert {name: type(feed[name]) for name in FEED_FIELDS} == FEED_FIELDS
    assert feed["feed_url"].startswith("https://papers.example.com/")
    assert feed["items"]
    for item in feed["items"]:
        assert {name: type(item[name]) for name in ITEM_FIELDS} == ITEM_FIELDS
        assert datetime.fromisoformat(item["date_modified"]).tzinfo is not None
        assert all(isinstance(author["name"], str) for author in item.get("authors", []))
    assert len({item["id"] for item in feed["items"]}) == len(feed["items"])
