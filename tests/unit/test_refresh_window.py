"""Which days a scheduled run refreshes, and what a failing or late one does to the rest."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

import pytest

from papers_digest.days import FIRST_DAILY_PAPERS_DAY
from papers_digest.errors import SourceError
from papers_digest.pipeline import RunResult, refresh

DAY = date(2026, 7, 31)


def run_failing(*bad: str) -> tuple[list[date], Callable[[date], RunResult]]:
    ran: list[date] = []

    def run(day: date) -> RunResult:
        ran.append(day)
        if day.isoformat() in bad:
            raise SourceError(f"HTTP 503 for {day}")
        return RunResult(day, "unchanged", 30, 10)

    return ran, run


@pytest.mark.parametrize(
    ("day", "count", "seconds_left", "bad", "refreshed", "failed", "not_reached"),
    [
        (DAY, 0, [9], (), [], [], []),
        (DAY, 2, [9, 9], (), ["2026-07-30", "2026-07-29"], [], []),
        # a failing day is noted, the next still runs
        (DAY, 3, [9, 9, 9], ("2026-07-30",), ["2026-07-29", "2026-07-28"], ["2026-07-30"], []),
        # out of time: the rest are left for the next run
        (DAY, 3, [9, 0, -1], (), ["2026-07-30"], [], ["2026-07-29", "2026-07-28"]),
        # never before Daily Papers began
        (date(2023, 5, 5), 7, [9] * 7, (), ["2023-05-04"], [], []),
        (FIRST_DAILY_PAPERS_DAY, 2, [9, 9], (), [], [], []),
    ],
    ids=["off", "two", "one-fails", "out-of-time", "first-day", "nothing-before"],
)
def test_refresh(
    day: date,
    count: int,
    seconds_left: list[float],
    bad: tuple[str, ...],
    refreshed: list[str],
    failed: list[str],
    not_reached: list[str],
) -> None:
    ran, run = run_failing(*bad)
    clock = iter(seconds_left)

    done = refresh(day, count, run, lambda: next(clock))

    summary = done.summary()
    assert list(summary["refreshed"]) == refreshed
    assert list(summary["failed"]) == failed
    assert summary["not_reached"] == not_reached
    assert sorted(d.isoformat() for d in ran) == sorted([*refreshed, *failed])
