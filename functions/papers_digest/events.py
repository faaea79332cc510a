"""What a Lambda event asks for, parsed once and checked, with messages that name the problem."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.utilities.data_classes import S3EventBridgeNotificationEvent

from .days import (
    FIRST_DAILY_PAPERS_DAY,
    check_publishable,
    last_complete_day,
    parse_day,
    parse_timestamp,
)
from .errors import InvalidDayError, InvalidEventError
from .keys import day_of_digest_key, period_of_rollup_key
from .rollup import Period, check_closed

if TYPE_CHECKING:  # the feed function, which reads events too, never imports the pipeline
    from .backfill import Tally


def day_from_schedule_event(event: Any, now: datetime) -> date:
    """The day a digest run publishes.

    - `{"date": "YYYY-MM-DD"}`: that day, once it has ended (UTC).
    - `{"scheduled_time": "..."}` (the stack's EventBridge Scheduler input) or the
      classic `Scheduled Event` of a user's own EventBridge rule, with its `time`: the
      last complete UTC day at that time.
    """
    _require_object(event)
    try:
        if "date" in event:
            day = parse_day(event["date"])
        elif "scheduled_time" in event:
            day = last_complete_day(parse_timestamp(event["scheduled_time"]))
        elif event.get("detail-type") == "Scheduled Event" and "time" in event:
            day = last_complete_day(parse_timestamp(event["time"]))
        else:
            raise InvalidEventError(
                f"event has none of `date`, `scheduled_time`, or a Scheduled Event `time` "
                f'(keys: {sorted(event)[:8]}); send {{"date": "YYYY-MM-DD"}} for a chosen day'
            )
        return check_publishable(day, now)
    except InvalidDayError as exc:
        raise InvalidEventError(f"event: {exc}") from None


_BACKFILL_ID = re.compile(r"[A-Za-z0-9-]{1,64}")
_BACKFILL_KEYS = frozenset({"from", "to", "refetch", "summaries", "backfill"})
_STATE_KEYS = frozenset({"id", "hop", "origin", "tally", "paused_until", "failing"})


@dataclass(frozen=True)
class BackfillRequest:
    """`{"from": "D1", "to": "D2"}` (`to`: the last complete day when left out; optional
    `"refetch": true`, `"summaries": true`), and on a continuation the backfill's state:
    `"backfill": {"id", "hop", "origin", "tally"}`."""

    first: date
    last: date
    refetch: bool = False
    summaries: bool = False
    backfill_id: str | None = None  # None: a new backfill
    hop: int = 1
    origin: date | None = None  # the backfill's first day, where the lease starts
    tally: Tally | None = None
    paused_until: float | None = None  # the API's pause (wall-clock epoch seconds)
    failing: tuple[date, ...] = ()  # the days the API failed in a row before `first`


def backfill_request(event: Any, now: datetime) -> BackfillRequest | None:
    """The backfill an event asks for, or None when it asks for none (no `from`)."""
    from .backfill import MAX_HOPS, Tally

    _require_object(event)
    if "from" not in event:
        return None
    _refuse_unknown(event, _BACKFILL_KEYS, "a backfill event")
    try:
        first = check_publishable(parse_day(event["from"]), now)
        last = last_complete_day(now)
        if "to" in event:
            last = check_publishable(parse_day(event["to"]), now)
    except InvalidDayError as exc:
        raise InvalidEventError(f"event: {exc}") from None
    if first > last:
        raise InvalidEventError(f"event: `from` {first} is after `to` {last}")
    flags = {}
    for name in ("refetch", "summaries"):
        flags[name] = event.get(name, False)
        if not isinstance(flags[name], bool):
            raise InvalidEventError(f"event: `{name}` is {flags[name]!r}, expected true or false")
    state = event.get("backfill")
    if state is None:
        return BackfillRequest(first, last, **flags)
    if isinstance(state, Mapping):
        _refuse_unknown(state, _STATE_KEYS, "`backfill`")
    try:
        if not isinstance(state, Mapping):
            raise ValueError("`backfill` is not an object")
        backfill_id, hop = state.get("id"), state.get("hop")
        if not isinstance(backfill_id, str) or not _BACKFILL_ID.fullmatch(backfill_id):
            raise ValueError("`backfill.id` is not an id of letters, digits and dashes")
        if type(hop) is not int or not 2 <= hop <= MAX_HOPS + 1:
            raise ValueError(f"`backfill.hop` is not a hop number from 2 to {MAX_HOPS + 1}")
        origin = check_publishable(parse_day(state.get("origin")), now)
        if origin > first:
            raise ValueError("`backfill.origin` is after `from`")
        tally = Tally.from_json(state.get("tally"))
        paused_until = _paused_until(state.get("paused_until"), now)
        failing = _failing(state.get("failing", []), origin, first)
    except (ValueError, InvalidDayError) as exc:
        raise InvalidEventError(f"event: {exc}") from None
    return BackfillRequest(first, last, **flags, backfill_id=backfill_id, hop=hop,
                           origin=origin, tally=tally, paused_until=paused_until,
                           failing=failing)  # fmt: skip


def _paused_until(value: Any, now: datetime) -> float | None:
    """A pause carried from the invocation before: an epoch time, at most MAX_PAUSE ahead."""
    from .ratelimit import MAX_PAUSE

    if value is None:
        return None
    if type(value) not in (int, float) or not math.isfinite(value) or value < 0:
        raise ValueError("`backfill.paused_until` is not a time in epoch seconds")
    return float(min(value, now.timestamp() + MAX_PAUSE))


def _failing(value: Any, origin: date, first: date) -> tuple[date, ...]:
    """The breaker's streak carried from the invocation before: days of the range before
    `first`, at most BREAKER_DAYS of them."""
    from .backfill import BREAKER_DAYS

    if not isinstance(value, list) or len(value) > BREAKER_DAYS:
        raise ValueError(f"`backfill.failing` is not a list of at most {BREAKER_DAYS} days")
    days = tuple(sorted({parse_day(day) for day in value}))
    if days and not origin <= days[0] <= days[-1] < first:
        raise ValueError("`backfill.failing` names a day outside the range done")
    return days


def rollup_from_event(event: Any, now: datetime) -> Period | None:
    """`{"rollup": "2026-W31"}` or `{"rollup": "2026-07"}`: that ISO week or month, once
    it is over (UTC); None for an event that is not a roll-up's."""
    if not isinstance(event, Mapping) or "rollup" not in event:
        return None
    if set(event) != {"rollup"}:
        raise InvalidEventError(
            f'a roll-up event is {{"rollup": "YYYY-Www"}} or {{"rollup": "YYYY-MM"}} alone '
            f"(keys: {sorted(map(str, event))[:8]})"
        )
    try:
        return check_closed(Period.parse(event["rollup"], "rollup"), now)
    except (ValueError, InvalidDayError) as exc:
        raise InvalidEventError(f"event: {exc}") from None


@dataclass(frozen=True)
class FeedRequest:
    """What a feed event asks for: a rebuild, one day's digest, the days `first` to
    `last` at once (a backfill's end), the roll-ups' feed (a weekly or monthly roll-up
    landed), or nothing (`ignored`: the object that landed is neither)."""

    rebuild: bool = False
    day: date | None = None
    ignored: str | None = None
    rollups: bool = False
    first: date | None = None
    last: date | None = None


def feed_request(event: Any, bucket: str) -> FeedRequest:
    """`{"rebuild": true}`, `{"publish": {"from": D1, "to": D2}}` (what a backfill sends
    at its end), or the EventBridge `Object Created` event the stack's rule sends for the
    bucket. Another bucket's event is an error: the rule is wrong."""
    _require_object(event)
    if event.get("rebuild") is True:
        return FeedRequest(rebuild=True)
    if "publish" in event:
        first, last = day_range(event["publish"], "publish")
        return FeedRequest(first=first, last=last)
    if event.get("detail-type") != "Object Created":
        raise InvalidEventError(
            f'event is neither an S3 Object Created event nor {{"rebuild": true}} '
            f'(keys: {sorted(event)[:8]}); send {{"rebuild": true}} to rebuild the feeds'
        )
    created = S3EventBridgeNotificationEvent(event)
    try:
        event_bucket, key = created.detail.bucket.name, created.detail.object.key
    except (KeyError, TypeError, AttributeError):
        raise InvalidEventError(
            "Object Created event lacks detail.bucket.name or detail.object.key; "
            "send S3 events through an EventBridge rule as template.yaml does"
        ) from None
    if event_bucket != bucket:
        raise InvalidEventError(
            f"event names bucket {event_bucket!r}, but this function publishes "
            f"{bucket!r}; check the EventBridge rule"
        )
    day = day_of_digest_key(key)
    if day is not None:
        return FeedRequest(day=day)
    try:
        Period.parse(period_of_rollup_key(key))
        return FeedRequest(rollups=True)
    except ValueError:  # not a roll-up's key, or no real week or month
        return FeedRequest(ignored=key)


def day_range(value: Any, where: str) -> tuple[date, date]:
    """`{"from": "YYYY-MM-DD", "to": "YYYY-MM-DD"}`, in order."""
    if not isinstance(value, Mapping) or not {"from", "to"} <= value.keys():
        raise InvalidEventError(f'event: {where} must be {{"from": "YYYY-MM-DD", "to": ...}}')
    try:
        first, last = parse_day(value["from"]), parse_day(value["to"])
    except InvalidDayError as exc:
        raise InvalidEventError(f"event: {where}: {exc}") from None
    if first < FIRST_DAILY_PAPERS_DAY:  # nothing older is stored (and 0001-01-01 - 1 day fails)
        raise InvalidEventError(
            f"event: {where}: from {first} is before Hugging Face Daily Papers began "
            f"({FIRST_DAILY_PAPERS_DAY})"
        )
    if first > last:
        raise InvalidEventError(f"event: {where}: from {first} is after to {last}")
    return first, last


def _refuse_unknown(event: Mapping[Any, Any], known: frozenset[str], what: str) -> None:
    """A key the event should not hold (a typo such as `refetc` would otherwise be
    dropped in silence): one line naming the first few, and the keys it takes."""
    unknown = sorted(str(key)[:24] for key in event if key not in known)
    if unknown:
        raise InvalidEventError(
            f"event: {what} has unknown keys {unknown[:3]}; it takes {sorted(known)}"
        )


def _require_object(event: Any) -> None:
    if not isinstance(event, Mapping):
        raise InvalidEventError(f"event is a {type(event).__name__}, expected a JSON object")
