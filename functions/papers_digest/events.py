"""What a Lambda event asks for, parsed once and checked, with messages that name the problem."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

from .days import check_publishable, last_complete_day, parse_day, parse_timestamp
from .errors import InvalidDayError, InvalidEventError


def day_from_schedule_event(event: Any, now: datetime) -> date:
    """The day a digest run publishes.

    - `{"date": "YYYY-MM-DD"}`: that day, once it has ended (UTC).
    - `{"scheduled_time": "..."}` (EventBridge Scheduler input) or the classic
      `Scheduled Event` with its `time`: the last complete UTC day at that time.
    """
    if not isinstance(event, Mapping):
        raise InvalidEventError(f"event is a {type(event).__name__}, expected a JSON object")
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
    except InvalidDayError as exc:
        raise InvalidEventError(f"event: {exc}") from None
    return check_publishable(day, now)
