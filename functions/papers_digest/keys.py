"""Where everything lives in the bucket (or the local folder): one place for the layout."""

from __future__ import annotations

import re
from datetime import date

DIGEST_PREFIX = "digests/"
POST_PREFIX = "_posts/"
FEED_KEY = "feed.xml"
PAPERS_FEED_KEY = "papers.xml"
PAGE_KEY = "index.html"
FEED_INDEX_KEY = "state/feed-index.json"

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
