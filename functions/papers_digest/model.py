"""Papers and digests: typed, immutable, and tolerant of what the real API leaves out.

Every string in a Paper is either cleaned text or a value that passed a strict check
(checks.py): an arXiv id, a safe http(s) URL, an ISO 8601 timestamp. API items are read
leniently (a bad optional value is dropped with a note; a bad id, title or upvote count
skips the item); stored digests strictly (anything malformed raises ValueError)."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from . import checks
from .checks import T, clean_text
from .days import parse_timestamp
from .errors import MalformedResponseError
from .filters import NO_FILTERS, Filters
from .settings import MODEL_ID

SCHEMA_VERSION = 2  # 2: the day's other papers (`unlisted`) are kept too
READABLE_VERSIONS = (1, 2)  # a version 1 digest reads with no unlisted papers
MAX_SUMMARY_CHARS = 800  # a machine-written summary is cut to this (2-3 sentences fit)
_SHA256 = re.compile(r"[0-9a-f]{64}")


def hf_paper_url(arxiv_id: str) -> str:
    return f"https://huggingface.co/papers/{checks.arxiv_id(arxiv_id, 'arxiv_id')}"


def model_id(value: Any, name: str) -> str:
    if isinstance(value, str) and MODEL_ID.fullmatch(value):
        return value
    raise checks.refuse(name, value, "a model id such as amazon.nova-micro-v1:0")


@dataclass(frozen=True)
class MachineSummary:
    """A summary a language model wrote, with what it was written from: the model and a
    hash of its inputs (the prompt), so it is reused only for the same ones."""

    text: str
    model: str
    lang: str
    inputs_sha256: str

    def to_json(self) -> dict[str, str]:
        return {
            "text": self.text,
            "model": self.model,
            "lang": self.lang,
            "inputs_sha256": self.inputs_sha256,
        }

    @classmethod
    def from_json(cls, data: Any, where: str) -> MachineSummary:
        if not isinstance(data, Mapping):
            raise checks.refuse(where, data, "an object")
        text = checks.title(data.get("text"), f"{where}.text")
        if len(text) > MAX_SUMMARY_CHARS:
            raise checks.refuse(f"{where}.text", text, f"at most {MAX_SUMMARY_CHARS} characters")
        digest = data.get("inputs_sha256")
        if not (isinstance(digest, str) and _SHA256.fullmatch(digest)):
            raise checks.refuse(f"{where}.inputs_sha256", digest, "a SHA-256 in hex")
        return cls(
            text=text,
            model=model_id(data.get("model"), f"{where}.model"),
            lang=checks.language(data.get("lang"), f"{where}.lang"),
            inputs_sha256=digest,
        )


@dataclass(frozen=True)
class Paper:
    """One paper. Its id is checked on construction: every link is built from it."""

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
    machine_summary: MachineSummary | None = None  # optional: summarize.py

    def __post_init__(self) -> None:
        checks.arxiv_id(self.arxiv_id, "arxiv_id")

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
            # Only when there is one: digests without summaries stay byte for byte the same.
            **({"machine_summary": self.machine_summary.to_json()} if self.machine_summary else {}),
        }

    @classmethod
    def from_json(cls, data: Any, where: str = "paper") -> Paper:
        """A paper as `to_json` wrote it, held to the API's rules but strictly: a
        ValueError names the first bad field (`where.field`). Text is cleaned again."""
        if not isinstance(data, Mapping):
            raise checks.refuse(where, data, "an object")

        def get(key: str) -> tuple[Any, str]:
            return data.get(key), f"{where}.{key}"

        return cls(
            arxiv_id=checks.arxiv_id(*get("arxiv_id")),
            title=checks.title(*get("title")),
            abstract=checks.text(*get("abstract")),
            upvotes=checks.count(*get("upvotes")),
            authors=checks.optional(checks.texts, *get("authors")) or (),
            organization=checks.optional(checks.text, *get("organization")) or None,
            github_repo=checks.optional(checks.http_url, *get("github_repo")),
            github_stars=checks.optional(checks.count, *get("github_stars")),
            project_page=checks.optional(checks.http_url, *get("project_page")),
            ai_summary=checks.optional(checks.text, *get("ai_summary")) or None,
            ai_keywords=checks.optional(checks.texts, *get("ai_keywords")) or (),
            num_comments=checks.optional(checks.count, *get("num_comments")) or 0,
            thumbnail=checks.optional(checks.http_url, *get("thumbnail")),
            published_at=checks.optional(checks.timestamp, *get("published_at")),
            submitted_on_daily_at=checks.optional(checks.timestamp, *get("submitted_on_daily_at")),
            machine_summary=checks.optional(MachineSummary.from_json, *get("machine_summary")),
        )


@dataclass(frozen=True)
class Digest:
    """One day's ranked papers: the contract between the digest and the feed function.
    `papers` is the ranked list the post and the feeds show (top N, minimum upvotes);
    `unlisted` the rest of the day's papers (after the filters), ranked after them, so
    the weekly and monthly roll-ups can rank every paper of a period without a request."""

    day: date
    papers: tuple[Paper, ...]
    papers_that_day: int
    published_at: datetime
    generated_at: datetime
    lang: str | None = None  # the post's language; digests written before it have none
    filters: Filters = NO_FILTERS  # recorded when active; older digests have none
    filtered_out: int = 0  # papers of the day the filters left out
    unlisted: tuple[Paper, ...] = ()  # version 1 digests have none

    def to_json(self) -> dict[str, Any]:
        return {
            "schema_version": SCHEMA_VERSION,
            "day": self.day.isoformat(),
            **({"lang": self.lang} if self.lang else {}),
            "generated_at": self.generated_at.isoformat(timespec="seconds"),
            "published_at": self.published_at.isoformat(timespec="seconds"),
            "papers_that_day": self.papers_that_day,
            **(
                {"filters": self.filters.to_json(), "papers_filtered_out": self.filtered_out}
                if self.filters.active
                else {}
            ),
            "papers": [
                {"rank": rank, **paper.to_json()} for rank, paper in enumerate(self.papers, 1)
            ],
            "unlisted": [
                {"rank": rank, **paper.to_json()}
                for rank, paper in enumerate(self.unlisted, len(self.papers) + 1)
            ],
        }

    @classmethod
    def from_json(cls, data: Any) -> Digest:
        """A stored digest, checked field by field: a ValueError names the first field
        that is missing or malformed (the caller names the object it read)."""
        if not isinstance(data, Mapping):
            raise checks.refuse("digest", data, "an object")
        version = data.get("schema_version")
        if version not in READABLE_VERSIONS or isinstance(version, bool):
            raise ValueError(
                f"digest schema_version {version!r:.20} is not one of "
                f"{', '.join(map(str, READABLE_VERSIONS))}; "
                "regenerate it with this version of papers-digest"
            )
        items = data.get("papers")
        if not isinstance(items, list):
            raise checks.refuse("papers", items, "a list")
        rest = data.get("unlisted") if version >= 2 else []
        if not isinstance(rest, list):
            raise checks.refuse("unlisted", rest, "a list")
        papers = tuple(_ranked(item, rank) for rank, item in enumerate(items, 1))
        unlisted = tuple(
            _ranked(item, rank, "unlisted", len(items))
            for rank, item in enumerate(rest, len(items) + 1)
        )
        ids = [paper.arxiv_id for paper in (*papers, *unlisted)]
        if len(set(ids)) != len(ids):
            repeated = next(arxiv_id for arxiv_id in ids if ids.count(arxiv_id) > 1)
            raise ValueError(f"papers and unlisted list {repeated} twice; a day lists a paper once")
        return cls(
            day=checks.day(data.get("day"), "day"),
            papers=papers,
            unlisted=unlisted,
            papers_that_day=checks.count(data.get("papers_that_day"), "papers_that_day"),
            published_at=checks.aware_datetime(data.get("published_at"), "published_at"),
            generated_at=checks.aware_datetime(data.get("generated_at"), "generated_at"),
            lang=checks.optional(checks.language, data.get("lang"), "lang"),
            filters=Filters.from_json(data.get("filters", {})),
            filtered_out=checks.count(data.get("papers_filtered_out", 0), "papers_filtered_out"),
        )


def _ranked(item: Any, rank: int, name: str = "papers", before: int = 0) -> Paper:
    """A stored paper at position `rank` of the day (`before` papers precede its list)."""
    where = f"{name}[{rank - before - 1}]"
    paper = Paper.from_json(item, where)
    if checks.count(item.get("rank"), f"{where}.rank") != rank:
        raise checks.refuse(f"{where}.rank", item["rank"], f"its position {rank}")
    return paper


@dataclass(frozen=True)
class ParsedDay:
    papers: tuple[Paper, ...]
    skipped: tuple[str, ...] = field(default=())
    notes: tuple[str, ...] = field(default=())  # values dropped from papers that were kept


def _organization(item: Mapping[str, Any], paper: Mapping[str, Any]) -> str | None:
    for holder in (item, paper):
        organization = holder.get("organization")
        if isinstance(organization, Mapping):
            fullname = organization.get("fullname") or organization.get("name")
            if isinstance(fullname, str) and (cleaned := clean_text(fullname)):
                return cleaned
    return None


def _authors(authors: Any) -> tuple[str, ...]:
    """The names of the visible authors; an entry without a name is left out."""
    return tuple(
        name
        for author in (authors if isinstance(authors, list) else [])
        if isinstance(author, Mapping)
        and isinstance(author.get("name"), str)
        and not author.get("hidden", False)
        and (name := clean_text(author["name"]))
    )[: checks.MAX_LIST]


def paper_from_api(item: Any, notes: list[str] | None = None) -> Paper:
    """One element of `/api/daily_papers`. Raises ValueError naming the field when the
    id, title or upvote count is bad (the item is skipped); any other bad value is
    dropped, and described in `notes` when given."""
    if not isinstance(item, Mapping):
        raise ValueError(f"item is a {type(item).__name__}, not an object")
    paper = item.get("paper")
    if not isinstance(paper, Mapping):
        raise ValueError("item has no `paper` object")
    dropped = [] if notes is None else notes

    def lenient(check: Callable[[Any, str], T], holder: Mapping[str, Any], key: str) -> T | None:
        name = f"paper.{key}" if holder is paper else key
        return checks.lenient(check, holder.get(key), name, dropped)

    summary = paper.get("summary") or item.get("summary")
    return Paper(
        arxiv_id=checks.arxiv_id(paper.get("id"), "paper.id"),
        title=checks.title(paper.get("title"), "paper.title"),
        upvotes=checks.count(paper.get("upvotes"), "paper.upvotes"),
        abstract=checks.lenient(checks.text, summary, "paper.summary", dropped) or "",
        authors=_authors(paper.get("authors")),
        organization=_organization(item, paper),
        github_repo=lenient(checks.http_url, paper, "githubRepo"),
        github_stars=lenient(checks.count, paper, "githubStars"),
        project_page=lenient(checks.http_url, paper, "projectPage"),
        ai_summary=lenient(checks.text, paper, "ai_summary") or None,
        ai_keywords=lenient(checks.texts, paper, "ai_keywords") or (),
        num_comments=lenient(checks.count, item, "numComments") or 0,
        thumbnail=lenient(checks.http_url, item, "thumbnail"),
        published_at=lenient(checks.timestamp, paper, "publishedAt"),
        submitted_on_daily_at=lenient(checks.timestamp, paper, "submittedOnDailyAt"),
    )


def parse_day_response(items: Iterable[Any], day: date) -> ParsedDay:
    """Parse a day's items.

    The rule for bad items: an item that is malformed, or featured on another day, is
    skipped with a reason only while the day is otherwise sound, i.e. the good items
    outnumber the bad. When half or more are bad the response as a whole is not
    trusted and nothing is published. Duplicate ids keep the highest upvote count.
    A bad optional value (a URL, a timestamp) is dropped from its paper with a note.
    """
    papers: dict[str, Paper] = {}
    skipped: list[str] = []
    notes: list[str] = []
    total = 0
    for position, item in enumerate(items):
        total += 1
        dropped: list[str] = []
        try:
            paper = paper_from_api(item, dropped)
        except ValueError as exc:
            skipped.append(f"item {position}: {exc}")
            continue
        featured = (
            parse_timestamp(paper.submitted_on_daily_at).date()
            if paper.submitted_on_daily_at
            else None
        )
        if featured is not None and featured != day:
            skipped.append(f"item {position} ({paper.arxiv_id}): featured on {featured}, not {day}")
            continue
        notes.extend(f"item {position} ({paper.arxiv_id}): {note}" for note in dropped)
        known = papers.get(paper.arxiv_id)
        if known is None or paper.upvotes > known.upvotes:
            papers[paper.arxiv_id] = paper
    if skipped and len(skipped) * 2 >= total:
        raise MalformedResponseError(
            f"{len(skipped)} of {total} items for {day} are unusable "
            f"(first: {skipped[0]}); the response is not trusted and nothing was written: "
            "try again later, and if it persists the API has changed"
        )
    return ParsedDay(tuple(papers.values()), tuple(skipped), tuple(notes))


def rank(papers: Iterable[Paper], top_n: int, min_upvotes: int = 0) -> tuple[Paper, ...]:
    """Highest upvotes first; ties broken by arXiv id so the order never flickers."""
    eligible = (paper for paper in papers if paper.upvotes >= min_upvotes)
    return tuple(sorted(eligible, key=lambda paper: (-paper.upvotes, paper.arxiv_id))[:top_n])
