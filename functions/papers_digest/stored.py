"""The stored digests, read back: which days a store holds, and one day's digest checked
through and through. Shared by the feed side, the roll-ups and the backfill."""

from __future__ import annotations

import json
from datetime import date, timedelta

from .errors import CorruptObjectError, StoreError
from .keys import DIGEST_PREFIX, day_of_digest_key, digest_key
from .model import Digest
from .store import Store


def stored_days(store: Store, first: date, last: date) -> list[date]:
    """The days from `first` to `last` that have a digest, oldest first: one LIST from
    `first` (a request per 1,000 keys), stopped past `last`."""
    last_key = digest_key(last)
    days = []
    for key in store.list_keys(DIGEST_PREFIX, start_after=digest_key(first - timedelta(days=1))):
        if key > last_key:
            break
        if (day := day_of_digest_key(key)) is not None:
            days.append(day)
    return days


def load_digest(store: Store, day: date) -> Digest:
    """The stored digest of `day`, checked through and through."""
    key = digest_key(day)
    found = store.get(key)
    if found is None:
        raise StoreError(
            f"no digest at {store.describe(key)}; run `papers-digest run --date {day}`"
        )
    try:
        digest = Digest.from_json(json.loads(found.body))
    except (UnicodeDecodeError, RecursionError, ValueError) as exc:
        raise CorruptObjectError(
            f"{store.describe(key)} is not a readable digest ({exc}); rewrite it with "
            f"`papers-digest run --date {day}`"
        ) from None
    if digest.day != day:
        raise CorruptObjectError(
            f"{store.describe(key)} holds the digest of {digest.day}, not {day}; rewrite it "
            f"with `papers-digest run --date {day}`"
        )
    return digest
