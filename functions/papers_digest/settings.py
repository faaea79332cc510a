"""Settings from environment variables and CLI flags, validated once, at the edge.

Each default is written once, in its dataclass field (the CLI's help reads it there).
The Lambda functions and the CLI read the same variables; a flag given on the command
line wins over its variable, and an error names whichever of the two was used.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, time
from string import Formatter
from typing import TYPE_CHECKING
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from .checks import LANGUAGES, MAX_COUNT
from .errors import ConfigError
from .setting_values import Values

DEFAULT_CATEGORIES = {"ko": ("Daily Papers", "일간"), "en": ("Daily Papers", "Daily")}
HF_DAY_URL = "https://huggingface.co/papers/date/{date}"
# A URL path of plain characters and date placeholders (`:` would be Jekyll's own).
_PERMALINK = re.compile(r"/(?:[A-Za-z0-9._~/-]|\{(?:date|year|month|day)\})*")
# `cron(M H ...)` of EventBridge Scheduler with a single minute and hour.
_DAILY_CRON = re.compile(r"cron\(\s*(\d{1,2})\s+(\d{1,2})\s")


@dataclass(frozen=True)
class SourceSettings:
    api_base: str = "https://huggingface.co"
    token: str | None = None  # HF_TOKEN
    token_parameter: str | None = None  # HF_TOKEN_PARAMETER: an SSM SecureString (Lambda)


@dataclass(frozen=True)
class PostSettings:
    lang: str = "ko"
    top_n: int = 10
    min_upvotes: int = 0
    publish_time: time = time(9, 15)
    timezone: str = "Asia/Seoul"
    author: str | None = None
    categories: tuple[str, ...] | None = None  # None: DEFAULT_CATEGORIES of the language
    tags: tuple[str, ...] = ("huggingface", "papers", "daily", "ai")
    template_dir: str | None = None
    permalink: str = ""  # a POST_PERMALINK pattern; empty: the blog's permalink and our slug

    def publish_datetime(self, day: date) -> datetime:
        """The post's date: the day at the publish time, in the publish timezone."""
        return datetime.combine(day, self.publish_time, tzinfo=ZoneInfo(self.timezone))


@dataclass(frozen=True)
class FeedSettings:
    site_url: str = "http://localhost:4000"
    language: str = "ko"  # used until the digests say which language their posts are in
    max_days: int = 30
    max_papers: int = 200
    post_url_pattern: str | None = None
    title: str = "Hugging Face Daily Papers"

    def day_url(self, day: str) -> str:
        """The link for a day: the user's blog post if a pattern is set, else HF's day page."""
        year, month, dom = day.split("-")
        pattern = self.post_url_pattern or HF_DAY_URL
        return pattern.format(date=day, year=year, month=month, day=dom, site_url=self.site_url)


def source_settings(env: Mapping[str, str], **overrides: object) -> SourceSettings:
    values = Values(env, overrides)
    return SourceSettings(
        api_base=values.url("HF_API_BASE", SourceSettings.api_base),
        token=values.get("HF_TOKEN"),
        token_parameter=values.get("HF_TOKEN_PARAMETER"),
    )


def post_settings(env: Mapping[str, str], **overrides: object) -> PostSettings:
    values = Values(env, overrides)
    lang = values.get("POST_LANG") or PostSettings.lang
    if lang not in LANGUAGES:
        raise values.error("POST_LANG", f"is not one of {', '.join(LANGUAGES)}")
    zone = values.get("PUBLISH_TIMEZONE") or PostSettings.timezone
    try:
        ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError):
        raise values.error("PUBLISH_TIMEZONE", "is not an IANA time zone") from None
    template_dir = values.get("TEMPLATE_DIR")
    if template_dir and not os.path.isdir(template_dir):
        raise values.error("TEMPLATE_DIR", "is not a folder; give an existing one")
    permalink = values.get("POST_PERMALINK") or PostSettings.permalink
    if permalink:
        _check_permalink(values, permalink)
    return PostSettings(
        lang=lang,
        top_n=values.integer("TOP_N", PostSettings.top_n, 1, 2_000),
        min_upvotes=values.integer("MIN_UPVOTES", PostSettings.min_upvotes, 0, MAX_COUNT),
        publish_time=_publish_time(values),
        timezone=zone,
        author=values.get("POST_AUTHOR"),
        categories=values.items("POST_CATEGORIES"),
        tags=values.items("POST_TAGS") or PostSettings.tags,
        template_dir=template_dir,
        permalink=permalink,
    )


