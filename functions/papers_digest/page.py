"""`index.html`: the days in the feed with their ranked papers, for a browser. Pure."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Mapping
from typing import Any

from .feed_index import language
from .keys import FEED_KEY, PAPERS_FEED_KEY
from .markup import html, joined_links, ranked_list, sub
from .settings import FeedSettings

FEEDS_LABEL = {"en": "Feeds: ", "ko": "피드: "}


def render_page(index: Mapping[str, Any], settings: FeedSettings) -> bytes:
    """In the language of the newest post; the paper titles, English, are marked so."""
    lang = language(index, settings.language)
    page = ET.Element("html", {"lang": lang})
    head = ET.SubElement(page, "head")
    ET.SubElement(head, "meta", {"charset": "utf-8"})
    ET.SubElement(head, "meta", {"name": "viewport", "content": "width=device-width"})
    sub(head, "title", settings.title)
    feeds = ((FEED_KEY, settings.title), (PAPERS_FEED_KEY, f"{settings.title}: papers"))
    for key, label in feeds:
        alternate = {"rel": "alternate", "type": "application/rss+xml", "title": label}
        sub(head, "link", **alternate, href=f"{settings.site_url}/{key}")
    body = ET.SubElement(page, "body")
    sub(body, "h1", settings.title)
    joined_links(
        sub(body, "p", FEEDS_LABEL[lang]),
        [(key, f"{settings.site_url}/{key}") for key, _ in feeds],
        " · ",
    )
    for day, entry in sorted(index["days"].items(), reverse=True):
        sub(sub(body, "h2"), "a", day, href=settings.day_url(day))
        listing = ranked_list(entry["papers"])
        if lang != "en":
            listing.set("lang", "en")
        body.append(listing)
    return ("<!DOCTYPE html>\n" + html(page) + "\n").encode("utf-8")
