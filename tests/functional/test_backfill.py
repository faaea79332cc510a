"""Backfills against the replay server, which counts and timestamps every request: each
day fetched and written once, the rate held over every window, the API's pauses held by
all workers, a killed run resumed, and the Lambda's hand-over from one invocation to the
next. Rates are high (200/s) and pauses short (0.3 s), so the suite stays fast."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import ExitStack
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import requests

from papers_digest import digest_handler, lease
from papers_digest.backfill import (
    BREAKER_DAYS,
    MAX_HOPS,
    Api,
    BackfillRun,
    LeaseKeeper,
    backfill,
    run_backfill,
)
from papers_digest.cli import main
from papers_digest.errors import ConfigError, DigestError, StoreError
from papers_digest.ratelimit import RateGate
from papers_digest.settings import PostSettings
from papers_digest.settings.backfill import BackfillSettings
from papers_digest.source import DailyPapersClient
from papers_digest.store import FolderStore, S3Store
from tests.backfills import allowed_in_a_window, most_in_a_window, synthetic_days
from tests.conftest import BUCKET, FakeLambdaContext
from tests.functional.test_cli import CLI, run_cli
from tools.replay_server import Canned, ReplayServer

FIRST = date(2026, 5, 1)
DAYS = 60
LAST = FIRST + timedelta(days=DAYS - 1)
RATE = 100.0
PAUSE = 0.3
CONCURRENCY = 4
# The server stamps a request when it arrives, a little after the gate let it go: on a
# busy machine (2 cores, the template checks beside) requests can bunch up by tens of
# milliseconds on their way. The gate's own record is held to the bound exactly; the
# server's, over windows of 0.1 s and more, to 3 requests (30 ms at 100/s) more: a gate
# per worker, or one that lets bursts through, would show 4 times the rate there.
SERVER_SLACK = 3


def run_range(
    server: ReplayServer, out: Path, gate: RateGate, budget: float = 50.0, **options: Any
) -> BackfillRun:
    def new_source(stack: ExitStack) -> DailyPapersClient:
        session = stack.enter_context(requests.Session())
        return DailyPapersClient(
            session, server.url, gate=gate, backoff_seconds=0.01, budget_seconds=budget
        )

    return backfill(
        options.pop("first", FIRST),
        options.pop("last", LAST),
        store=FolderStore(out),
        settings=PostSettings(),
        new_source=new_source,
        now=lambda: datetime.now(UTC),
        concurrency=options.pop("concurrency", CONCURRENCY),
        gate=gate,
        **options,
    )


def fault_on(day: str, canned: Canned) -> Any:
    return lambda query: canned if query.get("date") == day else None


@pytest.fixture(scope="module")
def sixty_days() -> dict[str, list[Any]]:
    return synthetic_days(FIRST, DAYS)


@pytest.mark.parametrize(
    "limited",
    [
        {"Retry-After": str(PAUSE)},
        {"RateLimit": f'"api";r=0;t={PAUSE}'},
    ],
    ids=["retry-after", "ratelimit-headers"],
)
def test_sixty_days_each_once_within_the_rate_and_pauses_held_by_all_workers(
    sixty_days: dict[str, list[Any]], tmp_path: Path, limited: dict[str, str]
) -> None:
    with ReplayServer(sixty_days) as server:
        server.faults.append(fault_on("2026-05-20", Canned(429, b"{}", limited)))
        passed: list[float] = []
        gate = RateGate(RATE, history=passed)
        run = run_range(server, tmp_path, gate)
        times, dates = list(server.times), [r["date"] for r in server.requests]

    statuses = Counter(outcome.status for outcome in run.outcomes)
    assert statuses == {"created": DAYS}
    assert run.next_day is None
    assert len(list((tmp_path / "digests").iterdir())) == DAYS
    # Each day asked once, the limited one once more after the pause; the gate counted all.
    asked = Counter(dates)
    assert asked == {day: 1 + (day == "2026-05-20") for day in sixty_days}
    assert gate.passed == len(times) == DAYS + 1
    # The pause: after the 429 arrived, only requests already past the gate came in.
    limited_at = times[dates.index("2026-05-20")]
    during = [t for t in times if limited_at < t < limited_at + PAUSE]
    assert len(during) <= CONCURRENCY - 1
    # Strict spacing: no window holds more than floor(w * rate) + 1 requests.
    for width in (0.5 / RATE, 1 / RATE, 3 / RATE, 10 / RATE, 30 / RATE, 1.0):
        assert most_in_a_window(passed, width) <= allowed_in_a_window(width, RATE)
    for width in (10 / RATE, 30 / RATE, 1.0):
        assert most_in_a_window(times, width) <= allowed_in_a_window(width, RATE) + SERVER_SLACK
    assert gate.pauses == 1


def test_a_pause_longer_than_a_fetch_may_wait_fails_only_the_days_in_flight(
    sixty_days: dict[str, list[Any]], tmp_path: Path
) -> None:
    """A 429 asking for more than a day's fetch budget fails the days already started,
    at once; the next days are not started until the pause is over (before, every day
    after it failed in a few milliseconds, whatever the range)."""
    with ReplayServer(sixty_days) as server:
        # a budget several times what a fetch takes here, even on a loaded machine, and a
        # pause longer than it
        server.faults.append(fault_on("2026-05-04", Canned(429, b"{}", {"Retry-After": "1.5"})))
        gate = RateGate(RATE)
        run = run_range(server, tmp_path, gate, budget=0.6, last=FIRST + timedelta(days=15))
        times, dates = list(server.times), [r["date"] for r in server.requests]
    statuses = Counter(outcome.status for outcome in run.outcomes)
    assert 1 <= statuses["failed"] <= CONCURRENCY
    assert statuses["created"] == 16 - statuses["failed"]
    assert "2026-05-04" in {o.day.isoformat() for o in run.outcomes if o.status == "failed"}
    limited_at = times[dates.index("2026-05-04")]
    assert len([t for t in times if limited_at < t < limited_at + 1.5]) <= CONCURRENCY - 1
    assert run.next_day is None


def test_the_policy_header_slows_every_worker(tmp_path: Path) -> None:
    """A RateLimit-Policy slower than the configured rate sets the pace for all."""
    days = synthetic_days(FIRST, 6)
    policy = {"RateLimit-Policy": '"api";q=20;w=1'}  # 20 a second
    with ReplayServer(days) as server:
        server.faults.append(fault_on(FIRST.isoformat(), Canned(200, b"[]", policy)))
        gate = RateGate(RATE)
        run_range(server, tmp_path, gate, last=FIRST + timedelta(days=5), refetch=True)
        times = sorted(server.times)
    assert gate.rate == 20.0
    for width in (3 / 20, 5 / 20):  # at 20/s, 3 requests of slack are 150 ms
        assert most_in_a_window(times[1:], width) <= allowed_in_a_window(width, 20) + 1


def test_days_already_stored_are_not_fetched_again_unless_refetched(
    sixty_days: dict[str, list[Any]], tmp_path: Path
) -> None:
    last = FIRST + timedelta(days=9)
    with ReplayServer(sixty_days) as server:
        run_range(server, tmp_path, RateGate(RATE), last=last)
        (tmp_path / "digests" / "2026-05-03.json").write_text("{not json")  # corrupt
        server.requests.clear()
        again = run_range(server, tmp_path, RateGate(RATE), last=last)
        assert [r["date"] for r in server.requests] == ["2026-05-03"]
        server.requests.clear()
        refetched = run_range(server, tmp_path, RateGate(RATE), last=last, refetch=True)
        assert len(server.requests) == 10
    assert Counter(o.status for o in again.outcomes) == {"stored": 9, "updated": 1}
    assert Counter(o.status for o in refetched.outcomes) == {"unchanged": 10}


def test_a_refetch_keeps_a_stored_day_the_api_answers_for_degraded(tmp_path: Path) -> None:
    """A refetched day the API lists fewer than half the stored papers for keeps its
    stored digest (`kept`); a fuller answer still rewrites its day."""
    last = FIRST + timedelta(days=2)
    with ReplayServer(synthetic_days(FIRST, 3, papers=4)) as server:
        run_range(server, tmp_path, RateGate(RATE), last=last)
    kept = tmp_path / "digests" / "2026-05-02.json"
    before = kept.read_bytes()
    degraded = synthetic_days(FIRST, 3, papers=4)
    degraded["2026-05-02"] = degraded["2026-05-02"][:1]
    degraded["2026-05-03"] = synthetic_days(FIRST, 3, papers=5)["2026-05-03"]
    with ReplayServer(degraded) as server:
        run = run_range(server, tmp_path, RateGate(RATE), last=last, refetch=True)
        assert len(server.requests) == 3
    statuses = {outcome.day.isoformat(): outcome.status for outcome in run.outcomes}
    assert statuses == {"2026-05-01": "unchanged", "2026-05-02": "kept", "2026-05-03": "updated"}
    assert kept.read_bytes() == before
    assert run.tally().counts()["failed"] == 0


class FlakyKeeper(LeaseKeeper):
    """A lease whose renewal raises `error` the first `times` it is due (each day)."""

    def __init__(self, error: Exception, times: int) -> None:
        self.error, self.times, self.renewals = error, times, 0

    def hold(self, length: timedelta | None = None) -> bool:
        return True

    def renew_if_due(self) -> None:
        self.renewals += 1
        if self.renewals <= self.times:
            raise self.error


@pytest.mark.parametrize(
    ("error", "times", "fatal"),
    [
        (StoreError("s3://b/state/backfill.json: SlowDown"), 3, False),  # a hiccup
        (lease.LeaseHeld("backfill b-other holds the feeds"), 1, True),  # another backfill
    ],
    ids=["store-hiccup", "lease-held"],
)
def test_only_another_backfills_lease_ends_a_backfill_at_a_renewal(
    sixty_days: dict[str, list[Any]], tmp_path: Path, error: Exception, times: int, fatal: bool
) -> None:
    keeper = FlakyKeeper(error, times)
    last = FIRST + timedelta(days=5)
    with ReplayServer(sixty_days) as server:
        go = lambda: run_backfill(  # noqa: E731
            FIRST, last, store=FolderStore(tmp_path), settings=PostSettings(),
            api=Api(server.url), options=BackfillSettings(RATE, 2), keeper=keeper,
        )  # fmt: skip
        if fatal:
            with pytest.raises(lease.LeaseHeld):
                go()
            return
        hop = go()
    assert hop is not None
    assert hop.tally.written == 6
    assert keeper.renewals == 6  # tried again as each day ended


def test_a_failed_day_is_listed_and_the_others_go_on(
    sixty_days: dict[str, list[Any]], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with ReplayServer(sixty_days) as server:
        server.faults.append(fault_on("2026-05-04", Canned(404, b'{"error":"gone"}')))
        status = main(
            ["backfill", "--from", "2026-05-01", "--to", "2026-05-08", "--out", str(tmp_path),
             "--rate", str(RATE), "--api-base", server.url, "--json"]
        )  # fmt: skip
    summary = json.loads(capsys.readouterr().out)
    assert status == 1
    assert (summary["written"], summary["failed"], summary["days"]) == (7, 1, 8)
    assert [entry["day"] for entry in summary["failed_days"]] == ["2026-05-04"]
    assert "HTTP 404" in summary["failed_days"][0]["error"]
    assert "\n" not in summary["failed_days"][0]["error"]
    assert not (tmp_path / "digests" / "2026-05-04.json").exists()
    # A folder has no feed function: the CLI publishes the feeds once, for the days written.
    assert summary["feeds"]["status"] in {"published", "rebuilt"}
    assert (tmp_path / "feed.xml").is_file()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--from", "2026-05-08", "--to", "2026-05-01"], "is after --to"),
        (["--from", "2023-01-01", "--to", "2023-05-10"], "before Hugging Face Daily Papers"),
        (["--from", "2026-05-01", "--rate", "0"], "--rate='0' must be above 0"),
        (["--from", "2026-05-01", "--concurrency", "99"], "--concurrency='99' must be from 1"),
    ],
)
def test_bad_ranges_and_options_are_refused_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["backfill", *args, "--out", str(tmp_path)])
    assert exit_.value.code == 2
    error = capsys.readouterr().err
    assert message in error
    assert error.count("\n") == 1


def test_a_backfill_killed_half_way_resumes_where_it_stopped(
    sixty_days: dict[str, list[Any]], tmp_path: Path
) -> None:
    """A real CLI process, SIGKILLed once 20 days are stored, then run again: each
    remaining day is fetched and written once, no finished day again."""
    out = tmp_path / "site"
    digests = out / "digests"
    args = ["backfill", "--from", FIRST.isoformat(), "--to", LAST.isoformat(),
            "--out", str(out), "--rate", str(RATE), "--concurrency", "2", "--json"]  # fmt: skip
    with ReplayServer(sixty_days, delay=0.02) as server:
        process = subprocess.Popen(
            [*CLI, *args, "--api-base", server.url],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and len(_listed(digests)) < 20:
            time.sleep(0.005)
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=10)
        finished = {path.name: path.stat().st_ino for path in _listed(digests)}
        assert 20 <= len(finished) < DAYS
        for _ in range(50):  # requests the killed process sent may still be arriving
            seen = len(server.requests)
            time.sleep(0.1)
            if len(server.requests) == seen:
                break
        first_run = len(server.requests)
        server.requests.clear()

        again = run_cli(*args, "--api-base", server.url, cwd=tmp_path)
        asked = Counter(r["date"] for r in server.requests)

    assert again.returncode == 0, again.stderr
    summary = json.loads(again.stdout)
    finished_days = {name.removesuffix(".json") for name in finished}
    assert not finished_days & set(asked)  # no finished day fetched again
    assert asked == {day: 1 for day in sixty_days if day not in finished_days}
    assert summary["skipped"] == len(finished)
    assert summary["written"] == DAYS - len(finished)
    assert first_run + len(asked) <= DAYS + 2  # at most the days in flight at the kill, twice
    for name, inode in finished.items():  # a finished day's digest was not written again
        assert (digests / name).stat().st_ino == inode
    # One publish for all 60 days: the killed run's too, which it never published.
    index = json.loads((out / "state" / "feed-index.json").read_text())
    assert sorted(day for days in index["months"].values() for day in days) == sorted(sixty_days)
    # Every week and month the range closed is rolled up: May, and W18 to W26 (June 29 is
    # a Monday; June is not over).
    weeks = [f"2026-W{week}" for week in range(18, 27)]
    assert summary["rollups"] == {period: "created" for period in ["2026-05", *weeks]}
    assert (out / "digests" / "monthly" / "2026-05.json").is_file()

    with ReplayServer(sixty_days) as server:  # a repeated backfill writes nothing
        repeated = run_cli(*args, "--api-base", server.url, cwd=tmp_path)
        assert server.requests == []
    assert repeated.returncode == 0, repeated.stderr
    again_summary = json.loads(repeated.stdout)
    assert (again_summary["keys_written"], again_summary["feeds"]) == ([], None)
    assert set(again_summary["rollups"].values()) == {"unchanged"}
    assert len(_listed(digests)) == DAYS


def _listed(folder: Path) -> list[Path]:
    try:
        return [path for path in folder.iterdir() if path.name.endswith(".json")]
    except FileNotFoundError:
        return []


def test_the_progress_bar_shows_only_on_a_terminal(
    sixty_days: dict[str, list[Any]], tmp_path: Path
) -> None:
    """stderr a pipe: no bar, only the summary on stdout."""
    with ReplayServer(sixty_days) as server:
        done = run_cli("backfill", "--from", "2026-05-01", "--to", "2026-05-03",
                       "--out", str(tmp_path), "--rate", str(RATE), "--api-base", server.url,
                       cwd=tmp_path)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    assert done.stdout.startswith("backfill 2026-05-01..2026-05-03: 3 days: 3 written")


def test_the_progress_bar_on_a_terminal_counts_days_and_requests(
    sixty_days: dict[str, list[Any]], tmp_path: Path
) -> None:
    """stderr a terminal (a pty): tqdm's bar with the days done of the total, the counts
    and the requests; the summary still on stdout."""
    import fcntl
    import pty
    import struct
    import termios

    controller, terminal = pty.openpty()
    fcntl.ioctl(terminal, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 160, 0, 0))
    with ReplayServer(sixty_days) as server:
        done = subprocess.run(
            [*CLI, "backfill", "--from", "2026-05-01", "--to", "2026-05-04", "--json",
             "--out", str(tmp_path), "--rate", str(RATE), "--api-base", server.url],
            stdout=subprocess.PIPE,
            stderr=terminal,
            timeout=60,
            check=False,
        )  # fmt: skip
    os.close(terminal)
    chunks = []
    while True:
        try:
            chunk = os.read(controller, 65536)
        except OSError:  # the terminal's other end is closed: all was read
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(controller)
    shown = b"".join(chunks).decode("utf-8", "replace")
    assert done.returncode == 0
    assert "4/4" in shown
    assert "written=4" in shown
    assert "requests=4" in shown
    assert json.loads(done.stdout)["written"] == 4


class RunningOut(FakeLambdaContext):
    """A Lambda context with time for `calls` questions, then 60 s (under the reserve)."""

    def __init__(self, calls: int) -> None:
        self.calls_left = calls

    def get_remaining_time_in_millis(self) -> int:
        self.calls_left -= 1
        return 300_000 if self.calls_left >= 0 else 60_000


class FakeLambda:
    def __init__(self) -> None:
        self.invoked: list[dict[str, Any]] = []

    def invoke(self, **request: Any) -> dict[str, Any]:
        self.invoked.append({**request, "Payload": json.loads(request["Payload"])})
        return {"StatusCode": 202}


@pytest.fixture
def handover(
    s3_server: Any, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[ReplayServer, FakeLambda]]:
    fake = FakeLambda()
    monkeypatch.setattr(digest_handler, "_lambda", lambda: fake)
    with ReplayServer(synthetic_days(FIRST, 20)) as server:
        monkeypatch.setenv("HF_API_BASE", server.url)
        monkeypatch.setenv("BACKFILL_RATE", str(RATE))
        monkeypatch.setenv("FEED_FUNCTION_NAME", "papers-digest-feed")
        yield server, fake


def test_a_range_longer_than_one_invocation_continues_in_the_next(
    handover: tuple[ReplayServer, FakeLambda], caplog: pytest.LogCaptureFixture
) -> None:
    server, fake = handover
    last = FIRST + timedelta(days=19)
    event = {"from": FIRST.isoformat(), "to": last.isoformat()}

    first_hop = digest_handler.lambda_handler(event, RunningOut(calls=8))

    # Time ran out: the days started finished, the rest went to a new invocation.
    done = first_hop["this_hop"]["days"]
    assert 0 < done < 20
    assert first_hop["continues_from"] == (FIRST + timedelta(days=done)).isoformat()
    (self_invoke,) = fake.invoked
    assert self_invoke["FunctionName"] == FakeLambdaContext.function_name
    assert self_invoke["InvocationType"] == "Event"
    handed = self_invoke["Payload"]
    assert (handed["from"], handed["to"]) == (first_hop["continues_from"], last.isoformat())
    assert handed["backfill"]["hop"] == 2
    assert handed["backfill"]["origin"] == FIRST.isoformat()
    logged = [record for record in caplog.records if record.name == "papers-digest"]
    days_logged = [r for r in logged if r.getMessage() == "backfill day"]
    assert len(days_logged) == done  # one structured line a day, with the run's summary
    assert {r.__dict__["status"] for r in days_logged} == {"created"}
    assert logged[-1].getMessage() == "backfill continues in a new invocation"
    store = S3Store(BUCKET)
    assert lease.holding(store, last, datetime.now(UTC)) is not None  # the feeds wait

    second_hop = digest_handler.lambda_handler(handed, FakeLambdaContext())

    asked = Counter(r["date"] for r in server.requests)
    assert asked == {(FIRST + timedelta(days=n)).isoformat(): 1 for n in range(20)}
    assert (second_hop["hop"], second_hop["written"], second_hop["skipped"]) == (2, 20, 0)
    assert second_hop["requests"] == 20
    assert "continues_from" not in second_hop
    assert len(list(store.list_keys("digests/"))) == 20
    # The last invocation released the lease and asked the feed function for one publish.
    publish = fake.invoked[1]
    assert publish["FunctionName"] == "papers-digest-feed"
    assert publish["InvocationType"] == "Event"
    assert publish["Payload"] == {"publish": {"from": FIRST.isoformat(), "to": last.isoformat()}}
    assert lease.holding(store, last, datetime.now(UTC)) is None
    # and a roll-up invocation for each week the range closed (May is not over by the 20th)
    rollups = fake.invoked[2:]
    assert [call["Payload"] for call in rollups] == [
        {"rollup": week} for week in ("2026-W18", "2026-W19", "2026-W20")
    ]
    assert {call["FunctionName"] for call in rollups} == {FakeLambdaContext.function_name}
    assert second_hop["rollups_asked"] == ["2026-W18", "2026-W19", "2026-W20"]


def test_an_invocation_that_can_finish_no_day_does_not_hand_over(
    handover: tuple[ReplayServer, FakeLambda],
) -> None:
    server, fake = handover
    event = {"from": FIRST.isoformat(), "to": (FIRST + timedelta(days=3)).isoformat()}
    with pytest.raises(DigestError, match=r"invocation 1 finished no day; stopping at 2026-05-01"):
        digest_handler.lambda_handler(event, RunningOut(calls=1))
    assert server.requests == []
    assert fake.invoked == []  # no endless self-invocation, and nothing to publish
    assert lease.holding(S3Store(BUCKET), FIRST, datetime.now(UTC)) is None


def test_the_last_allowed_invocation_stops_and_publishes_what_it_did(
    handover: tuple[ReplayServer, FakeLambda],
) -> None:
    server, fake = handover
    event = {
        "from": FIRST.isoformat(),
        "to": (FIRST + timedelta(days=19)).isoformat(),
        "backfill": {"id": "b-1", "hop": MAX_HOPS, "origin": FIRST.isoformat(), "tally": {}},
    }
    with pytest.raises(DigestError, match=rf"invocation {MAX_HOPS} reached {MAX_HOPS}"):
        digest_handler.lambda_handler(event, RunningOut(calls=3))
    assert [call["FunctionName"] for call in fake.invoked] == ["papers-digest-feed"]
    assert len(server.requests) >= 1


def test_a_repeated_delivery_of_a_hop_that_handed_over_starts_no_second_chain(
    handover: tuple[ReplayServer, FakeLambda],
) -> None:
    """Lambda delivers an asynchronous event at least once, and retries one that failed:
    a hop run again after it handed over fetches nothing and invokes nothing (the lease
    names the next hop), and the hop it handed to runs as if alone."""
    server, fake = handover
    last = FIRST + timedelta(days=19)
    event = {"from": FIRST.isoformat(), "to": last.isoformat()}
    first_hop = digest_handler.lambda_handler(event, RunningOut(calls=8))
    handed = fake.invoked[0]["Payload"]
    second = {**handed, "backfill": {**handed["backfill"]}}
    asked_before = len(server.requests)

    again = digest_handler.lambda_handler(second, RunningOut(calls=8))  # hop 2, delivered
    hop_3 = fake.invoked[-1]["Payload"]  # hop 3 starts: it takes the lease
    LeaseKeeper(S3Store(BUCKET), FIRST, last, hop_3["backfill"]["id"], length=timedelta(minutes=5),
                now=lambda: datetime.now(UTC), hop=3).hold()  # fmt: skip
    repeated = digest_handler.lambda_handler(second, RunningOut(calls=8))  # and again

    assert repeated == {"backfill": handed["backfill"]["id"], "hop": 2,
                        "status": "handed over already"}  # fmt: skip
    hops = [call["Payload"]["backfill"]["hop"] for call in fake.invoked]
    assert hops == [2, 3]  # one hand-over from each hop, however often it ran
    asked = Counter(r["date"] for r in server.requests)
    assert set(asked.values()) == {1}  # no day fetched twice
    assert len(server.requests) == asked_before + again["this_hop"]["days"]
    assert first_hop["this_hop"]["days"] + again["this_hop"]["days"] == len(asked)


def test_a_repeated_delivery_of_the_last_hop_does_nothing_once_the_backfill_finished(
    handover: tuple[ReplayServer, FakeLambda],
) -> None:
    """The last hop delivered again takes no lease, runs no day and asks for no publish
    or roll-up a second time (the lease is released `done`); a new backfill still may."""
    server, fake = handover
    event = {"from": FIRST.isoformat(), "to": (FIRST + timedelta(days=19)).isoformat()}
    digest_handler.lambda_handler(event, RunningOut(calls=8))
    last_hop = fake.invoked[0]["Payload"]
    finished = digest_handler.lambda_handler(last_hop, FakeLambdaContext())
    assert "continues_from" not in finished
    invoked, asked = len(fake.invoked), len(server.requests)

    repeated = digest_handler.lambda_handler(last_hop, FakeLambdaContext())

    assert repeated == {"backfill": last_hop["backfill"]["id"], "hop": 2,
                        "status": "finished already"}  # fmt: skip
    assert (len(fake.invoked), len(server.requests)) == (invoked, asked)
    again = digest_handler.lambda_handler(event, FakeLambdaContext())  # a new backfill
    assert (again["skipped"], again["written"]) == (20, 0)


def test_a_hop_killed_between_recording_its_hand_over_and_the_invoke_hands_over_again(
    handover: tuple[ReplayServer, FakeLambda],
) -> None:
    """Hop 2 recorded its hand-over to hop 3 and was killed before the invoke: Lambda's
    retry of hop 2 finds hop 3 recorded but never started, runs again (its days stored,
    asked for nothing) and invokes hop 3 (before, it said "handed over already" and the
    chain stopped silently)."""
    server, fake = handover
    last = FIRST + timedelta(days=19)
    store, now = S3Store(BUCKET), datetime.now(UTC)
    state = {"id": "b-7", "hop": 2, "origin": FIRST.isoformat(), "tally": {}}
    event = {"from": FIRST.isoformat(), "to": last.isoformat(), "backfill": state}
    assert lease.take(store, FIRST, last, "b-7", now + timedelta(minutes=5), now=now, hop=2) is None
    assert lease.hand_over(store, "b-7", 2)  # then killed

    retried = digest_handler.lambda_handler(event, RunningOut(calls=6))

    assert retried["continues_from"]
    assert [call["Payload"]["backfill"]["hop"] for call in fake.invoked] == [3]
    assert set(Counter(r["date"] for r in server.requests).values()) == {1}


def test_a_hand_over_that_could_not_invoke_is_taken_back_for_the_retry(
    handover: tuple[ReplayServer, FakeLambda], monkeypatch: pytest.MonkeyPatch
) -> None:
    server, fake = handover
    last = FIRST + timedelta(days=19)
    state = {"id": "b-7", "hop": 2, "origin": FIRST.isoformat(), "tally": {}}
    event = {"from": FIRST.isoformat(), "to": last.isoformat(), "backfill": state}

    class Throttled(FakeLambda):
        def invoke(self, **request: Any) -> dict[str, Any]:
            raise RuntimeError("throttled")

    monkeypatch.setattr(digest_handler, "_lambda", Throttled)
    with pytest.raises(RuntimeError, match="throttled"):
        digest_handler.lambda_handler(event, RunningOut(calls=6))
    assert lease.holding(S3Store(BUCKET), last, datetime.now(UTC)).hop == 2  # type: ignore[union-attr]

    monkeypatch.setattr(digest_handler, "_lambda", lambda: fake)
    retried = digest_handler.lambda_handler(event, RunningOut(calls=6))  # Lambda's retry

    assert retried["continues_from"]
    assert [call["Payload"]["backfill"]["hop"] for call in fake.invoked] == [3]
    assert set(Counter(r["date"] for r in server.requests).values()) == {1}


@pytest.mark.parametrize("length", [lease.MAX_LEASE, timedelta(hours=5)])
def test_a_lease_is_taken_with_a_margin_a_reader_a_little_behind_still_sees(
    tmp_path: Path, length: timedelta
) -> None:
    """A lease taken or renewed for its longest is live for a reader (the feed function)
    whose clock is a minute behind (before, `until` was exactly MAX_LEASE ahead, the
    edge of what a live lease may claim)."""
    store, now = FolderStore(tmp_path), datetime.now(UTC)
    keeper = LeaseKeeper(store, FIRST, LAST, "b-1", length=length, now=lambda: now)
    assert keeper.hold()
    assert lease.holding(store, LAST, now - timedelta(minutes=1)) is not None
    assert lease.take(store, FIRST, LAST, "b-1", now + length, now=now) is None
    assert lease.holding(store, LAST, now - timedelta(minutes=1)) is not None


def test_a_backfill_does_not_take_the_lease_another_one_holds(
    handover: tuple[ReplayServer, FakeLambda], capsys: pytest.CaptureFixture[str]
) -> None:
    server, fake = handover
    store = S3Store(BUCKET)
    lease.take(store, FIRST, FIRST, "b-other", datetime.now(UTC) + timedelta(minutes=5),
               now=datetime.now(UTC))  # fmt: skip
    event = {"from": FIRST.isoformat(), "to": (FIRST + timedelta(days=2)).isoformat()}

    with pytest.raises(lease.LeaseHeld, match="backfill b-other holds the feeds of 2026-05-01"):
        digest_handler.lambda_handler(event, FakeLambdaContext())
    with pytest.raises(SystemExit) as exit_:
        main(["backfill", "--from", FIRST.isoformat(), "--to", FIRST.isoformat(),
              "--bucket", BUCKET, "--api-base", server.url])  # fmt: skip

    assert exit_.value.code == 1
    error = capsys.readouterr().err
    assert "backfill b-other holds the feeds" in error
    assert error.count("\n") == 1
    assert (server.requests, fake.invoked) == ([], [])
    assert lease.holding(store, FIRST, datetime.now(UTC)).owner == "b-other"  # type: ignore[union-attr]


def test_one_day_reads_as_one_and_the_bar_and_summary_say_skipped(
    sixty_days: dict[str, list[Any]], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The summary counts in the words the bar uses (`skipped`), in the singular for one."""
    args = ["backfill", "--from", "2026-05-01", "--to", "2026-05-01", "--out", str(tmp_path),
            "--rate", str(RATE)]  # fmt: skip
    with ReplayServer(sixty_days) as server:
        assert main([*args, "--api-base", server.url]) == 0
        assert main([*args, "--api-base", server.url]) == 0
    first, again = capsys.readouterr().out.splitlines()
    assert first.startswith("backfill 2026-05-01..2026-05-01: 1 day: 1 written, ")
    assert again.startswith("backfill 2026-05-01..2026-05-01: 1 day: 0 written, 0 unchanged, "
                            "0 empty, 1 skipped (already stored), 0 failed")  # fmt: skip


