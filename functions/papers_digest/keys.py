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
# Roll-ups: an ISO week (`2026-W31`) and a calendar month (`2026-07`), beside the days.
WEEKLY_PREFIX = f"{DIGEST_PREFIX}weekly/"
MONTHLY_PREFIX = f"{DIGEST_PREFIX}monthly/"
ROLLUPS_FEED_KEY = "rollups.xml"
LEASE_KEY = "state/backfill.json"
# Every key a publish writes for readers, as patterns: what template.yaml lets the feed
# function write and CloudFront read (tests/stack checks both).
SITE_KEYS = (
    FEED_KEY, PAPERS_FEED_KEY, ATOM_KEY, PAPERS_ATOM_KEY, JSON_FEED_KEY, PAPERS_JSON_FEED_KEY,
    PAGE_KEY, SEARCH_KEY, "assets/*", f"{DAY_PAGE_PREFIX}*", f"{MONTH_PAGE_PREFIX}*",
    ROLLUPS_FEED_KEY,
)  # fmt: skip

_DIGEST_KEY = re.compile(r"^digests/(\d{4}-\d{2}-\d{2})\.json$")
_ROLLUP_KEY = re.compile(r"digests/(?:weekly/(\d{4}-W\d{2})|monthly/(\d{4}-\d{2}))\.json")


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


def rollup_key(period: str) -> str:
    """`digests/weekly/YYYY-Www.json` for a week's id, `digests/monthly/YYYY-MM.json` for a
    month's (rollup.Period.id)."""
    return f"{WEEKLY_PREFIX if '-W' in period else MONTHLY_PREFIX}{period}.json"


def rollup_post_key(period: str, last_day: date) -> str:
    """The roll-up's post, named by the period's last day (its `date` is the next day's
    publish time: the front matter's wins), so the GitHub publisher's window takes it in
    the run that builds it."""
    kind = "weekly" if "-W" in period else "monthly"
    return f"{POST_PREFIX}{last_day.isoformat()}-hf-{kind}-papers-{period.lower()}.md"


def period_of_rollup_key(key: str) -> str | None:
    """The period id a roll-up key names (not yet checked as a real week or month), or
    None for any other key."""
    match = _ROLLUP_KEY.fullmatch(key)
    return None if match is None else match.group(1) or match.group(2)
