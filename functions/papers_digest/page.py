"""The site: `index.html`, a page per day and per month, and the search index, rendered
from the feed index with Jinja2 (autoescape on). Pure: index in, bytes out.

Every link is root-relative (`/daily/…`) or built from a checked id or URL; the pages
carry no inline script or style (the CSP allows only the site's own files)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import jinja2

from .feed_index import language
from .keys import (
    ATOM_KEY,
    FEED_KEY,
    JSON_FEED_KEY,
    PAPERS_ATOM_KEY,
    PAPERS_FEED_KEY,
    PAPERS_JSON_FEED_KEY,
    ROLLUPS_FEED_KEY,
    SCRIPT_KEY,
    SEARCH_KEY,
    STYLE_KEY,
    day_page_key,
    month_page_key,
)
from .markup import SUMMARY_LABELS
from .model import Paper
from .settings import FeedSettings

TEMPLATES = Path(__file__).parent / "templates" / "site"
_ENV = jinja2.Environment(
    loader=jinja2.FileSystemLoader(TEMPLATES),
    autoescape=True,
    undefined=jinja2.StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
    keep_trailing_newline=True,
)
_ENV.globals["summary_labels"] = SUMMARY_LABELS
# The labels a page shows, in the language of the posts. A paper's text is English, and
# so are the labels inside it (its element says `lang="en"`).
LABELS = {
    "en": {
        "feeds": "Feeds: ", "latest": "Latest papers", "earlier": "Earlier days",
        "months": "Archive", "search": "Search papers", "search_hint": "a title word, an author, "
        "an organization or a keyword", "papers": "papers", "home": "Home",
        "month": "Days of {month}", "day": "Papers of {day}", "none": "No papers yet.",
        "thumbnail": "Thumbnail of “{title}”", "results": "{count} papers found",
        "description": "The most upvoted Hugging Face Daily Papers, with summaries and links.",
        "locale": "en_US",
    },
    "ko": {
        "feeds": "피드: ", "latest": "최신 논문", "earlier": "지난 날짜", "months": "보관함",
        "search": "논문 검색", "search_hint": "제목 단어, 저자, 기관 또는 키워드",
        "papers": "편", "home": "처음으로", "month": "{month}의 날짜",
        "day": "{day}의 논문", "none": "아직 논문이 없습니다.",
        "thumbnail": "“{title}”의 썸네일", "results": "논문 {count}편",
        "description": "Hugging Face Daily Papers에서 좋아요를 가장 많이 받은 논문과 요약, 링크.",
        "locale": "ko_KR",
    },
}  # fmt: skip
FEEDS = (
    (FEED_KEY, "application/rss+xml", ""),
    (ATOM_KEY, "application/atom+xml", ""),
    (JSON_FEED_KEY, "application/feed+json", ""),
    (PAPERS_FEED_KEY, "application/rss+xml", ": papers"),
    (PAPERS_ATOM_KEY, "application/atom+xml", ": papers"),
    (PAPERS_JSON_FEED_KEY, "application/feed+json", ": papers"),
    (ROLLUPS_FEED_KEY, "application/rss+xml", ": weekly and monthly"),
)


def render_page(index: Mapping[str, Any], settings: FeedSettings) -> bytes:
    """`index.html`: the newest day's papers, the earlier days and the months."""
    days = sorted(index["days"], reverse=True)
    latest = days[0] if days else None
    return _render(
        "index.html.j2",
        index,
        settings,
        path="",
        heading=settings.title,
        latest=latest,
        papers=_ranked(index, latest) if latest else [],
        earlier=days[1:],
        months=sorted(index["months"], reverse=True),
    )


def render_day_page(index: Mapping[str, Any], settings: FeedSettings, day: str) -> bytes:
    """`daily/YYYY-MM-DD.html`: a day's ranked papers (the day must be in the index)."""
    lang = language(index, settings.language)
    return _render(
        "day.html.j2",
        index,
        settings,
        path=day_page_key(day),
        heading=LABELS[lang]["day"].format(day=day),
        day=day,
        month=day[:7],
        papers=_ranked(index, day),
    )


def render_month_page(index: Mapping[str, Any], settings: FeedSettings, month: str) -> bytes:
    """`archive/YYYY-MM.html`: the month's days, with their top paper while the index
    still holds the day."""
    lang = language(index, settings.language)
    days = [(day, index["days"].get(day, {}).get("papers", [])) for day in index["months"][month]]
    return _render(
        "month.html.j2",
        index,
        settings,
        path=month_page_key(month),
        heading=LABELS[lang]["month"].format(month=month),
        days=sorted(days, reverse=True),
    )


def render_search_index(index: Mapping[str, Any], settings: FeedSettings) -> bytes:
    """`search.json`: what the search box looks through, each paper of the window once
    (at its newest day)."""
    found: dict[str, dict[str, Any]] = {}
    for day, entry in sorted(index["days"].items(), reverse=True):
        for paper in entry["papers"]:
            found.setdefault(
                paper["arxiv_id"],
                {
                    "id": paper["arxiv_id"],
                    "title": paper["title"],
                    "authors": paper["authors"],
                    "organization": paper["organization"],
                    "keywords": paper["ai_keywords"],
                    "day": day,
                    "url": f"/{day_page_key(day)}#paper-{paper['arxiv_id']}",
                },
            )
    body = {"papers": list(found.values())}
    return (json.dumps(body, ensure_ascii=False, separators=(",", ":")) + "\n").encode()


def _ranked(index: Mapping[str, Any], day: str) -> list[tuple[int, Paper]]:
    return [
        (rank, Paper.from_json(data)) for rank, data in enumerate(index["days"][day]["papers"], 1)
    ]


def _render(
    template: str, index: Mapping[str, Any], settings: FeedSettings, path: str, **context: Any
) -> bytes:
    lang = language(index, settings.language)
    feeds = [
        (f"{settings.site_url}/{key}", kind, f"{settings.title}{suffix}")
        for key, kind, suffix in FEEDS
    ]
    papers = context.get("papers", [])
    page = _ENV.get_template(template).render(
        image=next((paper.thumbnail for _, paper in papers if paper.thumbnail), None),
        lang=lang,
        text=LABELS[lang],
        title=settings.title,
        canonical=f"{settings.site_url}/{path}",
        feeds=feeds,
        style=f"/{STYLE_KEY}",
        script=f"/{SCRIPT_KEY}",
        search=f"/{SEARCH_KEY}",
        day_page=lambda day: f"/{day_page_key(day)}",
        month_page=lambda month: f"/{month_page_key(month)}",
        **context,
    )
    return page.encode("utf-8")


def asset(name: str) -> bytes:
    """A static file of the site (the stylesheet, the search script), as shipped."""
    return (TEMPLATES / name).read_bytes()
