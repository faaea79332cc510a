"""A backfill: a range of days through the same `pipeline.run_day` as the scheduled run,
a few days at a time, every request through one rate gate (ratelimit.RateGate).

The shell the CLI and the digest function share: it lists the days already stored
(one LIST), runs the others on a thread pool (each worker with its own API client and
session), stops submitting days when told to (the Lambda's time is running out) and
says which day to continue from. A failed day is recorded with its one-line error and
the others go on. The feeds are left to the caller: a lease keeps the feed function off
the range's digests (`LeaseKeeper`) and one publish follows at the end.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from .errors import ConfigError, DigestError, SourceError
from .feed_index import parse_index
from .filters import NO_FILTERS, Filters
from .keys import DIGEST_PREFIX, FEED_INDEX_KEY
from .pipeline import PaperSource, RunResult, run_day
from .ratelimit import MAX_PAUSE, RateGate
from .settings import PostSettings
from .settings.backfill import BackfillSettings
from .store import FolderStore, Store
from .stored import load_digest, stored_days
from .summarize import SummaryStep

log = logging.getLogger(__name__)
MAX_HOPS = 50  # Lambda invocations one backfill may take; each must finish a day at least
# Failed days carried from hop to hop (more are counted only), each error cut to
# LISTED_ERROR printable ASCII characters: a continuation event stays within about 65 KB,
# well below the 256 KB Lambda takes for an asynchronous invocation's payload.
MAX_FAILED_LISTED = 100
LISTED_ERROR = 300
WRITTEN = frozenset({"created", "updated"})
UNCHANGED = frozenset({"unchanged", "superseded", "kept"})
# Days failed in a row by the API (no day fetched in between) after which no day starts:
# an API that refuses every request would otherwise fail a 365-day range day by day.
BREAKER_DAYS = 5


def days_between(first: date, last: date) -> list[date]:
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]


@dataclass(frozen=True)
class DayOutcome:
    """What became of one day: a run's status, `stored` (already there, not fetched
    again) or `failed` with its one-line error."""

    day: date
    status: str
    error: str | None = None
    result: RunResult | None = None
    source_failed: bool = False  # failed by the API (a SourceError), not the store

    @property
    def fetched(self) -> bool:
        """Whether the API answered for the day (a run that ended with a status)."""
        return self.status not in {"failed", "stored"}

    def summary(self) -> dict[str, Any]:
        found = self.result.summary() if self.result else {"day": self.day.isoformat()}
        return {**found, "status": self.status, **({"error": self.error} if self.error else {})}


@dataclass
class Tally:
    """Counts over a whole backfill, carried from one Lambda invocation to the next."""

    written: int = 0
    unchanged: int = 0
    empty: int = 0
    skipped: int = 0  # already stored, not fetched again
    failed: int = 0
    requests: int = 0
    failed_days: dict[str, str] = field(default_factory=dict)  # day: error (at most 100)
    written_from: date | None = None
    written_to: date | None = None

    def add(self, outcome: DayOutcome) -> None:
        if outcome.status in WRITTEN:
            self.written += 1
            self.written_from = min(self.written_from or outcome.day, outcome.day)
            self.written_to = max(self.written_to or outcome.day, outcome.day)
        elif outcome.status in UNCHANGED:
            self.unchanged += 1
        elif outcome.status == "empty":
            self.empty += 1
        elif outcome.status == "stored":
            self.skipped += 1
        else:
            self.failed += 1
            if len(self.failed_days) < MAX_FAILED_LISTED:
                self.failed_days[outcome.day.isoformat()] = listed(outcome.error or "failed")

    @property
    def done(self) -> int:
        return self.written + self.unchanged + self.empty + self.skipped + self.failed

    def counts(self) -> dict[str, int]:
        return {
            "written": self.written,
            "unchanged": self.unchanged,
            "empty": self.empty,
            "skipped": self.skipped,
            "failed": self.failed,
            "requests": self.requests,
        }

    @classmethod
    def from_json(cls, data: Any) -> Tally:
        """A tally as `to_json` wrote it into a continuation event: held to its shape
        (a ValueError names the bad field), since an event is input like any other."""
        if not isinstance(data, dict):
            raise ValueError("backfill.tally is not an object")
        counts: dict[str, int] = {}
        for name in ("written", "unchanged", "empty", "skipped", "failed", "requests"):
            value = data.get(name, 0)
            if type(value) is not int or not 0 <= value <= 10_000_000:
                raise ValueError(f"backfill.tally.{name} is not a count")
            counts[name] = value
        failed = data.get("failed_days", [])
        if not isinstance(failed, list) or len(failed) > MAX_FAILED_LISTED:
            raise ValueError(f"backfill.tally.failed_days is not a list of {MAX_FAILED_LISTED}")
        failed_days = {}
        for entry in failed:
            if not isinstance(entry, dict) or not isinstance(entry.get("error"), str):
                raise ValueError("backfill.tally.failed_days holds an entry without an error")
            day = _day(entry.get("day"), "backfill.tally.failed_days[].day")
            failed_days[day.isoformat()] = listed(entry["error"])
        first, last = (
            None if data.get(name) is None else _day(data[name], f"backfill.tally.{name}")
            for name in ("written_from", "written_to")
        )
        return cls(**counts, failed_days=failed_days, written_from=first, written_to=last)

    def to_json(self) -> dict[str, Any]:
        return {
            **self.counts(),
            "failed_days": [{"day": d, "error": e} for d, e in sorted(self.failed_days.items())],
            "written_from": self.written_from.isoformat() if self.written_from else None,
            "written_to": self.written_to.isoformat() if self.written_to else None,
        }


@dataclass(frozen=True)
class BackfillRun:
    """One run over (part of) a range: each day it finished, and the first day it did not
    start (None when it reached the end)."""

    first: date
    last: date
    outcomes: tuple[DayOutcome, ...]
    next_day: date | None
    # When the API failed BREAKER_DAYS days in a row: why no more days started, and the
    # first day that failed, where the backfill continues once the API answers again.
    halted: str | None = None
    resume_from: date | None = None
    # The days the API failed in a row at the end (the breaker's streak, carried to the
    # next invocation), and whether the run stopped waiting for the API's pause.
    failing: tuple[date, ...] = ()
    paused: bool = False

    def stopped(self) -> dict[str, str]:
        """The summary's `stopped` and `continue_from`, for a run the API stopped."""
        if self.halted is None or self.resume_from is None:
            return {}
        return {"stopped": self.halted, "continue_from": self.resume_from.isoformat()}

    def tally(self, into: Tally | None = None) -> Tally:
        tally = into if into is not None else Tally()
        for outcome in self.outcomes:
            tally.add(outcome)
        return tally


