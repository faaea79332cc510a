"""The source misbehaves: a complete, correct digest after retries, or a one-line refusal
with nothing written and the previous digest byte-identical."""

from __future__ import annotations

import copy
import json
import logging
import re
import socket
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
import requests

from papers_digest import digest_handler
from papers_digest.errors import DigestError, MalformedResponseError, SourceError
from papers_digest.keys import digest_key
from papers_digest.model import parse_day_response, rank
from papers_digest.pipeline import run_day
from papers_digest.settings import PostSettings
from papers_digest.source import DailyPapersClient
from papers_digest.store import FolderStore, S3Store
from tests.conftest import (
    BUCKET,
    REAL_DAY,
    FakeLambdaContext,
    Ledger,
    api_items,
    copy_objects,
    event,
)
from tools.replay_server import Canned, ReplayServer

NOW = datetime(2026, 8, 2, tzinfo=UTC)
SETTINGS = PostSettings()
Items = list[dict[str, Any]]


@dataclass
class Case:
    name: str
    faults: list[Any] = field(default_factory=list)
    items: Callable[[Items], Items] = lambda items: items
    page_size: int = 100
    refused: str = ""  # the error's words when the run must be refused
    error: type[DigestError] = SourceError  # and its class
    timeout: tuple[float, float] = (5.0, 20.0)
    requests: int | None = None  # the requests the server must have seen, when it matters
    budget: float | None = None  # a real-time budget (default: 50 s on a frozen clock)


def _drop(field_name: str, count: int) -> Callable[[Items], Items]:
    def change(items: Items) -> Items:
        items = copy.deepcopy(items)
        for item in items[:count]:
            del item["paper"][field_name]
        return items

    return change


def _duplicate(items: Items) -> Items:
    extra = copy.deepcopy(items[:3])
    for item in extra:
        item["paper"]["upvotes"] += 100
    return items + extra


def _upvotes_not_a_number(items: Items) -> Items:
    items = copy.deepcopy(items)
    items[0]["paper"]["upvotes"] = "12k"
    return items


def _later_page(fault: Canned) -> Callable[[dict[str, str]], Canned | None]:
    return lambda query: fault if query.get("p") == "2" else None


def _many(count: int) -> Callable[[Items], Items]:
    """`count` papers with ids only: a day far longer than any real one."""
    return lambda _: [{"paper": {"id": f"2607.{number:05d}"}} for number in range(count)]


DAY_BODY = json.dumps(api_items(REAL_DAY)).encode()
FIRST_TEN = Canned(200, json.dumps(api_items(REAL_DAY)[:10]).encode())
SIX_MB = b"[" + b"0," * 3_000_000 + b"0]"


RECOVERED = [
    Case("read timeout, then an answer", [Canned(delay=0.5)], timeout=(1.0, 0.2)),
    Case("HTTP 500, then an answer", [Canned(500)]),
    Case("HTTP 502, then an answer", [Canned(502)]),
    Case("HTTP 503 three times, then an answer", [Canned(503)] * 3),
    Case("429 with Retry-After, then an answer", [Canned(429, headers={"Retry-After": "3"})]),
    Case("a dropped connection, then an answer", [Canned(close=True)]),
    Case("a few items missing required fields", items=_drop("title", 3)),
    Case("duplicate paper ids", items=_duplicate),
    Case("an upvote count that is not a number", items=_upvotes_not_a_number),
    Case("a later page fails once, then answers", [_later_page(Canned(503))], page_size=10),
    Case("the connection drops mid-body, then an answer", [Canned(200, DAY_BODY, drop_after=999)]),
    Case(
        "a bad gzip body, then an answer",
        [Canned(200, b"not gzip", headers={"Content-Encoding": "gzip"})],
    ),
    Case("a redirect loop, then an answer", [Canned(302, headers={"Location": "/loop"})] * 31),
]
REFUSED = [
    Case("429 that never ends", [Canned(429)] * 10, refused="HTTP 429 after 5 attempts",
         requests=5),
    Case("a client error, not retried", [Canned(403, b"Forbidden")],
         refused="HTTP 403 Forbidden: 'Forbidden'; check", requests=1),
    Case("a truncated JSON body", [Canned(200, b'[{"paper": {"id": "26')],
         refused="not valid JSON", error=MalformedResponseError),
    Case("an HTML error page with status 200",
         [Canned(200, b"<!DOCTYPE html><title>Error</title>")],
         refused="not valid JSON.*starts '<!DOCTYPE html>", error=MalformedResponseError),
    Case("a JSON object where an array belongs", [Canned(200, b'{"papers": []}')],
         refused="expected a JSON array of papers, got a dict", error=MalformedResponseError),
    Case("most items missing required fields", items=_drop("upvotes", 20),
         refused="20 of 30 items for 2026-07-31 are unusable"),
    Case("a body that is not UTF-8", [Canned(200, '[{"title": "café"}]'.encode("latin-1"))],
         refused="response is not UTF-8", error=MalformedResponseError),
    Case("a later page fails for good", [_later_page(Canned(404))], page_size=10,
         refused="p=2: HTTP 404"),
    Case("a later page keeps failing", [_later_page(Canned(500))] * 5, page_size=10,
         refused="HTTP 500 after 5 attempts"),
    Case("an API that ignores p", [FIRST_TEN] * 2, page_size=10,
         refused="p=1: a full page with no new paper ids", requests=2),
    Case("full pages past the page cap", items=_many(2_500),
         refused="still had full pages after 20", requests=20),
    Case("more papers than the item cap", items=_many(2_500), page_size=1000,
         refused="more than 2,000 papers", requests=3),
    Case("a Content-Length of 50 MB", [Canned(200, headers={"Content-Length": "50000000"})],
         refused="pass 5,000,000 bytes", requests=1),
    Case("a 6 MB body without Content-Length", [Canned(200, SIX_MB, send_length=False)],
         refused="pass 5,000,000 bytes", requests=1),
    Case("a body trickled past the time budget", [Canned(200, DAY_BODY, trickle=0.5)],
         budget=1.0, refused="still arriving at the deadline", requests=1),
    Case("status line and headers trickled past the time budget",
         [Canned(200, DAY_BODY, trickle_headers=0.5)],
         budget=1.0, refused="still arriving at the deadline", requests=1),
    Case("a redirect to a file: URL", [Canned(302, headers={"Location": "file:///etc/passwd"})],
         refused="redirected to a URL that cannot be followed", requests=1),
    Case("a 5,000-digit number", [Canned(200, b'[{"paper": {"upvotes": ' + b"9" * 5000 + b"}}]")],
         refused="JSON we cannot read [(]a number too long[)]", requests=1),
    Case("100,000-deep nesting", [Canned(200, b"[" * 100_000 + b"]" * 100_000)],
         refused="JSON we cannot read [(]nested too deeply[)]", requests=1),
]  # fmt: skip


