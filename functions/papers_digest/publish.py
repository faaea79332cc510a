"""Publishing the feeds and the site: the shell that does the feed side's I/O.

A publish reads one digest and the feed index, merges the day in (and any day of the
feed window the index lacks), renders every output from the new index, writes the
index conditionally, then the outputs: the same handful of requests however many
digests the bucket holds. A missing or corrupt index is rebuilt from the digests,
never trusted.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from typing import Any, Literal

from .conditional import MAX_ATTEMPTS, Decision, Update, update_object
from .errors import CorruptObjectError, PreconditionFailed, StoreError
from .feed_index import (
    Index,
    day_entry,
    empty_index,
    index_bytes,
    is_full,
    merge_digest,
    parse_index,
    with_archive_days,
)
from .keys import DIGEST_PREFIX, FEED_INDEX_KEY, day_of_digest_key, digest_key
from .model import Digest
from .outputs import OUTPUTS, assets_version
from .settings import FeedSettings
from .store import JSON_TYPE, PUBLIC_CACHE_CONTROL, Store, StoredObject
from .stored import load_digest, stored_days

log = logging.getLogger(__name__)
REBUILT_NOTE = "index missing or corrupt: rebuilt from the digests"


@dataclass(frozen=True)
class PublishResult:
    status: Literal["published", "unchanged", "rebuilt", "ignored", "held"]
    day: date | None = None
    keys_written: tuple[str, ...] = ()
    index_attempts: int = 0
    notes: tuple[str, ...] = ()

    def summary(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "day": self.day.isoformat() if self.day else None,
            "keys_written": list(self.keys_written),
            "index_attempts": self.index_attempts,
            "notes": list(self.notes),
        }


@dataclass(frozen=True)
class Merged:
    """An index with what was merged into it, and notes on what could not be."""

    index: Index
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class _Plan:
    """What a publish decided from the stored index: the new index, already rendered."""

    index: Index
    rendered: dict[str, tuple[bytes, str]]  # key: (body, content type)
    notes: tuple[str, ...]
    days: tuple[str | None, ...]
    assets: bool  # whether the shipped files are due
    # Days published but older than the index keeps: their entries, for their own pages.
    outside: Mapping[str, Any] = field(default_factory=dict)


def publish_day(
    store: Store, day: date, settings: FeedSettings, sleep: Callable[[float], None] = time.sleep
) -> PublishResult:
    """Merge one day's digest into the feeds, healing days of the window the index lacks."""
    digest = load_digest(store, day)

    def decide(stored: StoredObject | None) -> Decision[_Plan]:
        current = _readable_index(store, stored)
        base = _base(store, current, settings, publishing=day)
        index = merge_digest(base.index, digest, settings)
        plan = _plan(index, base.notes, settings, (day.isoformat(),), current)
        return _decision(current, plan)

    update = _publish(store, settings, decide, sleep)
    status: Literal["published", "unchanged"] = "published" if update.written else "unchanged"
    return PublishResult(status, day, _written(update), update.attempts, update.value.notes)


def publish_days(
    store: Store,
    first: date,
    last: date,
    settings: FeedSettings,
    sleep: Callable[[float], None] = time.sleep,
) -> PublishResult:
    """One publish of every stored day from `first` to `last`, as a backfill ends with:
    the index takes them all (the ones older than its window only in its months), and
    every page of the range is written, day and month, however old. One LIST, a GET per
    day and a PUT per page, instead of a publish per day."""
    days = stored_days(store, first, last)
    digests: list[Digest] = []
    skipped: list[str] = []
    for day in days:
        try:  # the feeds show only the listed papers: the others are not kept in memory
            digests.append(replace(load_digest(store, day), unlisted=()))
        except CorruptObjectError as exc:
            skipped.append(_skipping(day, exc))

    def decide(stored: StoredObject | None) -> Decision[_Plan]:
        current = _readable_index(store, stored)
        base = _base(store, current, settings, publishing=last, loaded=days)
        index = base.index
        for digest in digests:
            index = merge_digest(index, digest, settings)
        outside = {
            digest.day.isoformat(): day_entry(digest)
            for digest in digests
            if digest.day.isoformat() not in index["days"]
        }
        published = tuple(digest.day.isoformat() for digest in reversed(digests)) or (None,)
        notes = tuple(dict.fromkeys((*skipped, *base.notes)))  # a rebuild reads them too
        plan = _plan(index, notes, settings, published, current, outside)
        return _decision(current, plan)

    update = _publish(store, settings, decide, sleep)
    status: Literal["published", "unchanged"] = "published" if update.written else "unchanged"
    return PublishResult(status, None, _written(update), update.attempts, update.value.notes)


