"""Shared fixtures: recorded API data, a replay server, moto S3 and a Lambda context."""

from __future__ import annotations

import copy
import json
import os
from collections.abc import Callable, Iterator
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from papers_digest.store import (
    ATOM_TYPE,
    CSS_TYPE,
    HTML_TYPE,
    JS_TYPE,
    JSON_TYPE,
    MARKDOWN_TYPE,
    RSS_TYPE,
    FolderStore,
    S3Store,
    Store,
)
from tools.replay_server import ReplayServer, load_days

# The handlers build Powertools' Logger and Metrics at import, as in Lambda, where
# these come from the function's environment (template.yaml's Globals).
os.environ.setdefault("POWERTOOLS_SERVICE_NAME", "papers-digest")
os.environ.setdefault("POWERTOOLS_METRICS_NAMESPACE", "PapersDigest")

FIXTURES = Path(__file__).parent / "fixtures"
EVENTS = Path(__file__).parents[1] / "infra" / "events"
API_FIXTURES = FIXTURES / "hf-api"
REAL_DAY = date(2026, 7, 31)
SEED_DAY = date(2026, 1, 28)
BUCKET = "papers-digest-test"


def api_items(day: date) -> list[dict[str, Any]]:
    """The recorded (or reconstructed) API response for `day`."""
    (path,) = API_FIXTURES.glob(f"daily_papers_{day.isoformat()}*.json")
    items: list[dict[str, Any]] = json.loads(path.read_text(encoding="utf-8"))
    return items


def api_items_for(day: date) -> list[dict[str, Any]]:
    """The recorded day's items as if listed on `day`: ids made unique to the day
    (`2607.31001`-style: yymm of the day, then day and rank), so each day brings its own
    papers, as real days do."""
    items = copy.deepcopy(api_items(REAL_DAY))
    for rank, item in enumerate(items, 1):
        item["paper"]["id"] = f"{day:%y%m}.{day.day:02d}{rank:03d}"
        item["paper"]["submittedOnDailyAt"] = f"{day.isoformat()}T00:00:00.000Z"
    return items


def event(name: str) -> dict[str, Any]:
    """An event kept in infra/events/ for `sam local invoke`."""
    loaded: dict[str, Any] = json.loads((EVENTS / name).read_text(encoding="utf-8"))
    return loaded


def object_created(key: str, bucket: str = BUCKET) -> dict[str, Any]:
    """The EventBridge Object Created event of infra/events/, for another key or bucket."""
    created = event("feed-object-created.json")
    created["detail"]["bucket"]["name"] = bucket
    created["detail"]["object"]["key"] = key
    return created


@pytest.fixture
def days_server(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[..., ReplayServer]]:
    """Start a replay server listing `days` (`api_items_for` each), the API of the
    handlers and the CLI (HF_API_BASE), with SITE_URL set for the feeds."""
    servers: list[ReplayServer] = []

    def start(days: list[date]) -> ReplayServer:
        server = ReplayServer({day.isoformat(): api_items_for(day) for day in days})
        servers.append(server.__enter__())
        monkeypatch.setenv("HF_API_BASE", server.url)
        monkeypatch.setenv("SITE_URL", "https://papers.example.com")
        return server

    yield start
    for server in servers:
        server.__exit__(None, None, None)


@pytest.fixture
def replay() -> Iterator[ReplayServer]:
    with ReplayServer(load_days(API_FIXTURES)) as server:
        yield server


@pytest.fixture
def aws_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "DIGEST_BUCKET": BUCKET,
        "POWERTOOLS_SERVICE_NAME": "papers-digest",
        "POWERTOOLS_METRICS_NAMESPACE": "PapersDigest",
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_ENDPOINT_URL_S3", raising=False)
    monkeypatch.delenv("AWS_PROFILE", raising=False)


@pytest.fixture
def s3(aws_env: None) -> Iterator[Any]:
    """A moto S3 with the digest bucket; yields a boto3 client on it. boto3's default
    session is kept from test to test: making a new one costs a tenth of a second."""
    with mock_aws(config={"core": {"reset_boto3_session": False}}):
        client = boto3.client("s3", region_name="us-east-1")
        client.create_bucket(Bucket=BUCKET)
        yield client


@pytest.fixture(scope="session")
def moto_endpoint() -> Iterator[str]:
    """A moto S3 server on 127.0.0.1: requests travel over real HTTP, so a botocore
    `before-send` hook that answers a request really keeps it from reaching S3."""
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture
def s3_server(aws_env: None, moto_endpoint: str, monkeypatch: pytest.MonkeyPatch) -> Any:
    """An empty moto server with the digest bucket; boto3 clients made now go there."""
    import requests

    requests.post(f"{moto_endpoint}/moto-api/reset", timeout=10).raise_for_status()
    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", moto_endpoint)
    client = boto3.client("s3", region_name="us-east-1")
    client.create_bucket(Bucket=BUCKET)
    return client


@dataclass
class FakeLambdaContext:
    function_name: str = "papers-digest-test"
    memory_limit_in_mb: int = 256
    invoked_function_arn: str = "arn:aws:lambda:us-east-1:123456789012:function:papers-digest-test"
    aws_request_id: str = "00000000-0000-0000-0000-000000000000"

    def get_remaining_time_in_millis(self) -> int:
        return 300_000


@pytest.fixture
def lambda_context() -> FakeLambdaContext:
    return FakeLambdaContext()


CONTENT_TYPES = {
    ".json": JSON_TYPE,
    ".md": MARKDOWN_TYPE,
    ".xml": RSS_TYPE,
    ".atom": ATOM_TYPE,
    ".html": HTML_TYPE,
    ".css": CSS_TYPE,
    ".js": JS_TYPE,
}


def copy_objects(source: FolderStore, target: Store) -> None:
    """Put every object of `source` into `target`: a bucket seeded with what a run once
    wrote, without running it again for every test."""
    for key in source.list_keys(""):
        found = source.get(key)
        assert found is not None
        target.put(key, found.body, CONTENT_TYPES[Path(key).suffix])


class Ledger:
    """Byte-for-byte snapshots of a store (the test bucket unless told): `intact` fails
    when an object was lost or corrupted. Counts what it compared, for the reliability
    report (tests/reliability/conftest.py)."""

    def __init__(self) -> None:
        self.store: Store | None = None
        self.checked = 0
        self.damaged = 0

    def snapshot(self, store: Store | None = None) -> dict[str, bytes]:
        self.store = store or self.store or S3Store(BUCKET)
        snapshot = {}
        for key in self.store.list_keys(""):
            found = self.store.get(key)
            assert found is not None
            snapshot[key] = found.body
        return snapshot

    def intact(self, before: dict[str, bytes], may_change: AbstractSet[str] = frozenset()) -> None:
        """Every object in `before` is still there, byte-identical unless in `may_change`,
        and no object outside `may_change` appeared."""
        after = self.snapshot()
        damaged = [
            key
            for key in before
            if key not in after or (key not in may_change and after[key] != before[key])
        ]
        appeared = sorted(set(after) - set(before) - may_change)
        self.checked += len(before)
        self.damaged += len(damaged)
        assert damaged == [], f"lost or corrupted: {damaged}"
        assert appeared == [], f"written outside the allowed keys: {appeared}"


@pytest.fixture
def ledger() -> Ledger:
    return Ledger()
