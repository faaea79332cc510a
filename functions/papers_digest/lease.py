"""The backfill lease: while a backfill holds it, the feed function leaves the digests of
its days alone, and the backfill publishes them once at its end.

One small object, `state/backfill.json`. A lease lasts at most MAX_LEASE and is renewed as
the backfill goes, so a backfill that dies stops holding the feeds within MAX_LEASE; one
that is unreadable, or claims to last longer than MAX_LEASE, holds nothing.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from . import checks
from .conditional import Decision, update_object
from .keys import LEASE_KEY
from .store import JSON_TYPE, Store, StoredObject

log = logging.getLogger(__name__)
MAX_LEASE = timedelta(minutes=30)


@dataclass(frozen=True)
class Lease:
    first: date
    last: date
    owner: str
    until: datetime

    def covers(self, day: date, now: datetime) -> bool:
        return self.first <= day <= self.last and now < self.until <= now + MAX_LEASE

    def to_bytes(self) -> bytes:
        body = {
            "from": self.first.isoformat(),
            "to": self.last.isoformat(),
            "owner": self.owner,
            "until": self.until.isoformat(),
        }
        return (json.dumps(body, sort_keys=True) + "\n").encode()


def hold(store: Store, first: date, last: date, owner: str, until: datetime) -> None:
    """Hold (or renew) the lease on the days `first`..`last` until `until`, which must be
    within MAX_LEASE. A lease another backfill holds is taken over: both publish at their
    end, and a day either wrote is in the feeds after the last of them."""
    lease = Lease(first, last, owner, until)
    store.put(LEASE_KEY, lease.to_bytes(), JSON_TYPE)


def release(store: Store, owner: str, now: datetime) -> None:
    """End `owner`'s lease; one another backfill holds now stays."""

    def decide(stored: StoredObject | None) -> Decision[None]:
        lease = _parse(stored.body) if stored is not None else None
        if lease is None or lease.owner != owner:
            return Decision(None, None)
        return Decision(None, Lease(lease.first, lease.last, owner, now).to_bytes())

    update_object(store, LEASE_KEY, JSON_TYPE, decide)


def holding(store: Store, day: date, now: datetime) -> Lease | None:
    """The lease that holds `day` at `now`, if any."""
    stored = store.get(LEASE_KEY)
    lease = _parse(stored.body) if stored is not None else None
    return lease if lease is not None and lease.covers(day, now) else None


def _parse(body: bytes) -> Lease | None:
    try:
        data = json.loads(body)
        lease = Lease(
            checks.day(data["from"], "from"),
            checks.day(data["to"], "to"),
            checks.text(data["owner"], "owner"),
            checks.aware_datetime(data["until"], "until"),
        )
    except (UnicodeDecodeError, RecursionError, ValueError, TypeError, KeyError) as exc:
        log.warning("%s is unreadable (%s); it holds nothing", LEASE_KEY, exc)
        return None
    return lease
