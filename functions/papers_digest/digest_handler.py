"""Lambda entry point for the scheduled digest: parse the event, wire adapters, run the day."""

from __future__ import annotations

import json
import os
import time
from datetime import UTC, date, datetime, timedelta
from functools import cache, partial
from typing import TYPE_CHECKING, Any

import requests
from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from .errors import DigestError
from .events import (
    BackfillRequest,
    backfill_request,
    day_from_schedule_event,
    rollup_from_event,
)
from .keys import digest_key
from .pipeline import run_day
from .rollups import build_rollup
from .schedule import scheduled_run
from .settings import (
    GitHubSettings,
    SourceSettings,
    filter_settings,
    github_settings,
    post_settings,
    source_settings,
    summary_settings,
)
from .source import DailyPapersClient
from .store import S3Store
from .summarizers import summary_step

if TYPE_CHECKING:
    from .github import GitHubRepository

# Seconds of the invocation kept for writing after the summaries (their deadline is earlier).
WRITE_RESERVE_SECONDS = 20
# A backfill starts no day with less left than one day's worst case: the fetch's budget
# (a rate-limit pause past it fails the day) and the writes; the summaries' when asked.
BACKFILL_DAY_RESERVE_SECONDS = 50 + WRITE_RESERVE_SECONDS
# How long past this invocation the lease holds, for the next hop to start and renew it.
HANDOVER = timedelta(minutes=5)
# A refreshed day starts only with time left for its fetch (50 s at most), its writes and
# the blog repository's commit (45 s at most) after it.
REFRESH_RESERVE_SECONDS = 50 + WRITE_RESERVE_SECONDS + 45
# A roll-up starts only with time left for one (a month: about 40 S3 requests, two
# seconds at S3's usual pace, with room for slow ones) and the blog repository's commit.
ROLLUP_RESERVE_SECONDS = 15 + 45
logger = Logger()
metrics = Metrics()


@cache
def _session() -> requests.Session:
    return requests.Session()


@cache
def _lambda() -> Any:
    """The Lambda client a backfill hands over with (to itself, then to the feed function)."""
    import boto3

    return boto3.client("lambda")


def _token(settings: SourceSettings) -> tuple[str | None, str]:
    """The optional token: HF_TOKEN, or the SSM SecureString named by HF_TOKEN_PARAMETER
    (cached for an hour across warm invocations); and where it came from."""
    if settings.token_parameter:
        from aws_lambda_powertools.utilities.parameters import get_parameter

        token = get_parameter(settings.token_parameter, decrypt=True, max_age=3600)
        return token, f"the SSM parameter {settings.token_parameter}"
    return settings.token, "HF_TOKEN"


def _client(settings: SourceSettings) -> DailyPapersClient:
    token, token_source = _token(settings)
    return DailyPapersClient(_session(), settings.api_base, token=token, token_source=token_source)


def _repository(settings: GitHubSettings, seconds_left: float) -> GitHubRepository:
    """The blog repository, with its token from GITHUB_BLOG_TOKEN_PARAMETER (the stack's
    way) or GITHUB_BLOG_TOKEN, and at most its 45 s of what the invocation has left.
    Imported only when a repository is set."""
    from .github import GitHubRepository

    token, token_source = settings.token or "", "GITHUB_BLOG_TOKEN"
    if settings.token_parameter:
        from aws_lambda_powertools.utilities.parameters import get_parameter

        token = get_parameter(settings.token_parameter, decrypt=True, max_age=300)
        token_source = f"the SSM parameter {settings.token_parameter}"
    return GitHubRepository(settings, token, token_source, budget=min(45.0, seconds_left - 5))


