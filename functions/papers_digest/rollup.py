"""Weekly and monthly roll-ups of the daily digests. Pure: stored digests in, a Rollup out.

A period is an ISO week (Monday to Sunday, `2026-W31`) or a calendar month (`2026-07`).
Its ranking is over every paper of its days, listed or not (a digest keeps the whole day,
model.Digest.unlisted), each paper once at its latest upvotes: the value in the digest
fetched last that holds it (by `generated_at`, then day), since upvotes only settle later
and a refresh, a backfill or a chosen day's run may fetch an earlier day after a later one."""

from __future__ import annotations

import calendar
import re
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any, Literal

from . import checks
from .days import FIRST_DAILY_PAPERS_DAY
from .errors import InvalidDayError
from .keys import rollup_key
from .model import Digest, Paper

ROLLUP_SCHEMA_VERSION = 1
TOP_COUNTS = 10  # organizations and keywords a roll-up names
_WEEK = re.compile(r"([0-9]{4})-W([0-9]{2})")
_MONTH = re.compile(r"([0-9]{4})-([0-9]{2})")
Kind = Literal["week", "month"]


@dataclass(frozen=True, order=True)
class Period:
    """An ISO week or a calendar month, by its first day."""

    start: date
    kind: Kind

    @property
    def end(self) -> date:
        """The period's last day."""
        if self.kind == "week":
            return self.start + timedelta(days=6)
        last = calendar.monthrange(self.start.year, self.start.month)[1]
        return self.start.replace(day=last)

    @property
    def id(self) -> str:
        if self.kind == "week":
            year, week, _ = self.start.isocalendar()
            return f"{year:04d}-W{week:02d}"
        return f"{self.start.year:04d}-{self.start.month:02d}"

    @property
    def days(self) -> tuple[date, ...]:
        count = (self.end - self.start).days + 1
        return tuple(self.start + timedelta(days=offset) for offset in range(count))

    @property
    def key(self) -> str:
        return rollup_key(self.id)

    @property
    def slug(self) -> str:
        """What Jekyll's `:title` stands for: `hf-weekly-papers-2026-w31`."""
        return f"hf-{'weekly' if self.kind == 'week' else 'monthly'}-papers-{self.id.lower()}"

    @property
    def title(self) -> str:
        """The roll-up's title, in its post and its feed item."""
        kind = "Weekly" if self.kind == "week" else "Monthly"
        return f"Hugging Face {kind} Papers - {self.id}"

    def __contains__(self, day: object) -> bool:
        return isinstance(day, date) and self.start <= day <= self.end

    @classmethod
    def week_of(cls, day: date) -> Period:
        return cls(day - timedelta(days=day.weekday()), "week")

    @classmethod
    def month_of(cls, day: date) -> Period:
        return cls(day.replace(day=1), "month")

    @classmethod
    def parse(cls, value: Any, name: str = "period") -> Period:
        """`YYYY-Www` (an ISO week that exists) or `YYYY-MM`; a ValueError names `name`."""
        text = value if isinstance(value, str) else ""
        try:
            if week := _WEEK.fullmatch(text):
                return cls(date.fromisocalendar(int(week[1]), int(week[2]), 1), "week")
            if month := _MONTH.fullmatch(text):
                return cls(date(int(month[1]), int(month[2]), 1), "month")
        except ValueError:
            pass
        raise checks.refuse(name, value, "an ISO week such as 2026-W31 or a month such as 2026-07")


def check_closed(period: Period, now: datetime) -> Period:
    """Refuse a period whose last day has not ended (UTC), or that ends before Daily
    Papers began: an on-demand roll-up is of a whole period."""
    today = now.astimezone(UTC).date()
    if period.end >= today:
        raise InvalidDayError(
            f"{period.id} ends on {period.end.isoformat()}, which has not ended yet (UTC today "
            f"is {today.isoformat()}); a roll-up is built once its period is over"
        )
    if period.end < FIRST_DAILY_PAPERS_DAY:
        raise InvalidDayError(
            f"{period.id} is before Hugging Face Daily Papers began "
            f"({FIRST_DAILY_PAPERS_DAY.isoformat()})"
        )
    return period


def due_periods(days_run: Iterable[date]) -> list[Period]:
    """The closed weeks and months holding any of the days a scheduled run (re)wrote: a
    period is closed once its last day is among or before the latest day run. So the run
    that publishes a Sunday builds its week, the one that publishes the 31st its month,
    and a run that refreshes a day of a closed period builds that period again."""
    days = set(days_run)
    if not days:
        return []
    latest = max(days)
    periods = {period for day in days for period in (Period.week_of(day), Period.month_of(day))}
    return sorted(period for period in periods if period.end <= latest)


@dataclass(frozen=True)
class RolledPaper:
    """A paper of the period at its latest upvotes, with the days it was featured."""

    paper: Paper
    days: tuple[date, ...]

    def to_json(self) -> dict[str, Any]:
        return {**self.paper.to_json(), "days": [day.isoformat() for day in self.days]}

    @classmethod
    def from_json(cls, data: Any, where: str, period: Period) -> RolledPaper:
        paper = Paper.from_json(data, where)
        days = _days(data.get("days"), f"{where}.days", period)
        if not days:
            raise checks.refuse(f"{where}.days", [], "the days it was featured")
        return cls(paper, days)