class RecordedItems:
    def __init__(self, items: Items) -> None:
        self.items = items

    def fetch_day(self, day: date) -> Items:
        return self.items


@pytest.fixture(scope="module")
def earlier_run(tmp_path_factory: pytest.TempPathFactory) -> FolderStore:
    """What an earlier run of the day wrote, when every paper had one upvote fewer."""
    older = copy.deepcopy(api_items(REAL_DAY))
    for item in older:
        item["paper"]["upvotes"] = max(0, item["paper"]["upvotes"] - 1)
    folder = FolderStore(tmp_path_factory.mktemp("earlier-run"))
    run_day(REAL_DAY, source=RecordedItems(older), store=folder, settings=SETTINGS, now=NOW)
    return folder


@pytest.fixture
def world(s3: Any, earlier_run: FolderStore) -> S3Store:
    """A bucket already holding a good digest for the day (from older, lower upvotes)."""
    store = S3Store(BUCKET)
    copy_objects(earlier_run, store)
    return store


def run(url: str, store: S3Store, case: Case | None = None) -> Any:
    """One run of the day; a case with a real-time budget runs on the real clock."""
    case = case or Case("a normal day")
    client = DailyPapersClient(
        requests.Session(), url, page_size=case.page_size, timeout=case.timeout,
        sleep=lambda _: None, clock=time.monotonic if case.budget else lambda: 0.0,
        budget_seconds=case.budget or 50.0,
    )  # fmt: skip
    return run_day(REAL_DAY, source=client, store=store, settings=SETTINGS, now=NOW)


def run_bounded(url: str, store: S3Store, case: Case) -> BaseException | None:
    """`run` in a daemon thread, so a run that never ends fails the test instead of hanging
    it; returns what the run raised."""
    raised: list[BaseException | None] = [None]

    def target() -> None:
        try:
            run(url, store, case)
        except BaseException as exc:
            raised[0] = exc

    worker = threading.Thread(target=target, daemon=True)
    worker.start()
    worker.join(timeout=20)
    assert not worker.is_alive(), "the run outlived its budget"
    return raised[0]


def expected_papers(items: Items) -> list[dict[str, Any]]:
    papers = rank(parse_day_response(items, REAL_DAY).papers, SETTINGS.top_n)
    return [paper.to_json() for paper in papers]


@pytest.mark.fault("source", "recovered")
@pytest.mark.parametrize("case", RECOVERED, ids=[case.name for case in RECOVERED])
def test_recovers_a_complete_correct_digest(
    world: S3Store, ledger: Ledger, replay: ReplayServer, case: Case
) -> None:
    store = world
    items = case.items(api_items(REAL_DAY))
    replay.days[REAL_DAY.isoformat()] = items
    replay.faults.extend(case.faults)
    before = ledger.snapshot()

    result = run(replay.url, store, case)

    assert result.status == "updated"
    assert replay.faults == []
    stored = json.loads(store.get(digest_key(REAL_DAY)).body)  # type: ignore[union-attr]
    assert [{k: v for k, v in p.items() if k != "rank"} for p in stored["papers"]] == (
        expected_papers(items)
    )
    ledger.intact(before, may_change=set(result.keys_written))


