"""July 2026 for the roll-up tests: the recorded 2026-07-31 (30 real papers) and a few
made-up days around it, published through the pipeline with a daily top N of 3, so most of
each day's papers are unlisted; one day stored as a version 1 digest (before `unlisted`).

What the month must show (tests/functional/test_rollups.py):
- 2607.28618 is featured twice: on 07-14 with 100 upvotes, on 07-31 with 292 (the
  latest, from the newer digest); it is one paper, featured on both days;
- 2607.27919 (49, 07-31) and the 4th paper of 07-06 (48) are outside their day's top 3
  but in the month's top 8;
- 06-30 is in the first ISO week of July (W27) but not in July."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from typing import Any

from papers_digest.keys import digest_key
from papers_digest.pipeline import run_day
from papers_digest.settings import PostSettings
from papers_digest.store import JSON_TYPE, Store
from tests.conftest import REAL_DAY, api_items

DAILY_TOP_N = 3
ROLLUP_TOP_N = 8
TWICE = "2607.28618"  # the real day's most upvoted paper, featured on 07-14 too
NOW = datetime(2026, 8, 3, 0, 15, tzinfo=UTC)
V1_DAY = date(2026, 7, 21)


def item(
    day: date,
    arxiv_id: str,
    upvotes: int,
    keywords: tuple[str, ...] = (),
    organization: str | None = None,
) -> dict[str, Any]:
    """An API item as `/api/daily_papers?date=day` gives it, with what the roll-ups read."""
    paper = {
        "id": arxiv_id,
        "title": f"Paper {arxiv_id}",
        "summary": f"The abstract of {arxiv_id}.",
        "upvotes": upvotes,
        "authors": [{"name": "A. Author", "hidden": False}],
        "submittedOnDailyAt": f"{day.isoformat()}T00:00:00.000Z",
        "ai_keywords": list(keywords),
    }
    return {
        "paper": paper,
        **({"organization": {"fullname": organization}} if organization else {}),
    }


D0630, D0703, D0706, D0714 = (
    date(2026, 6, 30),
    date(2026, 7, 3),
    date(2026, 7, 6),
    date(2026, 7, 14),
)
MADE_UP = {
    D0630: [item(D0630, "2606.30001", 999, ("LLM",))],
    D0703: [
        item(D0703, "2607.03001", 7, ("LLM", "diffusion")),
        item(D0703, "2607.03002", 5),
    ],
    D0706: [
        item(D0706, "2607.06001", 60, ("LLM", "reinforcement learning"), "Kling Team"),
        item(D0706, "2607.06002", 55, ("LLM",), "Kling Team"),
        item(D0706, "2607.06003", 50),
        item(D0706, "2607.06004", 48, ("diffusion",)),  # 4th of its day: unlisted
    ],
    D0714: [
        item(D0714, TWICE, 100),
        item(D0714, "2607.14002", 8),
        item(D0714, "2607.14003", 0),
    ],
    V1_DAY: [
        item(V1_DAY, "2607.21001", 13),
        item(V1_DAY, "2607.21002", 13),
        item(V1_DAY, "2607.21003", 10),
        item(V1_DAY, "2607.21004", 4),  # unlisted: a version 1 digest does not keep it
    ],
}
DAYS = sorted([*MADE_UP, REAL_DAY])
SETTINGS = PostSettings(top_n=DAILY_TOP_N, rollup_top_n=ROLLUP_TOP_N)


class MonthSource:
    """The recorded day and the made-up ones, as the pipeline's source."""

    def __init__(self) -> None:
        self.days: dict[date, list[Any]] = {REAL_DAY: api_items(REAL_DAY), **MADE_UP}

    def fetch_day(self, day: date) -> list[Any]:
        return json.loads(json.dumps(self.days.get(day, [])))


def publish_month(store: Store, source: MonthSource | None = None) -> MonthSource:
    """Every day through `run_day` (daily top 3); 07-21 rewritten as a version 1 digest."""
    source = source or MonthSource()
    for day in DAYS:
        run_day(day, source=source, store=store, settings=SETTINGS, now=NOW)
    stored = store.get(digest_key(V1_DAY))
    assert stored is not None
    old = json.loads(stored.body)
    del old["unlisted"]
    old["schema_version"] = 1
    store.put(digest_key(V1_DAY), json.dumps(old).encode(), JSON_TYPE)
    return source