def _order(item: RolledPaper) -> tuple[int, str]:
    """Most upvoted first; ties by arXiv id, so the order never flickers."""
    return (-item.paper.upvotes, item.paper.arxiv_id)


@dataclass(frozen=True)
class Rollup:
    """A period's top papers and statistics: what its post and its JSON digest say."""

    period: Period
    papers: tuple[RolledPaper, ...]  # the top N of the period
    papers_in_period: int
    total_upvotes: int
    days_covered: tuple[date, ...]  # the days with a readable digest
    organizations: tuple[tuple[str, int], ...]  # most frequent first: (name, papers)
    keywords: tuple[tuple[str, int], ...]  # AI keywords, the same way
    weeks: tuple[tuple[str, RolledPaper], ...]  # a month's: each ISO week's most upvoted
    published_at: datetime
    generated_at: datetime
    lang: str

    @property
    def average_upvotes(self) -> float:
        return round(self.total_upvotes / self.papers_in_period, 1)

    def to_json(self) -> dict[str, Any]:
        return {
            "schema_version": ROLLUP_SCHEMA_VERSION,
            "kind": self.period.kind,
            "period": self.period.id,
            "start": self.period.start.isoformat(),
            "end": self.period.end.isoformat(),
            "lang": self.lang,
            "generated_at": self.generated_at.isoformat(timespec="seconds"),
            "published_at": self.published_at.isoformat(timespec="seconds"),
            "days_in_period": len(self.period.days),
            "days_covered": [day.isoformat() for day in self.days_covered],
            "papers_in_period": self.papers_in_period,
            "total_upvotes": self.total_upvotes,
            "average_upvotes": self.average_upvotes,
            "organizations": [{"name": name, "papers": n} for name, n in self.organizations],
            "keywords": [{"keyword": word, "papers": n} for word, n in self.keywords],
            "papers": [
                {"rank": rank, **item.to_json()} for rank, item in enumerate(self.papers, 1)
            ],
            "weeks": [{"week": week, "paper": item.to_json()} for week, item in self.weeks],
        }

    @classmethod
    def from_json(cls, data: Any) -> Rollup:
        """A stored roll-up, checked as strictly as a digest: a ValueError names the
        first field that is missing, malformed or inconsistent with the rest."""
        if not isinstance(data, Mapping):
            raise checks.refuse("roll-up", data, "an object")
        version = data.get("schema_version")
        if version != ROLLUP_SCHEMA_VERSION or isinstance(version, bool):
            raise ValueError(
                f"roll-up schema_version {version!r:.20} is not {ROLLUP_SCHEMA_VERSION}; "
                "build it again with this version of papers-digest"
            )
        period = Period.parse(data.get("period"))
        for name, expected in (
            ("kind", period.kind),
            ("start", period.start.isoformat()),
            ("end", period.end.isoformat()),
            ("days_in_period", len(period.days)),
        ):
            if data.get(name) != expected:
                raise checks.refuse(name, data.get(name), f"{expected!r} of {period.id}")
        covered = _days(data.get("days_covered"), "days_covered", period)
        count = checks.count(data.get("papers_in_period"), "papers_in_period")
        papers = _listing(data.get("papers"), "papers", period)
        if not papers or count < len(papers):
            raise checks.refuse("papers_in_period", count, "at least the papers listed, and one")
        for rank, (item, listing) in enumerate(zip(papers, data["papers"], strict=True), 1):
            if checks.count(listing.get("rank"), f"papers[{rank - 1}].rank") != rank:
                raise checks.refuse(f"papers[{rank - 1}].rank", listing["rank"], f"{rank}")
            if not set(item.days) <= set(covered):
                raise checks.refuse(f"papers[{rank - 1}].days", list(map(str, item.days)),
                                    "days the roll-up covers")  # fmt: skip
        total = checks.count(data.get("total_upvotes"), "total_upvotes")
        if total < sum(item.paper.upvotes for item in papers):
            raise checks.refuse("total_upvotes", total, "at least the listed papers' upvotes")
        rollup = cls(
            period=period,
            papers=papers,
            papers_in_period=count,
            total_upvotes=total,
            days_covered=covered,
            organizations=_counts(data.get("organizations"), "organizations", "name"),
            keywords=_counts(data.get("keywords"), "keywords", "keyword"),
            weeks=_weeks(data.get("weeks"), period),
            published_at=checks.aware_datetime(data.get("published_at"), "published_at"),
            generated_at=checks.aware_datetime(data.get("generated_at"), "generated_at"),
            lang=checks.language(data.get("lang"), "lang"),
        )
        if data.get("average_upvotes") != rollup.average_upvotes:
            raise checks.refuse(
                "average_upvotes", data.get("average_upvotes"), f"{rollup.average_upvotes}"
            )
        return rollup