def rebuild(
    store: Store, settings: FeedSettings, sleep: Callable[[float], None] = time.sleep
) -> PublishResult:
    """Rebuild the index and every output from the stored digests."""

    def decide(stored: StoredObject | None) -> Decision[_Plan]:
        rebuilt = index_from_digests(store, settings)
        days = tuple(sorted(rebuilt.index["days"], reverse=True)) or (None,)
        plan = _plan(rebuilt.index, rebuilt.notes, settings, days, current=None)
        return _decision(_readable_index(store, stored), plan)

    update = _publish(store, settings, decide, sleep)
    return PublishResult("rebuilt", None, _written(update), update.attempts, update.value.notes)


def index_from_digests(store: Store, settings: FeedSettings) -> Merged:
    """Build the index from the stored digests, newest first, stopping once the feeds are
    full: an older digest could only add days and papers that trimming drops again. So a
    rebuild lists the archive (one request per 1,000 keys) but reads about `max_days`
    digests, however many are stored. What cannot be read is skipped, with a note. The
    months list every day the listing holds: their pages were written when they were
    published."""
    days = sorted(
        (day for key in store.list_keys(DIGEST_PREFIX) if (day := day_of_digest_key(key))),
        reverse=True,
    )
    merged = Merged(empty_index())
    for day in days:
        if is_full(merged.index, settings):
            break
        merged = _merge_stored(store, merged, day, settings)
    archive = with_archive_days(merged.index, [day.isoformat() for day in days])
    return Merged(archive, merged.notes)


def _base(
    store: Store,
    current: Index | None,
    settings: FeedSettings,
    publishing: date,
    loaded: Collection[date] = (),
) -> Merged:
    """What a publish merges into: the stored index, healed, or one rebuilt from the
    digests when it is missing or corrupt."""
    if current is None:
        rebuilt = index_from_digests(store, settings)
        return Merged(rebuilt.index, (REBUILT_NOTE, *rebuilt.notes))
    return _heal(store, current, settings, publishing, loaded)


def _heal(
    store: Store,
    index: Index,
    settings: FeedSettings,
    publishing: date,
    loaded: Collection[date] = (),
) -> Merged:
    """Merge the days of the feed window that have a digest but are not in the index:
    a day whose own publish failed for good comes back with the next publish. One LIST
    from the window's start (the oldest day the index keeps once full, or twice
    `max_days` calendar days back), and a GET only for a day that is missing (and not
    among the days being published, `publishing` and `loaded`)."""
    held = sorted(index["days"])
    if is_full(index, settings):
        start = date.fromisoformat(held[0])
    else:
        start = max([publishing, *map(date.fromisoformat, held)]) - timedelta(
            days=2 * settings.max_days
        )
    missing = [
        day
        for key in store.list_keys(DIGEST_PREFIX, start_after=digest_key(start))
        if (day := day_of_digest_key(key))
        and day != publishing
        and day not in loaded
        and str(day) not in held
    ]
    merged = Merged(index)
    for day in missing:
        healed = f"healed: {digest_key(day)} was missing from the feeds"
        merged = _merge_stored(store, merged, day, settings, note=healed)
    return merged


