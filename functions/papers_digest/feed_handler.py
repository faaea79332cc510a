"""Lambda entry point for the feed publisher: started when a digest lands in the bucket."""

from __future__ import annotations

import os
from datetime import UTC, date, datetime
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from .days import last_complete_day
from .events import feed_request
from .lease import holding
from .publish import PublishResult, publish_day, publish_days
from .rollup_feed import publish_rollups, rebuild_all
from .settings import FeedSettings, feed_settings, notify_settings
from .store import S3Store
from .stored import load_digest

logger = Logger()
metrics = Metrics()


def _now() -> datetime:
    return datetime.now(UTC)


def _notify(store: S3Store, day: date, settings: FeedSettings, now: datetime) -> None:
    """After the feeds: tell readers of the day that landed, if it is news. A failure
    raises, so Lambda retries this function (the feeds are already up; the digest is
    never touched)."""
    notify = notify_settings(os.environ)
    if not notify.enabled:
        return
    from aws_lambda_powertools.utilities.parameters import get_parameter

    from .notify import channels, is_news, notify_day

    if not is_news(day, now):  # a backfilled day, whatever became of the backfill's lease
        logger.info("not news: no notification", extra={"day": day.isoformat()})
        return

    def read(name: str) -> str:
        return str(get_parameter(name, decrypt=True, max_age=300))

    link = settings.day_url(day.isoformat())
    result = notify_day(store, load_digest(store, day), link, channels(notify, read))
    logger.info("notified", extra=result.summary())


@logger.inject_lambda_context
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    bucket, now = os.environ.get("DIGEST_BUCKET", ""), _now()
    request = feed_request(event, bucket)
    if request.ignored is not None:
        logger.warning(
            "ignoring an object that is neither a digest nor a roll-up",
            extra={"key": request.ignored},
        )
        result = PublishResult("ignored", notes=(f"not a digest: {request.ignored}",))
    else:
        store, settings = S3Store(bucket), feed_settings(os.environ)
        if request.first is not None and request.last is not None:
            result = publish_days(store, request.first, request.last, settings)
        elif request.rollups:  # a weekly or monthly roll-up landed
            result = publish_rollups(store, settings)
        elif request.day is None:
            result = rebuild_all(store, settings)
        elif request.day < last_complete_day(now) and (lease := holding(store, request.day, now)):
            # A backfill publishes its days once, at its end, and notifies nobody; the
            # last complete day (the scheduled run's) is news, backfill or not.
            note = f"held by backfill {lease.owner} until {lease.until.isoformat()}"
            result = PublishResult("held", request.day, notes=(note,))
        else:
            logger.append_keys(day=request.day.isoformat())
            result = publish_day(store, request.day, settings)
            _notify(store, request.day, settings, now)
    published = int(result.status in {"published", "rebuilt"})
    metrics.add_metric("FeedsPublished", MetricUnit.Count, published)
    logger.info("feed publish finished", extra=result.summary())
    return result.summary()
