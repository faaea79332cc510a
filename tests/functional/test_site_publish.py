"""What a publish writes for the site, and what stays: a new day rewrites the index page,
its own page, its month's page and the search index (besides the feeds and the two
assets); every feed's ids survive a republish and a refresh."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import date, timedelta
from html.parser import HTMLParser
from pathlib import Path

import feedparser
import pytest

from papers_digest.feed_index import parse_index
from papers_digest.keys import FEED_INDEX_KEY, SITE_KEYS
from papers_digest.publish import publish_day, rebuild
from papers_digest.settings import FeedSettings
from papers_digest.store import FolderStore
from tests.digests import days_before, digest_for, store_digest

SETTINGS = FeedSettings(site_url="https://papers.example.com", language="en", max_days=3)
NEW_DAY = date(2026, 8, 1)
FEEDS = ("feed.xml", "papers.xml", "atom.xml", "papers.atom", "feed.json", "papers.json")
RSS, ATOM, JSON_FEED = "application/rss+xml", "application/atom+xml", "application/feed+json"
EVERY_PUBLISH = {*FEEDS, "index.html", "search.json"}
ASSETS = {"assets/style.css", "assets/search.js"}


def published(tmp_path: Path, days: list[date]) -> FolderStore:
    store = FolderStore(tmp_path)
    for day in days:
        store_digest(store, digest_for(day, top_n=2))
        publish_day(store, day, SETTINGS)
    return store


def test_a_new_day_rewrites_only_its_pages_the_index_page_and_the_search_index(
    tmp_path: Path,
) -> None:
    store = published(tmp_path, days_before(date(2026, 7, 31), 4)[::-1])
    store_digest(store, digest_for(NEW_DAY, top_n=2))
    result = publish_day(store, NEW_DAY, SETTINGS)
    assert set(result.keys_written) == {
        FEED_INDEX_KEY, *EVERY_PUBLISH, "daily/2026-08-01.html", "archive/2026-08.html",
    }  # fmt: skip
    assert all(any(Path(key).match(p) for p in SITE_KEYS) for key in result.keys_written[1:])


def test_the_shipped_files_go_out_once_per_version(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The first publish writes the stylesheet and the script; later days do not, until
    a deploy ships another version of them."""
    store = FolderStore(tmp_path)
    days = days_before(date(2026, 7, 31), 3)[::-1]
    written = []
    for day in days:
        store_digest(store, digest_for(day, top_n=2))
        written.append(ASSETS & set(publish_day(store, day, SETTINGS).keys_written))
    assert written == [ASSETS, set(), set()]
    monkeypatch.setattr("papers_digest.publish.assets_version", lambda: "a-new-deploy")
    store_digest(store, digest_for(NEW_DAY, top_n=2))
    assert set(publish_day(store, NEW_DAY, SETTINGS).keys_written) >= ASSETS


def test_a_month_page_keeps_its_days_after_the_index_drops_them(tmp_path: Path) -> None:
    """The index holds 3 days; July's page, last written with July 31st, lists all 4 of
    July's days, the 3 the index held then with their top paper."""
    store = published(tmp_path, [*days_before(date(2026, 7, 31), 4)[::-1], NEW_DAY])
    index = parse_index((tmp_path / FEED_INDEX_KEY).read_bytes())
    assert sorted(index["days"]) == ["2026-07-30", "2026-07-31", "2026-08-01"]
    assert index["months"] == {
        "2026-07": ["2026-07-28", "2026-07-29", "2026-07-30", "2026-07-31"],
        "2026-08": ["2026-08-01"],
    }
    july = (tmp_path / "archive" / "2026-07.html").read_text("utf-8")
    assert [day for day in range(28, 32) if f'href="/daily/2026-07-{day}.html"' in july] == [
        28, 29, 30, 31,
    ]  # fmt: skip
    assert july.count("· 2 papers ·") == 3
    assert store.get("daily/2026-07-28.html") is not None  # written when it was published


def test_a_rebuild_writes_every_day_page_of_the_index_and_its_months(tmp_path: Path) -> None:
    store = published(tmp_path, [])
    for day in days_before(NEW_DAY, 5):
        store_digest(store, digest_for(day, top_n=2))
    result = rebuild(store, SETTINGS)
    pages = sorted(key for key in result.keys_written if key.startswith(("daily/", "archive/")))
    assert pages == [
        "archive/2026-07.html", "archive/2026-08.html",
        "daily/2026-07-30.html", "daily/2026-07-31.html", "daily/2026-08-01.html",
    ]  # fmt: skip
    index = parse_index((tmp_path / FEED_INDEX_KEY).read_bytes())
    assert index["months"]["2026-07"] == [f"2026-07-{day}" for day in (28, 29, 30, 31)]


