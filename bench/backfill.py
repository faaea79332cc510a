"""A 365-day backfill against the replay server with a fixed delay on every answer, at
concurrency 1 and at the default, side by side in one run: wall time and requests. The
rate gate is set far above what either reaches (1,000/s), so it is the concurrency that
is measured, not the rate limit. `python -m bench.backfill` prints these rows alone;
`bench/run` includes them."""

from __future__ import annotations

import tempfile
import time
from contextlib import ExitStack
from datetime import UTC, date, datetime, timedelta

from bench.measure import Row, render

DAYS = 365
DELAY = 0.05  # seconds the replay server holds every answer: a nearby API's latency
FIRST = date(2025, 8, 1)
UNLIMITED = 1000.0  # requests a second: far above what the delay lets through


def backfill_rows(days: int = DAYS, delay: float = DELAY) -> list[Row]:
    import requests

    from papers_digest.backfill import backfill
    from papers_digest.ratelimit import RateGate
    from papers_digest.settings import PostSettings
    from papers_digest.settings.backfill import BackfillSettings
    from papers_digest.source import DailyPapersClient
    from papers_digest.store import FolderStore
    from tests.backfills import synthetic_days
    from tools.replay_server import ReplayServer

    default = BackfillSettings.concurrency
    results: dict[int, tuple[float, int, int]] = {}
    with ReplayServer(synthetic_days(FIRST, days), delay=delay) as replay:
        for concurrency in (1, default):
            gate = RateGate(UNLIMITED)

            def new_source(stack: ExitStack, gate: RateGate = gate) -> DailyPapersClient:
                session = stack.enter_context(requests.Session())
                return DailyPapersClient(session, replay.url, gate=gate)

            with tempfile.TemporaryDirectory() as folder:
                replay.requests.clear()
                start = time.perf_counter()
                run = backfill(
                    FIRST,
                    FIRST + timedelta(days=days - 1),
                    store=FolderStore(folder),
                    settings=PostSettings(),
                    new_source=new_source,
                    now=lambda: datetime.now(UTC),
                    concurrency=concurrency,
                )
                seconds = time.perf_counter() - start
            written = sum(outcome.status == "created" for outcome in run.outcomes)
            results[concurrency] = (seconds, len(replay.requests), written)
    one = results[1][0]
    rows = []
    for concurrency, (seconds, asked, written) in results.items():
        label = "concurrency 1" if concurrency == 1 else f"concurrency {concurrency} (default)"
        rows.append(Row(
            f"Backfill of {days} days, {label}",
            f"{seconds:.1f} s, {asked} requests ({written} days written)",
            f"concurrency 1: {one:.1f} s", f"{seconds / one:.2f}x",
            f"replay server answers in {delay * 1000:g} ms; rate gate at {UNLIMITED:g}/s, "
            "so not the limit",
        ))  # fmt: skip
    return rows


def main() -> int:
    started = time.perf_counter()
    print(render(backfill_rows(), time.perf_counter() - started, "python -m bench.backfill"))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
