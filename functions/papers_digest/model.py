"""Papers and digests: typed, immutable, and tolerant of what the real API leaves out."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from .days import parse_timestamp
from .errors import InvalidDayError, MalformedResponseError

SCHEMA_VERSION = 1

_CONTROL_CHARS = re.compile(r"[\x00-\x1f\x7f-\x9f\ufffe\uffff]")


def clean_text(value: str) -> str:
    """Collapse hard line breaks and runs of whitespace; drop control characters and
    lone surrogates, which neither YAML, XML nor UTF-8 can carry."""
    repaired = value.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
    return " ".join(_CONTROL_CHARS.sub(" ", repaired).split())


def hf_paper_url(arxiv_id: str) -> str:
    return f"https://huggingface.co/papers/{arxiv_id}"


@dataclass(frozen=True)
class Paper:
    arxiv_id: str
    title: str
    abstract: str
    upvotes: int
    authors: tuple[str, ...] = ()
    organization: str | None = None
    github_repo: str | None = None
    github_stars: int | None = None
    project_page: str | None = None
    ai_summary: str | None = None
    ai_keywords: tuple[str, ...] = ()
    num_comments: int = 0
    thumbnail: str | None = None
    published_at: str | None = None
    submitted_on_daily_at: str | None = None

    @property
    def hf_url(self) -> str:
        return hf_paper_url(self.arxiv_id)

    @property
    def arxiv_url(self) -> str:
        return f"https://arxiv.org/abs/{self.arxiv_id}"

    def to_json(self) -> dict[str, Any]:
        return {
            "arxiv_id": self.arxiv_id,
            "title": self.title,
            "abstract": self.abstract,
            "upvotes": self.upvotes,
            "authors": list(self.authors),
            "organization": self.organization,
            "github_repo": self.github_repo,
            "github_stars": self.github_stars,
            "project_page": self.project_page,
            "ai_summary": self.ai_summary,
            "ai_keywords": list(self.ai_keywords),
            "num_comments": self.num_comments,
            "thumbnail": self.thumbnail,
            "published_at": self.published_at,
            "submitted_on_daily_at": self.submitted_on_daily_at,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Paper:
        return cls(
            arxiv_id=data["arxiv_id"],
            title=data["title"],
            abstract=data["abstract"],
            upvotes=data["upvotes"],
            authors=tuple(data.get("authors") or ()),
            organization=data.get("organization"),
            github_repo=data.get("github_repo"),
            github_stars=data.get("github_stars"),
            project_page=data.get("project_page"),
            ai_summary=data.get("ai_summary"),
            ai_keywords=tuple(data.get("ai_keywords") or ()),
            num_comments=data.get("num_comments", 0),
            thumbnail=data.get("thumbnail"),
            published_at=data.get("published_at"),
            submitted_on_daily_at=data.get("submitted_on_daily_at"),
        )


@dataclass(frozen=True)
class Digest:
    """One day's ranked papers: the contract between the digest and the feed function."""

    day: date
    papers: tuple[Paper, ...]
    papers_that_day: int
    published_at: datetime
    generated_at: datetime

    def to_json(self) -> dict[str, Any]:
        return {
            "schema_version": SCHEMA_VERSION,
            "day": self.day.isoformat(),
            "generated_at": self.generated_at.isoformat(timespec="seconds"),
            "published_at": self.published_at.isoformat(timespec="seconds"),
            "papers_that_day": self.papers_that_day,
            "papers": [
                {"rank": rank, **paper.to_json()} for rank, paper in enumerate(self.papers, 1)
            ],
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Digest:
        version = data.get("schema_version")
        if version != SCHEMA_VERSION:
            raise MalformedResponseError(
                f"digest schema_version {version!r} is not {SCHEMA_VERSION}; "
                "regenerate it with this version of papers-digest"
            )
        try:
            return cls(
                day=date.fromisoformat(data["day"]),
                papers=tuple(Paper.from_json(item) for item in data["papers"]),
                papers_that_day=data["papers_that_day"],
                published_at=datetime.fromisoformat(data["published_at"]),
                generated_at=datetime.fromisoformat(data["generated_at"]),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise MalformedResponseError(
                f"digest is missing or mangles {exc}; rewrite it with `papers-digest run --date`"
            ) from None


@dataclass(frozen=True)
class ParsedDay:
    papers: tuple[Paper, ...]
    skipped: tuple[str, ...] = field(default=())


def _optional_str(mapping: Mapping[str, Any], key: str) -> str | None:
    value = mapping.get(key)
    return value if isinstance(value, str) and value else None


def _optional_int(mapping: Mapping[str, Any], key: str) -> int | None:
    value = mapping.get(key)
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _organization(item: Mapping[str, Any], paper: Mapping[str, Any]) -> str | None:
    for holder in (item, paper):
        organization = holder.get("organization")
        if isinstance(organization, Mapping):
            fullname = organization.get("fullname") or organization.get("name")
            if isinstance(fullname, str) and fullname.strip():
                return clean_text(fullname)
    return None


def _required_str(paper: Mapping[str, Any], key: str) -> str:
    value = paper.get(key)
    if not isinstance(value, str) or not clean_text(value):
        raise ValueError(f"paper.{key} is missing or not text")
    return value


def paper_from_api(item: Any) -> Paper:
    """One element of `/api/daily_papers`. Raises ValueError naming the bad field."""
    if not isinstance(item, Mapping):
        raise ValueError(f"item is a {type(item).__name__}, not an object")
    paper = item.get("paper")
    if not isinstance(paper, Mapping):
        raise ValueError("item has no `paper` object")
    arxiv_id = _required_str(paper, "id").strip()
    upvotes = paper.get("upvotes")
    if not isinstance(upvotes, int) or isinstance(upvotes, bool) or upvotes < 0:
        raise ValueError(f"paper.upvotes is {upvotes!r}, not a count")
    authors = paper.get("authors")
    keywords = paper.get("ai_keywords")
    comments = _optional_int(item, "numComments")
    return Paper(
        arxiv_id=arxiv_id,
        title=clean_text(_required_str(paper, "title")),
        abstract=clean_text(paper.get("summary") or item.get("summary") or ""),
        upvotes=upvotes,
        authors=tuple(
            clean_text(author["name"])
            for author in (authors if isinstance(authors, list) else [])
            if isinstance(author, Mapping)
            and isinstance(author.get("name"), str)
            and not author.get("hidden", False)
        ),
        organization=_organization(item, paper),
        github_repo=_optional_str(paper, "githubRepo"),
        github_stars=_optional_int(paper, "githubStars"),
        project_page=_optional_str(paper, "projectPage"),
        ai_summary=clean_text(summary) if (summary := _optional_str(paper, "ai_summary")) else None,
        ai_keywords=tuple(
            clean_text(word)
            for word in (keywords if isinstance(keywords, list) else [])
            if isinstance(word, str)
        ),
        num_comments=comments or 0,
        thumbnail=_optional_str(item, "thumbnail"),
        published_at=_optional_str(paper, "publishedAt"),
        submitted_on_daily_at=_optional_str(paper, "submittedOnDailyAt"),
    )


def _featured_day(paper: Paper) -> date | None:
    if paper.submitted_on_daily_at is None:
        return None
    try:
        return parse_timestamp(paper.submitted_on_daily_at).date()
    except InvalidDayError:
        return None


def parse_day_response(items: Iterable[Any], day: date) -> ParsedDay:
    """Parse a day's items.

    The rule for bad items: an item that is malformed, or featured on another day, is
    skipped with a reason only while the day is otherwise sound, i.e. the good items
    outnumber the bad. When half or more are bad the response as a whole is not
    trusted and nothing is published. Duplicate ids keep the highest upvote count.
    """
    papers: dict[str, Paper] = {}
    skipped: list[str] = []
    total = 0
    for position, item in enumerate(items):
        total += 1
        try:
            paper = paper_from_api(item)
        except ValueError as exc:
            skipped.append(f"item {position}: {exc}")
            continue
        featured = _featured_day(paper)
        if featured is not None and featured != day:
            skipped.append(f"item {position} ({paper.arxiv_id}): featured on {featured}, not {day}")
            continue
        known = papers.get(paper.arxiv_id)
        if known is None or paper.upvotes > known.upvotes:
            papers[paper.arxiv_id] = paper
    if skipped and len(skipped) * 2 >= total:
        raise MalformedResponseError(
            f"{len(skipped)} of {total} items for {day} are unusable "
            f"(first: {skipped[0]}); the response is not trusted and nothing was written: "
            "try again later, and if it persists the API has changed"
        )
    return ParsedDay(papers=tuple(papers.values()), skipped=tuple(skipped))


def rank(papers: Iterable[Paper], top_n: int, min_upvotes: int = 0) -> tuple[Paper, ...]:
    """Highest upvotes first; ties broken by arXiv id so the order never flickers."""
    eligible = (paper for paper in papers if paper.upvotes >= min_upvotes)
    return tuple(sorted(eligible, key=lambda paper: (-paper.upvotes, paper.arxiv_id))[:top_n])
