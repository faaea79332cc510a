"""Bounded HTTP for the delivery adapters (GitHub, webhooks), on the standard library
(the feed function ships without requests): every request ends by a deadline whatever
the server does, redirects are not followed, and at most `cap` bytes of an answer are
read."""

from __future__ import annotations

import json
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import Any, TypeVar

T = TypeVar("T")


class DeadlinePassed(Exception):
    """A call was still running at its deadline; it was abandoned."""


def within(seconds: float, call: Callable[[], T], name: str) -> T:
    """`call()` in a daemon thread, given up after `seconds` (DeadlinePassed): socket
    timeouts bound each read, not the whole, so a server trickling bytes could otherwise
    hold a run. The abandoned thread ends with its socket. The call's own exception is
    raised here."""
    outcome: list[tuple[T | None, BaseException | None]] = []

    def run() -> None:
        try:
            outcome.append((call(), None))
        except BaseException as exc:  # handed to the caller below
            outcome.append((None, exc))

    worker = threading.Thread(target=run, name=name, daemon=True)
    worker.start()
    worker.join(max(seconds, 0.0))
    if not outcome:
        raise DeadlinePassed
    result, failure = outcome[0]
    if failure is not None:
        raise failure
    return result  # type: ignore[return-value]


class OutboundError(Exception):
    """The request failed without an answer: one line, no URL, no header."""


@dataclass(frozen=True)
class Reply:
    status: int
    headers: Mapping[str, str]
    body: bytes


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None  # a 3xx comes back as the answer


_OPENER = urllib.request.build_opener(_NoRedirect)


def send(
    method: str,
    url: str,
    *,
    headers: Mapping[str, str],
    json_body: Any = None,
    deadline: float,
    cap: int,
    clock: Callable[[], float] = time.monotonic,
    timeout: float = 15.0,
) -> Reply:
    """One request, answer and all, in a daemon thread abandoned at `deadline`: socket
    timeouts bound each read, not the whole, so a server trickling its answer a byte at
    a time cannot hold the run."""
    if not url.startswith(("https://", "http://")):
        raise OutboundError("only http(s) URLs are requested")
    data = None if json_body is None else json.dumps(json_body).encode("utf-8")
    request = urllib.request.Request(  # noqa: S310 - the scheme is checked above
        url, data=data, method=method, headers=dict(headers)
    )
    if data is not None:
        request.add_header("Content-Type", "application/json")

    def exchange() -> Reply:
        try:
            response = _OPENER.open(request, timeout=timeout)
        except urllib.error.HTTPError as refused:  # an answer all the same
            response = refused
        with response:
            body = response.read(cap + 1)
            status, answer_headers = response.status, dict(response.headers)
        return Reply(int(status or 0), answer_headers, body)

    try:
        reply = within(deadline - clock(), exchange, "papers-digest-outbound")
    except DeadlinePassed:
        raise OutboundError("no answer before the deadline") from None
    except TimeoutError:
        raise OutboundError("timed out") from None
    except (OSError, ValueError) as exc:  # URLError, resets, a bad URL
        raise OutboundError(f"cannot connect or read ({type(exc).__name__})") from None
    if len(reply.body) > cap:
        raise OutboundError(f"the answer passed {cap:,} bytes")
    return reply


def retry_after(headers: Mapping[str, str], default: float, now: float) -> float:
    """Seconds to wait before trying again: `Retry-After` (seconds or an HTTP date), else
    GitHub's `X-RateLimit-Reset` (epoch seconds, `now` being time.time()), else `default`."""
    lower = {name.lower(): value for name, value in headers.items()}
    header = lower.get("retry-after", "").strip()
    try:
        if header.replace(".", "", 1).isdigit():
            return float(header)
        if header:
            return max(0.0, parsedate_to_datetime(header).timestamp() - now)
        reset = lower.get("x-ratelimit-reset", "").strip()
        if reset.isdigit():
            return max(0.0, float(reset) - now)
    except (TypeError, ValueError):
        pass
    return default
