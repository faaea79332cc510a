"""The Hugging Face Daily Papers API: one session, bounded retries, complete pages, and a
run that stays within its time, page and byte budgets whatever the server does."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from contextlib import ExitStack
from datetime import date
from typing import Any

import requests
import urllib3

from . import __version__, checks
from .errors import ConfigError, MalformedResponseError, SourceError
from .outbound import DeadlinePassed, retry_after, within
from .ratelimit import RateLimitWait, RequestGate, rate_limit_reset

STILL_ARRIVING = "the response was still arriving at the deadline"
RETRYABLE_STATUS = frozenset({429, 500, 502, 503, 504})
API_DEFAULT_LIMIT = 50  # what the API returns without `limit`
USER_AGENT = f"hf-papers-digest/{__version__} (python-requests)"
# A real day lists 10-60 papers (one page at limit=100, ~5.4 KB of JSON a paper), so these
# bounds sit far above any real day and far below what fills the function's 256 MB.
MAX_PAGES = 20  # 2,000 papers at limit=100; a day that needs more is refused
MAX_ITEMS = 2_000  # about 30 times the busiest day seen
MAX_BODY_BYTES = 5_000_000  # all responses of one fetch together; a day of 60 is ~330 KB
CHUNK_BYTES = 64 * 1024  # the body is read at most this much at a time, deadline checked
CONNECT_TIMEOUT = 5.0  # per request, and never past the run's deadline
READ_TIMEOUT = 20.0
# Every failure of the connection or of the body in transit: the next attempt may succeed.
TRANSPORT_FAILURES = (
    requests.ConnectionError,
    requests.exceptions.ChunkedEncodingError,
    requests.exceptions.ContentDecodingError,
    requests.TooManyRedirects,
    requests.exceptions.RetryError,
    urllib3.exceptions.HTTPError,  # raised while the body is read: dropped, bad gzip, ...
)


class DailyPapersClient:
    """Fetches every paper of one day from `GET {base}/api/daily_papers?date=...`.

    Transport failures (also in the middle of a body), timeouts, 429 and 5xx are retried
    with exponential backoff, honouring `Retry-After`, within `max_attempts` per request
    and `budget_seconds` for the whole fetch, body reads included; past that the fetch
    fails. Pages are read with `p`/`limit` until a short page, within MAX_PAGES, MAX_ITEMS
    and MAX_BODY_BYTES. The clock and the sleep are injected so tests run instantly.

    A `gate` (ratelimit.RateGate) shared by several clients spaces their requests and
    makes them all wait out a pause the API asks for; a pause past this fetch's deadline
    fails the fetch at once.
    """

    def __init__(
        self,
        session: requests.Session,
        base_url: str,
        *,
        token: str | None = None,
        token_source: str = "HF_TOKEN",  # noqa: S107 - the setting's name, not a token
        page_size: int = 100,
        max_attempts: int = 5,
        budget_seconds: float = 50.0,
        backoff_seconds: float = 1.0,
        timeout: tuple[float, float] = (CONNECT_TIMEOUT, READ_TIMEOUT),
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        gate: RequestGate | None = None,
    ) -> None:
        self._session = session
        self._gate = gate
        self._url = base_url.rstrip("/") + "/api/daily_papers"
        self._headers = {"Accept": "application/json", "User-Agent": USER_AGENT}
        self._token = checks.bearer_token(token, token_source)
        if self._token:
            self._headers["Authorization"] = f"Bearer {self._token}"
        self._page_size = page_size
        self._max_attempts = max_attempts
        self._budget = budget_seconds
        self._backoff = backoff_seconds
        self._timeout = timeout
        self._sleep = sleep
        self._clock = clock

    @classmethod
    def in_session_of(cls, stack: ExitStack, base_url: str, **options: Any) -> DailyPapersClient:
        """A client with a session of its own, closed with `stack`: one per worker of a
        backfill (a requests.Session is not shared between threads)."""
        return cls(stack.enter_context(requests.Session()), base_url, **options)

    def fetch_day(self, day: date) -> list[Any]:
        """All items the API lists for `day`, across pages.

        A first page of exactly the API's default size, short of the `limit` asked for,
        may mean the API caps `limit`: paging then goes on with the default size, which
        lines pages up however the server counts its offset. A full page that brings no
        new paper id means the server ignores `p`: the day is refused, since what was read
        may be a truncated ranking."""
        deadline = self._clock() + self._budget
        items: list[Any] = []
        seen: set[str] = set()
        size, spent = self._page_size, 0
        for page in range(MAX_PAGES):
            params = {"date": day.isoformat(), "p": str(page), "limit": str(size)}
            where = f"{self._url}?date={params['date']}&p={page}"
            body = self._get_page(params, where, deadline, MAX_BODY_BYTES - spent)
            spent += len(body)
            batch = _json_array(body, where, self._quote)
            items.extend(batch)
            if len(items) > MAX_ITEMS:
                raise MalformedResponseError(
                    f"{where}: the API lists more than {MAX_ITEMS:,} papers for {day}, far "
                    "more than any real day; refusing the day, nothing was written"
                )
            fresh = _paper_ids(batch) - seen
            seen |= fresh
            if page == 0 and len(batch) == API_DEFAULT_LIMIT < size:
                size = API_DEFAULT_LIMIT
            elif len(batch) < size:
                return items
            if page and not fresh:
                raise MalformedResponseError(
                    f"{where}: a full page with no new paper ids; the API seems to ignore "
                    "paging, so the day may be truncated: refusing it, nothing was written"
                )
        raise MalformedResponseError(
            f"{self._url}?date={day}: the API still had full pages after {MAX_PAGES}; "
            "refusing the day rather than publishing part of it, nothing was written"
        )

    def _get_page(self, params: dict[str, str], where: str, deadline: float, cap: int) -> bytes:
        for attempt in range(1, self._max_attempts + 1):
            if self._clock() >= deadline:
                raise self._out_of_time(where, "no time is left for another request")
            if self._gate is not None:
                try:
                    self._gate.acquire(deadline - self._clock())
                except RateLimitWait as wait:
                    raise SourceError(f"{where}: {wait}; try again later") from None
            try:
                return self._request_page(params, attempt, where, deadline, cap)
            except _Retryable as retry:
                failure = retry
            if attempt < self._max_attempts:
                if self._clock() + failure.pause > deadline:
                    raise self._out_of_time(
                        where, f"{failure.reason}, and a wait of {failure.pause:g}s would pass it"
                    )
                self._sleep(failure.pause)
        raise SourceError(
            f"{where}: {failure.reason} after {self._max_attempts} attempts. "
            "Check the API base URL and your network, or try again later."
        )

    def _request_page(
        self, params: dict[str, str], attempt: int, where: str, deadline: float, cap: int
    ) -> bytes:
        """One request, status line to last byte, given up at the deadline. Socket timeouts
        bound each read, not the whole, so a server trickling bytes could otherwise hold
        the run: the exchange runs in a daemon thread that is abandoned at the deadline
        (it ends with its socket, holding at most `cap` bytes)."""
        left = max(deadline - self._clock(), 0.0)
        try:
            return within(
                left,
                lambda: self._exchange(params, attempt, where, deadline, cap, left),
                "papers-digest-request",
            )
        except DeadlinePassed:
            raise self._out_of_time(where, STILL_ARRIVING) from None

    def _exchange(
        self,
        params: dict[str, str],
        attempt: int,
        where: str,
        deadline: float,
        cap: int,
        left: float,
    ) -> bytes:
        backoff = self._backoff * 2 ** (attempt - 1)
        timeout = (min(self._timeout[0], left), min(self._timeout[1], left))
        redirects: list[str] = []

        def note_redirect(response: requests.Response, *_: Any, **__: Any) -> None:
            if response.is_redirect:
                redirects.append(response.headers.get("Location", ""))

        try:
            with self._session.get(
                self._url,
                params=params,
                headers=self._headers,
                timeout=timeout,
                stream=True,
                hooks={"response": note_redirect},
            ) as response:
                if self._gate is not None:
                    self._gate.observe(response.status_code, response.headers)
                if response.status_code in RETRYABLE_STATUS:
                    # Retry-After, else an exhausted `RateLimit` quota's reset, else backoff.
                    limited = response.status_code == 429
                    reset = rate_limit_reset(response.headers) if limited else None
                    pause = retry_after(response.headers, reset or backoff, time.time())
                    raise _Retryable(f"HTTP {response.status_code}", pause)
                if response.status_code != 200:
                    head = response.raw.read1(1024, decode_content=True)
                    raise SourceError(
                        f"{where}: HTTP {response.status_code} {self._quote(response.reason)}: "
                        f"{self._quote(head.decode('utf-8', 'replace'))!r}; "
                        "check the API base URL, the date and the token"
                    )
                return self._read_body(response, where, deadline, cap)
        except (requests.Timeout, urllib3.exceptions.TimeoutError):
            raise _Retryable(f"timed out after {timeout[1]:.3g}s", backoff) from None
        except TRANSPORT_FAILURES as exc:
            raise _Retryable(f"cannot connect or read ({type(exc).__name__})", backoff) from None
        except requests.RequestException as exc:
            if redirects:  # the server's doing, not the setting's
                raise SourceError(
                    f"{where}: the API redirected to a URL that cannot be followed "
                    f"({type(exc).__name__}: {self._quote(redirects[-1], 80)!r}); "
                    "try again later"
                ) from None
            raise ConfigError(
                f"{where}: the request cannot be sent ({type(exc).__name__}); "
                "check the API base URL (HF_API_BASE or --api-base) and proxy settings"
            ) from None

    def _read_body(
        self, response: requests.Response, where: str, deadline: float, cap: int
    ) -> bytes:
        """The body, read a chunk at a time as it arrives, with the deadline checked between
        chunks (a trickling server cannot hold the run) and at most `cap` bytes kept."""
        too_big = (
            f"{where}: the API's responses for this day pass {MAX_BODY_BYTES:,} bytes, "
            "far more than any real day; refusing the day, nothing was written"
        )
        announced = response.headers.get("Content-Length", "")
        if announced.isdigit() and int(announced) > cap:
            raise MalformedResponseError(too_big)
        body = bytearray()
        while chunk := response.raw.read1(CHUNK_BYTES, decode_content=True):
            body += chunk
            if len(body) > cap:
                raise MalformedResponseError(too_big)
            if self._clock() >= deadline:
                raise self._out_of_time(where, STILL_ARRIVING)
        return bytes(body)

    def _out_of_time(self, where: str, what: str) -> SourceError:
        return SourceError(
            f"{where}: {what}; giving up within the time budget of {self._budget:g}s "
            "for the fetch. Try again later."
        )

    def _quote(self, text: str, limit: int = 200) -> str:
        """`text` from the server, cut to `limit`, with the token masked (a server may echo
        the Authorization header) before it is cut, so no part of it shows."""
        if self._token:
            text = text.replace(self._token, "<token>")
        return text[:limit].strip()


class _Retryable(Exception):
    def __init__(self, reason: str, pause: float) -> None:
        super().__init__(reason)
        self.reason = reason
        self.pause = pause


def _paper_ids(batch: list[Any]) -> set[str]:
    ids = set()
    for item in batch:
        paper = item.get("paper") if isinstance(item, dict) else None
        if isinstance(paper, dict) and isinstance(paper.get("id"), str):
            ids.add(paper["id"])
    return ids


def _json_array(body: bytes, where: str, quote: Callable[[str, int], str]) -> list[Any]:
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise MalformedResponseError(
            f"{where}: response is not UTF-8 (byte {exc.start}); nothing was written"
        ) from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise MalformedResponseError(
            f"{where}: response is not valid JSON ({exc.msg} at char {exc.pos}; "
            f"starts {quote(text.lstrip(), 40)!r}); nothing was written"
        ) from None
    except (ValueError, RecursionError) as exc:  # a number of 4,300+ digits, deep nesting
        what = "nested too deeply" if isinstance(exc, RecursionError) else "a number too long"
        raise MalformedResponseError(
            f"{where}: response is JSON we cannot read ({what}); nothing was written"
        ) from None
    if not isinstance(data, list):
        raise MalformedResponseError(
            f"{where}: expected a JSON array of papers, got a {type(data).__name__}; "
            "nothing was written"
        )
    return data