def _days(value: Any, name: str, period: Period) -> tuple[date, ...]:
    """Days of `period`, each once, in order."""
    if not isinstance(value, list):
        raise checks.refuse(name, value, "a list of days")
    days = tuple(checks.day(item, f"{name}[{i}]") for i, item in enumerate(value))
    if any(day not in period for day in days) or list(days) != sorted(set(days)):
        raise checks.refuse(name, value, f"days of {period.id}, each once, in order")
    return days


def _listing(value: Any, name: str, period: Period) -> tuple[RolledPaper, ...]:
    """Ranked papers: each an object, each paper once, most upvoted first."""
    if not isinstance(value, list):
        raise checks.refuse(name, value, "a list")
    items = tuple(
        RolledPaper.from_json(item, f"{name}[{i}]", period) for i, item in enumerate(value)
    )
    order = [_order(item) for item in items]
    if order != sorted(set(order)) or len({item.paper.arxiv_id for item in items}) < len(items):
        raise ValueError(f"{name} are not ranked by upvotes, each paper once")
    return items


def _counts(value: Any, name: str, label: str) -> tuple[tuple[str, int], ...]:
    if not isinstance(value, list) or len(value) > TOP_COUNTS:
        raise checks.refuse(name, value, f"a list of at most {TOP_COUNTS}")
    counts = []
    for i, item in enumerate(value):
        where = f"{name}[{i}]"
        if not isinstance(item, Mapping):
            raise checks.refuse(where, item, "an object")
        counted = checks.count(item.get("papers"), f"{where}.papers")
        if counted < 1:
            raise checks.refuse(f"{where}.papers", counted, "a count of one or more")
        counts.append((checks.title(item.get(label), f"{where}.{label}"), counted))
    if counts != sorted(counts, key=_most_first) or len(dict(counts)) < len(counts):
        raise ValueError(f"{name} are not the most frequent first, each once")
    return tuple(counts)


def _weeks(value: Any, period: Period) -> tuple[tuple[str, RolledPaper], ...]:
    """A month's ISO weeks, in order, each with a paper featured in it."""
    if not isinstance(value, list) or (period.kind == "week" and value):
        raise checks.refuse("weeks", value, "a list (empty for a week)")
    weeks = []
    for i, item in enumerate(value):
        where = f"weeks[{i}]"
        if not isinstance(item, Mapping):
            raise checks.refuse(where, item, "an object")
        week = Period.parse(item.get("week"), f"{where}.week")
        if week.kind != "week" or week.end < period.start or week.start > period.end:
            raise checks.refuse(f"{where}.week", item.get("week"), f"a week of {period.id}")
        paper = RolledPaper.from_json(item.get("paper"), f"{where}.paper", period)
        if not any(day in week for day in paper.days):
            raise checks.refuse(f"{where}.paper.days", [str(d) for d in paper.days], week.id)
        weeks.append((week, paper))
    if [week for week, _ in weeks] != sorted({week for week, _ in weeks}):
        raise ValueError("weeks are not in order, each once")
    return tuple((week.id, paper) for week, paper in weeks)


def _most_first(item: tuple[str, int]) -> tuple[int, str]:
    return (-item[1], item[0])


def roll_up(
    period: Period,
    digests: Iterable[Digest],
    *,
    top_n: int,
    lang: str,
    published_at: datetime,
    generated_at: datetime,
) -> Rollup | None:
    """The roll-up of `period` from its days' digests (others are ignored), or None when
    they hold no paper."""
    ordered = sorted((d for d in digests if d.day in period), key=lambda d: (d.generated_at, d.day))
    latest: dict[str, Paper] = {}
    featured: dict[str, set[date]] = {}
    for digest in ordered:  # a digest fetched later replaces the value of one fetched earlier
        for paper in (*digest.papers, *digest.unlisted):
            latest[paper.arxiv_id] = paper
            featured.setdefault(paper.arxiv_id, set()).add(digest.day)
    if not latest:
        return None
    every = sorted(
        (RolledPaper(paper, tuple(sorted(featured[key]))) for key, paper in latest.items()),
        key=_order,
    )
    weeks = []
    if period.kind == "month":
        for week in sorted({Period.week_of(day) for day in period.days}):
            best = next((item for item in every if any(day in week for day in item.days)), None)
            if best is not None:
                weeks.append((week.id, best))
    return Rollup(
        period=period,
        papers=tuple(every[:top_n]),
        papers_in_period=len(every),
        total_upvotes=sum(item.paper.upvotes for item in every),
        days_covered=tuple(sorted({digest.day for digest in ordered})),
        organizations=_most_frequent(
            item.paper.organization for item in every if item.paper.organization
        ),
        keywords=_most_frequent(
            keyword for item in every for keyword in dict.fromkeys(item.paper.ai_keywords)
        ),
        weeks=tuple(weeks),
        published_at=published_at,
        generated_at=generated_at,
        lang=lang,
    )


def _most_frequent(names: Iterable[str]) -> tuple[tuple[str, int], ...]:
    """The TOP_COUNTS most frequent, ties by name."""
    return tuple(sorted(Counter(names).items(), key=_most_first)[:TOP_COUNTS])
