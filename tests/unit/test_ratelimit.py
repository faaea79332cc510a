"""The backfill's request gate on a fake clock: strict spacing, the pauses a server asks
for (shared), the policy's rate, and waits that would pass a deadline refused."""

from __future__ import annotations

import contextlib
import math
from typing import Any

import pytest

from papers_digest.ratelimit import (
    MAX_PAUSE,
    MIN_POLICY_RATE,
    RateGate,
    RateLimitWait,
    policy_rate,
    rate_limit_reset,
)


class FakeTime:
    def __init__(self) -> None:
        self.now = 1000.0
        self.slept: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def gate(rate: float, time: FakeTime) -> RateGate:
    return RateGate(rate, clock=time.clock, sleep=time.sleep, wall=lambda: 1_800_000_000.0)


def most_in_a_window(times: list[float], width: float) -> int:
    """The most of `times` (sorted) any closed window of `width` seconds holds."""
    most, start = 0, 0
    for end, at in enumerate(times):
        while at - times[start] > width + 1e-9:
            start += 1
        most = max(most, end - start + 1)
    return most


@pytest.mark.parametrize(
    ("headers", "reset"),
    [
        ({"RateLimit": '"api";r=0;t=120'}, 120.0),  # Hugging Face's form
        ({"ratelimit": '"api";r=0;t=55'}, 55.0),
        ({"RateLimit": '"api";r=12;t=120'}, None),  # requests left: no pause
        ({"RateLimit": '"pages";r=5;t=10, "api";r=0;t=30'}, 30.0),
        ({"RateLimit": '"api";r=0;t=999999999'}, 3600.0),  # capped
        ({"RateLimit": '"api";r=0'}, None),
        ({"RateLimit": "garbage;;=="}, None),
        ({}, None),
    ],
)
def test_rate_limit_reset(headers: dict[str, str], reset: float | None) -> None:
    assert rate_limit_reset(headers) == reset


@pytest.mark.parametrize(
    ("headers", "rate"),
    [
        ({"RateLimit-Policy": '"fixed window";"api";q=500;w=300'}, 500 / 300),
        ({"RateLimit-Policy": '"api";q=1000;w=300, "pages";q=100;w=300'}, 100 / 300),
        ({"RateLimit-Policy": '"api";q=500'}, None),
        ({"RateLimit-Policy": '"api";q=0;w=300'}, None),
        ({}, None),
    ],
)
def test_policy_rate(headers: dict[str, str], rate: float | None) -> None:
    assert policy_rate(headers) == rate


@pytest.mark.parametrize(("rate", "count"), [(1.0, 30), (200.0, 60), (1 / 3, 10)])
def test_requests_are_spaced_strictly_so_no_window_holds_a_burst(rate: float, count: int) -> None:
    time = FakeTime()
    limiter = gate(rate, time)
    passed = []
    for _ in range(count):
        limiter.acquire(left=1e6)
        passed.append(time.now)
    assert limiter.passed == count
    for width in (0.5 / rate, 1 / rate, 2.5 / rate, 10 / rate, 300.0):
        assert most_in_a_window(passed, width) <= math.floor(width * rate + 1e-9) + 1


@pytest.mark.parametrize(
    ("status", "headers", "pause"),
    [
        (429, {"Retry-After": "30"}, 30.0),
        (429, {"RateLimit": '"api";r=0;t=120'}, 120.0),
        (429, {"Retry-After": "5", "RateLimit": '"api";r=0;t=120'}, 5.0),  # Retry-After first
        (429, {}, 1.0),  # neither: the default pause
        (200, {"RateLimit": '"api";r=0;t=40'}, 40.0),  # the quota is spent: before the 429
        (503, {"Retry-After": "30"}, 0.0),  # a server error is the client's retry to wait
        (200, {"RateLimit": '"api";r=3;t=40'}, 0.0),
    ],
)
def test_a_pause_the_server_asks_for_holds_the_next_request(
    status: int, headers: dict[str, str], pause: float
) -> None:
    time = FakeTime()
    limiter = gate(2.0, time)
    limiter.acquire(left=1e6)
    limiter.observe(status, headers)
    start = time.now
    limiter.acquire(left=1e6)
    assert time.now - start == pytest.approx(max(pause, 0.5))


def test_a_pause_longer_than_the_time_left_fails_at_once() -> None:
    time = FakeTime()
    limiter = gate(1.0, time)
    limiter.observe(429, {"RateLimit": '"api";r=0;t=120'})
    with pytest.raises(RateLimitWait, match=r"pause of 120s, longer than the 50s left"):
        limiter.acquire(left=50)
    assert time.slept == []  # no waiting for what cannot come in time
    limiter.acquire(left=121)
    assert time.slept == [pytest.approx(120)]


