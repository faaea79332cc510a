"""What a publish writes: one row per object, each rendered from the feed index by a pure
renderer. A new output format is one renderer and one row here."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache

from .atom import render_day_atom, render_papers_atom
from .feed_index import Index
from .jsonfeed import render_day_json_feed, render_papers_json_feed
from .keys import (
    ATOM_KEY,
    FEED_KEY,
    JSON_FEED_KEY,
    PAGE_KEY,
    PAPERS_ATOM_KEY,
    PAPERS_FEED_KEY,
    PAPERS_JSON_FEED_KEY,
    SCRIPT_KEY,
    SEARCH_KEY,
    STYLE_KEY,
    day_page_key,
    month_page_key,
)
from .page import asset, render_day_page, render_month_page, render_page, render_search_index
from .rss import render_day_feed, render_papers_feed
from .settings import FeedSettings
from .store import ATOM_TYPE, CSS_TYPE, HTML_TYPE, JS_TYPE, JSON_FEED_TYPE, JSON_TYPE, RSS_TYPE


@dataclass(frozen=True)
class Output:
    """One object a publish writes: its key for the day published (None: nothing to
    write for that day; the day is None for a rebuild of an empty index) and its renderer."""

    key: Callable[[Index, str | None], str | None]
    render: Callable[[Index, FeedSettings, str | None], bytes]
    content_type: str
    asset: str | None = None  # a shipped file's name: written when the index's are older


def whole(key: str, render: Callable[[Index, FeedSettings], bytes], content_type: str) -> Output:
    """An output of the whole index, the same key whatever the day."""
    return Output(lambda _index, _day: key, lambda i, s, _day: render(i, s), content_type)


def static(key: str, name: str, content_type: str) -> Output:
    """A file of the site as shipped (templates/site/`name`): written by the first publish
    after a deploy changed it (the index records the version written), not every day."""
    return Output(
        lambda _index, _day: key, lambda _i, _s, _day: asset(name), content_type, asset=name
    )


def _day_page(index: Index, day: str | None) -> str | None:
    return day_page_key(day) if day and day in index["days"] else None


def _month_page(index: Index, day: str | None) -> str | None:
    return month_page_key(day[:7]) if day and day[:7] in index["months"] else None


# What a publish writes, every one rendered from the index: a new format is one row.
# A publish writes each row's key for its day; a rebuild for every day of the index.
OUTPUTS = (
    whole(FEED_KEY, render_day_feed, RSS_TYPE),
    whole(PAPERS_FEED_KEY, render_papers_feed, RSS_TYPE),
    whole(ATOM_KEY, render_day_atom, ATOM_TYPE),
    whole(PAPERS_ATOM_KEY, render_papers_atom, ATOM_TYPE),
    whole(JSON_FEED_KEY, render_day_json_feed, JSON_FEED_TYPE),
    whole(PAPERS_JSON_FEED_KEY, render_papers_json_feed, JSON_FEED_TYPE),
    whole(PAGE_KEY, render_page, HTML_TYPE),
    whole(SEARCH_KEY, render_search_index, JSON_TYPE),
    static(STYLE_KEY, "style.css", CSS_TYPE),
    static(SCRIPT_KEY, "search.js", JS_TYPE),
    Output(_day_page, lambda i, s, day: render_day_page(i, s, str(day)), HTML_TYPE),
    Output(_month_page, lambda i, s, day: render_month_page(i, s, str(day)[:7]), HTML_TYPE),
)


@cache
def assets_version() -> str:
    """A digest of the shipped files the rows above name: the index records the one last
    written, and a publish writes them again only when it changed (a deploy)."""
    shipped = b"".join(asset(row.asset) for row in OUTPUTS if row.asset is not None)
    return hashlib.sha256(shipped).hexdigest()[:16]
