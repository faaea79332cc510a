"""The feed index: the small document every feed and page is rendered from. Pure.

It holds the newest `max_days` days (each with its ranked papers, whole, for the
day pages) and the newest `max_papers` papers (each with the days it was featured),
so a publish reads one digest and this index instead of the whole archive; and, for
the month pages, every day ever published, by month (a few bytes a day).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from datetime import date, datetime
from typing import Any

from . import checks
from .model import Digest, Paper
from .settings import FeedSettings

INDEX_SCHEMA_VERSION = 2

Index = dict[str, Any]


def empty_index() -> Index:
    return {"schema_version": INDEX_SCHEMA_VERSION, "days": {}, "papers": {}, "months": {}}


def with_archive_days(index: Mapping[str, Any], days: Iterable[str]) -> Index:
    """A new index whose months also list `days` (ISO dates)."""
    months: dict[str, set[str]] = {m: set(listed) for m, listed in index["months"].items()}
    for day in days:
        months.setdefault(day[:7], set()).add(day)
    return {**index, "months": {month: sorted(listed) for month, listed in sorted(months.items())}}


def merge_digest(index: Mapping[str, Any], digest: Digest, settings: FeedSettings) -> Index:
    """A new index with `digest`'s day in it (replacing that day if present), trimmed
    to the newest `max_days` days and `max_papers` papers."""
    day = digest.day.isoformat()
    days = dict(index["days"])
    papers = {key: dict(value) for key, value in index["papers"].items()}
    days[day] = day_entry(digest)
    for paper in digest.papers:
        known = papers.get(paper.arxiv_id)
        if known is None or day >= known["last_day"]:
            papers[paper.arxiv_id] = {
                **paper.to_json(),
                "last_published_at": digest.published_at.isoformat(),
                "last_day": day,
            }

    kept_days = dict(sorted(days.items(), reverse=True)[: settings.max_days])
    # A paper's featured days are the kept days that list it, whatever order the days
    # were merged in, so a rebuild gives the index day-by-day publishing gives.
    featured: dict[str, list[str]] = {}
    for kept_day, entry in sorted(kept_days.items()):
        for listing in entry["papers"]:
            featured.setdefault(listing["arxiv_id"], []).append(kept_day)
    papers = {
        key: {**value, "days": featured[key]} for key, value in papers.items() if key in featured
    }
    kept_papers = dict(
        sorted(papers.items(), key=lambda kv: paper_order(kv[1]))[: settings.max_papers]
    )
    trimmed = {**index, "days": kept_days, "papers": kept_papers}
    return {**with_archive_days(trimmed, [day]), "schema_version": INDEX_SCHEMA_VERSION}


def day_entry(digest: Digest) -> dict[str, Any]:
    """What the index holds of a day: its ranked papers, whole, and when it was made."""
    return {
        **({"lang": digest.lang} if digest.lang else {}),
        "published_at": digest.published_at.isoformat(),
        "generated_at": digest.generated_at.isoformat(),
        "papers_that_day": digest.papers_that_day,
        "papers": [paper.to_json() for paper in digest.papers],
    }


def paper_order(paper: Mapping[str, Any]) -> tuple[Any, ...]:
    """Newest featured day first, then most upvoted, then by id."""
    return (
        -date.fromisoformat(paper["last_day"]).toordinal(),
        -paper["upvotes"],
        paper["arxiv_id"],
    )


def is_full(index: Mapping[str, Any], settings: FeedSettings) -> bool:
    """Whether the index holds all the days it can: an older day would be trimmed again,
    and with it every paper only that day features."""
    return len(index["days"]) >= settings.max_days


def language(index: Mapping[str, Any], fallback: str) -> str:
    """The language of the newest day's post, which the feeds and pages take; `fallback`
    (the POST_LANG setting) for an index of days that did not record theirs."""
    for _, entry in sorted(index["days"].items(), reverse=True):
        if "lang" in entry:
            return str(entry["lang"])
    return fallback


def last_build(index: Mapping[str, Any]) -> datetime | None:
    """When the newest data in the index was generated: the feeds' build date."""
    stamps = [datetime.fromisoformat(day["generated_at"]) for day in index["days"].values()]
    return max(stamps) if stamps else None


