"""Building a week's or a month's roll-up from the stored digests: the shell over rollup.py.

One LIST and one GET a day of the period, no API request (the digests keep every paper of
their day); then the post and the JSON digest, each written only when it changed, the post
first, as `pipeline.run_day` does."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, Literal

from .conditional import Decision, update_object
from .errors import CorruptObjectError, DigestError
from .keys import digest_key, rollup_post_key
from .model import Digest
from .render import digest_json, render_rollup_post, same_digest
from .rollup import Period, due_periods, roll_up
from .settings import PostSettings
from .store import JSON_TYPE, MARKDOWN_TYPE, PUBLIC_CACHE_CONTROL, Store, StoredObject
from .stored import load_digest, stored_days

log = logging.getLogger(__name__)
Status = Literal["created", "updated", "unchanged", "empty"]


@dataclass(frozen=True)
class RollupResult:
    period: Period
    status: Status
    days_read: int
    papers: int  # in the period
    keys_written: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()  # digests that could not be read

    def summary(self) -> dict[str, Any]:
        return {
            "period": self.period.id,
            "status": self.status,
            "days_read": self.days_read,
            "papers": self.papers,
            "keys_written": list(self.keys_written),
            "notes": list(self.notes),
        }


def read_period(store: Store, period: Period) -> tuple[list[Digest], list[str]]:
    """The period's stored digests: one LIST from the period's first day, stopped at its
    last (so one request, however large the archive), and a GET a day. A digest that
    cannot be read is skipped with a warning and a note; a failing store raises."""
    digests, notes = [], []
    for day in stored_days(store, period.start, period.end):
        try:
            digests.append(load_digest(store, day))
        except CorruptObjectError as exc:
            log.warning("skipping a digest in the %s roll-up: %s", period.id, exc)
            notes.append(f"skipped {digest_key(day)}: {exc}")
    return digests, notes


def build_rollup(
    store: Store, period: Period, settings: PostSettings, now: datetime
) -> RollupResult:
    """Build `period`'s roll-up: nothing is written when its days hold no paper (`empty`)
    or nothing changed (`unchanged`, its generation time aside)."""
    digests, notes = read_period(store, period)
    rollup = roll_up(
        period,
        digests,
        top_n=settings.rollup_top_n,
        lang=settings.lang,
        published_at=settings.publish_datetime(period.end + timedelta(days=1)),
        generated_at=now,
    )
    if rollup is None:
        return RollupResult(period, "empty", len(digests), 0, notes=tuple(notes))
    post = render_rollup_post(rollup, settings).encode("utf-8")
    fresh = rollup.to_json()
    body = digest_json(rollup).encode("utf-8")
    post_key = rollup_post_key(period.id, period.end)
    post_write = update_object(
        store,
        post_key,
        MARKDOWN_TYPE,
        lambda stored: Decision(None, None if stored and stored.body == post else post),
        cache_control=PUBLIC_CACHE_CONTROL,
    )
    json_write = update_object(store, period.key, JSON_TYPE, lambda s: _decide(s, fresh, body))
    written = [post_key] if post_write.written else []
    if json_write.written:
        written.append(period.key)
    status: Status = json_write.value
    if status == "unchanged" and post_write.written:
        status = "updated"
    return RollupResult(
        period, status, len(digests), rollup.papers_in_period, tuple(written), tuple(notes)
    )


def _decide(stored: StoredObject | None, fresh: dict[str, Any], body: bytes) -> Decision[Status]:
    if stored is None:
        return Decision("created", body)
    if same_digest(stored.body, fresh):
        return Decision("unchanged", None)
    return Decision("updated", body)


def scheduled_rollups(
    store: Store,
    days_run: Iterable[date],
    settings: PostSettings,
    now: datetime,
    keep_going: Callable[[], bool] = lambda: True,
) -> list[dict[str, Any]]:
    """After a scheduled run: build the closed periods holding the days it (re)wrote
    (rollup.due_periods), and the latest closed week and month if their roll-up is
    missing (a HEAD each), so a roll-up whose build failed is built by the next run.
    That is at most one week and one month for a scheduled run (its days are three in a
    row). A period starts only while `keep_going()` (the digest function: the invocation
    has time left for what follows; a terminal has no limit); one that does not is
    reported `deferred`, written not at all. Never raises: a failed roll-up is logged and
    reported with status `failed`, and the day's digest stands."""
    days = list(days_run)
    if not days:
        return []
    periods = set(due_periods(days))
    latest = max(days)
    last_week = Period.week_of(latest - timedelta(days=(latest.weekday() + 1) % 7))
    last_month = Period.month_of((latest + timedelta(days=1)).replace(day=1) - timedelta(days=1))
    results = []
    for period in sorted(periods | {last_week, last_month}):
        if not keep_going():
            log.warning("the %s roll-up is deferred: too little time left", period.id)
            results.append({"period": period.id, "status": "deferred"})
            continue
        try:
            if period not in periods and store.head_etag(period.key) is not None:
                continue
            results.append(build_rollup(store, period, settings, now).summary())
        except Exception as exc:  # a roll-up must not fail the day: logged, built again
            log.exception("the %s roll-up failed", period.id)
            failed = {"period": period.id, "status": "failed", "error": type(exc).__name__}
            if isinstance(exc, DigestError):  # ours, one line; another's may quote anything
                failed["message"] = " ".join(str(exc).split())[:300]
            results.append(failed)
    return results
