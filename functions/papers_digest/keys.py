"""Where everything lives in the bucket (or the local folder): one place for the layout."""

from __future__ import annotations

import re
from datetime import date

DIGEST_PREFIX = "digests/"
POST_PREFIX = "_posts/"
FEED_KEY = "feed.xml"
PAPERS_FEED_KEY = "papers.xml"
PAGE_KEY = "index.html"
ATOM_KEY = "atom.xml"
PAPERS_ATOM_KEY = "papers.atom"
JSON_FEED_KEY = "feed.json"
PAPERS_JSON_FEED_KEY = "papers.json"
SEARCH_KEY = "search.json"
STYLE_KEY = "assets/style.css"
SCRIPT_KEY = "assets/search.js"
DAY_PAGE_PREFIX = "daily/"
MONTH_PAGE_PREFIX = "archive/"
FEED_INDEX_KEY = "state/feed-index.json"
LEASE_KEY = "state/backfill.json"
# Every key a publish writes for readers, as patterns: what template.yaml lets the feed
# function write and CloudFront read (tests/stack checks both).
SITE_KEYS = (
    FEED_KEY, PAPERS_FEED_KEY, ATOM_KEY, PAPERS_ATOM_KEY, JSON_FEED_KEY, PAPERS_JSON_FEED_KEY,
    PAGE_KEY, SEARCH_KEY, "assets/*", f"{DAY_PAGE_PREFIX}*", f"{MONTH_PAGE_PREFIX}*",
)  # fmt: skip

_DIGEST_KEY = re.compile(r"^digests/(\d{4}-\d{2}-\d{2})\.json$")


def digest_key(day: date) -> str:
    return f"{DIGEST_PREFIX}{day.isoformat()}.json"


def post_key(day: date) -> str:
    return f"{POST_PREFIX}{day.isoformat()}-hf-daily-papers.md"


def day_of_digest_key(key: str) -> date | None:
    """The day a digest key holds, or None for any other key."""
    match = _DIGEST_KEY.match(key)
    if match is None:
        return None
    try:
        return date.fromisoformat(match.group(1))
    except ValueError:
        return None


def day_page_key(day: str) -> str:
    """`daily/YYYY-MM-DD.html` for an ISO day."""
    return f"{DAY_PAGE_PREFIX}{day}.html"


def month_page_key(month: str) -> str:
    """`archive/YYYY-MM.html` for a `YYYY-MM` month."""
    return f"{MONTH_PAGE_PREFIX}{month}.html"
