"""RSS 2.0 documents rendered from the feed index. Pure: index in, bytes out."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Mapping
from datetime import datetime
from email.utils import format_datetime
from typing import Any

from .feed_index import language, last_build, paper_order
from .keys import FEED_KEY, PAPERS_FEED_KEY, ROLLUPS_FEED_KEY
from .markup import (
    DESCRIPTIONS,
    categories,
    day_id,
    html,
    paper_html,
    plain_text,
    ranked_list,
    sub,
    xml_document,
)
from .model import Paper
from .rollup import Rollup
from .settings import FeedSettings

ATOM_NS = "http://www.w3.org/2005/Atom"
DC_NS = "http://purl.org/dc/elements/1.1/"
ET.register_namespace("atom", ATOM_NS)
ET.register_namespace("dc", DC_NS)
MEDIA_NS = "http://search.yahoo.com/mrss/"
CONTENT_NS = "http://purl.org/rss/1.0/modules/content/"
ET.register_namespace("media", MEDIA_NS)
ET.register_namespace("content", CONTENT_NS)


def render_day_feed(index: Mapping[str, Any], settings: FeedSettings) -> bytes:
    """`feed.xml`: one item per daily digest, newest first."""
    rss, channel = _index_channel(index, settings, FEED_KEY, "days", settings.title)
    for day, entry in sorted(index["days"].items(), reverse=True):
        item = sub(channel, "item")
        sub(item, "title", plain_text(f"{settings.title} - {day}"))
        sub(item, "link", settings.day_url(day))
        sub(item, "guid", day_id(day), isPermaLink="false")
        sub(item, "pubDate", _rfc822(entry["published_at"]))
        body = html(ranked_list(entry["papers"]))
        sub(item, "description", body)
        sub(item, f"{{{CONTENT_NS}}}encoded", body)
    return xml_document(rss)


def render_papers_feed(index: Mapping[str, Any], settings: FeedSettings) -> bytes:
    """`papers.xml`: one item per paper, the newest featured day first."""
    rss, channel = _index_channel(
        index, settings, PAPERS_FEED_KEY, "papers", f"{settings.title}: papers"
    )
    for data in sorted(index["papers"].values(), key=paper_order):
        paper = Paper.from_json(data)
        item = sub(channel, "item")
        sub(item, "title", plain_text(paper.title))
        sub(item, "link", paper.hf_url)
        sub(item, "guid", paper.hf_url, isPermaLink="true")
        sub(item, "pubDate", _rfc822(data["last_published_at"]))
        if paper.authors:
            sub(item, f"{{{DC_NS}}}creator", plain_text(", ".join(paper.authors)))
        for category in categories(paper):
            sub(item, "category", plain_text(category))
        body = html(paper_html(paper, data["days"], settings))
        sub(item, "description", body)
        sub(item, f"{{{CONTENT_NS}}}encoded", body)
        if paper.thumbnail:
            sub(item, f"{{{MEDIA_NS}}}thumbnail", url=paper.thumbnail)
    return xml_document(rss)


# How a roll-up's item opens, in its language: papers, upvotes in all and on average, days.
ROLLUP_SUMMARY = {
    "en": "{papers} papers, {total} upvotes in all ({average} a paper), {covered} of {days} days.",
    "ko": "논문 {papers}개, 좋아요 합계 {total} (평균 {average}), {days}일 중 {covered}일.",
}


def rollup_id(rollup: Rollup) -> str:
    """A roll-up's guid: the same for every build of its period, so a rebuilt roll-up
    updates its item in place."""
    return f"hf-papers-digest:{rollup.period.kind}:{rollup.period.id}"


def render_rollups_feed(rollups: list[Rollup], settings: FeedSettings) -> bytes:
    """`rollups.xml`: one item per weekly or monthly roll-up, the newest period first. An
    item links to the site (no setting names a roll-up's post URL); its description holds
    the statistics and the ranked papers, each linking to Hugging Face."""
    ordered = sorted(rollups, key=lambda r: (r.period.end, r.period.kind), reverse=True)
    rss, channel = _channel(
        settings,
        ROLLUPS_FEED_KEY,
        "rollups",
        f"{settings.title}: weekly and monthly",
        lang=ordered[0].lang if ordered else settings.language,
        built=max((rollup.generated_at for rollup in ordered), default=None),
    )
    for rollup in ordered:
        kind = "Weekly" if rollup.period.kind == "week" else "Monthly"
        item = sub(channel, "item")
        sub(item, "title", plain_text(rollup.period.title))
        sub(item, "link", f"{settings.site_url}/")
        sub(item, "guid", rollup_id(rollup), isPermaLink="false")
        sub(item, "pubDate", format_datetime(rollup.published_at))
        sub(item, "category", f"{kind} Papers")
        body = ET.Element("div")
        sub(body, "p", ROLLUP_SUMMARY[rollup.lang].format(
            papers=rollup.papers_in_period, total=rollup.total_upvotes,
            average=rollup.average_upvotes, covered=len(rollup.days_covered),
            days=len(rollup.period.days),
        ))  # fmt: skip
        body.append(ranked_list([entry.paper.to_json() for entry in rollup.papers]))
        sub(item, "description", html(body))
        sub(item, f"{{{CONTENT_NS}}}encoded", html(body))
    return xml_document(rss)


def _index_channel(
    index: Mapping[str, Any], settings: FeedSettings, key: str, kind: str, title: str
) -> tuple[ET.Element, ET.Element]:
    """The channel of a feed of the index, in the language of the newest post."""
    lang = language(index, settings.language)
    return _channel(settings, key, kind, title, lang=lang, built=last_build(index))


def _channel(
    settings: FeedSettings, key: str, kind: str, title: str, *, lang: str, built: datetime | None
) -> tuple[ET.Element, ET.Element]:
    """The RSS document and its channel: `kind`'s description in `lang`, built at `built`
    (no lastBuildDate when there is nothing yet), its own address as the self link."""
    rss = ET.Element("rss", {"version": "2.0"})
    channel = sub(rss, "channel")
    sub(channel, "title", plain_text(title))
    sub(channel, "link", f"{settings.site_url}/")
    sub(channel, "description", DESCRIPTIONS[kind][lang])
    sub(channel, "language", lang)
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


def _rfc822(iso: str) -> str:
    return format_datetime(datetime.fromisoformat(iso))