def refuse(server: ReplayServer, days: set[str] | None = None) -> None:
    """Answer 404 for `days` (every day when None), each as often as asked: a fault is
    used once, so one for each request there may be."""
    refused = Canned(404, b'{"error":"gone"}')
    fault = lambda query: refused if days is None or query.get("date") in days else None  # noqa: E731
    server.faults.extend([fault] * 200)


@pytest.mark.parametrize(
    ("failing", "concurrency", "halted_at"),
    [
        (set(range(60)), CONCURRENCY, 0),  # a dead API: 5 days, and those in flight
        (set(range(3, 60)), CONCURRENCY, 3),  # dies after 3 good days: continue from the 4th
        ({0, 1, 2, 3, 5, 6, 7, 8, 10, 11}, 1, None),  # a day answered between: no stop
    ],
    ids=["dead-from-the-start", "dies-half-way", "answers-in-between"],
)
def test_after_five_days_failed_by_the_api_in_a_row_no_day_starts(
    sixty_days: dict[str, list[Any]],
    tmp_path: Path,
    failing: set[int],
    concurrency: int,
    halted_at: int | None,
) -> None:
    bad = {(FIRST + timedelta(days=n)).isoformat() for n in failing}
    with ReplayServer(sixty_days) as server:
        refuse(server, bad)
        run = run_range(server, tmp_path, RateGate(RATE), concurrency=concurrency)
        asked = len(server.requests)
    statuses = Counter(outcome.status for outcome in run.outcomes)
    if halted_at is None:
        assert (run.next_day, run.halted, statuses["failed"]) == (None, None, len(failing))
        return
    resume = FIRST + timedelta(days=halted_at)
    assert BREAKER_DAYS <= statuses["failed"] <= BREAKER_DAYS + concurrency - 1
    assert asked == halted_at + statuses["failed"]  # nothing asked after the 5th in a row
    assert run.resume_from == resume
    assert run.halted is not None
    assert f"failed {statuses['failed']} days in a row" in run.halted
    assert run.stopped()["continue_from"] == resume.isoformat()


