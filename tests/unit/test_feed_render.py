"""The two RSS documents, checked with feedparser and against the validators' rules."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from dataclasses import replace
from datetime import date
from email.utils import format_datetime
from typing import Any

import feedparser
import pytest

from papers_digest.feed_index import empty_index, merge_digest
from papers_digest.markup import plain_text
from papers_digest.model import Paper, clean_text
from papers_digest.rss import render_day_feed, render_papers_feed
from papers_digest.settings import FeedSettings
from tests import hostile
from tests.digests import REAL_PAPERS, day_paper_id, days_before, digest_for

SETTINGS = FeedSettings(site_url="https://papers.example.com", max_days=30, max_papers=200)
LAST = date(2026, 7, 31)
RFC822 = re.compile(
    r"^(Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d{2} (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) "
    r"\d{4} \d{2}:\d{2}:\d{2} [+-]\d{4}$"
)
ATOM = "{http://www.w3.org/2005/Atom}"


def index_of(days: list[date], **digest_options: Any) -> dict[str, Any]:
    index = empty_index()
    for day in days:
        index = merge_digest(index, digest_for(day, **digest_options), SETTINGS)
    return index


def parse(document: bytes) -> Any:
    parsed = feedparser.parse(document)
    assert not parsed.bozo, parsed.get("bozo_exception")
    return parsed


def test_day_feed_parses_newest_first_with_dates_guids_and_links() -> None:
    days = days_before(LAST, 5)
    parsed = parse(render_day_feed(index_of(list(reversed(days))), SETTINGS))
    assert parsed.version == "rss20"
    assert parsed.feed.title == "Hugging Face Daily Papers"
    assert [entry.title for entry in parsed.entries] == [
        f"Hugging Face Daily Papers - {day}" for day in days
    ]
    for entry, day in zip(parsed.entries, days, strict=True):
        assert entry.published_parsed[:5] == (day.year, day.month, day.day, 0, 15)  # 09:15 KST
        assert entry.id == f"hf-papers-digest:day:{day}"
        assert entry.link == f"https://huggingface.co/papers/date/{day}"
    first = parsed.entries[0].summary
    assert f'href="https://huggingface.co/papers/{day_paper_id(LAST, 1)}"' in first
    assert f"{REAL_PAPERS[0].title}</a> - 👍 292" in first


def test_post_url_pattern_links_to_the_users_blog() -> None:
    settings = replace(SETTINGS, post_url_pattern="{site_url}/posts/{year}/{month}/{day}/")
    parsed = parse(render_day_feed(index_of([LAST]), settings))
    assert parsed.entries[0].link == "https://papers.example.com/posts/2026/07/31/"


def test_papers_feed_has_one_updated_item_per_paper() -> None:
    shared = REAL_PAPERS[:3]
    index = merge_digest(empty_index(), digest_for(date(2026, 7, 30), shared), SETTINGS)
    bumped = (replace(shared[0], upvotes=500), *shared[1:])
    index = merge_digest(index, digest_for(LAST, bumped), SETTINGS)
    parsed = parse(render_papers_feed(index, SETTINGS))
    assert [entry.id for entry in parsed.entries] == [paper.hf_url for paper in shared]
    top = parsed.entries[0]
    assert top.published_parsed[:5] == (2026, 7, 31, 0, 15)
    assert "500" in top.summary
    assert "2026-07-30</a>, <a" in top.summary  # featured on both days
    assert top.author == ", ".join(shared[0].authors)
    assert f'href="{shared[0].arxiv_url}"' in top.summary


def test_refreshing_a_day_replaces_it_in_place() -> None:
    index = index_of([LAST])
    refreshed = digest_for(LAST, REAL_PAPERS[5:8])
    index = merge_digest(index, refreshed, SETTINGS)
    assert list(index["days"]) == ["2026-07-31"]
    assert sorted(index["papers"]) == sorted(paper.arxiv_id for paper in REAL_PAPERS[5:8])


def test_feeds_keep_only_the_most_recent_items() -> None:
    settings = replace(SETTINGS, max_days=3, max_papers=7)
    index = empty_index()
    for day in reversed(days_before(LAST, 6)):
        index = merge_digest(index, digest_for(day, top_n=4), settings)
    assert list(index["days"]) == ["2026-07-31", "2026-07-30", "2026-07-29"]
    assert len(index["papers"]) == 7
    papers = parse(render_papers_feed(index, settings)).entries
    assert [entry.published_parsed[:3] for entry in papers] == [(2026, 7, 31)] * 4 + [
        (2026, 7, 30)
    ] * 3


@pytest.mark.parametrize("raw", hostile.TEXT.values(), ids=hostile.TEXT.keys())
def test_hostile_text_comes_back_intact_as_text(raw: str) -> None:
    text, title = clean_text(raw), clean_text(f"T {raw}")  # as the model keeps them
    paper = replace(REAL_PAPERS[0], title=title, abstract=clean_text(f"A {raw}"),
                    authors=(text,), organization=text)  # fmt: skip
    index = index_of([LAST], papers=(paper,))
    day_entry = parse(render_day_feed(index, SETTINGS)).entries[0]
    paper_entry = parse(render_papers_feed(index, SETTINGS)).entries[0]
    # Title, author and category read the same as text or as HTML, and hold no tag.
    assert paper_entry.title == plain_text(title)
    assert paper_entry.author == plain_text(text)
    assert paper_entry.tags[0].term == plain_text(text)
    for field in (paper_entry.title, paper_entry.author, paper_entry.tags[0].term):
        assert "<" not in field
        assert ">" not in field
    for summary in (day_entry.summary, paper_entry.summary):
        html_text = ET.fromstring(f"<root>{summary}</root>")  # the description is well-formed
        visible = "".join(html_text.itertext())
        assert title in visible or clean_text(f"A {raw}") in visible
        assert not html_text.findall(".//script")
        assert not html_text.findall(".//img")


def test_control_characters_never_reach_the_xml() -> None:
    paper = replace(REAL_PAPERS[0], title="bell\x07 nul\x00 esc\x1b ok", abstract="\ud800x")
    document = render_papers_feed(index_of([LAST], papers=(paper,)), SETTINGS)
    assert not re.search(rb"[\x00-\x08\x0b\x0c\x0e-\x1f]", document)
    assert parse(document).entries[0].title == "bell nul esc ok"


@pytest.mark.parametrize(("render", "key"), [(render_day_feed, "feed.xml"),
                                             (render_papers_feed, "papers.xml")])  # fmt: skip
def test_feeds_follow_the_validators_rules(render: Any, key: str) -> None:
    document = render(index_of(days_before(LAST, 3)), SETTINGS)
    assert document.startswith(b'<?xml version="1.0" encoding="utf-8"?>\n<rss ')
    document.decode("utf-8")
    root = ET.fromstring(document)
    assert root.tag == "rss"
    assert root.get("version") == "2.0"
    assert b'xmlns:atom="http://www.w3.org/2005/Atom"' in document
    (channel,) = root.findall("channel")
    for required in ("title", "link", "description", "language", "lastBuildDate"):
        assert (channel.findtext(required) or "").strip(), required
    assert RFC822.match(channel.findtext("lastBuildDate") or "")
    (self_link,) = channel.findall(f"{ATOM}link")
    assert self_link.attrib == {
        "href": f"https://papers.example.com/{key}",
        "rel": "self",
        "type": "application/rss+xml",
    }
    items = channel.findall("item")
    assert items
    guids = [item.findtext("guid") for item in items]
    assert len(set(guids)) == len(guids)
    for item in items:
        assert RFC822.match(item.findtext("pubDate") or ""), item.findtext("pubDate")
        guid = item.find("guid")
        assert guid is not None
        is_url = (guid.text or "").startswith("https://")
        assert guid.get("isPermaLink") == ("true" if is_url else "false")
        assert (item.findtext("link") or "").startswith("https://")
        assert (item.findtext("title") or "").strip()
        assert item.findtext("description")
    for href in re.findall(rb'href="([^"]*)"', document.replace(b"&quot;", b'"')):
        assert href.startswith((b"https://", b"http://")), href


def test_the_same_index_renders_the_same_bytes() -> None:
    """lastBuildDate comes from the digests, not the clock: a replay rewrites nothing new."""
    index = index_of(days_before(LAST, 2))
    newest = format_datetime(digest_for(LAST).generated_at)  # the newest digest's
    for render in (render_day_feed, render_papers_feed):
        document = render(index, SETTINGS)
        assert ET.fromstring(document).findtext("channel/lastBuildDate") == newest
        assert render(index, SETTINGS) == document


def test_papers_come_back_whole_from_the_index() -> None:
    papers = digest_for(LAST).papers
    index = index_of([LAST])
    assert [Paper.from_json(index["papers"][paper.arxiv_id]) for paper in papers] == list(papers)