def index_bytes(index: Mapping[str, Any]) -> bytes:
    return (json.dumps(index, ensure_ascii=False, sort_keys=True, indent=1) + "\n").encode()


def parse_index(body: bytes) -> Index:
    """A stored index, checked as deeply as a digest. Raises ValueError naming what is
    wrong: an index that cannot be trusted is rebuilt, never rendered."""
    try:
        index = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        raise ValueError(f"feed index is not JSON ({exc})") from None
    if not isinstance(index, dict) or index.get("schema_version") != INDEX_SCHEMA_VERSION:
        raise ValueError("feed index has an unknown shape or schema_version")
    days, papers, months = index.get("days"), index.get("papers"), index.get("months")
    if not (isinstance(days, dict) and isinstance(papers, dict) and isinstance(months, dict)):
        raise ValueError("feed index lacks its `days`, `papers` or `months` object")
    for day, entry in days.items():
        _check(_valid_day_entry(day, entry), f"feed index day {day!r} is malformed")
    for arxiv_id, entry in papers.items():
        _check(_valid_paper_entry(arxiv_id, entry), f"feed index paper {arxiv_id!r} is malformed")
    _check(isinstance(index.get("assets", ""), str), "feed index `assets` is not text")
    for month, listed in months.items():
        _check(_valid_month(month, listed), f"feed index month {month!r} is malformed")
    unlisted = [day for day in days if day not in months.get(day[:7], ())]
    _check(not unlisted, f"feed index days {unlisted[:3]} are missing from its months")
    return index


def _check(condition: bool, message: str) -> None:
    if not condition:
        raise ValueError(message)


def _passes(check: Callable[[Any, str], Any], value: Any) -> bool:
    try:
        check(value, "")
    except ValueError:
        return False
    return True


def _is_day(value: Any) -> bool:
    return _passes(checks.day, value)


def _is_aware(value: Any) -> bool:
    return _passes(checks.aware_datetime, value)


def _is_count(value: Any) -> bool:
    return _passes(checks.count, value)


def _valid_day_entry(day: Any, entry: Any) -> bool:
    if not (_is_day(day) and isinstance(entry, dict) and isinstance(entry.get("papers"), list)):
        return False
    return (
        _is_aware(entry.get("published_at"))
        and _is_aware(entry.get("generated_at"))
        and _is_count(entry.get("papers_that_day"))
        and entry.get("lang", checks.LANGUAGES[0]) in checks.LANGUAGES
        and all(_valid_listing(listing) for listing in entry["papers"])
    )


def _valid_listing(listing: Any) -> bool:
    return isinstance(listing, dict) and _valid_paper(listing) is not None


def _valid_month(month: Any, days: Any) -> bool:
    return (
        isinstance(month, str)
        and isinstance(days, list)
        and bool(days)
        and all(_is_day(day) and day[:7] == month for day in days)
        and days == sorted(set(days))
    )


def _valid_paper(data: Mapping[str, Any]) -> Paper | None:
    try:
        return Paper.from_json(data)
    except (KeyError, TypeError, ValueError):
        return None


def _valid_paper_entry(arxiv_id: Any, entry: Any) -> bool:
    if not isinstance(entry, dict):
        return False
    paper = _valid_paper(entry)
    days = entry.get("days")
    return (
        paper is not None
        and paper.arxiv_id == arxiv_id
        and _is_aware(entry.get("last_published_at"))
        and _is_day(entry.get("last_day"))
        and isinstance(days, list)
        and bool(days)
        and all(_is_day(day) for day in days)
    )
