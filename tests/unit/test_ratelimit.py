"""The backfill's request gate on a fake clock: strict spacing, the pauses a server asks
for (shared), the policy's rate, and waits that would pass a deadline refused."""

from __future__ import annotations

import math
from typing import Any

import pytest

from papers_digest.ratelimit import RateGate, RateLimitWait, policy_rate, rate_limit_reset


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
