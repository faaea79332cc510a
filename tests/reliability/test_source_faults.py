"""The source misbehaves: a complete, correct digest after retries, or a one-line refusal
with nothing written and the previous digest byte-identical."""

from __future__ import annotations

import copy
import json
import socket
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pytest
import requests

from papers_digest.errors import DigestError
from papers_digest.keys import digest_key
from papers_digest.model import parse_day_response, rank
from papers_digest.pipeline import run_day
from papers_digest.settings import PostSettings
from papers_digest.source import DailyPapersClient
from papers_digest.store import S3Store
from tests.conftest import BUCKET, REAL_DAY, api_items
from tests.replay_server import Canned, ReplayServer

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
    timeout: tuple[float, float] = (5.0, 20.0)


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
]
REFUSED = [
    Case("429 that never ends", [Canned(429)] * 5, refused="HTTP 429 after 5 attempts"),
    Case("a truncated JSON body", [Canned(200, b'[{"paper": {"id": "26')],
         refused="not valid JSON"),
    Case("an HTML error page with status 200",
         [Canned(200, b"<!DOCTYPE html><title>Error</title>")], refused="not valid JSON"),
    Case("a JSON object where an array belongs", [Canned(200, b'{"papers": []}')],
         refused="expected a JSON array of papers, got a dict"),
    Case("most items missing required fields", items=_drop("upvotes", 20),
         refused="20 of 30 items for 2026-07-31 are unusable"),
    Case("a body that is not UTF-8", [Canned(200, '[{"title": "café"}]'.encode("latin-1"))],
         refused="response is not UTF-8"),
    Case("a later page fails for good", [_later_page(Canned(404))], page_size=10,
         refused="p=2: HTTP 404"),
    Case("a later page keeps failing", [_later_page(Canned(500))] * 5, page_size=10,
         refused="HTTP 500 after 5 attempts"),
]  # fmt: skip


@pytest.fixture
def world(s3: Any, replay: ReplayServer, ledger_factory: Any) -> Any:
    """A bucket already holding a good digest for the day (from older, lower upvotes)."""
    store = S3Store(BUCKET)
    older = copy.deepcopy(api_items(REAL_DAY))
    for item in older:
        item["paper"]["upvotes"] = max(0, item["paper"]["upvotes"] - 1)
    replay.days[REAL_DAY.isoformat()] = older
    run(replay.url, store)
    replay.days[REAL_DAY.isoformat()] = api_items(REAL_DAY)
    replay.requests.clear()
    return store, ledger_factory(store)


def run(url: str, store: S3Store, page_size: int = 100, timeout: Any = (5.0, 20.0)) -> Any:
    client = DailyPapersClient(
        requests.Session(), url, page_size=page_size, timeout=timeout,
        sleep=lambda _: None, clock=lambda: 0.0,
    )  # fmt: skip
    return run_day(REAL_DAY, source=client, store=store, settings=SETTINGS, now=NOW)


def expected_papers(items: Items) -> list[dict[str, Any]]:
    papers = rank(parse_day_response(items, REAL_DAY).papers, SETTINGS.top_n)
    return [paper.to_json() for paper in papers]


@pytest.mark.fault("source", "recovered")
@pytest.mark.parametrize("case", RECOVERED, ids=[case.name for case in RECOVERED])
def test_recovers_a_complete_correct_digest(world: Any, replay: ReplayServer, case: Case) -> None:
    store, ledger = world
    items = case.items(api_items(REAL_DAY))
    replay.days[REAL_DAY.isoformat()] = items
    replay.faults.extend(case.faults)
    before = ledger.snapshot()

    result = run(replay.url, store, case.page_size, case.timeout)

    assert result.status == "updated"
    stored = json.loads(store.get(digest_key(REAL_DAY)).body)  # type: ignore[union-attr]
    assert [{k: v for k, v in p.items() if k != "rank"} for p in stored["papers"]] == (
        expected_papers(items)
    )
    ledger.intact(before, may_change=set(result.keys_written))


@pytest.mark.fault("source", "refused")
@pytest.mark.parametrize("case", REFUSED, ids=[case.name for case in REFUSED])
def test_refuses_in_one_line_and_keeps_the_previous_digest(
    world: Any, replay: ReplayServer, case: Case
) -> None:
    store, ledger = world
    replay.days[REAL_DAY.isoformat()] = case.items(api_items(REAL_DAY))
    replay.faults.extend(case.faults)
    before = ledger.snapshot()

    with pytest.raises(DigestError, match=case.refused) as raised:
        run(replay.url, store, case.page_size)

    assert "\n" not in str(raised.value)
    ledger.intact(before)


@pytest.mark.fault("source", "refused")
def test_connection_refused(world: Any) -> None:
    store, ledger = world
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{probe.getsockname()[1]}"
    before = ledger.snapshot()
    with pytest.raises(DigestError, match=r"cannot connect .* after 5 attempts"):
        run(closed, store)
    ledger.intact(before)