def listed(error: str) -> str:
    """A failed day's error as the tally lists it: one line of at most LISTED_ERROR
    printable ASCII characters (any other one as `?`), so that its JSON is at most twice
    as long whatever the error quoted."""
    text = " ".join(error.split())[:LISTED_ERROR]
    return "".join(char if " " <= char <= "~" else "?" for char in text)


def _day(value: Any, where: str) -> date:
    if not isinstance(value, str) or len(value) != 10:
        raise ValueError(f"{where} is not a YYYY-MM-DD day")
    return date.fromisoformat(value)


def continuation(
    *,
    next_day: date,
    last: date,
    backfill_id: str,
    hop: int,
    origin: date,
    tally: Tally,
    refetch: bool,
    summaries: bool,
    paused_until: float | None = None,
    failing: Sequence[date] = (),
) -> dict[str, Any]:
    """The event the next invocation runs: what is left of the range, and the backfill's
    id, hop number, first day (the lease's range) and counts so far; the API's pause
    (`paused_until`, wall-clock epoch seconds) and the breaker's streak (`failing`, the
    days the API failed in a row), so that neither is forgotten at the hand-over."""
    state: dict[str, Any] = {}
    if paused_until is not None:
        state["paused_until"] = round(paused_until, 3)
    if failing:
        state["failing"] = [day.isoformat() for day in sorted(failing)[-BREAKER_DAYS:]]
    return {
        "from": next_day.isoformat(),
        "to": last.isoformat(),
        "refetch": refetch,
        "summaries": summaries,
        "backfill": {
            "id": backfill_id,
            "hop": hop + 1,
            "origin": origin.isoformat(),
            "tally": tally.to_json(),
            **state,
        },
    }


