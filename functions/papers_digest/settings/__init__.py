"""Settings from environment variables and CLI flags, validated once, at the edge: the
source, the posts and the feeds here, delivery's and the summarizer's beside (re-exported).

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
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from ..checks import LANGUAGES, MAX_COUNT
from .delivery import (
    GitHubSettings as GitHubSettings,
)
from .delivery import (
    NotifySettings as NotifySettings,
)
from .delivery import (
    filter_settings as filter_settings,
)
from .delivery import (
    github_settings as github_settings,
)
from .delivery import (
    notify_settings as notify_settings,
)
from .delivery import (
    parse_webhooks as parse_webhooks,
)
from .summaries import (
    MODEL_ID as MODEL_ID,
)
from .summaries import (
    SummarySettings as SummarySettings,
)
from .summaries import (
    summary_settings as summary_settings,
)
from .values import Values

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
    refresh_days: int = 2  # REFRESH_DAYS: the days before its day a scheduled run re-fetches


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
    rollup_top_n: int = 20  # papers a weekly or monthly roll-up lists

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
        refresh_days=values.integer("REFRESH_DAYS", SourceSettings.refresh_days, 0, 7),
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
        rollup_top_n=values.integer("ROLLUP_TOP_N", PostSettings.rollup_top_n, 1, 2_000),
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