def _merge_stored(
    store: Store, merged: Merged, day: date, settings: FeedSettings, note: str | None = None
) -> Merged:
    """`merged` with the stored digest of `day` (and `note`, if any), or with a note
    saying why it was skipped when it cannot be read."""
    try:
        digest = load_digest(store, day)
    except CorruptObjectError as exc:  # S3 failing is not a reason to drop a day: raise
        return Merged(merged.index, (*merged.notes, _skipping(day, exc)))
    notes = (*merged.notes, note) if note else merged.notes
    return Merged(merge_digest(merged.index, digest, settings), notes)


def _skipping(day: date, exc: CorruptObjectError) -> str:
    """Log that the digest of `day` is skipped, and say so in a note."""
    log.warning("skipping a digest: %s", exc)
    return f"skipped {digest_key(day)}: {exc}"


def _readable_index(store: Store, stored: StoredObject | None) -> Index | None:
    if stored is None:
        return None
    try:
        return parse_index(stored.body)
    except ValueError as exc:
        log.warning("%s: %s; rebuilding it", store.describe(FEED_INDEX_KEY), exc)
        return None


def _plan(
    index: Index,
    notes: tuple[str, ...],
    settings: FeedSettings,
    days: tuple[str | None, ...],
    current: Index | None,
    outside: Mapping[str, Any] | None = None,
) -> _Plan:
    """Render every output for `days` before the index is written: an index the
    renderers cannot take never lands. The shipped files go out when the stored index
    (`current`) does not record this version of them. A day `outside` the index gets
    the outputs that need the day in the index (its page) from a copy that holds it."""
    assets = current is None or current.get("assets") != assets_version()
    index = {**index, "assets": assets_version()}
    rendered: dict[str, tuple[bytes, str]] = {}
    for day in days:
        for output in OUTPUTS:
            key = output.key(index, day)
            if key is not None and key not in rendered and (assets or output.asset is None):
                rendered[key] = (output.render(index, settings, day), output.content_type)
    for day, entry in (outside or {}).items():
        view = {**index, "days": {day: entry}}
        for output in OUTPUTS:
            key = output.key(view, day)
            if key is not None and output.key(index, day) is None and key not in rendered:
                rendered[key] = (output.render(view, settings, day), output.content_type)
    return _Plan(index, rendered, notes, days, assets, dict(outside or {}))


def _decision(current: Index | None, plan: _Plan) -> Decision[_Plan]:
    """Write the new index unless the stored one (`current`, None when missing or
    corrupt) already says the same."""
    return Decision(plan, None if current == plan.index else index_bytes(plan.index))


def _publish(
    store: Store,
    settings: FeedSettings,
    decide: Callable[[StoredObject | None], Decision[_Plan]],
    sleep: Callable[[float], None],
) -> Update[_Plan]:
    """Update the index, then write the outputs rendered from it. After writing, make
    sure no newer index landed meanwhile; if one did, render from it again, so the
    newest index always has the last word."""
    update = update_object(store, FEED_INDEX_KEY, JSON_TYPE, decide, sleep=sleep)
    plan, etag = update.value, update.etag
    for _ in range(MAX_ATTEMPTS):
        for key, (body, content_type) in plan.rendered.items():
            store.put(key, body, content_type, cache_control=PUBLIC_CACHE_CONTROL)
        if store.head_etag(FEED_INDEX_KEY) == etag:
            return replace(update, value=plan)
        newer = store.get(FEED_INDEX_KEY)
        index = _readable_index(store, newer)
        if newer is None or index is None:
            raise StoreError(
                f"{store.describe(FEED_INDEX_KEY)} vanished or broke while publishing; "
                'publish again or send {"rebuild": true}'
            )
        plan = _plan(index, plan.notes, settings, plan.days, index, plan.outside)
        etag = newer.etag
    raise PreconditionFailed(
        f"{store.describe(FEED_INDEX_KEY)} kept changing while publishing; another publisher "
        "is busy, the event will be retried"
    )


def _written(update: Update[_Plan]) -> tuple[str, ...]:
    return ((FEED_INDEX_KEY,) if update.written else ()) + tuple(update.value.rendered)