def publish_span(store: Store, first: date, last: date, tally: Tally) -> tuple[date, date] | None:
    """The days a backfill's one publish covers: those it wrote, and any stored day of
    `first`..`last` the feeds do not list yet (one an interrupted backfill wrote while
    its lease kept the feed function off); None when there is nothing to publish, so a
    repeated backfill writes nothing. A LIST and a GET of the feed index."""
    found = store.get(FEED_INDEX_KEY)
    try:
        months = parse_index(found.body)["months"] if found is not None else {}
    except ValueError:
        months = {}  # unreadable: every day is published again (and the index rebuilt)
    listed = {day for days in months.values() for day in days}
    days = [day for day in stored_days(store, first, last) if day.isoformat() not in listed]
    if tally.written_from is not None and tally.written_to is not None:
        days += [tally.written_from, tally.written_to]
    return (min(days), max(days)) if days else None


def readable_digest(store: Store, day: date) -> bool:
    """Whether the stored digest of `day` reads as one (a corrupt one is fetched again)."""
    try:
        load_digest(store, day)
    except DigestError:
        return False
    return True


def backfill(
    first: date,
    last: date,
    *,
    store: Store,
    settings: PostSettings,
    new_source: Callable[[ExitStack], PaperSource],
    now: Callable[[], datetime],
    concurrency: int = 4,
    refetch: bool = False,
    filters: Filters = NO_FILTERS,
    summaries: Callable[[], SummaryStep | None] | None = None,
    keep_going: Callable[[], bool] = lambda: True,
    on_day: Callable[[DayOutcome], None] = lambda outcome: None,
    gate: RateGate | None = None,
    longest_wait: Callable[[], float] = lambda: MAX_PAUSE,
    stop: threading.Event | None = None,
    failing: Sequence[date] = (),
) -> BackfillRun:
    """Run every day from `first` to `last`, at most `concurrency` at a time, oldest
    first. A day already stored (with a readable digest) is skipped unless `refetch`;
    refetched, it keeps its stored digest when the API lists fewer than half its papers
    (`keep_fuller`: a degraded answer must not overwrite a published day).
    `new_source(stack)` makes a worker's API client (its session entered on `stack`,
    closed at the end). `keep_going()` is asked before each day is started: once it
    says no, the days in flight finish and the rest are left (`next_day`). `on_day` is
    called in the calling thread as each day ends, in the order they end.

    While the API's pause (`gate`, the one the sources share) lasts, no day is started:
    the days in flight fail when it is longer than their fetch may wait, the next ones
    wait for it, up to `longest_wait()` seconds; a pause longer than that leaves the rest
    too, as `keep_going` does. A set `stop` (Ctrl-C) does the same at once, and ends a
    wait for a pause. After BREAKER_DAYS days failed by the API in a row, with no day
    fetched in between, no more days start (`halted`, `resume_from`); `failing` are the
    days the API failed in a row just before `first` (an earlier invocation's streak)."""
    stored = set(stored_days(store, first, last))
    local = threading.local()
    made = threading.Lock()

    def work(day: date, sources: ExitStack) -> DayOutcome:
        try:
            if day in stored and not refetch and readable_digest(store, day):
                return DayOutcome(day, "stored")
            if not hasattr(local, "source"):
                with made:
                    local.source = new_source(sources)
            result = run_day(
                day,
                source=local.source,
                store=store,
                settings=settings,
                now=now(),
                filters=filters,
                summaries=summaries() if summaries is not None else None,
                keep_fuller=day in stored,
            )
            return DayOutcome(day, result.status, result=result)
        except SourceError as exc:
            return DayOutcome(day, "failed", error=one_line(exc), source_failed=True)
        except Exception as exc:  # a failed day must not stop the others
            return DayOutcome(day, "failed", error=one_line(exc))

    outcomes: list[DayOutcome] = []
    next_day: date | None = None
    streak = sorted(failing)  # the days the API failed after the last day it answered
    answered: list[date] = []  # that day (the latest one the API answered)

    def finish(done: set[Future[DayOutcome]]) -> None:
        for future in sorted(done, key=lambda f: f.result().day):
            outcome = future.result()
            outcomes.append(outcome)
            if outcome.source_failed and not (answered and outcome.day < answered[-1]):
                streak.append(outcome.day)
            elif outcome.fetched:  # days end out of order: one answered breaks the run there
                answered[:] = [max([outcome.day, *answered])]
                streak[:] = sorted(day for day in streak if day > outcome.day)
            on_day(outcome)

    def stopping() -> bool:
        return stop is not None and stop.is_set()

    with (
        ExitStack() as sources,
        ThreadPoolExecutor(concurrency, thread_name_prefix="papers-digest-backfill") as pool,
    ):
        pending: set[Future[DayOutcome]] = set()
        broken = paused = False
        for day in days_between(first, last):
            while len(pending) >= concurrency:
                done, pending = wait(pending, return_when=FIRST_COMPLETED)
                finish(done)
            broken = len(streak) >= BREAKER_DAYS
            if broken or stopping():
                next_day = day
                break
            if not waited_out(gate, longest_wait, stop):
                next_day, paused = day, not stopping()
                break
            if not keep_going():
                next_day = day
                break
            pending.add(pool.submit(work, day, sources))
        finish(wait(pending).done)
    if next_day is not None and broken:  # continue from the first day that failed: the
        # days after it that were stored are skipped by one LIST, asking the API nothing
        streak.sort()
        why = f"the API failed {len(streak)} days in a row ({streak[0]} to {streak[-1]})"
        since = min([*streak, *(outcome.day for outcome in outcomes if outcome.status == "failed")])
        return BackfillRun(first, last, tuple(outcomes), next_day, why, since, tuple(streak))
    return BackfillRun(first, last, tuple(outcomes), next_day, failing=tuple(sorted(streak)),
                       paused=paused)  # fmt: skip