@logger.inject_lambda_context
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    now = datetime.now(UTC)
    backfill = backfill_request(event, now)
    if backfill is not None:
        return _backfill(backfill, context)
    if (period := rollup_from_event(event, now)) is not None:  # {"rollup": "2026-W31"}
        rollup = build_rollup(
            S3Store(os.environ.get("DIGEST_BUCKET", "")), period, post_settings(os.environ), now
        )
        logger.info("roll-up built", extra=rollup.summary())
        return rollup.summary()
    day = day_from_schedule_event(event, now)
    logger.append_keys(day=day.isoformat())

    def seconds_left() -> float:
        return context.get_remaining_time_in_millis() / 1000

    store = S3Store(os.environ.get("DIGEST_BUCKET", ""))
    settings = post_settings(os.environ)
    left = context.get_remaining_time_in_millis() / 1000 - WRITE_RESERVE_SECONDS
    summaries = summary_step(
        os.environ,
        lang=settings.lang,
        template_dir=settings.template_dir,
        deadline=time.monotonic() + left,
        session=_session(),
    )
    source, filters = source_settings(os.environ), filter_settings(os.environ)
    # a refreshed day may summarize a paper new to its top N: its time is kept for that too
    refresh_reserve = REFRESH_RESERVE_SECONDS + (
        summary_settings(os.environ).timeout if summaries is not None else 0
    )
    client = _client(source)

    run = partial(
        run_day,
        source=client,
        store=store,
        settings=settings,
        now=now,
        filters=filters,
        summaries=summaries,
    )

    if "date" in event:  # a chosen day runs alone
        result = run(day)
        summary = result.summary()
    else:  # a scheduled run also refreshes the days before and builds what they closed
        scheduled = scheduled_run(
            day,
            run,
            refresh_days=source.refresh_days,
            store=store,
            settings=settings,
            now=now,
            refresh_time_left=lambda: seconds_left() - refresh_reserve,
            rollups_may_start=lambda: seconds_left() > ROLLUP_RESERVE_SECONDS,
        )
        result, summary = scheduled.result, scheduled.summary()
        # emitted only when something failed: a metric costs per month it is published in
        if scheduled.refreshed.failed:
            metrics.add_metric("RefreshFailed", MetricUnit.Count, len(scheduled.refreshed.failed))
        if scheduled.rollups_failed:
            metrics.add_metric("RollupsFailed", MetricUnit.Count, scheduled.rollups_failed)
    metrics.add_metric("PapersFetched", MetricUnit.Count, result.papers_that_day)
    digest_written = digest_key(result.day) in result.keys_written
    metrics.add_metric("DigestsWritten", MetricUnit.Count, int(digest_written))
    metrics.add_metric("DigestRunSucceeded", MetricUnit.Count, 1)
    for name, key in (("SummariesWritten", "written"), ("SummariesMissing", "missing")):
        if result.summaries is not None:
            metrics.add_metric(name, MetricUnit.Count, result.summaries[key])
    # Read only now: a bad blog setting must not keep the day from being stored. A
    # failure from here raises, so Lambda retries and the alarm fires.
    github = github_settings(os.environ)
    if github is not None:
        from .github import publish_posts

        repository = _repository(github, seconds_left())
        committed = publish_posts(store, repository, result.day, github.catch_up_days)
        summary.update(committed.summary())
    logger.info("digest run finished", extra=summary)
    return summary


