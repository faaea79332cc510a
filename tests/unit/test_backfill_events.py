"""The backfill event, and the continuation a backfill hands itself, read as hostile input."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from papers_digest.backfill import (
    BREAKER_DAYS,
    LISTED_ERROR,
    MAX_FAILED_LISTED,
    MAX_HOPS,
    DayOutcome,
    Tally,
    continuation,
)
from papers_digest.errors import InvalidEventError
from papers_digest.events import backfill_request
from papers_digest.ratelimit import MAX_PAUSE

NOW = datetime(2026, 8, 1, 0, 15, tzinfo=UTC)
STATE = {"id": "b-1", "hop": 2, "origin": "2026-07-01", "tally": {}}
NESTED: list[Any] = []  # a list nested 5,000 deep (its repr would pass the recursion limit)
for _ in range(5_000):
    NESTED = [NESTED]


def test_a_plain_range_and_its_defaults() -> None:
    request = backfill_request({"from": "2026-07-01"}, NOW)
    assert request is not None
    assert (request.first, request.last) == (date(2026, 7, 1), date(2026, 7, 31))
    assert (request.refetch, request.summaries, request.backfill_id, request.hop) == (
        False, False, None, 1,
    )  # fmt: skip


def test_other_events_are_not_backfills() -> None:
    assert backfill_request({"date": "2026-07-31"}, NOW) is None


def test_the_continuation_event_reads_back_as_it_was_written() -> None:
    tally = Tally(written=3, empty=1, requests=9, failed=1, failed_days={"2026-07-02": "x"},
                  written_from=date(2026, 7, 1), written_to=date(2026, 7, 4))  # fmt: skip
    event = continuation(next_day=date(2026, 7, 6), last=date(2026, 7, 31), backfill_id="b-1",
                         hop=1, origin=date(2026, 7, 1), tally=tally, refetch=True,
                         summaries=False)  # fmt: skip
    request = backfill_request(event, NOW)
    assert request is not None
    assert (request.first, request.hop, request.origin) == (date(2026, 7, 6), 2, date(2026, 7, 1))
    assert request.tally == tally
    assert request.refetch is True


def test_the_apis_pause_and_the_breakers_streak_are_carried_and_bounded() -> None:
    event = continuation(next_day=date(2026, 7, 6), last=date(2026, 7, 31), backfill_id="b-1",
                         hop=1, origin=date(2026, 7, 1), tally=Tally(), refetch=False,
                         summaries=False, paused_until=NOW.timestamp() + 60,
                         failing=[date(2026, 7, 4), date(2026, 7, 5)])  # fmt: skip
    request = backfill_request(event, NOW)
    assert request is not None
    assert request.paused_until == NOW.timestamp() + 60
    assert request.failing == (date(2026, 7, 4), date(2026, 7, 5))
    event["backfill"]["paused_until"] = NOW.timestamp() + 10 * MAX_PAUSE  # a forged pause
    request = backfill_request(event, NOW)
    assert request is not None
    assert request.paused_until == NOW.timestamp() + MAX_PAUSE


def test_the_worst_continuation_event_stays_well_below_lambdas_payload_limit() -> None:
    """Every failed day listed, each with the longest error, made of the characters JSON
    escapes longest (a quote, a control character, one outside the BMP): the encoded
    event stays below 100 KB (Lambda takes 256 KB); the days past the list are counted."""
    worst = ('"\x01\U0001f600' * 500)[:500]
    tally = Tally()
    for n in range(400):
        tally.add(DayOutcome(date(2025, 1, 1) + timedelta(days=n), "failed", error=worst))
    failing = [date(2026, 1, 1) + timedelta(days=n) for n in range(BREAKER_DAYS)]
    event = continuation(next_day=date(2026, 7, 6), last=date(2026, 7, 31), backfill_id="b" * 64,
                         hop=49, origin=date(2025, 1, 1), tally=tally, refetch=True,
                         summaries=True, paused_until=NOW.timestamp(),
                         failing=failing)  # fmt: skip
    encoded = json.dumps(event).encode("utf-8")  # as the hand-over sends it
    assert len(encoded) < 100_000
    listed = event["backfill"]["tally"]["failed_days"]
    assert (len(listed), event["backfill"]["tally"]["failed"]) == (MAX_FAILED_LISTED, 400)
    assert {len(entry["error"]) for entry in listed} == {LISTED_ERROR}
    request = backfill_request(json.loads(encoded), NOW)
    assert request is not None
    assert request.tally == tally


@pytest.mark.parametrize(
    ("event", "message"),
    [
        ({"from": "2026-07-31", "to": "2026-07-01"}, "is after `to`"),
        ({"from": "2026-08-01"}, "has not ended yet"),
        ({"from": "07/01/2026"}, "expected YYYY-MM-DD"),
        ({"from": "2026-07-01", "summaries": "yes"}, "`summaries` is 'yes'"),
        ({"from": "2026-07-01", "refetc": True}, r"unknown keys \['refetc'\]"),
        ({"from": "2026-07-01", "date": "2026-07-02"}, r"unknown keys \['date'\]"),
        (
            {"from": "2026-07-01", "backfill": {**STATE, "hops": 3}},
            r"`backfill` has unknown keys \['hops'\]",
        ),
        ({"from": "2026-07-01", **{f"k{n}" * 99: 1 for n in range(99)}}, r"unknown keys \['k0k0"),
        ({"from": "2026-07-01", "backfill": []}, "`backfill` is not an object"),
        ({"from": "2026-07-01", "backfill": {**STATE, "id": "a/../b"}}, "backfill.id"),
        ({"from": "2026-07-01", "backfill": {**STATE, "hop": MAX_HOPS + 2}}, "backfill.hop"),
        ({"from": "2026-07-01", "backfill": {**STATE, "hop": 1}}, "backfill.hop"),
        ({"from": "2026-07-01", "backfill": {**STATE, "hop": True}}, "backfill.hop"),
        ({"from": "2026-07-01", "backfill": {**STATE, "origin": "2026-07-09"}}, "after `from`"),
        ({"from": "2026-07-01", "backfill": {**STATE, "origin": NESTED}}, "a JSON list: expected"),
        ({"from": "2026-07-01", "backfill": {**STATE, "origin": "2016-07-01"}}, "before Hugging"),
        ({"from": "2026-07-01", "backfill": {**STATE, "id": "b-1\nforged"}}, "backfill.id"),
        ({"from": "x" * 1_000_000}, r"invalid date 'x{40}'\.\.\.: expected YYYY-MM-DD"),
        ({"from": "2026-07-01", "backfill": {**STATE, "tally": {"written": -1}}}, "not a count"),
        ({"from": "2026-07-02", "backfill": {**STATE, "paused_until": "soon"}}, "paused_until"),
        ({"from": "2026-07-02", "backfill": {**STATE, "paused_until": -1}}, "paused_until"),
        ({"from": "2026-07-02", "backfill": {**STATE, "paused_until": True}}, "paused_until"),
        ({"from": "2026-07-02", "backfill": {**STATE, "failing": ["2026-07-01"] * 9}}, "failing"),
        ({"from": "2026-07-02", "backfill": {**STATE, "failing": ["2026-07-02"]}}, "outside"),
        ({"from": "2026-07-02", "backfill": {**STATE, "failing": "2026-07-01"}}, "failing"),
        (
            {"from": "2026-07-01", "backfill": {**STATE, "tally": {"failed_days": [{}]}}},
            "without an error",
        ),
        (
            {"from": "2026-07-01", "backfill": {**STATE, "tally": {"written_to": "x"}}},
            "not a YYYY-MM-DD day",
        ),
    ],
)
def test_bad_backfill_events_are_refused_naming_the_field(event: Any, message: str) -> None:
    with pytest.raises(InvalidEventError, match=message.replace("(", r"\(")) as refused:
        backfill_request(event, NOW)
    assert len(str(refused.value)) < 200  # one short line, whatever the event held
    assert "\n" not in str(refused.value)
