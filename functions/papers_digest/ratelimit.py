"""One request rate for every worker of a backfill: strict spacing, and the pauses the API
asks for (429 with `Retry-After`, or the IETF `RateLimit` / `RateLimit-Policy` fields
Hugging Face sends) held by all workers at once, never longer than a caller can wait."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable, Mapping
from typing import Protocol

from .outbound import retry_after

MAX_PAUSE = 3600.0  # a longer pause the server asks for is taken as this (it fails the day)
# A `RateLimit-Policy` slower than this is taken as this: one answer naming, say, one request
# a year must not make every later request wait past its day's deadline (the server's own
# 429s and exhausted `RateLimit` fields still pause the gate for as long as they say).
MIN_POLICY_RATE = 0.1
_PARAM = re.compile(r";\s*([a-z]+)\s*=\s*(-?[0-9]{1,9}(?:\.[0-9]{1,6})?)\b")


class RequestGate(Protocol):
    """What the API client asks before each request and tells after each answer."""

    def acquire(self, left: float) -> None:
        """Return when a request may go; raise RateLimitWait when that is more than
        `left` seconds away."""

    def observe(self, status: int, headers: Mapping[str, str]) -> None:
        """The status and headers of an answer (429, `RateLimit`, `RateLimit-Policy`)."""


class RateLimitWait(Exception):
    """The next request may go only after the caller's deadline: one line, no header."""


def rate_limit_reset(headers: Mapping[str, str]) -> float | None:
    """Seconds until the quota resets when the `RateLimit` field says none is left
    (`"api";r=0;t=120`: the IETF draft Hugging Face implements), else None. Each list
    member is read on its own; the longest reset of an exhausted one wins."""
    value = _field(headers, "ratelimit")
    resets = []
    for member in value.split(",")[:8]:
        params = dict(_PARAM.findall(member))
        if "r" in params and "t" in params and float(params["r"]) <= 0:
            resets.append(min(max(float(params["t"]), 0.0), MAX_PAUSE))
    return max(resets) if resets else None


def policy_rate(headers: Mapping[str, str]) -> float | None:
    """Requests a second the `RateLimit-Policy` field allows (`q` over `w` seconds; the
    lowest of its members), or None when it names none."""
    value = _field(headers, "ratelimit-policy")
    rates = []
    for member in value.split(",")[:8]:
        params = dict(_PARAM.findall(member))
        if "q" in params and float(params.get("w", "0")) > 0 and float(params["q"]) > 0:
            rates.append(float(params["q"]) / float(params["w"]))
    return min(rates) if rates else None


def _field(headers: Mapping[str, str], name: str) -> str:
    for key, value in headers.items():
        if key.lower() == name:
            return str(value)[:1000]
    return ""


class RateGate:
    """At most `rate` requests a second across all the threads that share it, spaced
    strictly: two requests are never closer than 1/rate seconds, so any window of w
    seconds holds at most floor(w * rate) + 1 of them (no bursts). One thread passes at
    a time, and the time it passed is read after its wait, so a late wake-up never lets
    two requests through together.

    A 429 pauses every thread until the time its `Retry-After` (or an exhausted
    `RateLimit`) names, `default_pause` without either; an answer whose `RateLimit` says
    none are left pauses them too, before the 429 it announces; a `RateLimit-Policy`
    slower than `rate` lowers it (never raises it, nor lowers it below MIN_POLICY_RATE).
    A caller that cannot wait that long gets RateLimitWait at once. Clock and sleep are
    injected (monotonic seconds)."""

    def __init__(
        self,
        rate: float,
        *,
        default_pause: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        wall: Callable[[], float] = time.time,
        history: list[float] | None = None,
    ) -> None:
        if not rate > 0:
            raise ValueError("the rate must be above 0 requests a second")
        self._interval = 1.0 / rate
        self._default_pause = default_pause
        self._clock, self._sleep, self._wall = clock, sleep, wall
        self._turnstile = threading.Lock()  # held by the one thread passing
        self._state = threading.Lock()  # the fields below
        self._last: float | None = None
        self._paused_until = float("-inf")
        self.passed = 0  # requests let through
        self.pauses = 0  # pauses the server asked for
        self._history = history  # when given, the clock's time of each request let through

    @property
    def rate(self) -> float:
        return 1.0 / self._interval

    def acquire(self, left: float) -> None:
        limit = self._clock() + max(left, 0.0)
        if not self._turnstile.acquire(timeout=max(left, 0.0)):
            raise RateLimitWait(f"no request slot within the {left:.3g}s left")
        try:
            while True:
                with self._state:
                    now = self._clock()
                    due = self._paused_until
                    if self._last is not None:
                        due = max(due, self._last + self._interval)
                    if due <= now:
                        self._last = now
                        self.passed += 1
                        if self._history is not None:
                            self._history.append(now)
                        return
                    if due > limit:
                        raise RateLimitWait(self._too_long(due - now, limit - now))
                self._sleep(due - now)
        finally:
            self._turnstile.release()

    def paused_for(self) -> float:
        """Seconds left of a pause the server asked for (0 when there is none)."""
        with self._state:
            return max(self._paused_until - self._clock(), 0.0)

    def paused_until(self) -> float | None:
        """When the pause the server asked for ends, in wall-clock epoch seconds (None when
        there is none): what a backfill hands to its next Lambda invocation."""
        left = self.paused_for()
        return self._wall() + left if left > 0 else None

    def pause_until(self, epoch: float) -> None:
        """Hold every request until the wall-clock time `epoch` (a pause an earlier
        invocation was told of), never longer than MAX_PAUSE from now."""
        pause = min(max(epoch - self._wall(), 0.0), MAX_PAUSE)
        with self._state:
            self._paused_until = max(self._paused_until, self._clock() + pause)

    def wait_open(self, most: float, stop: threading.Event | None = None) -> bool:
        """Sleep until a pause the server asked for ends, at most `most` seconds; whether
        it has. A backfill asks before it starts a day, so that a pause longer than a
        day's fetch may wait fails only the days in flight, not every day after them.
        A set `stop` (Ctrl-C) ends the wait at once: False."""
        limit = self._clock() + max(most, 0.0)
        while (left := self.paused_for()) > 0:
            now = self._clock()
            if now >= limit or (stop is not None and stop.is_set()):
                return False
            if stop is not None:
                stop.wait(min(left, limit - now))
            else:
                self._sleep(min(left, limit - now))
        return True

    def _too_long(self, wait: float, left: float) -> str:
        what = "the API's rate limit asks for a pause" if self.pauses else "the next slot is"
        return f"{what} of {wait:.3g}s, longer than the {max(left, 0.0):.3g}s left"

    def observe(self, status: int, headers: Mapping[str, str]) -> None:
        reset = rate_limit_reset(headers)
        pause = None
        if status == 429:
            pause = retry_after(headers, reset if reset is not None else -1.0, self._wall())
            if pause < 0:
                pause = self._default_pause
        elif reset is not None:
            pause = reset
        allowed = policy_rate(headers)
        with self._state:
            if allowed is not None and 1.0 / max(allowed, MIN_POLICY_RATE) > self._interval:
                self._interval = 1.0 / max(allowed, MIN_POLICY_RATE)
            if pause is not None:
                self.pauses += 1
                until = self._clock() + min(pause, MAX_PAUSE)
                self._paused_until = max(self._paused_until, until)