def feed_ids(tmp_path: Path) -> dict[str, list[str]]:
    ids = {}
    for name in FEEDS:
        body = (tmp_path / name).read_bytes()
        if name.endswith(".json"):
            ids[name] = [item["id"] for item in json.loads(body)["items"]]
        else:
            parsed = feedparser.parse(body)
            assert not parsed.bozo, parsed.get("bozo_exception")
            ids[name] = [entry.id for entry in parsed.entries]
    return ids


def test_every_feeds_ids_stay_across_a_republish_and_a_refresh(tmp_path: Path) -> None:
    days = days_before(NEW_DAY, 2)[::-1]
    store = published(tmp_path, days)
    first = feed_ids(tmp_path)
    assert [len(first[name]) for name in FEEDS] == [2, 4, 2, 4, 2, 4]

    assert publish_day(store, NEW_DAY, SETTINGS).status == "unchanged"  # a republish
    assert feed_ids(tmp_path) == first

    refreshed = digest_for(NEW_DAY, top_n=2)  # later, with more upvotes, in another order
    papers = tuple(replace(p, upvotes=p.upvotes + 100 * i) for i, p in enumerate(refreshed.papers))
    later = refreshed.generated_at + timedelta(hours=6)
    store_digest(store, replace(refreshed, papers=papers[::-1], generated_at=later))
    assert publish_day(store, NEW_DAY, SETTINGS).status == "published"
    after = feed_ids(tmp_path)
    assert {name: sorted(ids) for name, ids in after.items()} == {
        name: sorted(ids) for name, ids in first.items()
    }
    assert json.loads((tmp_path / "feed.json").read_bytes())["items"][0]["date_modified"] == (
        later.isoformat()
    )


@pytest.mark.parametrize(
    ("months", "problem"),
    [
        ({}, "missing from its months"),
        ({"2026-07": ["2026-07-31", "2026-07-30"]}, "month '2026-07' is malformed"),
        ({"2026-07": ["2026-07-31", "2026-08-01"]}, "month '2026-07' is malformed"),
        ({"2026-07": ["2026-07-31"], "2026-06": []}, "month '2026-06' is malformed"),
        ({"2026-07": "2026-07-31"}, "month '2026-07' is malformed"),
    ],
    ids=["a day not in its month", "unsorted", "a day of another month", "empty", "text"],
)
def test_an_index_whose_months_are_wrong_is_not_trusted(
    tmp_path: Path, months: dict[str, object], problem: str
) -> None:
    published(tmp_path, [date(2026, 7, 31)])
    index = json.loads((tmp_path / FEED_INDEX_KEY).read_bytes())
    with pytest.raises(ValueError, match=problem):
        parse_index(json.dumps({**index, "months": months}).encode())


class Head(HTMLParser):
    """The `<link>` and `<meta property>` tags of a page's head."""

    def __init__(self) -> None:
        super().__init__()
        self.links: list[dict[str, str | None]] = []
        self.meta: dict[str, str | None] = {}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if tag == "link":
            self.links.append(found)
        elif tag == "meta" and found.get("property"):
            self.meta[str(found["property"])] = found.get("content")


@pytest.mark.parametrize(
    ("key", "title"),
    [("index.html", "Hugging Face Daily Papers"),
     ("daily/2026-08-01.html", "Papers of 2026-08-01"),
     ("archive/2026-08.html", "Days of 2026-08")],
)  # fmt: skip
def test_each_page_has_its_canonical_url_open_graph_card_and_the_seven_feeds(
    tmp_path: Path, key: str, title: str
) -> None:
    published(tmp_path, [NEW_DAY])
    head = Head()
    head.feed((tmp_path / key).read_text("utf-8"))
    url = f"https://papers.example.com/{'' if key == 'index.html' else key}"
    assert [link["href"] for link in head.links if link["rel"] == "canonical"] == [url]
    assert sorted(
        (link["type"], link["href"]) for link in head.links if link["rel"] == "alternate"
    ) == sorted(
        (kind, f"https://papers.example.com/{name}")
        for name, kind in zip(
            (*FEEDS, "rollups.xml"), [RSS, RSS, ATOM, ATOM, JSON_FEED, JSON_FEED, RSS], strict=True
        )
    )
    assert head.meta["og:url"] == url
    assert head.meta["og:title"] == title
    assert head.meta["og:locale"] == "en_US"
    thumbnail = digest_for(NEW_DAY, top_n=2).papers[0].thumbnail
    assert head.meta.get("og:image") == (None if key.startswith("archive/") else thumbnail)
