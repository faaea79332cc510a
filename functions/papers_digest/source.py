"""The Hugging Face Daily Papers API: one session, bounded retries, complete pages."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from datetime import date
from email.utils import parsedate_to_datetime
from typing import Any

import requests

from .errors import MalformedResponseError, SourceError

DEFAULT_API_BASE = "https://huggingface.co"
RETRYABLE_STATUS = frozenset({429, 500, 502, 503, 504})
API_DEFAULT_LIMIT = 50  # what the API returns without `limit`
USER_AGENT = "hf-papers-digest/0.1 (python-requests)"


class DailyPapersClient:
    """Fetches every paper of one day from `GET {base}/api/daily_papers?date=...`.

    Connection errors, timeouts, 429 and 5xx are retried with exponential backoff,
    honouring `Retry-After`, within `max_attempts` per request and `budget_seconds`
    in all; past that the fetch fails. Pages are read with `p`/`limit` until a
    short page. The clock and the sleep are injected so tests run instantly.
    """

    def __init__(
        self,
        session: requests.Session,
        base_url: str = DEFAULT_API_BASE,
        *,
        token: str | None = None,
        page_size: int = 100,
        max_attempts: int = 5,
        budget_seconds: float = 50.0,
        backoff_seconds: float = 1.0,
        timeout: tuple[float, float] = (5.0, 20.0),
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._session = session
        self._url = base_url.rstrip("/") + "/api/daily_papers"
        self._headers = {"Accept": "application/json", "User-Agent": USER_AGENT}
        if token:
            self._headers["Authorization"] = f"Bearer {token}"
        self._page_size = page_size
        self._max_attempts = max_attempts
        self._budget = budget_seconds
        self._backoff = backoff_seconds
        self._timeout = timeout
        self._sleep = sleep
        self._clock = clock
        self.requests_made = 0

    def fetch_day(self, day: date) -> list[Any]:
        """All items the API lists for `day`, across pages.

        A first page of exactly the API's default size, short of the `limit` asked for,
        may mean the API caps `limit`: paging then goes on with the default size, which
        lines pages up however the server counts its offset."""
        deadline = self._clock() + self._budget
        items: list[Any] = []
        size, page = self._page_size, 0
        while True:
            params = {"date": day.isoformat(), "p": str(page), "limit": str(size)}
            batch = self._get_page(params, deadline)
            items.extend(batch)
            if page == 0 and len(batch) == API_DEFAULT_LIMIT < size:
                size = API_DEFAULT_LIMIT
            elif len(batch) < size:
                return items
            page += 1

    def _get_page(self, params: dict[str, str], deadline: float) -> list[Any]:
        where = f"{self._url}?date={params['date']}&p={params['p']}"
        for attempt in range(1, self._max_attempts + 1):
            try:
                return self._request_page(params, attempt, where)
            except _Retryable as retry:
                failure = retry
            if attempt < self._max_attempts:
                if self._clock() + failure.pause > deadline:
                    raise SourceError(
                        f"{where}: {failure.reason}; giving up, the retry budget of "
                        f"{self._budget:.0f}s would be exceeded. Try again later."
                    )
                self._sleep(failure.pause)
        raise SourceError(
            f"{where}: {failure.reason} after {self._max_attempts} attempts. "
            "Check the API base URL and your network, or try again later."
        )

    def _request_page(self, params: dict[str, str], attempt: int, where: str) -> list[Any]:
        backoff = self._backoff * 2 ** (attempt - 1)
        self.requests_made += 1
        try:
            response = self._session.get(
                self._url, params=params, headers=self._headers, timeout=self._timeout
            )
        except requests.Timeout:
            raise _Retryable(f"timed out after {self._timeout[1]:.0f}s", backoff) from None
        except requests.ConnectionError as exc:
            raise _Retryable(f"cannot connect ({type(exc).__name__})", backoff) from None
        if response.status_code in RETRYABLE_STATUS:
            pause = _retry_after(response.headers.get("Retry-After"), backoff)
            raise _Retryable(f"HTTP {response.status_code}", pause)
        if response.status_code != 200:
            raise SourceError(
                f"{where}: HTTP {response.status_code} {response.reason}: "
                f"{response.text[:200].strip()!r}; check the API base URL, the date and the token"
            )
        return _json_array(response.content, where)


class _Retryable(Exception):
    def __init__(self, reason: str, pause: float) -> None:
        super().__init__(reason)
        self.reason = reason
        self.pause = pause


def _retry_after(header: str | None, default: float) -> float:
    """Seconds to wait from a `Retry-After` header (delta-seconds or HTTP date)."""
    if not header:
        return default
    try:
        return max(0.0, float(header))
    except ValueError:
        pass
    try:
        return max(0.0, parsedate_to_datetime(header).timestamp() - time.time())
    except (TypeError, ValueError):
        return default


def _json_array(body: bytes, where: str) -> list[Any]:
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise MalformedResponseError(
            f"{where}: response is not UTF-8 (byte {exc.start}); nothing was written"
        ) from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        start = text.lstrip()[:40]
        raise MalformedResponseError(
            f"{where}: response is not valid JSON ({exc.msg} at char {exc.pos}; "
            f"starts {start!r}); nothing was written"
        ) from None
    if not isinstance(data, list):
        raise MalformedResponseError(
            f"{where}: expected a JSON array of papers, got a {type(data).__name__}; "
            "nothing was written"
        )
    return data
