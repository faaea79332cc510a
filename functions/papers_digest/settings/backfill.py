"""A backfill's settings: how many days at once, and how fast it may ask the API."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

from .values import Values


@dataclass(frozen=True)
class BackfillSettings:
    # Requests a second to the API, for all workers together: 300 per 5 minutes, 60% of the
    # 500 per 5 minutes Hugging Face allows anonymous API calls (huggingface.co/docs/hub/
    # rate-limits, "Rate limit Tiers", September 2025), leaving room for other clients.
    rate: float = 1.0  # BACKFILL_RATE (--rate)
    concurrency: int = 4  # BACKFILL_CONCURRENCY (--concurrency): days in flight at once


MAX_RATE = 1000.0
MAX_CONCURRENCY = 16


def backfill_settings(env: Mapping[str, str], **overrides: object) -> BackfillSettings:
    values = Values(env, overrides)
    concurrency = values.integer(
        "BACKFILL_CONCURRENCY", BackfillSettings.concurrency, 1, MAX_CONCURRENCY
    )
    raw = values.get("BACKFILL_RATE")
    rate = BackfillSettings.rate
    if raw is not None:
        try:
            rate = float(raw)
        except ValueError:
            raise values.error("BACKFILL_RATE", "is not a number of requests a second") from None
        if not (math.isfinite(rate) and 0 < rate <= MAX_RATE):
            raise values.error("BACKFILL_RATE", f"must be above 0 and at most {MAX_RATE:g}")
    return BackfillSettings(rate=rate, concurrency=concurrency)
