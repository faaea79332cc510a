"""Atom 1.0 documents (`atom.xml`, `papers.atom`) rendered from the feed index. Pure.

The entries and their ids are those of the RSS feeds: a day is
`hf-papers-digest:day:YYYY-MM-DD`, a paper its Hugging Face page."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from .feed_index import language, last_build, paper_order
from .keys import ATOM_KEY, PAPERS_ATOM_KEY
from .markup import (
    DESCRIPTIONS,
    categories,
    day_id,
    html,
    paper_html,
    ranked_list,
    sub,
    xml_document,
)
from .model import Paper
from .settings import FeedSettings

ATOM_NS = "http://www.w3.org/2005/Atom"
MEDIA_NS = "http://search.yahoo.com/mrss/"
# An index with no day yet has no build date; Atom requires one.
_NEVER = datetime(1970, 1, 1, tzinfo=UTC)


def render_day_atom(index: Mapping[str, Any], settings: FeedSettings) -> bytes:
    """`atom.xml`: one entry per daily digest, newest first."""
    feed = _feed(index, settings, ATOM_KEY, "days", settings.title)
    for day, entry in sorted(index["days"].items(), reverse=True):
        item = _a(feed, "entry")
        _a(item, "id", day_id(day))
        _a(item, "title", f"{settings.title} - {day}", type="text")
        _a(item, "link", rel="alternate", type="text/html", href=settings.day_url(day))
        _a(item, "published", entry["published_at"])
        _a(item, "updated", entry["generated_at"])
        _a(item, "content", html(ranked_list(entry["papers"])), type="html")
    return xml_document(feed)


def render_papers_atom(index: Mapping[str, Any], settings: FeedSettings) -> bytes:
    """`papers.atom`: one entry per paper, the newest featured day first."""
    feed = _feed(index, settings, PAPERS_ATOM_KEY, "papers", f"{settings.title}: papers")
    for data in sorted(index["papers"].values(), key=paper_order):
        paper = Paper.from_json(data)
        item = _a(feed, "entry")
        _a(item, "id", paper.hf_url)
        _a(item, "title", paper.title, type="text")
        _a(item, "link", rel="alternate", type="text/html", href=paper.hf_url)
        _a(item, "updated", data["last_published_at"])
        for name in paper.authors:
            _a(_a(item, "author"), "name", name)
        for category in categories(paper):
            _a(item, "category", term=category)
        if paper.ai_summary:
            _a(item, "summary", paper.ai_summary, type="text")
        _a(item, "content", html(paper_html(paper, data["days"], settings)), type="html")
        if paper.thumbnail:
            sub(item, f"{{{MEDIA_NS}}}thumbnail", url=paper.thumbnail)
    return xml_document(feed)


def _a(parent: ET.Element, tag: str, text: str | None = None, **attrs: str) -> ET.Element:
    return sub(parent, tag, text, **attrs)


def _feed(
    index: Mapping[str, Any], settings: FeedSettings, key: str, kind: str, title: str
) -> ET.Element:
    """The feed's head, in the language of the newest post. Its author (the site) stands
    for every entry that names none."""
    lang = language(index, settings.language)
    # Atom is the default namespace: its elements stay unprefixed (ElementTree's own
    # default_namespace refuses unprefixed attributes).
    feed = ET.Element("feed", {"xmlns": ATOM_NS, "xml:lang": lang})
    _a(feed, "id", f"{settings.site_url}/{key}")
    _a(feed, "title", title, type="text")
    _a(feed, "subtitle", DESCRIPTIONS[kind][lang], type="text")
    _a(feed, "updated", (last_build(index) or _NEVER).isoformat())
    _a(feed, "link", rel="self", type="application/atom+xml", href=f"{settings.site_url}/{key}")
    _a(feed, "link", rel="alternate", type="text/html", href=f"{settings.site_url}/")
    _a(_a(feed, "author"), "name", settings.title)
    _a(feed, "generator", "hf-papers-digest")
    return feed