def feed_settings(env: Mapping[str, str], **overrides: object) -> FeedSettings:
    values = Values(env, overrides)
    site_url = values.url("SITE_URL", FeedSettings.site_url)
    pattern = values.get("POST_URL_PATTERN")
    if pattern:
        if not _plain_placeholders(pattern, {"site_url", "date", "year", "month", "day"}):
            raise values.error(
                "POST_URL_PATTERN",
                "may use only {site_url}, {date}, {year}, {month} and {day}",
            )
        sample = pattern.format(
            date="2026-01-28", year="2026", month="01", day="28", site_url=site_url
        )
        if not sample.startswith(("http://", "https://")):
            raise values.error("POST_URL_PATTERN", "must give an absolute URL")
    language = values.get("POST_LANG") or FeedSettings.language
    if language not in LANGUAGES:
        raise values.error("POST_LANG", f"is not one of {', '.join(LANGUAGES)}")
    return FeedSettings(
        site_url=site_url,
        language=language,
        max_days=values.integer("FEED_MAX_DAYS", FeedSettings.max_days, 1, 3_660),
        max_papers=values.integer("FEED_MAX_PAPERS", FeedSettings.max_papers, 1, 10_000),
        post_url_pattern=pattern,
    )


def _publish_time(values: Values) -> time:
    """PUBLISH_TIME if set; else the time of day of the schedule (PUBLISH_SCHEDULE, a
    daily `cron(M H ...)`, as the stack passes it), so the post's time follows a changed
    schedule; else the default."""
    raw = values.get("PUBLISH_TIME")
    if raw is not None:
        try:
            return time.fromisoformat(raw)
        except ValueError:
            raise values.error("PUBLISH_TIME", "is not HH:MM") from None
    daily = _DAILY_CRON.match(values.get("PUBLISH_SCHEDULE") or "")
    if daily is None:  # a rate() or a cron without one time of day: the default
        return PostSettings.publish_time
    minute, hour = int(daily.group(1)), int(daily.group(2))
    if minute > 59 or hour > 23:
        raise values.error("PUBLISH_SCHEDULE", "has no such time of day; fix the schedule")
    return time(hour, minute)


def _plain_placeholders(pattern: str, names: set[str]) -> bool:
    """Whether `pattern` uses only `{name}` placeholders of `names`: no conversion or
    format spec, which could make `format` build a string of any size."""
    try:
        fields = [
            (name, spec, conversion) for _, name, spec, conversion in Formatter().parse(pattern)
        ]
    except ValueError:
        return False
    return all(
        name is None or (name in names and not spec and conversion is None)
        for name, spec, conversion in fields
    )


def _check_permalink(values: Values, pattern: str) -> None:
    if not _PERMALINK.fullmatch(pattern):
        raise values.error(
            "POST_PERMALINK",
            "must be a path starting with / of letters, digits, -._~/ and {date}, {year}, "
            "{month}, {day}, e.g. /posts/daily-papers-{date}/",
        )
    if ".." in pattern.split("/"):
        raise values.error("POST_PERMALINK", "may not hold a `..` segment")
    if "{date}" not in pattern and not all(f"{{{p}}}" in pattern for p in ("year", "month", "day")):
        raise values.error(
            "POST_PERMALINK",
            "gives every post the same URL: put {date} (or {year}, {month} and {day}) in it",
        )


# ---------------------------------------------------------------- delivery (issue 13)

if TYPE_CHECKING:
    from .filters import Filters

WEBHOOK_KINDS = ("slack", "discord", "json")
_REPOSITORY = re.compile(r"[A-Za-z0-9-]{1,39}/[A-Za-z0-9._-]{1,100}")
_BRANCH = re.compile(r"[A-Za-z0-9._/-]{1,200}")
_AUTHOR = re.compile(r"([^<>\n]{1,100}) <([^<>\s@]+@[^<>\s@]+)>")


def filter_settings(env: Mapping[str, str]) -> Filters:
    """FILTER_INCLUDE_KEYWORDS, FILTER_EXCLUDE_KEYWORDS, FILTER_INCLUDE_ORGS and
    FILTER_EXCLUDE_ORGS, each a comma-separated list (unset: no filter)."""
    from .checks import clean_text
    from .filters import Filters

    values = Values(env, {})
    lists = (
        values.items(name) or ()
        for name in (
            "FILTER_INCLUDE_KEYWORDS",
            "FILTER_EXCLUDE_KEYWORDS",
            "FILTER_INCLUDE_ORGS",
            "FILTER_EXCLUDE_ORGS",
        )
    )
    return Filters(*(tuple(clean_text(item) for item in items) for items in lists))