def test_the_cli_stops_a_dead_api_and_says_where_to_continue(
    sixty_days: dict[str, list[Any]], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with ReplayServer(sixty_days) as server:
        refuse(server)
        status = main(["backfill", "--from", FIRST.isoformat(), "--to", LAST.isoformat(),
                       "--out", str(tmp_path), "--rate", str(RATE),
                       "--api-base", server.url])  # fmt: skip
        asked = len(server.requests)
    said = capsys.readouterr().out
    assert status == 1
    assert asked < BREAKER_DAYS + CONCURRENCY
    assert f"stopped: the API failed {asked} days in a row" in said
    assert "continue with --from 2026-05-01" in said


def test_the_store_is_checked_once_before_any_request(
    sixty_days: dict[str, list[Any]], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A file where the folder belongs fails at once, in one line, asking the API nothing
    (before, each day was fetched and then failed on its own)."""
    afile = tmp_path / "afile"
    afile.write_text("")
    with ReplayServer(sixty_days) as server:
        for out in (afile, afile / "site"):
            with pytest.raises(SystemExit) as exit_:
                main(["backfill", "--from", FIRST.isoformat(), "--to", LAST.isoformat(),
                      "--out", str(out), "--api-base", server.url])  # fmt: skip
            assert exit_.value.code == 1
            error = capsys.readouterr().err
            assert error.startswith(f"papers-digest: error: cannot write {afile}")
            assert error.count("\n") == 1
        assert server.requests == []


def test_a_bucket_that_does_not_exist_is_refused_before_any_request(
    s3_server: Any, sixty_days: dict[str, list[Any]], capsys: pytest.CaptureFixture[str]
) -> None:
    with ReplayServer(sixty_days) as server, pytest.raises(SystemExit) as exit_:
        main(["backfill", "--from", FIRST.isoformat(), "--to", LAST.isoformat(),
              "--bucket", "no-such-bucket-here", "--api-base", server.url])  # fmt: skip
    assert exit_.value.code == 1
    error = capsys.readouterr().err
    assert "s3://no-such-bucket-here/" in error
    assert "NoSuchBucket" in error
    assert error.count("\n") == 1
    assert server.requests == []


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({"SUMMARY_PROVIDER": "openai"}, "SUMMARY_MODEL"),
        ({"SUMMARY_PROVIDER": "bedrock", "SUMMARY_MODEL": "a model"}, "SUMMARY_MODEL"),
        ({}, "--summaries asks for summaries, but SUMMARY_PROVIDER is off"),
    ],
)
def test_the_summaries_settings_are_checked_once_before_any_request(
    sixty_days: dict[str, list[Any]],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    env: dict[str, str],
    named: str,
) -> None:
    for name in ("SUMMARY_PROVIDER", "SUMMARY_MODEL"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    with ReplayServer(sixty_days) as server, pytest.raises(SystemExit) as exit_:
        main(["backfill", "--from", FIRST.isoformat(), "--to", LAST.isoformat(), "--summaries",
              "--out", str(tmp_path), "--api-base", server.url])  # fmt: skip
    assert exit_.value.code == 2
    error = capsys.readouterr().err
    assert named in error
    assert error.count("\n") == 1
    assert server.requests == []


def test_a_lambda_backfill_asking_for_summaries_that_are_off_is_refused_at_once(
    handover: tuple[ReplayServer, FakeLambda],
) -> None:
    server, fake = handover
    event = {"from": FIRST.isoformat(), "to": LAST.isoformat(), "summaries": True}
    with pytest.raises(ConfigError, match='"summaries": true asks for summaries'):
        digest_handler.lambda_handler(event, FakeLambdaContext())
    assert (server.requests, fake.invoked) == ([], [])
    assert lease.holding(S3Store(BUCKET), FIRST, datetime.now(UTC)) is None


def test_a_lambda_backfill_stops_a_dead_api_without_handing_over(
    handover: tuple[ReplayServer, FakeLambda],
) -> None:
    """Day 1 answers, the API then refuses every day: no hand-over, one publish of what
    was written, and a one-line failure naming the day to continue from."""
    server, fake = handover
    refuse(server, {(FIRST + timedelta(days=n)).isoformat() for n in range(1, 20)})
    event = {"from": FIRST.isoformat(), "to": (FIRST + timedelta(days=19)).isoformat()}
    with pytest.raises(DigestError, match=r"the API failed \d+ days in a row.*stopping at "
                       r"2026-05-02 \(send \{\"from\": \"2026-05-02\"") as failed:  # fmt: skip
        digest_handler.lambda_handler(event, FakeLambdaContext())
    assert "\n" not in str(failed.value)
    assert [call["Payload"] for call in fake.invoked] == [
        {"publish": {"from": FIRST.isoformat(), "to": FIRST.isoformat()}}
    ]
    assert lease.holding(S3Store(BUCKET), FIRST, datetime.now(UTC)) is None
    assert len({r["date"] for r in server.requests}) < 1 + BREAKER_DAYS + CONCURRENCY


@pytest.mark.parametrize("presses", [1, 2], ids=["ctrl-c", "ctrl-c-twice"])
def test_ctrl_c_lets_the_days_in_flight_finish_and_publishes_them(
    sixty_days: dict[str, list[Any]], tmp_path: Path, presses: int
) -> None:
    """A real CLI process and SIGINT: no traceback. Once: no day starts after it, each day
    asked is stored whole, the feeds list them, the summary and one line say how far it
    got, exit 130. Twice: it stops at once, in one line, exit 130."""
    out = tmp_path / "site"
    digests = out / "digests"
    with ReplayServer(sixty_days, delay=0.05) as server:
        process = subprocess.Popen(
            [*CLI, "backfill", "--from", FIRST.isoformat(), "--to", LAST.isoformat(), "--json",
             "--out", str(out), "--rate", str(RATE), "--concurrency", "8",
             "--api-base", server.url],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and len(_listed(digests)) < 10:
            time.sleep(0.005)
        for _ in range(presses):
            process.send_signal(signal.SIGINT)
            time.sleep(0.01)
        stdout, stderr = process.communicate(timeout=30)
        asked = {r["date"] for r in server.requests}
    assert process.returncode == 130, stderr
    assert "Traceback" not in stderr
    assert "KeyboardInterrupt" not in stderr
    lines = stderr.splitlines()
    if presses == 2:
        assert lines[-1].startswith("papers-digest: interrupted again: stopped at once; run")
        assert len(lines) == 2  # the first press's line, then this one
        return
    stored = {path.name.removesuffix(".json") for path in _listed(digests)}
    assert asked == stored  # every day started finished; none started after Ctrl-C
    assert len(stored) < DAYS
    summary = json.loads(stdout)
    assert (summary["interrupted"], summary["written"]) == (True, len(stored))
    assert summary["rollups"] == {}  # built by the run that reaches the end
    index = json.loads((out / "state" / "feed-index.json").read_text())
    assert sorted(day for days in index["months"].values() for day in days) == sorted(stored)
    assert lines == [
        "papers-digest: interrupted: the days in flight finish (Ctrl-C again to stop at once)",
        f"papers-digest: interrupted after {len(stored)} of 60 days; run the same command "
        "again to continue",
    ]


def test_the_next_invocation_keeps_the_apis_pause_and_sends_nothing_into_it(
    handover: tuple[ReplayServer, FakeLambda],
) -> None:
    """A pause handed over holds the next invocation's fresh gate: it sends no request
    into it (before, `concurrency` requests went and those days failed), and, with no
    time to wait it out, hands it over again (waiting is progress, bounded by MAX_HOPS)."""
    server, fake = handover
    until = time.time() + 3000
    state = {"id": "b-9", "hop": 2, "origin": FIRST.isoformat(), "tally": {},
             "paused_until": until}  # fmt: skip
    event = {"from": FIRST.isoformat(), "to": LAST.isoformat(), "backfill": state}

    summary = digest_handler.lambda_handler(event, RunningOut(calls=1))

    assert server.requests == []
    assert (summary["this_hop"]["days"], summary["continues_from"]) == (0, FIRST.isoformat())
    (handed,) = [call["Payload"]["backfill"] for call in fake.invoked]
    assert handed["hop"] == 3
    assert abs(handed["paused_until"] - until) < 5


def test_the_breakers_streak_is_carried_to_the_next_invocation(
    handover: tuple[ReplayServer, FakeLambda],
) -> None:
    """Four days failed by the API at the end of one invocation, and one more in the
    next, stop the backfill (before, the streak restarted at each hand-over)."""
    server, fake = handover
    refuse(server)
    start = FIRST + timedelta(days=4)
    failing = [(FIRST + timedelta(days=n)).isoformat() for n in range(4)]
    state = {"id": "b-9", "hop": 2, "origin": FIRST.isoformat(), "tally": {},
             "failing": failing}  # fmt: skip
    event = {"from": start.isoformat(), "to": LAST.isoformat(), "backfill": state}
    with pytest.raises(DigestError, match=r"the API failed \d+ days in a row \(2026-05-01 to "
                       r".*stopping at 2026-05-01"):  # fmt: skip
        digest_handler.lambda_handler(event, FakeLambdaContext())
    assert 1 <= len(server.requests) <= CONCURRENCY
    assert all(call["FunctionName"] == "papers-digest-feed" for call in fake.invoked)
