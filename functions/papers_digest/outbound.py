"""Bounded HTTP for the delivery adapters (GitHub, webhooks): every request ends by a
deadline, whatever the server does, and at most `cap` bytes of an answer are kept."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import Any

import requests

CHUNK_BYTES = 64 * 1024


class OutboundError(Exception):
    """The request failed without an answer: one line, no URL, no header."""


@dataclass(frozen=True)
class Reply:
    status: int
    headers: Mapping[str, str]
    body: bytes


def send(
    session: requests.Session,
    method: str,
    url: str,
    *,
    headers: Mapping[str, str],
    json_body: Any = None,
    deadline: float,
    cap: int,
    clock: Callable[[], float] = time.monotonic,
    timeout: tuple[float, float] = (5.0, 15.0),
) -> Reply:
    """One request. Socket timeouts bound each read; the request runs in a daemon thread
    abandoned at `deadline`, so a server trickling its headers cannot hold the run; the
    body is read a chunk at a time with the deadline checked between chunks."""
    outcome: list[requests.Response | BaseException] = []

    def request() -> None:
        try:
            outcome.append(
                session.request(
                    method,
                    url,
                    headers=dict(headers),
                    json=json_body,
                    timeout=timeout,
                    stream=True,
                    allow_redirects=False,
                )
            )
        except BaseException as exc:  # handed to the caller below
            outcome.append(exc)

    worker = threading.Thread(target=request, name="papers-digest-outbound", daemon=True)
    worker.start()
    worker.join(max(deadline - clock(), 0.0))
    if not outcome:
        raise OutboundError("no answer before the deadline")
    if isinstance(outcome[0], requests.Timeout):
        raise OutboundError("timed out")
    if isinstance(outcome[0], requests.RequestException):
        raise OutboundError(f"cannot connect or send ({type(outcome[0]).__name__})")
    if isinstance(outcome[0], BaseException):
        raise outcome[0]
    with outcome[0] as response:
        body = bytearray()
        try:
            while chunk := response.raw.read1(CHUNK_BYTES, decode_content=True):
                body += chunk
                if len(body) > cap:
                    raise OutboundError(f"the answer passed {cap:,} bytes")
                if clock() >= deadline:
                    raise OutboundError("the answer was still arriving at the deadline")
        except (OSError, requests.RequestException, ValueError) as exc:
            raise OutboundError(f"the answer broke off ({type(exc).__name__})") from None
        return Reply(response.status_code, dict(response.headers), bytes(body))


def retry_after(headers: Mapping[str, str], default: float, now: float) -> float:
    """Seconds to wait before trying again: `Retry-After` (seconds or an HTTP date), else
    GitHub's `X-RateLimit-Reset` (epoch seconds, `now` being time.time()), else `default`."""
    lower = {name.lower(): value for name, value in headers.items()}
    header = lower.get("retry-after", "").strip()
    try:
        if header.isdigit():
            return float(header)
        if header:
            return max(0.0, parsedate_to_datetime(header).timestamp() - now)
        reset = lower.get("x-ratelimit-reset", "").strip()
        if reset.isdigit():
            return max(0.0, float(reset) - now)
    except (TypeError, ValueError):
        pass
    return default
