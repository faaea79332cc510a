"""JSON Feed 1.1 documents (`feed.json`, `papers.json`) rendered from the feed index.
Pure. Ids are those of the RSS and Atom feeds."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from .feed_index import language, paper_order
from .keys import JSON_FEED_KEY, PAPERS_JSON_FEED_KEY
from .markup import DESCRIPTIONS, categories, day_id, html, paper_html, ranked_list
from .model import Paper
from .settings import FeedSettings

VERSION = "https://jsonfeed.org/version/1.1"


def render_day_json_feed(index: Mapping[str, Any], settings: FeedSettings) -> bytes:
    """`feed.json`: one item per daily digest, newest first."""
    items = [
        {
            "id": day_id(day),
            "url": settings.day_url(day),
            "title": f"{settings.title} - {day}",
            "content_html": html(ranked_list(entry["papers"])),
            "date_published": entry["published_at"],
            "date_modified": entry["generated_at"],
        }
        for day, entry in sorted(index["days"].items(), reverse=True)
    ]
    return _document(index, settings, JSON_FEED_KEY, "days", settings.title, items)


def render_papers_json_feed(index: Mapping[str, Any], settings: FeedSettings) -> bytes:
    """`papers.json`: one item per paper, the newest featured day first."""
    items = []
    for data in sorted(index["papers"].values(), key=paper_order):
        paper = Paper.from_json(data)
        item: dict[str, Any] = {
            "id": paper.hf_url,
            "url": paper.hf_url,
            "external_url": paper.arxiv_url,
            "title": paper.title,
            "content_html": html(paper_html(paper, data["days"], settings)),
            "date_modified": data["last_published_at"],
            "tags": categories(paper),
        }
        if paper.authors:
            item["authors"] = [{"name": name} for name in paper.authors]
        if paper.ai_summary:
            item["summary"] = paper.ai_summary
        if paper.thumbnail:
            item["image"] = paper.thumbnail
        items.append(item)
    title = f"{settings.title}: papers"
    return _document(index, settings, PAPERS_JSON_FEED_KEY, "papers", title, items)


def _document(
    index: Mapping[str, Any],
    settings: FeedSettings,
    key: str,
    kind: str,
    title: str,
    items: list[dict[str, Any]],
) -> bytes:
    lang = language(index, settings.language)
    feed = {
        "version": VERSION,
        "title": title,
        "home_page_url": f"{settings.site_url}/",
        "feed_url": f"{settings.site_url}/{key}",
        "description": DESCRIPTIONS[kind][lang],
        "language": lang,
        "authors": [{"name": settings.title}],
        "items": items,
    }
    return (json.dumps(feed, ensure_ascii=False, indent=1) + "\n").encode("utf-8")