def waited_out(
    gate: RateGate | None, longest_wait: Callable[[], float], stop: threading.Event | None = None
) -> bool:
    """Whether no pause the API asked for holds the gate now (after waiting for one that
    ends within `longest_wait()` seconds, asked only when there is a pause)."""
    return gate is None or gate.paused_for() == 0 or gate.wait_open(longest_wait(), stop)


def one_line(exc: BaseException) -> str:
    """A failed day's error: our own messages as they are (one line), anything else by
    its type only (its message could quote a header holding the token)."""
    if isinstance(exc, DigestError):
        text = " ".join(str(exc).split())
        return text[:500]
    return f"unexpected {type(exc).__name__}"


def check_ready(store: Store, env: Mapping[str, str], *, summaries: bool, asked_by: str) -> None:
    """What every day would fail on, checked once before the lease and any request: the
    store answers a LIST (a missing bucket, a file where the folder belongs) and a folder
    can be written (made when missing); the summaries' settings, when asked for by
    `asked_by` (`--summaries`, or the event's `"summaries": true`), name a provider."""
    if isinstance(store, FolderStore):
        store.check_writable()
    next(iter(store.list_keys(DIGEST_PREFIX)), None)
    if summaries:
        from .settings.summaries import summary_settings

        if summary_settings(env).provider is None:  # a bad setting raises its own line
            raise ConfigError(
                f"{asked_by} asks for summaries, but SUMMARY_PROVIDER is off; set it "
                "(bedrock or openai) and SUMMARY_MODEL, or leave the summaries out"
            )


@dataclass(frozen=True)
class Api:
    """Where each worker's API client asks, and with which token."""

    base: str
    token: str | None = None
    token_source: str = "HF_TOKEN"  # noqa: S105 (where a token comes from, for messages)


@dataclass(frozen=True)
class Hop:
    """A backfill run by `run_backfill`: the days done and the counts so far (the
    whole backfill's, given the counts of the invocations before)."""

    run: BackfillRun
    tally: Tally
    paused_until: float | None = None  # the API's pause at the end (wall-clock epoch s)


def run_backfill(
    first: date,
    last: date,
    *,
    store: Store,
    settings: PostSettings,
    api: Api,
    options: BackfillSettings,
    keeper: LeaseKeeper | None,
    hold_for: timedelta | None = None,
    tally: Tally | None = None,
    refetch: bool = False,
    filters: Filters = NO_FILTERS,
    summaries: Callable[[], SummaryStep | None] | None = None,
    keep_going: Callable[[], bool] = lambda: True,
    longest_wait: Callable[[], float] = lambda: MAX_PAUSE,
    on_day: Callable[[DayOutcome, int], None] = lambda outcome, requests: None,
    stop: threading.Event | None = None,
    paused_until: float | None = None,
    failing: Sequence[date] = (),
) -> Hop | None:
    """The backfill both shells run (the CLI whole, the digest function one invocation
    at a time): one rate gate for every worker's client, the lease taken (for
    `hold_for`, else its length) and renewed as days end, then the days, then the
    counts. `on_day(outcome, requests so far)` as each day ends. None, with nothing
    done, when the lease says this invocation handed over already. `paused_until` and
    `failing` seed the gate and the breaker with an earlier invocation's pause and streak."""
    from .ratelimit import RateGate
    from .source import DailyPapersClient

    gate = RateGate(options.rate)
    if paused_until is not None:
        gate.pause_until(paused_until)

    def new_source(stack: ExitStack) -> DailyPapersClient:
        return DailyPapersClient.in_session_of(
            stack, api.base, token=api.token, token_source=api.token_source, gate=gate
        )

    def each(outcome: DayOutcome) -> None:
        if keeper is not None:
            renew(keeper)
        on_day(outcome, gate.passed)

    if keeper is not None and not keeper.hold(hold_for):
        return None
    run = backfill(
        first,
        last,
        store=store,
        settings=settings,
        new_source=new_source,
        now=_clock,
        concurrency=options.concurrency,
        refetch=refetch,
        filters=filters,
        summaries=summaries,
        keep_going=keep_going,
        on_day=each,
        gate=gate,
        longest_wait=longest_wait,
        stop=stop,
        failing=failing,
    )
    counts = run.tally(into=tally if tally is not None else Tally())
    counts.requests += gate.passed
    return Hop(run, counts, gate.paused_until())