@pytest.mark.fault("source", "refused")
@pytest.mark.parametrize("case", REFUSED, ids=[case.name for case in REFUSED])
def test_refuses_in_one_line_and_keeps_the_previous_digest(
    world: S3Store, ledger: Ledger, replay: ReplayServer, case: Case
) -> None:
    store = world
    replay.days[REAL_DAY.isoformat()] = case.items(api_items(REAL_DAY))
    replay.faults.extend(case.faults)
    before = ledger.snapshot()

    raised = run_bounded(replay.url, store, case)

    assert isinstance(raised, case.error), raised
    assert re.search(case.refused, str(raised)), str(raised)
    assert "\n" not in str(raised)
    if case.requests is not None:
        assert len(replay.requests) == case.requests
    ledger.intact(before)


@pytest.mark.fault("source", "refused")
def test_connection_refused(world: S3Store, ledger: Ledger) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    before = ledger.snapshot()
    with pytest.raises(SourceError, match=rf"127.0.0.1:{port}.*cannot connect.*after 5 attempts"):
        run(f"http://127.0.0.1:{port}", world)
    ledger.intact(before)


SECRET = "hf_LeakCanary0123456789abcdefXYZ"


def _echo_token(query: dict[str, str]) -> Canned:
    """A 401 that quotes the Authorization header, the token straddling the 200-char cut."""
    return Canned(
        401, f'{{"error": "{"x" * 150} bad credentials: {query["authorization"]}"}}'.encode()
    )


def _via_cli(url: str) -> BaseException:
    from papers_digest import cli

    with pytest.raises(SystemExit) as exited:
        cli.main(["run", "--date", REAL_DAY.isoformat(), "--bucket", BUCKET, "--api-base", url])
    return exited.value


def _via_handler(url: str) -> BaseException:
    from papers_digest import digest_handler

    with pytest.raises(DigestError) as raised:
        digest_handler.lambda_handler(event("digest-scheduled.json"), FakeLambdaContext())
    return raised.value


TRAILING, INSIDE = SECRET + "\n", SECRET[:12] + "\r\n" + SECRET[12:]
TOKEN_LEAKS = [
    ("a token ending in a line break, the API echoing it, via the CLI", _via_cli, TRAILING),
    ("a token ending in a line break, the API echoing it, via the handler", _via_handler, TRAILING),
    ("a token with a line break inside, via the CLI", _via_cli, INSIDE),
    ("a token with a line break inside, via the handler", _via_handler, INSIDE),
]


@pytest.mark.fault("source", "refused")
@pytest.mark.parametrize(
    ("entry", "token"), [case[1:] for case in TOKEN_LEAKS], ids=[case[0] for case in TOKEN_LEAKS]
)
def test_a_failed_run_never_shows_the_token(
    world: S3Store,
    ledger: Ledger,
    replay: ReplayServer,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
    entry: Callable[[str], BaseException],
    token: str,
) -> None:
    """Stdout, stderr, every log record and the error with its traceback: no part of it."""
    monkeypatch.setenv("HF_TOKEN", token)
    monkeypatch.setenv("HF_API_BASE", replay.url)
    replay.faults.append(_echo_token)
    caplog.set_level(logging.DEBUG)
    before = ledger.snapshot()

    failure = entry(replay.url)

    captured = capsys.readouterr()
    shown = "".join([captured.out, captured.err, caplog.text, *traceback.format_exception(failure)])
    malformed = token == INSIDE
    assert len(replay.requests) == (0 if malformed else 1)
    assert ("HF_TOKEN is malformed" in shown) == malformed
    for secret in (SECRET, SECRET[:12], SECRET[12:]):
        assert secret not in shown
    ledger.intact(before)


@pytest.mark.fault("source", "no-op")
def test_a_degraded_answer_for_a_refreshed_day_keeps_the_stored_day(
    s3: Any, days_server: Callable[[list[date]], ReplayServer], ledger: Ledger
) -> None:
    """The refresh re-runs published days unattended: an answer listing fewer than half
    of a stored day's papers is taken for a degraded one, not for the day."""
    day, before_it = REAL_DAY, REAL_DAY - timedelta(days=1)
    server = days_server([day, before_it])
    scheduled = {"scheduled_time": "2026-08-01T00:15:00Z"}
    digest_handler.lambda_handler(scheduled, FakeLambdaContext())
    listed = server.days[before_it.isoformat()]
    server.days[before_it.isoformat()] = listed[:14]  # of 30
    before = ledger.snapshot()

    result = digest_handler.lambda_handler(scheduled, FakeLambdaContext())

    assert result["refresh"]["refreshed"] == {"2026-07-30": "kept", "2026-07-29": "empty"}
    ledger.intact(before)
    server.days[before_it.isoformat()] = listed[:15]  # half is taken for the day
    again = digest_handler.lambda_handler(scheduled, FakeLambdaContext())
    assert again["refresh"]["refreshed"]["2026-07-30"] == "updated"
