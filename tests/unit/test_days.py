from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pytest

from papers_digest.days import check_publishable, parse_day
from papers_digest.errors import InvalidDayError, InvalidEventError
from papers_digest.events import day_from_schedule_event

NOW = datetime(2026, 11, 29, 0, 15, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("2026-02-30", "invalid date '2026-02-30': day is out of range for month"),
        ("2026-13-01", "invalid date '2026-13-01': month must be in 1..12"),
        ("28/01/2026", "invalid date '28/01/2026': expected YYYY-MM-DD"),
        ("2026-1-28", "expected YYYY-MM-DD"),
        ("", "expected YYYY-MM-DD"),
    ],
)
def test_bad_dates_name_the_value(text: str, message: str) -> None:
    with pytest.raises(InvalidDayError, match=message):
        parse_day(text)


@pytest.mark.parametrize(
    ("day", "message"),
    [
        (date(2026, 11, 29), "has not ended yet .UTC today is 2026-11-29.; the latest complete"),
        (date(2027, 1, 1), "has not ended yet"),
        (date(2023, 5, 3), "before Hugging Face Daily Papers began .2023-05-04."),
    ],
)
def test_unpublishable_days_are_refused(day: date, message: str) -> None:
    with pytest.raises(InvalidDayError, match=message):
        check_publishable(day, NOW)


@pytest.mark.parametrize(
    ("event", "expected"),
    [
        ({"scheduled_time": "2026-11-29T00:15:00Z"}, date(2026, 11, 28)),
        ({"scheduled_time": "2026-11-28T23:59:59+00:00"}, date(2026, 11, 27)),
        (
            {
                "detail-type": "Scheduled Event",
                "source": "aws.events",
                "time": "2026-11-29T00:15:00Z",
            },
            date(2026, 11, 28),
        ),
        ({"date": "2026-01-28"}, date(2026, 1, 28)),
    ],
)
def test_event_shapes_give_the_day(event: dict[str, Any], expected: date) -> None:
    assert day_from_schedule_event(event, NOW) == expected


@pytest.mark.parametrize(
    ("event", "message"),
    [
        ({}, "event has none of `date`, `scheduled_time`"),
        ({"detail-type": "Scheduled Event"}, "event has none of"),
        ({"scheduled_time": "yesterday"}, "invalid timestamp 'yesterday'"),
        ({"date": "2026-02-30"}, "invalid date '2026-02-30'"),
        ({"date": 20260128}, "invalid date 20260128"),
        (["2026-01-28"], "event is a list, expected a JSON object"),
    ],
)
def test_malformed_events_are_refused(event: Any, message: str) -> None:
    with pytest.raises(InvalidEventError, match=message):
        day_from_schedule_event(event, NOW)


def test_future_day_in_event_is_refused() -> None:
    with pytest.raises(InvalidEventError, match="event: day 2026-11-29 has not ended yet"):
        day_from_schedule_event({"date": "2026-11-29"}, NOW)
