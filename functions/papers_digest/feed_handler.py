"""Lambda entry point for the feed publisher: started when a digest lands in the bucket."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any
from urllib.parse import unquote_plus

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from .errors import InvalidEventError
from .feeds import PublishResult, feed_settings, publish_day, rebuild
from .keys import day_of_digest_key
from .store import S3Store

logger = Logger()
metrics = Metrics()


def objects_in_event(event: Any) -> list[tuple[str, str]]:
    """(bucket, key) pairs from an EventBridge `Object Created` event or an S3 notification."""
    if not isinstance(event, Mapping):
        raise InvalidEventError(f"event is a {type(event).__name__}, expected a JSON object")
    if event.get("detail-type") == "Object Created":
        detail = event.get("detail") or {}
        try:
            return [(detail["bucket"]["name"], detail["object"]["key"])]
        except (KeyError, TypeError):
            raise InvalidEventError(
                "Object Created event lacks detail.bucket.name or detail.object.key; "
                "send S3 events through an EventBridge rule as template.yaml does"
            ) from None
    if isinstance(event.get("Records"), list):
        try:
            return [
                (record["s3"]["bucket"]["name"], unquote_plus(record["s3"]["object"]["key"]))
                for record in event["Records"]
            ]
        except (KeyError, TypeError):
            raise InvalidEventError(
                "S3 notification record lacks s3.bucket.name or s3.object.key; "
                "check the bucket's notification configuration"
            ) from None
    raise InvalidEventError(
        f"event is neither an S3 Object Created event, S3 notification Records, nor "
        f'{{"rebuild": true}} (keys: {sorted(event)[:8]}); send {{"rebuild": true}} to '
        "rebuild the feeds"
    )


@logger.inject_lambda_context
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    bucket = os.environ.get("DIGEST_BUCKET", "")
    store = S3Store(bucket)
    settings = feed_settings(os.environ)
    if isinstance(event, Mapping) and event.get("rebuild") is True:
        results = [rebuild(store, settings)]
    else:
        results = []
        for event_bucket, key in objects_in_event(event):
            if event_bucket != bucket:
                raise InvalidEventError(
                    f"event names bucket {event_bucket!r}, but this function publishes "
                    f"{bucket!r}; check the EventBridge rule"
                )
            day = day_of_digest_key(key)
            if day is None:
                logger.warning("ignoring an object outside digests/", extra={"key": key})
                results.append(PublishResult("ignored", notes=(f"not a digest: {key}",)))
                continue
            logger.append_keys(day=day.isoformat())
            results.append(publish_day(store, day, settings))
    published = sum(result.status in {"published", "rebuilt"} for result in results)
    metrics.add_metric("FeedsPublished", MetricUnit.Count, published)
    summaries = [result.summary() for result in results]
    logger.info("feed publish finished", extra={"results": summaries})
    return {"results": summaries}
