"""RSS 2.0 feeds from the digests, kept cheap and race-safe by a small index object.

Publishing one day reads that day's digest and the index, merges the day in, writes
the index back with a conditional write, and renders both feeds from it: the same
handful of requests however many digests the bucket holds. A missing or corrupt
index is rebuilt from the digests, never trusted.
"""

from __future__ import annotations

import json
import logging
import random
import re
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from email.utils import format_datetime
from typing import Any, Literal

from .errors import ConfigError, MalformedResponseError, PreconditionFailed, StoreError
from .keys import (
    DIGEST_PREFIX,
    FEED_INDEX_KEY,
    FEED_KEY,
    PAGE_KEY,
    PAPERS_FEED_KEY,
    day_of_digest_key,
    digest_key,
)
from .model import Digest, Paper, hf_paper_url
from .settings import int_setting
from .store import HTML_TYPE, JSON_TYPE, RSS_TYPE, Store

log = logging.getLogger(__name__)

INDEX_SCHEMA_VERSION = 1
ATOM_NS = "http://www.w3.org/2005/Atom"
DC_NS = "http://purl.org/dc/elements/1.1/"
FEED_CACHE_CONTROL = "public, max-age=300"
HF_DAY_URL = "https://huggingface.co/papers/date/{date}"
MAX_ATTEMPTS = 8

ET.register_namespace("atom", ATOM_NS)
ET.register_namespace("dc", DC_NS)

# Characters XML 1.0 cannot carry at all.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


@dataclass(frozen=True)
class FeedSettings:
    site_url: str = "http://localhost:4000"
    language: str = "ko"
    max_days: int = 30
    max_papers: int = 200
    post_url_pattern: str | None = None
    title: str = "Hugging Face Daily Papers"

    def day_url(self, day: str) -> str:
        """The link for a day: the user's blog post if a pattern is set, else HF's day page."""
        year, month, dom = day.split("-")
        pattern = self.post_url_pattern or HF_DAY_URL
        return pattern.format(date=day, year=year, month=month, day=dom, site_url=self.site_url)


def feed_settings(env: Mapping[str, str], **overrides: str | None) -> FeedSettings:
    values = {k: v for k, v in env.items() if v.strip()}
    values.update({k: v for k, v in overrides.items() if v})
    site_url = values.get("SITE_URL", FeedSettings.site_url).rstrip("/")
    if not re.match(r"^https?://[^/\s]+", site_url):
        raise ConfigError(f"SITE_URL={site_url!r} is not an absolute http(s) URL")
    pattern = values.get("POST_URL_PATTERN")
    if pattern:
        try:
            sample = pattern.format(
                date="2026-01-28", year="2026", month="01", day="28", site_url=site_url
            )
        except (KeyError, IndexError, ValueError):
            raise ConfigError(
                f"POST_URL_PATTERN={pattern!r} may use only {{site_url}}, {{date}}, "
                "{year}, {month} and {day}"
            ) from None
        if not sample.startswith(("http://", "https://")):
            raise ConfigError(f"POST_URL_PATTERN={pattern!r} must give an absolute URL")
    return FeedSettings(
        site_url=site_url,
        language=values.get("POST_LANG", "ko"),
        max_days=int_setting(values, "FEED_MAX_DAYS", 30, minimum=1),
        max_papers=int_setting(values, "FEED_MAX_PAPERS", 200, minimum=1),
        post_url_pattern=pattern,
    )


# ---------------------------------------------------------------- the index (pure)


def empty_index() -> dict[str, Any]:
    return {"schema_version": INDEX_SCHEMA_VERSION, "days": {}, "papers": {}}


