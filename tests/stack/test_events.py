"""Each event kept for `sam local invoke` runs its handler against moto S3, as given."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from papers_digest import digest_handler, feed_handler
from tests.conftest import FakeLambdaContext
from tools.replay_server import ReplayServer

EVENTS = sorted((Path(__file__).parents[2] / "infra" / "events").glob("*.json"))
HANDLERS = {"digest": digest_handler.lambda_handler, "feed": feed_handler.lambda_handler}


def test_every_function_has_events() -> None:
    assert {path.name.split("-")[0] for path in EVENTS} == set(HANDLERS)


@pytest.mark.parametrize("path", EVENTS, ids=[path.stem for path in EVENTS])
def test_event_invokes_its_handler(
    path: Path, s3: Any, replay: ReplayServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HF_API_BASE", replay.url)
    monkeypatch.setenv("SITE_URL", "https://papers.example.com")
    invoked: list[dict[str, Any]] = []  # what a backfill asks of Lambda at its end
    lambda_client = type("Lambda", (), {"invoke": lambda _self, **call: invoked.append(call)})
    monkeypatch.setattr(digest_handler, "_lambda", lambda_client)
    event = json.loads(path.read_text("utf-8"))
    function = path.name.split("-")[0]
    # A digest has landed before the feed function starts, or a roll-up of its week is built.
    if function == "feed" or "rollup" in event:
        digest_handler.lambda_handler({"date": "2026-07-31"}, FakeLambdaContext())

    result = HANDLERS[function](event, FakeLambdaContext())

    if "from" in event:  # a backfill: one day of papers, one without (not recorded)
        assert (result["written"], result["empty"], result["failed"]) == (1, 1, 0)
        assert [json.loads(call["Payload"]) for call in invoked] == [{"rollup": "2026-07"}]
    elif function == "digest":
        assert result["status"] == "created"
        assert len(result["keys_written"]) == 2
    else:
        assert result["status"] in ("published", "rebuilt")
        assert "feed.xml" in result["keys_written"]
