"""One day's run: fetch, parse, rank, render, store only what changed."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any, Literal, Protocol

from .conditional import Decision, Read, update_object
from .days import FIRST_DAILY_PAPERS_DAY
from .errors import DigestError
from .filters import NO_FILTERS, Filters, apply
from .keys import digest_key, post_key
from .model import Digest, parse_day_response, rank
from .render import digest_json, render_post, same_digest
from .settings import PostSettings
from .store import JSON_TYPE, MARKDOWN_TYPE, PUBLIC_CACHE_CONTROL, Store, StoredObject
from .summarize import SummaryStep, carried_over

log = logging.getLogger(__name__)
# Two runs of a day overlap only while both are running: a function times out in minutes.
RACE_WINDOW = timedelta(minutes=15)

# `superseded`: a run of the same day that fetched later has already stored its digest.
# `kept`: a refresh listed far fewer papers than the stored day; the stored day stays.
Status = Literal["created", "updated", "unchanged", "superseded", "empty", "kept"]


class PaperSource(Protocol):
    def fetch_day(self, day: date) -> list[Any]:
        """Every raw item the source lists for `day`."""


@dataclass(frozen=True)
class RunResult:
    day: date
    status: Status
    papers_that_day: int
    papers_listed: int
    keys_written: tuple[str, ...] = ()
    skipped: tuple[str, ...] = field(default=())  # items left out
    dropped: tuple[str, ...] = field(default=())  # bad optional values left out, papers kept
    summaries: dict[str, int] | None = None  # what the summary step did, when it ran

    def summary(self) -> dict[str, Any]:
        return {
            "day": self.day.isoformat(),
            "status": self.status,
            "papers": self.papers_listed,
            "papers_that_day": self.papers_that_day,
            "keys_written": list(self.keys_written),
            "skipped": list(self.skipped),
            "dropped": list(self.dropped),
            **({"summaries": self.summaries} if self.summaries is not None else {}),
        }


def run_day(
    day: date,
    *,
    source: PaperSource,
    store: Store,
    settings: PostSettings,
    now: datetime,
    filters: Filters = NO_FILTERS,
    summaries: SummaryStep | None = None,
    keep_fuller: bool = False,
) -> RunResult:
    """Publish `day`. Everything is fetched, rendered and encoded before anything is
    written, so a failed or malformed fetch leaves the stored day as it was. The post
    goes first and the digest last: the digest's arrival is what starts the feed
    publisher, and a run cut short between the two is repaired by the next one. A digest
    is never replaced by one generated earlier (`generated_at`), so when two runs of a
    day overlap the digest and the feeds keep the newer data. With `keep_fuller` (the
    refresh of a day already published, which nobody watches), an answer that lists
    fewer than half the papers the stored day had is taken for a degraded one: the
    stored day stays, with a warning."""
    parsed = parse_day_response(source.fetch_day(day), day)
    for reason in parsed.skipped:
        log.warning("skipped an item: %s", reason)
    for note in parsed.notes:
        log.warning("dropped a value: %s", note)
    kept, filtered_out = apply(parsed.papers, filters)
    ranked = rank(kept, settings.top_n, settings.min_upvotes)
    listed = {paper.arxiv_id for paper in ranked}
    unlisted = tuple(paper for paper in rank(kept, len(kept)) if paper.arxiv_id not in listed)
    if not ranked:
        return RunResult(
            day, "empty", len(parsed.papers), 0, skipped=parsed.skipped, dropped=parsed.notes
        )

    report = None
    stored = store.get(digest_key(day))
    if keep_fuller and stored is not None and _fuller(stored.body, len(parsed.papers)):
        log.warning(
            "%s: the source lists %d papers, fewer than half of the stored day's; "
            "kept the stored day",
            day,
            len(parsed.papers),
        )
        return RunResult(
            day, "kept", len(parsed.papers), 0, skipped=parsed.skipped, dropped=parsed.notes
        )
    if summaries is not None:  # cached ones come from the day's stored digest
        ranked, report = summaries.add(ranked, stored.body if stored else None)
    else:  # and are kept without a summary step
        ranked = carried_over(ranked, stored.body if stored else None, settings.lang)
    digest = Digest(
        day=day,
        papers=ranked,
        papers_that_day=len(parsed.papers),
        published_at=settings.publish_datetime(day),
        generated_at=now,
        lang=settings.lang,
        filters=filters,
        filtered_out=filtered_out,
        unlisted=unlisted,
    )
    post = render_post(digest, settings).encode("utf-8")
    fresh = digest.to_json()
    digest_body = digest_json(digest).encode("utf-8")

    post_write = update_object(
        store,
        post_key(day),
        MARKDOWN_TYPE,
        lambda stored: Decision(None, None if stored and stored.body == post else post),
        cache_control=PUBLIC_CACHE_CONTROL,
    )
    digest_write = update_object(
        store,
        digest_key(day),
        JSON_TYPE,
        lambda stored: _decide_digest(stored, fresh, digest_body),
        read=Read(stored),  # read before the post: a digest changed since fails If-Match
    )
    written = [post_key(day)] if post_write.written else []
    if digest_write.written:
        written.append(digest_key(day))
    status: Status = digest_write.value
    if status == "unchanged" and post_write.written:
        status = "updated"
    return RunResult(
        day,
        status,
        len(parsed.papers),
        len(ranked),
        tuple(written),
        parsed.skipped,
        parsed.notes,
        report.summary() if report else None,
    )


@dataclass(frozen=True)
class Refresh:
    """What refreshing the days before a scheduled run's day did: each day's result, the
    days that failed (with their one-line reason) and those left for lack of time."""

    results: tuple[RunResult, ...] = ()
    failed: tuple[tuple[date, str], ...] = ()
    not_reached: tuple[date, ...] = ()

    @property
    def rewritten(self) -> list[date]:
        """The refreshed days whose digest was written again."""
        return [done.day for done in self.results if digest_key(done.day) in done.keys_written]

    def summary(self) -> dict[str, Any]:
        return {
            "refreshed": {result.day.isoformat(): result.status for result in self.results},
            "failed": {day.isoformat(): reason for day, reason in self.failed},
            "not_reached": [day.isoformat() for day in self.not_reached],
        }


def refresh(
    day: date, count: int, run: Callable[[date], RunResult], time_left: Callable[[], float]
) -> Refresh:
    """Run the `count` days before `day` again, newest first, while `time_left()` (seconds)
    is positive: their upvotes kept rising after the run that published them, and a day
    is rewritten only when its ranking or upvotes changed. A day that fails is noted and
    left for the next run (whose window still holds it while `count` > 1)."""
    results: list[RunResult] = []
    failed: list[tuple[date, str]] = []
    not_reached: list[date] = []
    for back in range(1, count + 1):
        earlier = day - timedelta(days=back)
        if earlier < FIRST_DAILY_PAPERS_DAY:
            break
        if time_left() <= 0:
            not_reached.append(earlier)
            continue
        try:
            results.append(run(earlier))
        except DigestError as exc:
            log.warning("could not refresh %s: %s", earlier, exc)
            failed.append((earlier, str(exc)))
    return Refresh(tuple(results), tuple(failed), tuple(not_reached))


def _decide_digest(
    stored: StoredObject | None, fresh: dict[str, Any], body: bytes
) -> Decision[Status]:
    if stored is None:
        return Decision("created", body)
    if same_digest(stored.body, fresh):
        return Decision("unchanged", None)
    if _generated_after(stored.body, fresh["generated_at"]):
        return Decision("superseded", None)
    return Decision("updated", body)


def _fuller(stored: bytes, papers_that_day: int) -> bool:
    """Whether a stored digest lists more than twice `papers_that_day` papers (an
    unreadable one: no, it is replaced)."""
    try:
        stored_count = json.loads(stored)["papers_that_day"]
        return isinstance(stored_count, int) and stored_count > 2 * papers_that_day
    except (ValueError, TypeError, KeyError, RecursionError):
        return False


def _generated_after(stored: bytes, generated_at: str) -> bool:
    """Whether a stored digest comes from a run that fetched after this one while both
    were running: generated later, but within RACE_WINDOW. One stamped further ahead
    (a skewed clock, a corrupt object) is no reason to keep it; unreadable: no."""
    try:
        theirs = datetime.fromisoformat(json.loads(stored)["generated_at"])
        ours = datetime.fromisoformat(generated_at)
        return ours < theirs <= ours + RACE_WINDOW
    except (ValueError, TypeError, KeyError, RecursionError):
        return False
