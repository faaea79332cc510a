"""What a run costs, counted (never timed): source requests, S3 requests, imports."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime
from typing import Any

import pytest
import requests

from papers_digest.keys import post_key
from papers_digest.model import MachineSummary
from papers_digest.pipeline import run_day
from papers_digest.settings import PostSettings
from papers_digest.source import DailyPapersClient
from papers_digest.store import JSON_TYPE, S3Store
from tests.conftest import BUCKET, REAL_DAY
from tests.s3faults import counted_store
from tools.replay_server import ReplayServer

NOW = datetime(2026, 8, 1, 0, 15, tzinfo=UTC)


def test_a_day_costs_one_source_request_and_four_s3_requests(s3: Any, replay: ReplayServer) -> None:
    store, calls = counted_store()
    client = DailyPapersClient(requests.Session(), replay.url)
    run_day(REAL_DAY, source=client, store=store, settings=PostSettings(), now=NOW)
    assert len(replay.requests) == 1
    assert dict(calls) == {"GET": 2, "PUT": 2}

    calls.clear()
    run_day(REAL_DAY, source=client, store=store, settings=PostSettings(), now=NOW)
    assert len(replay.requests) == 2
    assert dict(calls) == {"GET": 2}  # an unchanged day writes nothing


@pytest.mark.parametrize(
    ("module", "absent"),
    [
        ("papers_digest.feed_handler", {"requests"}),
        ("papers_digest.digest_handler", set()),
    ],
)
def test_handlers_import_only_what_their_path_needs(module: str, absent: set[str]) -> None:
    code = (
        f"import sys, {module}; print(' '.join(sorted({{m.split('.')[0] for m in sys.modules}})))"
    )
    env = {"POWERTOOLS_SERVICE_NAME": "t", "POWERTOOLS_METRICS_NAMESPACE": "t", "PATH": ""}
    loaded = set(
        subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                       env=env).stdout.split()
    )  # fmt: skip
    assert not absent & loaded
    assert "papers_digest" in loaded


@pytest.mark.parametrize("lang", ["ko", "en"])
def test_a_run_without_a_summary_step_keeps_the_stored_summaries(
    s3: Any, replay: ReplayServer, lang: str
) -> None:
    """Summaries off, a backfill without --summaries, a model key that could not be read:
    the summaries already paid for stay (in their language)."""
    store = S3Store(BUCKET)
    client = DailyPapersClient(requests.Session(), replay.url)
    settings = PostSettings(lang=lang)
    run_day(REAL_DAY, source=client, store=store, settings=settings, now=NOW)
    key = f"digests/{REAL_DAY}.json"
    stored = json.loads(store.get(key).body)  # type: ignore[union-attr]
    summary = MachineSummary(
        "Two sentences. About a paper.", "amazon.nova-micro-v1:0", "ko", "a" * 64
    )
    stored["papers"][0]["machine_summary"] = summary.to_json()
    store.put(key, json.dumps(stored).encode(), JSON_TYPE)

    again = run_day(REAL_DAY, source=client, store=store, settings=settings, now=NOW)

    kept = json.loads(store.get(key).body)["papers"][0].get("machine_summary")  # type: ignore[union-attr]
    if lang == "ko":  # kept in the digest, which is not rewritten; the post now shows it
        assert (kept, again.keys_written) == (summary.to_json(), (post_key(REAL_DAY),))
    else:  # a summary in another language is not this post's: dropped
        assert (kept, again.keys_written) == (None, (key,))
