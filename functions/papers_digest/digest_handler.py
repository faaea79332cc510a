"""Lambda entry point for the scheduled digest: parse the event, wire adapters, run the day."""

from __future__ import annotations

import os
import time
from datetime import UTC, date, datetime
from functools import cache, partial
from typing import TYPE_CHECKING, Any

import requests
from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from .events import day_from_schedule_event, rollup_from_event
from .keys import digest_key
from .pipeline import refresh, run_day
from .rollups import build_rollup, scheduled_rollups
from .settings import (
    GitHubSettings,
    PostSettings,
    SourceSettings,
    filter_settings,
    github_settings,
    post_settings,
    source_settings,
)
from .source import DailyPapersClient
from .store import S3Store
from .summarizers import summary_step

if TYPE_CHECKING:
    from .github import GitHubRepository

# Seconds of the invocation kept for writing after the summaries (their deadline is earlier).
WRITE_RESERVE_SECONDS = 20
# A refreshed day starts only with time left for its fetch (50 s at most), its writes and
# the blog repository's commit (45 s at most) after it.
REFRESH_RESERVE_SECONDS = 50 + WRITE_RESERVE_SECONDS + 45
logger = Logger()
metrics = Metrics()


@cache
def _session() -> requests.Session:
    return requests.Session()


def _client(settings: SourceSettings) -> DailyPapersClient:
    """The API client, with the optional token: HF_TOKEN, or the SSM SecureString named
    by HF_TOKEN_PARAMETER (cached for an hour across warm invocations)."""
    token, token_source = settings.token, "HF_TOKEN"
    if settings.token_parameter:
        from aws_lambda_powertools.utilities.parameters import get_parameter

        token = get_parameter(settings.token_parameter, decrypt=True, max_age=3600)
        token_source = f"the SSM parameter {settings.token_parameter}"
    return DailyPapersClient(_session(), settings.api_base, token=token, token_source=token_source)


def _repository(settings: GitHubSettings) -> GitHubRepository:
    """The blog repository, with its token from GITHUB_BLOG_TOKEN_PARAMETER (the stack's
    way) or GITHUB_BLOG_TOKEN. Imported only when a repository is set."""
    from .github import GitHubRepository

    token, token_source = settings.token or "", "GITHUB_BLOG_TOKEN"
    if settings.token_parameter:
        from aws_lambda_powertools.utilities.parameters import get_parameter

        token = get_parameter(settings.token_parameter, decrypt=True, max_age=300)
        token_source = f"the SSM parameter {settings.token_parameter}"
    return GitHubRepository(settings, token, token_source)


def _rollups(store: S3Store, days: list[date], settings: PostSettings, now: datetime) -> Any:
    """The roll-ups of the periods the run closed (rollups.scheduled_rollups): a failed
    one is logged and counted (`RollupsFailed`), never fails the day."""
    results = scheduled_rollups(store, days, settings, now)
    failed = sum(result["status"] == "failed" for result in results)
    metrics.add_metric("RollupsFailed", MetricUnit.Count, failed)
    return results


@logger.inject_lambda_context
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    now = datetime.now(UTC)
    if (period := rollup_from_event(event, now)) is not None:  # {"rollup": "2026-W31"}
        rollup = build_rollup(
            S3Store(os.environ.get("DIGEST_BUCKET", "")), period, post_settings(os.environ), now
        )
        logger.info("roll-up built", extra=rollup.summary())
        return rollup.summary()
    day = day_from_schedule_event(event, now)
    logger.append_keys(day=day.isoformat())
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

    result = run(day)
    metrics.add_metric("PapersFetched", MetricUnit.Count, result.papers_that_day)
    digest_written = digest_key(result.day) in result.keys_written
    metrics.add_metric("DigestsWritten", MetricUnit.Count, int(digest_written))
    metrics.add_metric("DigestRunSucceeded", MetricUnit.Count, 1)
    for name, key in (("SummariesWritten", "written"), ("SummariesMissing", "missing")):
        if result.summaries is not None:
            metrics.add_metric(name, MetricUnit.Count, result.summaries[key])
    summary = result.summary()
    days_run = [result.day]  # and the refreshed days rewritten: for the roll-ups
    if "date" not in event:  # a scheduled run also refreshes the days before; a chosen day not
        refreshed = refresh(
            result.day,
            source.refresh_days,
            partial(run, keep_fuller=True),
            lambda: context.get_remaining_time_in_millis() / 1000 - REFRESH_RESERVE_SECONDS,
        )
        rewritten = sum(digest_key(done.day) in done.keys_written for done in refreshed.results)
        metrics.add_metric("DaysRefreshed", MetricUnit.Count, rewritten)
        metrics.add_metric("RefreshFailed", MetricUnit.Count, len(refreshed.failed))
        summary["refresh"] = refreshed.summary()
        days_run += [
            done.day for done in refreshed.results if digest_key(done.day) in done.keys_written
        ]
    summary["rollups"] = _rollups(store, days_run, settings, now)
    # Read only now: a bad blog setting must not keep the day from being stored. A
    # failure from here raises, so Lambda retries and the alarm fires.
    github = github_settings(os.environ)
    if github is not None:
        from .github import publish_posts

        committed = publish_posts(store, _repository(github), result.day, github.catch_up_days)
        summary.update(committed.summary())
    logger.info("digest run finished", extra=summary)
    return summary
