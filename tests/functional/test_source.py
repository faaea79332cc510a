"""The API client against a real local HTTP server replaying recorded responses."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from datetime import date
from typing import Any

import pytest
import requests

from papers_digest.errors import ConfigError, SourceError
from papers_digest.source import DailyPapersClient
from tests.conftest import REAL_DAY, api_items
from tools.replay_server import Canned, ReplayServer


class FakeClock:
    """Injected sleep and clock: retries take no real time and are recorded."""

    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds

    def clock(self) -> float:
        return self.now


def client_for(url: str, clock: FakeClock | None = None, **options: object) -> DailyPapersClient:
    clock = clock or FakeClock()
    return DailyPapersClient(
        requests.Session(),
        url,
        sleep=clock.sleep,
        clock=clock.clock,
        **options,  # type: ignore[arg-type]
    )


def test_a_normal_day_is_one_request(replay: ReplayServer) -> None:
    items = client_for(replay.url).fetch_day(REAL_DAY)
    assert items == api_items(REAL_DAY)
    assert len(replay.requests) == 1
    assert replay.requests[0]["date"] == "2026-07-31"


@pytest.mark.parametrize(
    ("page_size", "pages"),
    [(7, 5), (10, 4), (29, 2), (30, 2), (31, 1)],
)
def test_a_day_split_across_pages_is_complete(
    replay: ReplayServer, page_size: int, pages: int
) -> None:
    items = client_for(replay.url, page_size=page_size).fetch_day(REAL_DAY)
    assert [item["paper"]["id"] for item in items] == [
        item["paper"]["id"] for item in api_items(REAL_DAY)
    ]
    assert [r["p"] for r in replay.requests] == [str(p) for p in range(pages)]
    assert {r["limit"] for r in replay.requests} == {str(page_size)}


def test_an_empty_day_is_an_empty_list(replay: ReplayServer) -> None:
    assert client_for(replay.url).fetch_day(date(2026, 8, 1)) == []


def test_the_token_is_sent_stripped_as_a_bearer_header(replay: ReplayServer) -> None:
    for token in ["hf_secret", " hf_secret\r\n", None, " \n"]:
        client_for(replay.url, token=token).fetch_day(REAL_DAY)
    assert [r["authorization"] for r in replay.requests] == [
        "Bearer hf_secret", "Bearer hf_secret", "", ""
    ]  # fmt: skip


@pytest.mark.parametrize(
    "token", ["hf_a\nb", "hf_a b", "hf_a\x00b", "hf_\x7f", "hf_é", "hf_\u200b"]
)
@pytest.mark.parametrize("source", ["HF_TOKEN", "the SSM parameter /papers-digest/hf-token"])
def test_a_malformed_token_is_refused_by_its_setting_name(token: str, source: str) -> None:
    with pytest.raises(ConfigError, match=rf"^{source} is malformed: ") as raised:
        client_for("http://127.0.0.1:9", token=token, token_source=source)
    assert token.strip() not in str(raised.value)


@pytest.mark.parametrize(
    "fault",
    [
        lambda query: Canned(403, ("x" * 180 + query["authorization"]).encode()),
        lambda query: Canned(200, (" " * 20 + query["authorization"]).encode()),
    ],
    ids=["an HTTP 403 quoting it", "a body that is not JSON quoting it"],
)
def test_the_token_is_masked_where_a_message_quotes_the_server(
    replay: ReplayServer, fault: Callable[[dict[str, str]], Canned]
) -> None:
    replay.faults.append(fault)
    with pytest.raises(SourceError, match="Bearer <") as raised:
        client_for(replay.url, token="hf_0123456789abcdefghij").fetch_day(REAL_DAY)
    assert "hf_0123" not in str(raised.value)


@pytest.mark.parametrize(
    ("faults", "expected_sleeps"),
    [
        ([Canned(503)], [1.0]),
        ([Canned(500), Canned(502), Canned(504)], [1.0, 2.0, 4.0]),
        ([Canned(429, headers={"Retry-After": "7"})], [7.0]),
        ([Canned(429, headers={"Retry-After": "not-a-date"})], [1.0]),
        ([Canned(close=True)], [1.0]),
    ],
)
def test_transient_failures_are_retried_then_answered(
    replay: ReplayServer, faults: list[Canned], expected_sleeps: list[float]
) -> None:
    replay.faults.extend(faults)
    clock = FakeClock()
    items = client_for(replay.url, clock).fetch_day(REAL_DAY)
    assert len(items) == 30
    assert clock.sleeps == expected_sleeps
    assert len(replay.requests) == len(faults) + 1


def test_a_long_retry_after_fails_at_once_within_the_time_budget(replay: ReplayServer) -> None:
    replay.faults.append(Canned(429, headers={"Retry-After": "3600"}))
    with pytest.raises(SourceError, match=r"wait of 3600s would pass it; .* budget of 50s"):
        client_for(replay.url).fetch_day(REAL_DAY)
    assert len(replay.requests) == 1


class StepSession(requests.Session):
    """A real session that records each request's timeout and moves the clock on by
    `step` seconds, as if each request took that long."""

    def __init__(self, clock: FakeClock, step: float) -> None:
        super().__init__()
        self.clock, self.step = clock, step
        self.timeouts: list[object] = []

    def request(self, *args: Any, **kwargs: Any) -> requests.Response:
        self.timeouts.append(kwargs["timeout"])
        self.clock.now += self.step
        return super().request(*args, **kwargs)


@pytest.mark.parametrize(
    ("step", "faults", "timeouts", "message"),
    [
        (20.0, [], [(5.0, 20.0), (5.0, 20.0), (5.0, 10.0)],
         "p=2: the response was still arriving at the deadline"),
        (25.0, [lambda q: Canned(503, headers={"Retry-After": "0"}) if q["p"] == "1" else None],
         [(5.0, 20.0), (5.0, 20.0)], "p=1: no time is left for another request"),
    ],
    ids=["a body still arriving", "a retry due at the deadline"],
)  # fmt: skip
def test_no_request_outlives_the_deadline(
    replay: ReplayServer, step: float, faults: list[Any], timeouts: list[Any], message: str
) -> None:
    """Each request's timeouts are cut to the time left, the deadline is checked as the
    body arrives, and no request starts past it."""
    replay.faults.extend(faults)
    clock = FakeClock()
    session = StepSession(clock, step)
    client = DailyPapersClient(
        session, replay.url, page_size=10, sleep=clock.sleep, clock=clock.clock
    )
    with pytest.raises(SourceError, match=message):
        client.fetch_day(REAL_DAY)
    assert session.timeouts == timeouts
    assert len(replay.requests) == len(timeouts)


def test_a_request_that_cannot_be_sent_is_a_setting_error() -> None:
    with pytest.raises(ConfigError, match=r"cannot be sent \(InvalidSchema\); check the API base"):
        client_for("localhost:8765").fetch_day(REAL_DAY)


@pytest.mark.parametrize(
    ("papers", "cap", "expected_pages"),
    [
        (73, 50, ["0:100", "1:50"]),  # a capped first page of 50: go on in pages of 50
        (120, 50, ["0:100", "1:50", "2:50"]),
        (50, 1000, ["0:100", "1:50"]),  # exactly 50 papers: one extra, empty page
        (73, 1000, ["0:100"]),  # no cap: one request
    ],
)
def test_a_silently_capped_limit_still_gets_the_whole_day(
    papers: int, cap: int, expected_pages: list[str]
) -> None:
    template = api_items(REAL_DAY)
    day_items = []
    for number in range(papers):
        item = json.loads(json.dumps(template[number % len(template)]))
        item["paper"]["id"] = f"2607.{number:05d}"
        day_items.append(item)
    with ReplayServer({REAL_DAY.isoformat(): day_items}, max_limit=cap) as server:
        items = client_for(server.url).fetch_day(REAL_DAY)
        pages = [f"{r['p']}:{r['limit']}" for r in server.requests]
    assert [item["paper"]["id"] for item in items] == [item["paper"]["id"] for item in day_items]
    assert pages == expected_pages


class HangingSession(requests.Session):
    """A server that never finishes answering, whatever the socket timeouts say: each
    byte arrives just within the read timeout, so no single read ever times out."""

    def __init__(self) -> None:
        super().__init__()
        self.calls = 0
        self.release = threading.Event()

    def get(self, *args: Any, **kwargs: Any) -> Any:  # type: ignore[override]
        self.calls += 1
        self.release.wait(30)
        raise requests.ConnectionError("released")


def test_the_deadline_bounds_the_whole_exchange_not_each_read() -> None:
    session = HangingSession()
    client = DailyPapersClient(session, "http://127.0.0.1:9", budget_seconds=0.2)
    finished = threading.Event()
    failure: list[BaseException] = []

    def fetch() -> None:
        try:
            client.fetch_day(REAL_DAY)
        except SourceError as exc:
            failure.append(exc)
        finished.set()

    threading.Thread(target=fetch, daemon=True).start()
    finished.wait(10)  # a bound for the test itself, not a measurement
    session.release.set()
    assert [str(exc).split(": ", 1)[1] for exc in failure] == [
        "the response was still arriving at the deadline; giving up within the time budget "
        "of 0.2s for the fetch. Try again later."
    ]
    assert session.calls == 1
