"""RSS 2.0 documents rendered from the feed index. Pure: index in, bytes out."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Mapping, Sequence
from datetime import datetime
from email.utils import format_datetime
from typing import Any

from .feed_index import language, last_build, paper_order
from .keys import FEED_KEY, PAPERS_FEED_KEY
from .markup import html, joined_links, machine_summary, plain_text, ranked_list, sub, xml_text
from .model import Paper
from .settings import FeedSettings

ATOM_NS = "http://www.w3.org/2005/Atom"
DC_NS = "http://purl.org/dc/elements/1.1/"
ET.register_namespace("atom", ATOM_NS)
ET.register_namespace("dc", DC_NS)
DESCRIPTIONS = {
    FEED_KEY: {
        "en": "The most upvoted Hugging Face Daily Papers, one post a day.",
        "ko": "Hugging Face Daily Papers에서 좋아요를 가장 많이 받은 논문, 하루 한 편.",
    },
    PAPERS_FEED_KEY: {
        "en": "Each paper featured in the Hugging Face Daily Papers digests.",
        "ko": "Hugging Face Daily Papers 다이제스트에 실린 논문 하나하나.",
    },
}


def render_day_feed(index: Mapping[str, Any], settings: FeedSettings) -> bytes:
    """`feed.xml`: one item per daily digest, newest first."""
    rss, channel = _channel(index, settings, FEED_KEY, settings.title)
    for day, entry in sorted(index["days"].items(), reverse=True):
        item = sub(channel, "item")
        sub(item, "title", plain_text(f"{settings.title} - {day}"))
        sub(item, "link", settings.day_url(day))
        sub(item, "guid", f"hf-papers-digest:day:{day}", isPermaLink="false")
        sub(item, "pubDate", _rfc822(entry["published_at"]))
        sub(item, "description", html(ranked_list(entry["papers"])))
    return _document(rss)


def render_papers_feed(index: Mapping[str, Any], settings: FeedSettings) -> bytes:
    """`papers.xml`: one item per paper, the newest featured day first."""
    rss, channel = _channel(index, settings, PAPERS_FEED_KEY, f"{settings.title}: papers")
    for data in sorted(index["papers"].values(), key=paper_order):
        paper = Paper.from_json(data)
        item = sub(channel, "item")
        sub(item, "title", plain_text(paper.title))
        sub(item, "link", paper.hf_url)
        sub(item, "guid", paper.hf_url, isPermaLink="true")
        sub(item, "pubDate", _rfc822(data["last_published_at"]))
        if paper.authors:
            sub(item, f"{{{DC_NS}}}creator", plain_text(", ".join(paper.authors)))
        if paper.organization:
            sub(item, "category", plain_text(paper.organization))
        sub(item, "description", html(_paper_html(paper, data["days"], settings)))
    return _document(rss)


def _channel(
    index: Mapping[str, Any], settings: FeedSettings, key: str, title: str
) -> tuple[ET.Element, ET.Element]:
    """The channel, in the language of the newest post."""
    lang = language(index, settings.language)
    rss = ET.Element("rss", {"version": "2.0"})
    channel = sub(rss, "channel")
    sub(channel, "title", plain_text(title))
    sub(channel, "link", f"{settings.site_url}/")
    sub(channel, "description", DESCRIPTIONS[key][lang])
    sub(channel, "language", lang)
    built = last_build(index)
    if built is not None:
        sub(channel, "lastBuildDate", format_datetime(built))
    sub(channel, "generator", "hf-papers-digest")
    sub(
        channel,
        f"{{{ATOM_NS}}}link",
        href=f"{settings.site_url}/{key}",
        rel="self",
        type="application/rss+xml",
    )
    return rss, channel


def _document(rss: ET.Element) -> bytes:
    ET.indent(rss)
    body = ET.tostring(rss, encoding="unicode")
    return ('<?xml version="1.0" encoding="utf-8"?>\n' + body + "\n").encode("utf-8")


def _rfc822(iso: str) -> str:
    return format_datetime(datetime.fromisoformat(iso))


def _paper_html(paper: Paper, days: Sequence[str], settings: FeedSettings) -> ET.Element:
    body = ET.Element("div")

    def para(label: str, text: str | None = None) -> ET.Element:
        element = ET.SubElement(body, "p")
        strong = sub(element, "strong", label)
        strong.tail = xml_text(text) if text is not None else None
        return element

    para("Upvotes: ", str(paper.upvotes))
    if paper.authors:
        para("Authors: ", ", ".join(paper.authors))
    if paper.organization:
        para("Organization: ", paper.organization)
    joined_links(para("Featured: "), [(day, settings.day_url(day)) for day in days], ", ")
    links = [("arXiv", paper.arxiv_url)]
    if paper.github_repo:
        links.append(("code", paper.github_repo))
    if paper.project_page:
        links.append(("project page", paper.project_page))
    joined_links(para("Links: "), links, " · ")
    if paper.machine_summary:
        machine_summary(body, paper.machine_summary)
    sub(body, "p", paper.abstract)
    return body
