"""Synthetic days for backfill tests and the bench: the real day's papers, each day with
ids of its own, served by the replay server."""

from __future__ import annotations

import copy
import math
from datetime import date, timedelta
from typing import Any

from tests.conftest import REAL_DAY, api_items
from tests.digests import day_paper_id

REAL_ITEMS = api_items(REAL_DAY)


def synthetic_days(first: date, count: int, papers: int = 3) -> dict[str, list[Any]]:
    """`count` days from `first`, each listing `papers` of the real day's items as papers
    of its own (ids unique to the day, featured that day)."""
    days = {}
    for offset in range(count):
        day = first + timedelta(days=offset)
        items = []
        for rank, item in enumerate(REAL_ITEMS[:papers], 1):
            copied = copy.deepcopy(item)
            copied["paper"]["id"] = day_paper_id(day, rank)
            copied["paper"]["submittedOnDailyAt"] = f"{day.isoformat()}T12:00:00.000Z"
            items.append(copied)
        days[day.isoformat()] = items
    return days


def most_in_a_window(times: list[float], width: float) -> int:
    """The most of `times` any closed window of `width` seconds holds."""
    times = sorted(times)
    most, start = 0, 0
    for end, at in enumerate(times):
        while at - times[start] > width:
            start += 1
        most = max(most, end - start + 1)
    return most


def allowed_in_a_window(width: float, rate: float) -> int:
    """What strict spacing at `rate` lets into a window of `width` seconds."""
    return math.floor(width * rate) + 1
