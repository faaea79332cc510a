"""The summary step's cost in requests and wall time: a 10-paper day through the pipeline
with an OpenAI-compatible stub that takes a fixed time to answer, at concurrency 1 and at
the default, then a re-run (every summary reused). `python -m bench.summaries` prints
these rows alone; `bench/run` includes them."""

from __future__ import annotations

import tempfile
import time
from dataclasses import replace
from datetime import UTC, date, datetime
from typing import Any

from bench.measure import ROOT, Row, render

DELAY = 0.5  # seconds the stub takes to answer: a small model's latency for ~100 tokens
DAY = date(2026, 7, 31)
NOW = datetime(2026, 8, 1, 0, 15, tzinfo=UTC)


def summary_rows(delay: float = DELAY) -> list[Row]:
    import requests

    from papers_digest.pipeline import run_day
    from papers_digest.settings import PostSettings, SummarySettings
    from papers_digest.source import DailyPapersClient
    from papers_digest.store import FolderStore
    from papers_digest.summarize import SummaryStep
    from papers_digest.summarizers import OpenAICompatible
    from tools.chat_stub import ChatStub
    from tools.replay_server import ReplayServer, load_days

    default = SummarySettings(provider="openai", model="stub", api_base="-", api_key="-")
    results: dict[str, tuple[int, float, dict[str, Any] | None]] = {}
    with (
        ReplayServer(load_days(ROOT / "tests/fixtures/hf-api")) as replay,
        ChatStub(delay=delay) as stub,
        requests.Session() as session,
    ):

        def run(out: str, settings: SummarySettings | None) -> tuple[int, float, Any]:
            step = None
            if settings is not None:
                model = OpenAICompatible(session, stub.url, "stub", "bench-key")
                step = SummaryStep(model, settings, lang="ko")
            stub.requests.clear()
            start = time.perf_counter()
            result = run_day(
                DAY,
                source=DailyPapersClient(session, replay.url),
                store=FolderStore(out),
                settings=PostSettings(),
                now=NOW,
                summaries=step,
            )
            return len(stub.requests), time.perf_counter() - start, result.summaries

        with tempfile.TemporaryDirectory() as folder:
            results["off"] = run(f"{folder}/off", None)
            results["one"] = run(f"{folder}/one", replace(default, concurrency=1))
            results["default"] = run(f"{folder}/default", default)
            results["rerun"] = run(f"{folder}/default", default)
    off = results["off"][1]

    def row(key: str, figure: str, note: str) -> Row:
        calls, seconds, made = results[key]
        written = made["written"] if made else 0
        return Row(figure, f"{calls} requests, {seconds:.2f} s ({written} written)",
                   f"summaries off: {off:.2f} s", f"{seconds - off:+.2f} s", note)  # fmt: skip

    limit = f"stub answers in {delay:g} s"
    return [
        row("one", "10-paper day with summaries, concurrency 1", f"{limit}; one at a time"),
        row("default", f"10-paper day with summaries, concurrency {default.concurrency} "
            "(default)", f"{limit}; ceil(10 / {default.concurrency}) rounds"),
        row("rerun", "Re-run of that day (summaries cached in the digest)", "no model request"),
    ]  # fmt: skip


def main() -> int:
    started = time.perf_counter()
    print(render(summary_rows(), time.perf_counter() - started, "python -m bench.summaries"))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
