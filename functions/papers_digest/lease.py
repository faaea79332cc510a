"""The backfill lease: while a backfill holds it, the feed function leaves the digests of
its days alone, and the backfill publishes them once at its end.

One small object, `state/backfill.json`, written conditionally. A lease lasts at most
MAX_LEASE and is renewed as the backfill goes, so a backfill that dies stops holding the
feeds within MAX_LEASE; one that is unreadable, or claims to last longer than MAX_LEASE,
holds nothing. One backfill at a time: another's live lease is not taken over (the two
would share no rate limit, and take the feeds from each other's days).

The lease also numbers the backfill's Lambda invocations (`hop`): an invocation records its
hand-over to the next (`hand_over`), so a repeated delivery of an invocation that already
handed over (Lambda's asynchronous invocations are at least once, and retried on error)
finds a later hop in the lease and does nothing, rather than starting a second chain. The
hand-over has two phases: `hand_over` records the next hop as not `started`, and that hop
marks it started when it takes the lease; a repeated delivery of a hop whose successor is
recorded but never started (the hop was killed between the record and the invoke) takes
the lease back and runs again, so the chain does not stop silently. And
the backfill that reached its end marks its released lease `done`, so that a repeated
delivery of its last invocation does nothing either (no second run, no second roll-ups).
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from . import checks
from .conditional import Decision, update_object
from .errors import DigestError
from .keys import LEASE_KEY
from .store import JSON_TYPE, Store, StoredObject

log = logging.getLogger(__name__)
MAX_LEASE = timedelta(minutes=30)
# The longest lease taken: MAX_LEASE less a margin, so that a reader whose clock is up to
# two minutes behind the writer's still finds it live (`until <= now + MAX_LEASE`).
LEASE_LENGTH = MAX_LEASE - timedelta(minutes=2)


MAX_HOP = 1000  # a lease naming a later invocation is unreadable


class LeaseHeld(DigestError):
    """Another backfill holds the lease: one line, naming it and when it ends."""


@dataclass(frozen=True)
class Lease:
    first: date
    last: date
    owner: str
    until: datetime
    hop: int = 1  # the owner's invocation that holds it (the CLI's: 1)
    done: bool = False  # released by the invocation that finished the backfill
    started: bool = True  # False: handed to `hop`, which has not taken it yet

    def live(self, now: datetime) -> bool:
        return now < self.until <= now + MAX_LEASE

    def covers(self, day: date, now: datetime) -> bool:
        return self.first <= day <= self.last and self.live(now)

    def to_bytes(self) -> bytes:
        body = {
            "from": self.first.isoformat(),
            "to": self.last.isoformat(),
            "owner": self.owner,
            "until": self.until.isoformat(),
            "hop": self.hop,
            **({"done": True} if self.done else {}),
            **({"started": False} if not self.started else {}),
        }
        return (json.dumps(body, sort_keys=True) + "\n").encode()


def take(
    store: Store,
    first: date,
    last: date,
    owner: str,
    until: datetime,
    *,
    now: datetime,
    hop: int = 1,
) -> str | None:
    """Hold (or renew) the lease on the days `first`..`last` until `until` (at most
    LEASE_LENGTH from `now`), for the owner's invocation `hop`: None when held. Why not, writing
    nothing, when the lease names a later hop of the same owner ("handed over already":
    a repeated delivery of this invocation) or the owner finished ("finished already").
    Raises LeaseHeld when another backfill's lease is live."""

    until = min(until, now + LEASE_LENGTH)

    def decide(stored: StoredObject | None) -> Decision[str | None]:
        held = _parse(stored.body) if stored is not None else None
        if held is not None and held.owner != owner and held.live(now):
            raise LeaseHeld(
                f"backfill {held.owner} holds the feeds of {held.first}..{held.last} until "
                f"{held.until.isoformat(timespec='seconds')}; one backfill at a time: run "
                "this one again once it has ended"
            )
        if held is not None and held.owner == owner and held.done:
            return Decision("finished already", None)
        if held is not None and held.owner == owner and held.hop > hop:
            if held.hop > hop + 1 or held.started:
                return Decision("handed over already", None)
            log.warning(
                "backfill %s: invocation %d was handed over to but never started; "
                "invocation %d runs again and hands over again", owner, held.hop, hop
            )  # fmt: skip
        return Decision(None, Lease(first, last, owner, until, hop).to_bytes())

    return update_object(store, LEASE_KEY, JSON_TYPE, decide).value


def hand_over(store: Store, owner: str, hop: int) -> bool:
    """Record that invocation `hop` hands the backfill to `hop + 1`: True once, False
    (writing nothing) when the lease already names a later hop, so only one invocation
    of a hop ever invokes the next. Raises LeaseHeld when another backfill holds it."""

    def decide(stored: StoredObject | None) -> Decision[bool]:
        held = _parse(stored.body) if stored is not None else None
        if held is None or held.owner != owner:
            raise LeaseHeld(
                f"the lease of backfill {owner} is gone"
                + (f" (backfill {held.owner} holds it)" if held is not None else "")
                + f"; invocation {hop} does not hand over"
            )
        if held.hop > hop:
            return Decision(False, None)
        handed = Lease(held.first, held.last, owner, held.until, hop + 1, started=False)
        return Decision(True, handed.to_bytes())

    return update_object(store, LEASE_KEY, JSON_TYPE, decide).value


def take_back(store: Store, owner: str, hop: int) -> None:
    """Undo `hand_over` (the next invocation could not be asked for), so that Lambda's
    retry of invocation `hop` hands over again rather than finding it done."""

    def decide(stored: StoredObject | None) -> Decision[None]:
        held = _parse(stored.body) if stored is not None else None
        if held is None or held.owner != owner or held.hop != hop + 1:
            return Decision(None, None)
        return Decision(None, Lease(held.first, held.last, owner, held.until, hop).to_bytes())

    update_object(store, LEASE_KEY, JSON_TYPE, decide)


def release(store: Store, owner: str, now: datetime, *, done: bool = False) -> None:
    """End `owner`'s lease; one another backfill holds now stays. `done`: the backfill
    reached its end, and a repeated delivery of its invocations takes the lease no more."""

    def decide(stored: StoredObject | None) -> Decision[None]:
        lease = _parse(stored.body) if stored is not None else None
        if lease is None or lease.owner != owner:
            return Decision(None, None)
        ended = Lease(lease.first, lease.last, owner, now, lease.hop, done or lease.done)
        return Decision(None, ended.to_bytes())

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
            data.get("hop", 1),
            data.get("done", False),
            data.get("started", True),
        )
        if type(lease.done) is not bool or type(lease.started) is not bool:
            raise ValueError("done or started is not true or false")
        if type(lease.hop) is not int or not 1 <= lease.hop <= MAX_HOP:
            raise ValueError(f"hop is not an invocation number from 1 to {MAX_HOP}")
    except (UnicodeDecodeError, RecursionError, ValueError, TypeError, KeyError) as exc:
        log.warning("%s is unreadable (%s); it holds nothing", LEASE_KEY, exc)
        return None
    return lease