def _backfill(request: BackfillRequest, context: LambdaContext) -> dict[str, Any]:
    """Days `from`..`to` (backfill.run_backfill), while this invocation has time for one
    more; then the rest goes to a new invocation of this function (asynchronous, with the
    backfill's id, hop and counts), or, at the end, one publish to the feed function."""
    import uuid

    from .backfill import Api, LeaseKeeper, check_ready, continuation, run_backfill, why_stuck
    from .lease import LEASE_LENGTH
    from .settings.backfill import backfill_settings

    backfill_id = request.backfill_id or str(uuid.uuid4())
    origin = request.origin or request.first
    logger.append_keys(backfill=backfill_id, hop=request.hop)
    store = S3Store(os.environ.get("DIGEST_BUCKET", ""))
    settings = post_settings(os.environ)
    check_ready(store, os.environ, summaries=request.summaries, asked_by='"summaries": true')
    reserve = BACKFILL_DAY_RESERVE_SECONDS
    if request.summaries:
        from .settings import summary_settings

        reserve += summary_settings(os.environ).timeout

    def left() -> float:
        return context.get_remaining_time_in_millis() / 1000

    def summaries() -> Any:
        deadline = time.monotonic() + left() - WRITE_RESERVE_SECONDS
        return summary_step(
            os.environ, lang=settings.lang, template_dir=settings.template_dir, deadline=deadline
        )

    def on_day(outcome: Any, requests: int) -> None:
        log = logger.warning if outcome.status == "failed" else logger.info
        log("backfill day", extra=outcome.summary())

    keeper = LeaseKeeper(store, origin, request.last, backfill_id, length=LEASE_LENGTH,
                         now=lambda: datetime.now(UTC), hop=request.hop)  # fmt: skip
    source = source_settings(os.environ)
    hop = run_backfill(
        request.first,
        request.last,
        store=store,
        settings=settings,
        api=Api(source.api_base, *_token(source)),
        options=backfill_settings(os.environ),
        keeper=keeper,
        hold_for=min(timedelta(seconds=left()) + HANDOVER, LEASE_LENGTH),
        tally=request.tally,
        refetch=request.refetch,
        filters=filter_settings(os.environ),
        summaries=summaries if request.summaries else None,
        keep_going=lambda: left() > reserve,
        longest_wait=lambda: left() - reserve,
        on_day=on_day,
        paused_until=request.paused_until,
        failing=request.failing,
    )
    if hop is None:
        status = keeper.refused or "handed over already"
        repeated = {"backfill": backfill_id, "hop": request.hop, "status": status}
        logger.warning(
            "a repeated delivery of a backfill invocation: nothing to do", extra=repeated
        )
        return repeated
    run, tally = hop.run, hop.tally
    summary = {
        "backfill": backfill_id,
        "hop": request.hop,
        "from": origin.isoformat(),
        "to": request.last.isoformat(),
        "this_hop": {"from": request.first.isoformat(), "days": len(run.outcomes)},
        **tally.to_json(),
        **run.stopped(),
    }
    if tally.failed:
        metrics.add_metric("BackfillDaysFailed", MetricUnit.Count, tally.failed)
    stuck = why_stuck(run, request.hop)
    if run.next_day is not None and stuck is None:
        summary["continues_from"] = run.next_day.isoformat()
        handover = continuation(
            next_day=run.next_day,
            last=request.last,
            backfill_id=backfill_id,
            hop=request.hop,
            origin=origin,
            tally=tally,
            refetch=request.refetch,
            summaries=request.summaries,
            paused_until=hop.paused_until,
            failing=run.failing,
        )
        if keeper.hand_over(partial(_invoke, context.function_name, handover)):
            logger.info("backfill continues in a new invocation", extra=summary)
        else:  # another run of this invocation (a repeated delivery) got there first
            summary["status"] = "handed over already"
            logger.warning("backfill handed over already", extra=summary)
        return summary
    finished = run.next_day is None  # else stuck: the roll-ups wait for the backfill's rerun
    summary["rollups_asked"] = _end_backfill(
        store, keeper, origin, request.last, tally, context if finished else None
    )
    if run.next_day is not None:
        since = run.resume_from or run.next_day
        logger.error("backfill stopped", extra=summary)
        raise DigestError(
            f"backfill {backfill_id}: invocation {request.hop} {stuck}; stopping at "
            f'{since} (send {{"from": "{since}", "to": '
            f'"{request.last}"}} to go on); the days done are published'
        )
    (logger.error if tally.failed else logger.info)("backfill finished", extra=summary)
    return summary


def _end_backfill(
    store: S3Store,
    keeper: Any,
    first: date,
    last: date,
    tally: Any,
    context: LambdaContext | None,
) -> list[str]:
    """Release the lease; ask the feed function for one publish of the days written (and
    of any stored day of the range its feeds lack), and, given the `context` of a
    backfill that reached its end, this function for the roll-up of each closed week and
    month of the range, one asynchronous invocation each (a roll-up writes only what
    changed). Returns the periods asked for."""
    from .backfill import publish_span, rollup_periods

    keeper.release(done=context is not None)
    feed = os.environ.get("FEED_FUNCTION_NAME", "")
    span = publish_span(store, first, last, tally)
    if span is not None and not feed:
        logger.warning("FEED_FUNCTION_NAME is not set: the feeds were not asked to publish")
    elif span is not None:
        event = {"publish": {"from": span[0].isoformat(), "to": span[1].isoformat()}}
        _invoke(feed, event)
    if context is None:
        return []
    periods = rollup_periods(first, last)
    for period in periods:
        _invoke(context.function_name, {"rollup": period})
    return periods


def _invoke(function: str, event: dict[str, Any]) -> None:
    _lambda().invoke(
        FunctionName=function, InvocationType="Event", Payload=json.dumps(event).encode("utf-8")
    )