def merge_digest(
    index: Mapping[str, Any], digest: Digest, settings: FeedSettings
) -> dict[str, Any]:
    """A new index with `digest`'s day in it (replacing that day if present), trimmed
    to the newest `max_days` days and `max_papers` papers."""
    day = digest.day.isoformat()
    days = dict(index["days"])
    papers = {key: dict(value) for key, value in index["papers"].items()}
    previous = days.get(day)
    if previous is not None:
        for entry in previous["papers"]:
            listed = papers.get(entry["arxiv_id"])
            if listed is not None:
                listed["days"] = [d for d in listed["days"] if d != day]
                if not listed["days"]:
                    del papers[entry["arxiv_id"]]
    days[day] = {
        "published_at": digest.published_at.isoformat(),
        "generated_at": digest.generated_at.isoformat(),
        "papers_that_day": digest.papers_that_day,
        "papers": [
            {"arxiv_id": p.arxiv_id, "title": p.title, "upvotes": p.upvotes} for p in digest.papers
        ],
    }
    for paper in digest.papers:
        known = papers.get(paper.arxiv_id)
        featured = sorted({*(known["days"] if known else []), day})
        if known is None or day >= known["last_day"]:
            known = {**paper.to_json(), "last_published_at": digest.published_at.isoformat()}
            known["last_day"] = day
        known["days"] = featured
        papers[paper.arxiv_id] = known

    kept_days = dict(sorted(days.items(), reverse=True)[: settings.max_days])
    kept_papers = dict(
        sorted(papers.items(), key=lambda kv: _paper_order(kv[1]))[: settings.max_papers]
    )
    return {"schema_version": INDEX_SCHEMA_VERSION, "days": kept_days, "papers": kept_papers}


def _paper_order(paper: Mapping[str, Any]) -> tuple[Any, ...]:
    """Newest featured day first, then most upvoted, then by id."""
    return (
        -date.fromisoformat(paper["last_day"]).toordinal(),
        -paper["upvotes"],
        paper["arxiv_id"],
    )


def parse_index(body: bytes) -> dict[str, Any]:
    """Parse a stored index, refusing anything that does not look like one."""
    try:
        index = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise MalformedResponseError(f"feed index is not JSON ({exc})") from None
    if (
        not isinstance(index, dict)
        or index.get("schema_version") != INDEX_SCHEMA_VERSION
        or not isinstance(index.get("days"), dict)
        or not isinstance(index.get("papers"), dict)
    ):
        raise MalformedResponseError("feed index has an unknown shape")
    return index


def index_bytes(index: Mapping[str, Any]) -> bytes:
    return (json.dumps(index, ensure_ascii=False, sort_keys=True, indent=1) + "\n").encode()


# ---------------------------------------------------------------- RSS (pure)


def xml_text(value: str) -> str:
    """Text XML can carry: the characters XML 1.0 forbids are dropped, and carriage
    returns become line feeds, as every XML parser would read them."""
    return _NOT_XML.sub("", value.replace("\r\n", "\n").replace("\r", "\n"))


def _sub(parent: ET.Element, tag: str, text: str | None = None, **attrs: str) -> ET.Element:
    element = ET.SubElement(parent, tag, attrs)
    if text is not None:
        element.text = xml_text(text)
    return element


def _html(element: ET.Element) -> str:
    return ET.tostring(element, encoding="unicode", method="html")


def _rfc822(iso: str) -> str:
    return format_datetime(datetime.fromisoformat(iso))