@dataclass(frozen=True)
class GitHubSettings:
    repository: str  # GITHUB_BLOG_REPOSITORY, owner/name
    branch: str = "main"
    path: str = "_posts"  # the folder of the posts in the repository
    author_name: str = "papers-digest"
    author_email: str = "papers-digest@users.noreply.github.com"
    api_base: str = "https://api.github.com"
    token: str | None = None  # GITHUB_BLOG_TOKEN (command line)
    token_parameter: str | None = None  # GITHUB_BLOG_TOKEN_PARAMETER: an SSM SecureString
    catch_up_days: int = 30  # the posts of this many days back are kept in step


def github_settings(env: Mapping[str, str]) -> GitHubSettings | None:
    """The blog repository to commit posts to, or None when GITHUB_BLOG_REPOSITORY is unset."""
    values = Values(env, {})
    repository = values.get("GITHUB_BLOG_REPOSITORY")
    if repository is None:
        return None
    if not _REPOSITORY.fullmatch(repository):
        raise values.error("GITHUB_BLOG_REPOSITORY", "is not owner/name, e.g. octo/blog")
    branch = values.get("GITHUB_BLOG_BRANCH") or GitHubSettings.branch
    if not _BRANCH.fullmatch(branch) or ".." in branch:
        raise values.error("GITHUB_BLOG_BRANCH", "is not a branch name, e.g. main")
    path = (values.get("GITHUB_BLOG_PATH") or GitHubSettings.path).strip("/")
    if not _BRANCH.fullmatch(path) or any(part in {"", ".", ".."} for part in path.split("/")):
        raise values.error("GITHUB_BLOG_PATH", "is not a folder of the repository, e.g. _posts")
    name, email = GitHubSettings.author_name, GitHubSettings.author_email
    if (author := values.get("GITHUB_BLOG_AUTHOR")) is not None:
        match = _AUTHOR.fullmatch(author)
        if match is None:
            raise values.error("GITHUB_BLOG_AUTHOR", "is not `Name <email>`")
        name, email = match.group(1).strip(), match.group(2)
    if not values.get("GITHUB_BLOG_TOKEN") and not values.get("GITHUB_BLOG_TOKEN_PARAMETER"):
        raise ConfigError(
            "GITHUB_BLOG_REPOSITORY is set but no token: set GITHUB_BLOG_TOKEN (or "
            "GITHUB_BLOG_TOKEN_PARAMETER, an SSM SecureString) to a token with contents:write"
        )
    return GitHubSettings(
        repository=repository,
        branch=branch,
        path=path,
        author_name=name,
        author_email=email,
        api_base=values.url("GITHUB_API_BASE", GitHubSettings.api_base),
        token=values.get("GITHUB_BLOG_TOKEN"),
        token_parameter=values.get("GITHUB_BLOG_TOKEN_PARAMETER"),
        catch_up_days=values.integer(
            "GITHUB_BLOG_CATCH_UP_DAYS", GitHubSettings.catch_up_days, 1, 3_660
        ),
    )


@dataclass(frozen=True)
class NotifySettings:
    webhooks: tuple[tuple[str, str], ...] = ()  # NOTIFY_WEBHOOKS: (kind, url) pairs
    webhooks_parameter: str | None = None  # NOTIFY_WEBHOOKS_PARAMETER: an SSM SecureString
    topic_arn: str | None = None  # NOTIFY_TOPIC_ARN

    @property
    def enabled(self) -> bool:
        return bool(self.webhooks or self.webhooks_parameter or self.topic_arn)


def notify_settings(env: Mapping[str, str]) -> NotifySettings:
    values = Values(env, {})
    raw = values.get("NOTIFY_WEBHOOKS")
    return NotifySettings(
        webhooks=parse_webhooks(raw, "NOTIFY_WEBHOOKS") if raw else (),
        webhooks_parameter=values.get("NOTIFY_WEBHOOKS_PARAMETER"),
        topic_arn=values.get("NOTIFY_TOPIC_ARN"),
    )


def parse_webhooks(raw: str, source: str) -> tuple[tuple[str, str], ...]:
    """`kind=url` pairs separated by commas or whitespace, kind one of WEBHOOK_KINDS. A
    webhook URL is a secret: an error names its position, never the URL."""
    hooks = []
    for position, entry in enumerate(raw.replace(",", " ").split(), 1):
        kind, _, url = entry.partition("=")
        parts = urlsplit(url)
        if kind not in WEBHOOK_KINDS or parts.scheme not in {"http", "https"} or not parts.netloc:
            raise ConfigError(
                f"{source}: webhook {position} is not kind=URL with kind one of "
                f"{', '.join(WEBHOOK_KINDS)} and an http(s) URL (the value is not shown)"
            )
        hooks.append((kind, url))
    return tuple(hooks)
