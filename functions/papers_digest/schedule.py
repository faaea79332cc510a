"""The scheduled run: its day, the days before it again (the refresh window), then the
roll-ups of the weeks and months its days closed. The shell the digest function and
`papers-digest run` (without `--date`) share; a chosen day is `run_day` alone."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from functools import partial
from typing import Any

from .pipeline import Refresh, RunResult, refresh
from .rollups import scheduled_rollups
from .settings import PostSettings
from .store import Store


@dataclass(frozen=True)
class ScheduledRun:
    result: RunResult  # the day's
    refreshed: Refresh
    rollups: list[dict[str, Any]]

    @property
    def rollups_failed(self) -> int:
        return sum(rollup["status"] == "failed" for rollup in self.rollups)

    def summary(self) -> dict[str, Any]:
        return {
            **self.result.summary(),
            "refresh": self.refreshed.summary(),
            "rollups": self.rollups,
        }


def scheduled_run(
    day: date,
    run: Callable[..., RunResult],
    *,
    refresh_days: int,
    store: Store,
    settings: PostSettings,
    now: datetime,
    refresh_time_left: Callable[[], float] = lambda: 1.0,
    rollups_may_start: Callable[[], bool] = lambda: True,
) -> ScheduledRun:
    """`run(day)`, then `run(earlier, keep_fuller=True)` for the `refresh_days` days before
    while `refresh_time_left()` is positive, then the roll-ups of the closed periods holding
    the day or a day the refresh rewrote, each started only while `rollups_may_start()`.
    A refreshed day or a roll-up that fails is reported, never raised: the day stands."""
    result = run(day)
    refreshed = refresh(result.day, refresh_days, partial(run, keep_fuller=True), refresh_time_left)
    days_run = [result.day, *refreshed.rewritten]
    rollups = scheduled_rollups(store, days_run, settings, now, rollups_may_start)
    return ScheduledRun(result, refreshed, rollups)