def renew(keeper: LeaseKeeper) -> None:
    """Renew the lease when due. Another backfill's live lease (LeaseHeld) ends this one;
    any other failure (one S3 hiccup) is logged and the renewal tried again as the next
    day ends: the lease has half its length left when it is first due."""
    from .lease import LeaseHeld

    try:
        keeper.renew_if_due()
    except LeaseHeld:
        raise
    except Exception as exc:
        log.warning("could not renew the backfill lease (%s); trying again", one_line(exc))


def why_stuck(run: BackfillRun, hop: int) -> str | None:
    """Why an invocation that left days does not hand them over (it publishes what was
    done and fails, naming the day to continue from); None when it may hand over."""
    if run.halted is not None:
        return f"stopped: {run.halted}"
    if not run.outcomes and not run.paused:  # waiting out a pause is progress: bounded
        return "finished no day"  # by the pause (at most MAX_PAUSE) and MAX_HOPS
    return f"reached {MAX_HOPS} invocations" if hop >= MAX_HOPS else None


def rollup_periods(first: date, last: date) -> list[str]:
    """The ISO weeks and months the range closed: a backfill's roll-ups at its end."""
    from .rollup import due_periods

    return [period.id for period in due_periods(days_between(first, last))]


def _clock() -> datetime:
    return datetime.now(UTC)


class LeaseKeeper:
    """Holds the backfill lease (lease.py) on a bucket for one invocation (`hop`) of
    backfill `owner`: taken at the start, renewed once half of it has passed, handed over
    to the next invocation or released at the end. While it is held the feed function
    leaves the range's digests alone; the backfill publishes them once at its end."""

    def __init__(
        self,
        store: Store,
        first: date,
        last: date,
        owner: str,
        *,
        length: timedelta,
        now: Callable[[], datetime],
        hop: int = 1,
    ) -> None:
        self._store, self._first, self._last, self._owner = store, first, last, owner
        self._length, self._now, self._hop = length, now, hop
        self._until: datetime | None = None
        self.refused: str | None = None  # why `hold` said no

    def hold(self, length: timedelta | None = None) -> bool:
        """Take or renew the lease; False when this hop has handed over already, or the
        backfill finished (a repeated delivery: `refused` says which). Raises
        lease.LeaseHeld when another backfill has it."""
        from .lease import LEASE_LENGTH, take

        until = self._now() + min(length or self._length, LEASE_LENGTH)
        self.refused = take(
            self._store, self._first, self._last, self._owner, until, now=self._now(),
            hop=self._hop,
        )  # fmt: skip
        self._until = until if self.refused is None else None
        return self.refused is None

    def renew_if_due(self) -> None:
        if self._until is not None and self._until - self._now() < self._length / 2:
            self.hold()

    def hand_over(self, invoke_next: Callable[[], None]) -> bool:
        """Call `invoke_next` once per hop, however often this hop runs: False, calling
        nothing, when another run of it handed over already. A failed `invoke_next`
        takes the hand-over back (so Lambda's retry of this hop hands over) and raises."""
        from .lease import hand_over, take_back

        if not hand_over(self._store, self._owner, self._hop):
            return False
        try:
            invoke_next()
        except BaseException:
            take_back(self._store, self._owner, self._hop)
            raise
        return True

    def release(self, *, done: bool = False) -> None:
        """End the lease; `done` when the backfill reached its end (lease.release)."""
        from .lease import release

        release(self._store, self._owner, self._now(), done=done)
        self._until = None
