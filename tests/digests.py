"""Digests built from the recorded API data, for feed tests."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

from papers_digest.keys import digest_key
from papers_digest.model import Digest, Paper, parse_day_response, rank
from papers_digest.render import digest_json
from papers_digest.settings import PostSettings
from papers_digest.store import JSON_TYPE, Store
from tests.conftest import REAL_DAY, api_items

SETTINGS = PostSettings()
REAL_PAPERS = rank(parse_day_response(api_items(REAL_DAY), REAL_DAY).papers, top_n=30)


def digest_for(day: date, papers: tuple[Paper, ...] | None = None, top_n: int = 10) -> Digest:
    """A digest for `day`: the given papers, or the real day's top N with ids made unique
    to the day (so each day brings its own papers): `day_paper_id`."""
    if papers is None:
        papers = tuple(
            replace(paper, arxiv_id=day_paper_id(day, rank))
            for rank, paper in enumerate(REAL_PAPERS[:top_n], 1)
        )
    generated = datetime.combine(day + timedelta(days=1), datetime.min.time(), tzinfo=UTC)
    return Digest(day, papers, len(papers), SETTINGS.publish_datetime(day), generated)


def day_paper_id(day: date, rank: int) -> str:
    """A valid arXiv id unique to `day` and `rank`: 2607.31001 for the first on 2026-07-31."""
    return f"{day:%y%m}.{day.day:02d}{rank:03d}"


def store_digest(store: Store, digest: Digest) -> None:
    store.put(digest_key(digest.day), digest_json(digest).encode(), JSON_TYPE)


def days_before(last: date, count: int) -> list[date]:
    return [last - timedelta(days=offset) for offset in range(count)]
