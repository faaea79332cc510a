"""The day a run publishes: parsed and checked once, at the edge."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from .errors import InvalidDayError

# The first day Hugging Face published Daily Papers.
FIRST_DAILY_PAPERS_DAY = date(2023, 5, 4)


def parse_day(text: object) -> date:
    """Parse a strict YYYY-MM-DD string, naming the bad value when it is not one."""
    if not isinstance(text, str) or len(text) != 10 or text[4] != "-" or text[7] != "-":
        raise InvalidDayError(f"invalid date {_quoted(text)}: expected YYYY-MM-DD, e.g. 2026-01-28")
    try:
        return date.fromisoformat(text)
    except ValueError as exc:
        raise InvalidDayError(f"invalid date {text!r}: {exc}") from None


def _quoted(value: object) -> str:
    """A bad value as an error names it: a string cut to 40 characters, a number as it
    is, anything else (a list, an object nested any depth) by its type alone."""
    if isinstance(value, str):
        return repr(value[:40]) + ("..." if len(value) > 40 else "")
    if isinstance(value, int | float) or value is None:
        return repr(value)
    return f"a JSON {type(value).__name__}"


def parse_timestamp(text: str) -> datetime:
    """Parse an ISO 8601 timestamp such as EventBridge's `2026-01-29T00:15:00Z`."""
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except (AttributeError, ValueError):
        raise InvalidDayError(
            f"invalid timestamp {text!r}: expected ISO 8601, e.g. 2026-01-29T00:15:00Z"
        ) from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def last_complete_day(at: datetime) -> date:
    """The last UTC day that had ended at `at`."""
    return at.astimezone(UTC).date() - timedelta(days=1)


def check_publishable(day: date, now: datetime) -> date:
    """Refuse a day that has not ended yet (UTC) or predates Daily Papers."""
    today = now.astimezone(UTC).date()
    if day >= today:
        raise InvalidDayError(
            f"day {day.isoformat()} has not ended yet (UTC today is {today.isoformat()}); "
            f"the latest complete day is {(today - timedelta(days=1)).isoformat()}"
        )
    if day < FIRST_DAILY_PAPERS_DAY:
        raise InvalidDayError(
            f"day {day.isoformat()} is before Hugging Face Daily Papers began "
            f"({FIRST_DAILY_PAPERS_DAY.isoformat()}); choose a day from then on"
        )
    return day