def _channel(
    settings: FeedSettings, key: str, title: str, description: str, built: str | None
) -> tuple[ET.Element, ET.Element]:
    rss = ET.Element("rss", {"version": "2.0"})
    channel = _sub(rss, "channel")
    _sub(channel, "title", title)
    _sub(channel, "link", f"{settings.site_url}/")
    _sub(channel, "description", description)
    _sub(channel, "language", settings.language)
    if built:
        _sub(channel, "lastBuildDate", _rfc822(built))
    _sub(channel, "generator", "hf-papers-digest")
    _sub(
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


def _last_build(index: Mapping[str, Any]) -> str | None:
    stamps = [day["generated_at"] for day in index["days"].values()]
    return max(stamps, key=lambda s: datetime.fromisoformat(s)) if stamps else None


def _ranked_list(papers: list[dict[str, Any]]) -> ET.Element:
    """A day's papers as an ordered list of links with their upvotes."""
    listing = ET.Element("ol")
    for paper in papers:
        line = ET.SubElement(listing, "li")
        _sub(
            line, "a", paper["title"], href=hf_paper_url(paper["arxiv_id"])
        ).tail = f" - 👍 {paper['upvotes']}"
    return listing


def render_day_feed(index: Mapping[str, Any], settings: FeedSettings) -> bytes:
    """`feed.xml`: one item per daily digest, newest first."""
    rss, channel = _channel(
        settings,
        FEED_KEY,
        settings.title,
        "The most upvoted Hugging Face Daily Papers, one post a day.",
        _last_build(index),
    )
    for day, entry in sorted(index["days"].items(), reverse=True):
        item = _sub(channel, "item")
        _sub(item, "title", f"{settings.title} - {day}")
        _sub(item, "link", settings.day_url(day))
        _sub(item, "guid", f"hf-papers-digest:day:{day}", isPermaLink="false")
        _sub(item, "pubDate", _rfc822(entry["published_at"]))
        _sub(item, "description", _html(_ranked_list(entry["papers"])))
    return _document(rss)


def render_papers_feed(index: Mapping[str, Any], settings: FeedSettings) -> bytes:
    """`papers.xml`: one item per paper, the newest featured day first."""
    rss, channel = _channel(
        settings,
        PAPERS_FEED_KEY,
        f"{settings.title}: papers",
        "Each paper featured in the Hugging Face Daily Papers digests.",
        _last_build(index),
    )
    for data in sorted(index["papers"].values(), key=_paper_order):
        paper = Paper.from_json(data)
        item = _sub(channel, "item")
        _sub(item, "title", paper.title)
        _sub(item, "link", paper.hf_url)
        _sub(item, "guid", paper.hf_url, isPermaLink="true")
        _sub(item, "pubDate", _rfc822(data["last_published_at"]))
        if paper.authors:
            _sub(item, f"{{{DC_NS}}}creator", ", ".join(paper.authors))
        if paper.organization:
            _sub(item, "category", paper.organization)
        _sub(item, "description", _html(_paper_html(paper, data["days"], settings)))
    return _document(rss)


def _paper_html(paper: Paper, days: list[str], settings: FeedSettings) -> ET.Element:
    body = ET.Element("div")

    def para(label: str, text: str | None = None) -> ET.Element:
        element = ET.SubElement(body, "p")
        strong = ET.SubElement(element, "strong")
        strong.text = label
        strong.tail = xml_text(text) if text is not None else None
        return element

    para("Upvotes: ", str(paper.upvotes))
    if paper.authors:
        para("Authors: ", ", ".join(paper.authors))
    if paper.organization:
        para("Organization: ", paper.organization)
    featured = para("Featured: ")
    for position, day in enumerate(days):
        link = ET.SubElement(featured, "a", {"href": settings.day_url(day)})
        link.text = day
        link.tail = ", " if position < len(days) - 1 else None
    links = para("Links: ")
    targets = [("arXiv", paper.arxiv_url)]
    if paper.github_repo and paper.github_repo.startswith(("https://", "http://")):
        targets.append(("code", paper.github_repo))
    if paper.project_page and paper.project_page.startswith(("https://", "http://")):
        targets.append(("project page", paper.project_page))
    for position, (label, url) in enumerate(targets):
        link = ET.SubElement(links, "a", {"href": url})
        link.text = label
        link.tail = " · " if position < len(targets) - 1 else None
    abstract = ET.SubElement(body, "p")
    abstract.text = xml_text(paper.abstract)
    return body


def render_page(index: Mapping[str, Any], settings: FeedSettings) -> bytes:
    """`index.html`: the days in the feed with their ranked papers, for a browser."""
    page = ET.Element("html", {"lang": settings.language})
    head = ET.SubElement(page, "head")
    ET.SubElement(head, "meta", {"charset": "utf-8"})
    ET.SubElement(head, "meta", {"name": "viewport", "content": "width=device-width"})
    _sub(head, "title", settings.title)
    for key, label in ((FEED_KEY, settings.title), (PAPERS_FEED_KEY, f"{settings.title}: papers")):
        alternate = {"rel": "alternate", "type": "application/rss+xml", "title": label}
        ET.SubElement(head, "link", {**alternate, "href": f"{settings.site_url}/{key}"})
    body = ET.SubElement(page, "body")
    _sub(body, "h1", settings.title)
    feeds = _sub(body, "p", "Feeds: ")
    for position, key in enumerate((FEED_KEY, PAPERS_FEED_KEY)):
        link = _sub(feeds, "a", key, href=f"{settings.site_url}/{key}")
        link.tail = " · " if position == 0 else None
    for day, entry in sorted(index["days"].items(), reverse=True):
        heading = _sub(body, "h2")
        _sub(heading, "a", day, href=settings.day_url(day))
        body.append(_ranked_list(entry["papers"]))
    return ("<!DOCTYPE html>\n" + _html(page) + "\n").encode("utf-8")


# What a publish writes, all rendered from the index.
PUBLISHED: tuple[tuple[str, Callable[[Mapping[str, Any], FeedSettings], bytes], str], ...] = (
    (FEED_KEY, render_day_feed, RSS_TYPE),
    (PAPERS_FEED_KEY, render_papers_feed, RSS_TYPE),
    (PAGE_KEY, render_page, HTML_TYPE),
)


# ---------------------------------------------------------------- publishing (I/O)


@dataclass(frozen=True)
class PublishResult:
    status: Literal["published", "unchanged", "rebuilt", "ignored"]
    day: date | None = None
    keys_written: tuple[str, ...] = ()
    index_attempts: int = 0
    notes: tuple[str, ...] = field(default=())

    def summary(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "day": self.day.isoformat() if self.day else None,
            "keys_written": list(self.keys_written),
            "index_attempts": self.index_attempts,
            "notes": list(self.notes),
        }


def load_digest(store: Store, day: date) -> Digest:
    found = store.get(digest_key(day))
    if found is None:
        raise StoreError(
            f"no digest at {store.describe(digest_key(day))}; run `papers-digest run --date {day}`"
        )
    try:
        return Digest.from_json(json.loads(found.body))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise StoreError(
            f"{store.describe(digest_key(day))} is not JSON ({exc}); rewrite it with "
            f"`papers-digest run --date {day}`"
        ) from None
    except ValueError as exc:  # Digest.from_json names the bad field
        raise StoreError(f"{store.describe(digest_key(day))}: {exc}") from None


def index_from_digests(store: Store, settings: FeedSettings) -> tuple[dict[str, Any], list[str]]:
    """Build the index from the stored digests, newest first, stopping once the feeds are
    full: an older digest could only add days and papers that trimming drops again. So a
    rebuild lists the archive (one request per 1,000 keys) but reads about `max_days`
    digests, however many are stored."""
    index = empty_index()
    notes = []
    days = sorted(
        (day for key in store.list_keys(DIGEST_PREFIX) if (day := day_of_digest_key(key))),
        reverse=True,
    )
    for day in days:
        if len(index["days"]) >= settings.max_days and len(index["papers"]) >= settings.max_papers:
            break
        try:
            index = merge_digest(index, load_digest(store, day), settings)
        except StoreError as exc:
            log.warning("rebuild skips a digest: %s", exc)
            notes.append(f"skipped {digest_key(day)}: {exc}")
    return index, notes


def _update_index(
    store: Store,
    settings: FeedSettings,
    change: Callable[[dict[str, Any] | None], dict[str, Any]],
    sleep: Callable[[float], None],
) -> tuple[dict[str, Any], str, bool, int]:
    """Read-modify-write the index with conditional writes, retrying lost races.
    `change` gets the stored index (None when missing or corrupt) and returns the new one.
    Returns (index, its etag, whether it was written, attempts)."""
    for attempt in range(1, MAX_ATTEMPTS + 1):
        stored = store.get(FEED_INDEX_KEY)
        current: dict[str, Any] | None = None
        if stored is not None:
            try:
                current = parse_index(stored.body)
            except MalformedResponseError as exc:
                log.warning("%s: %s; rebuilding it", store.describe(FEED_INDEX_KEY), exc)
        updated = change(current)
        if stored is not None and current == updated:
            return updated, stored.etag, False, attempt
        try:
            if stored is None:
                etag = store.put(
                    FEED_INDEX_KEY, index_bytes(updated), JSON_TYPE, if_none_match=True
                )
            else:
                etag = store.put(
                    FEED_INDEX_KEY, index_bytes(updated), JSON_TYPE, if_match=stored.etag
                )
        except PreconditionFailed:
            sleep(random.uniform(0.05, 0.2) * attempt)  # noqa: S311 - jitter, not crypto
            continue
        return updated, etag, True, attempt
    raise PreconditionFailed(
        f"{store.describe(FEED_INDEX_KEY)} kept changing under {MAX_ATTEMPTS} attempts; "
        "another publisher is busy, the event will be retried"
    )


def _write_feeds(
    store: Store, settings: FeedSettings, index: dict[str, Any], etag: str
) -> tuple[str, ...]:
    """Write both feeds and the page from `index`, then make sure no newer index was
    written meanwhile; if one was, render from it again, so the newest index has the
    last word."""
    for _ in range(MAX_ATTEMPTS):
        for key, render, content_type in PUBLISHED:
            store.put(key, render(index, settings), content_type, cache_control=FEED_CACHE_CONTROL)
        if store.head_etag(FEED_INDEX_KEY) == etag:
            return tuple(key for key, _, _ in PUBLISHED)
        stored = store.get(FEED_INDEX_KEY)
        if stored is None:
            raise StoreError(
                f"{store.describe(FEED_INDEX_KEY)} vanished while publishing; publish again "
                'or send {"rebuild": true}'
            )
        index, etag = parse_index(stored.body), stored.etag
    raise PreconditionFailed(
        f"{store.describe(FEED_INDEX_KEY)} kept changing while publishing; another publisher "
        "is busy, the event will be retried"
    )


def _publish(
    store: Store,
    settings: FeedSettings,
    change: Callable[[dict[str, Any] | None], dict[str, Any]],
    sleep: Callable[[float], None],
) -> tuple[tuple[str, ...], bool, int]:
    """Update the index with `change`, then write what is rendered from it.
    Returns (keys written, whether the index changed, index attempts)."""
    index, etag, changed, attempts = _update_index(store, settings, change, sleep)
    keys = _write_feeds(store, settings, index, etag)
    return ((FEED_INDEX_KEY,) if changed else ()) + keys, changed, attempts


def publish_day(
    store: Store, day: date, settings: FeedSettings, sleep: Callable[[float], None] = time.sleep
) -> PublishResult:
    """Merge one day's digest into the feeds: a constant number of requests."""
    digest = load_digest(store, day)
    notes: list[str] = []

    def change(current: dict[str, Any] | None) -> dict[str, Any]:
        if current is None:
            rebuilt, skipped = index_from_digests(store, settings)
            notes[:] = ["index missing or corrupt: rebuilt from the digests", *skipped]
            current = rebuilt
        return merge_digest(current, digest, settings)

    written, changed, attempts = _publish(store, settings, change, sleep)
    status: Literal["published", "unchanged"] = "published" if changed else "unchanged"
    return PublishResult(status, day, written, attempts, tuple(notes))


def rebuild(
    store: Store, settings: FeedSettings, sleep: Callable[[float], None] = time.sleep
) -> PublishResult:
    """Rebuild the index, both feeds and the page from the stored digests."""
    notes: list[str] = []

    def change(_: dict[str, Any] | None) -> dict[str, Any]:
        index, skipped = index_from_digests(store, settings)
        notes[:] = skipped
        return index

    written, _, attempts = _publish(store, settings, change, sleep)
    return PublishResult("rebuilt", None, written, attempts, tuple(notes))