def test_the_policy_slows_the_gate_and_never_speeds_it() -> None:
    time = FakeTime()
    limiter = gate(10.0, time)
    limiter.observe(200, {"RateLimit-Policy": '"api";q=500;w=300'})
    assert limiter.rate == pytest.approx(500 / 300)
    limiter.observe(200, {"RateLimit-Policy": '"api";q=100000;w=1'})
    assert limiter.rate == pytest.approx(500 / 300)


@pytest.mark.parametrize("rate", [0, -1, float("nan")])
def test_a_rate_must_be_positive(rate: Any) -> None:
    with pytest.raises(ValueError, match="above 0"):
        RateGate(rate)


HOSTILE = [
    {"Retry-After": "9" * 400},  # float() of it is inf
    {"Retry-After": "Fri, 31 Dec 9999 23:59:59 GMT"},
    {"Retry-After": "-5"},
    {"Retry-After": "nan"},
    {"Retry-After": "inf"},
    {"Retry-After": "\u0663\u0660\u0660"},  # Arabic-Indic digits: float() reads 300
    {"Retry-After": "5, 10"},  # the header twice, joined by requests
    {"Retry-After": "\x00\xff\u2028"},
    {"RateLimit": '"api";r=0;t=999999999999'},
    {"RateLimit": '"api";r=0;t=-5'},
    {"RateLimit": '"api";r=0;t=nan'},
    {"RateLimit": '"api";r=0;t=5, ' * 10_000},  # repeated, 10,000 members
    {"RateLimit-Policy": '"api";q=1;w=999999999'},  # one request in 31 years
    {"RateLimit-Policy": '"api";q=0.000001;w=1'},
    {"RateLimit-Policy": '"api";q=-3;w=-1'},
    {"RateLimit-Policy": '"api";q=5;w=0'},
]


@pytest.mark.parametrize("status", [200, 429])
@pytest.mark.parametrize("headers", HOSTILE)
def test_hostile_rate_headers_never_raise_nor_hold_the_gate_past_its_bounds(
    status: int, headers: dict[str, str]
) -> None:
    """Whatever the fields say: no exception, a pause of at most MAX_PAUSE (which a fetch
    with less time left refuses at once, without sleeping), and a rate never below
    MIN_POLICY_RATE, so one answer cannot starve the requests of every later day."""
    time = FakeTime()
    limiter = gate(1.0, time)
    limiter.observe(status, headers)
    assert 0.0 <= limiter.paused_for() <= MAX_PAUSE
    assert MIN_POLICY_RATE <= limiter.rate <= 1.0
    with contextlib.suppress(RateLimitWait):  # its message: test_a_pause_longer_than...
        limiter.acquire(left=50)
    assert sum(time.slept) <= 50
    limiter.acquire(left=MAX_PAUSE + 1 / MIN_POLICY_RATE)  # whatever it was, it ends


def test_wait_open_sleeps_out_a_pause_within_its_bound_only() -> None:
    time = FakeTime()
    limiter = gate(1.0, time)
    assert limiter.wait_open(10) is True  # no pause: no sleep
    assert time.slept == []
    limiter.observe(429, {"Retry-After": "30"})
    assert limiter.wait_open(12) is False  # the pause outlasts the bound: slept the bound
    assert sum(time.slept) == pytest.approx(12)
    assert limiter.wait_open(60) is True  # then only what was left of it
    assert sum(time.slept) == pytest.approx(30)
    assert limiter.paused_for() == 0


def test_a_stop_ends_the_wait_for_a_pause_at_once() -> None:
    """Ctrl-C during an hour's pause: the backfill's wait ends, none of it slept."""
    import threading

    time = FakeTime()
    limiter = gate(1.0, time)
    limiter.observe(429, {"Retry-After": "3000"})
    stop = threading.Event()
    stop.set()
    assert limiter.wait_open(3600, stop) is False
    assert time.slept == []


@pytest.mark.parametrize(("ahead", "held"), [(30.0, 30.0), (10 * MAX_PAUSE, MAX_PAUSE), (-5, 0.0)])
def test_a_pause_handed_over_in_wall_clock_time_holds_a_fresh_gate(
    ahead: float, held: float
) -> None:
    time = FakeTime()
    before = gate(1.0, time)
    assert before.paused_until() is None
    fresh = gate(1.0, time)
    fresh.pause_until(1_800_000_000.0 + ahead)
    assert fresh.paused_for() == held
    assert fresh.paused_until() == (1_800_000_000.0 + held if held else None)
