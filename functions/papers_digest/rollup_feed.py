"""Publishing `rollups.xml`, the roll-ups' own feed: the feed side's shell for them.

A publish LISTs `digests/weekly/` and `digests/monthly/`, GETs the newest MAX_ROLLUPS
roll-ups (by the period's end), renders the feed and PUTs it, then LISTs both again: when
a roll-up landed meanwhile (its own publish may have read the listing before this one),
it renders again, so the last publisher writes the newest listing. So 2 LISTs, at most
20 GETs, 1 PUT and 2 LISTs: 25 requests, whatever the bucket holds (a LIST page is 1,000
keys: 19 years of weeks)."""

from __future__ import annotations

import json
import logging
from dataclasses import replace

from .errors import PreconditionFailed
from .keys import MONTHLY_PREFIX, ROLLUPS_FEED_KEY, WEEKLY_PREFIX, period_of_rollup_key
from .publish import PublishResult, rebuild
from .rollup import Period, Rollup
from .rss import render_rollups_feed
from .settings import FeedSettings
from .store import PUBLIC_CACHE_CONTROL, RSS_TYPE, Store

log = logging.getLogger(__name__)
MAX_ROLLUPS = 20  # items in rollups.xml: five months of weeks and months
MAX_ATTEMPTS = 4


def newest_rollups(store: Store) -> list[Period]:
    """The newest MAX_ROLLUPS periods that have a roll-up, newest first."""
    periods = set()
    for prefix in (WEEKLY_PREFIX, MONTHLY_PREFIX):
        for key in store.list_keys(prefix):
            try:
                period = Period.parse(period_of_rollup_key(key))
            except ValueError:  # not a roll-up's key
                continue
            if period.key == key:
                periods.add(period)
    return sorted(periods, key=lambda p: (p.end, p.kind), reverse=True)[:MAX_ROLLUPS]


def read_rollup(store: Store, period: Period) -> Rollup:
    """A stored roll-up, checked through and through; ValueError when it cannot be read."""
    found = store.get(period.key)
    if found is None:
        raise ValueError("it is gone")
    try:
        rollup = Rollup.from_json(json.loads(found.body))
    except (UnicodeDecodeError, RecursionError) as exc:
        raise ValueError(f"not JSON text ({type(exc).__name__})") from None
    if rollup.period != period:
        raise ValueError(f"it holds the roll-up of {rollup.period.id}")
    return rollup


def rebuild_all(store: Store, settings: FeedSettings) -> PublishResult:
    """A rebuild of everything the feed side writes: the index and its outputs
    (publish.rebuild), then rollups.xml, so a changed SITE_URL or title reaches all."""
    rebuilt, rollups = rebuild(store, settings), publish_rollups(store, settings)
    return replace(
        rebuilt,
        keys_written=(*rebuilt.keys_written, *rollups.keys_written),
        notes=(*rebuilt.notes, *rollups.notes),
    )


def publish_rollups(store: Store, settings: FeedSettings) -> PublishResult:
    """Render `rollups.xml` from the newest roll-ups and write it. A roll-up that cannot
    be read is left out with a warning and a note; a failing store raises."""
    for _ in range(MAX_ATTEMPTS):
        periods = newest_rollups(store)
        rollups, notes = [], []
        for period in periods:
            try:
                rollups.append(read_rollup(store, period))
            except ValueError as exc:
                note = f"skipped {store.describe(period.key)}: {' '.join(str(exc).split())}"
                log.warning("%s; build it again with `papers-digest rollup`", note)
                notes.append(note)
        body = render_rollups_feed(rollups, settings)
        store.put(ROLLUPS_FEED_KEY, body, RSS_TYPE, cache_control=PUBLIC_CACHE_CONTROL)
        if newest_rollups(store) == periods:
            return PublishResult("published", None, (ROLLUPS_FEED_KEY,), 0, tuple(notes))
    raise PreconditionFailed(
        f"the roll-ups kept changing while {ROLLUPS_FEED_KEY} was published; the event will "
        "be retried"
    )
