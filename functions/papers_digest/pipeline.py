"""One day's run: fetch, parse, rank, render, store only what changed."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Literal, Protocol

from .errors import PreconditionFailed
from .keys import digest_key, post_key
from .model import Digest, parse_day_response, rank
from .render import digest_json, render_post, same_digest
from .settings import PostSettings
from .store import JSON_TYPE, MARKDOWN_TYPE, Store

log = logging.getLogger(__name__)

Status = Literal["created", "updated", "unchanged", "empty"]


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
    skipped: tuple[str, ...] = field(default=())

    def summary(self) -> dict[str, Any]:
        return {
            "day": self.day.isoformat(),
            "status": self.status,
            "papers": self.papers_listed,
            "papers_that_day": self.papers_that_day,
            "keys_written": list(self.keys_written),
            "skipped": list(self.skipped),
        }


def run_day(
    day: date, *, source: PaperSource, store: Store, settings: PostSettings, now: datetime
) -> RunResult:
    """Publish `day`. Everything is fetched and rendered before anything is written,
    so a failed or malformed fetch leaves the stored day as it was. The post goes
    first and the digest last: the digest's arrival is what starts the feed publisher,
    and a run cut short between the two is repaired by the next one."""
    parsed = parse_day_response(source.fetch_day(day), day)
    for reason in parsed.skipped:
        log.warning("skipped an item: %s", reason)
    ranked = rank(parsed.papers, settings.top_n, settings.min_upvotes)
    if not ranked:
        return RunResult(day, "empty", len(parsed.papers), 0, skipped=parsed.skipped)

    digest = Digest(
        day=day,
        papers=ranked,
        papers_that_day=len(parsed.papers),
        published_at=settings.publish_datetime(day),
        generated_at=now,
    )
    post = render_post(digest, settings).encode("utf-8")
    fresh = digest.to_json()
    post_written, _ = _write_if_changed(
        store, post_key(day), post, MARKDOWN_TYPE, same=lambda stored: stored == post
    )
    digest_written, existed = _write_if_changed(
        store,
        digest_key(day),
        digest_json(digest).encode("utf-8"),
        JSON_TYPE,
        same=lambda stored: same_digest(stored, fresh),
    )
    written = [post_key(day)] if post_written else []
    if digest_written:
        written.append(digest_key(day))
    status: Status = "unchanged" if not written else ("updated" if existed else "created")
    return RunResult(day, status, len(parsed.papers), len(ranked), tuple(written), parsed.skipped)


def _write_if_changed(
    store: Store, key: str, body: bytes, content_type: str, same: Callable[[bytes], bool]
) -> tuple[bool, bool]:
    """Write `body` unless the stored object is the `same`; return (written, existed).

    The write is conditional on what was read, so of two runs racing on one day neither
    overwrites an object it has not seen; the loser re-reads and compares."""
    existed = False
    for _ in range(5):
        stored = store.get(key)
        existed = existed or stored is not None
        if stored is not None and same(stored.body):
            return False, existed
        try:
            if stored is None:
                store.put(key, body, content_type, if_none_match=True)
            else:
                store.put(key, body, content_type, if_match=stored.etag)
        except PreconditionFailed:
            continue
        return True, existed
    raise PreconditionFailed(
        f"{store.describe(key)} kept changing under five attempts to write it; another run "
        "of the same day is busy, try again"
    )
