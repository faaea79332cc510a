"""Settings from environment variables and CLI flags, validated once, at the edge.

Each default is written once, in its dataclass field (the CLI's help reads it there).
The Lambda functions and the CLI read the same variables; a flag given on the command
line wins over its variable, and an error names whichever of the two was used.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, fields
from datetime import date, datetime, time
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from .errors import ConfigError

LANGUAGES = ("ko", "en")
DEFAULT_CATEGORIES = {"ko": ("Daily Papers", "일간"), "en": ("Daily Papers", "Daily")}
HF_DAY_URL = "https://huggingface.co/papers/date/{date}"
# The flag that stands for a variable on the command line, for messages.
FLAGS = {
    "HF_API_BASE": "--api-base",
    "POST_LANG": "--lang",
    "TOP_N": "--top",
    "MIN_UPVOTES": "--min-upvotes",
    "TEMPLATE_DIR": "--template-dir",
    "SITE_URL": "--site-url",
}
# A URL path of plain characters and date placeholders (`:` would be Jekyll's own).
_PERMALINK = re.compile(r"/(?:[A-Za-z0-9._~/-]|\{(?:date|year|month|day)\})*")
# `cron(M H ...)` of EventBridge Scheduler with a single minute and hour.
_DAILY_CRON = re.compile(r"cron\(\s*(\d{1,2})\s+(\d{1,2})\s")


def default(cls: type, name: str) -> object:
    """A dataclass field's default, for help texts."""
    return next(field.default for field in fields(cls) if field.name == name)


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


class _Values:
    """The environment's non-empty values, with the flags given on the command line
    (non-None `overrides`, keyed by variable name) in their place."""

    def __init__(self, env: Mapping[str, str], overrides: Mapping[str, object]) -> None:
        self._values = {name: value.strip() for name, value in env.items() if value.strip()}
        self._flags = {name for name, value in overrides.items() if value is not None}
        self._values.update({name: str(overrides[name]) for name in self._flags})

    def get(self, name: str) -> str | None:
        return self._values.get(name)

    def error(self, name: str, problem: str) -> ConfigError:
        label = FLAGS[name] if name in self._flags else name
        return ConfigError(f"{label}={self._values.get(name)!r} {problem}")

    def integer(self, name: str, fallback: int, minimum: int) -> int:
        raw = self.get(name)
        if raw is None:
            return fallback
        try:
            value = int(raw)
        except ValueError:
            raise self.error(name, "is not a whole number") from None
        if value < minimum:
            raise self.error(name, f"must be at least {minimum}")
        return value

    def url(self, name: str, fallback: str) -> str:
        """An absolute http(s) URL with a host (and a numeric port, if any)."""
        raw = self.get(name)
        if raw is None:
            return fallback
        try:
            parts = urlsplit(raw)
            valid = parts.scheme in {"http", "https"} and bool(parts.hostname)
            parts.port  # noqa: B018 - raises ValueError for a port that is not a number
        except ValueError:
            valid = False
        if not valid or any(char.isspace() for char in raw):
            raise self.error(name, "is not an absolute http(s) URL, e.g. https://example.com")
        return raw.rstrip("/")

    def items(self, name: str) -> tuple[str, ...] | None:
        raw = self.get(name)
        return tuple(part.strip() for part in raw.split(",") if part.strip()) if raw else None


def source_settings(env: Mapping[str, str], **overrides: object) -> SourceSettings:
    values = _Values(env, overrides)
    return SourceSettings(
        api_base=values.url("HF_API_BASE", SourceSettings.api_base),
        token=values.get("HF_TOKEN"),
        token_parameter=values.get("HF_TOKEN_PARAMETER"),
    )


def post_settings(env: Mapping[str, str], **overrides: object) -> PostSettings:
    values = _Values(env, overrides)
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
        top_n=values.integer("TOP_N", PostSettings.top_n, 1),
        min_upvotes=values.integer("MIN_UPVOTES", PostSettings.min_upvotes, 0),
        publish_time=_publish_time(values),
        timezone=zone,
        author=values.get("POST_AUTHOR"),
        categories=values.items("POST_CATEGORIES"),
        tags=values.items("POST_TAGS") or PostSettings.tags,
        template_dir=template_dir,
        permalink=permalink,
    )


def feed_settings(env: Mapping[str, str], **overrides: object) -> FeedSettings:
    values = _Values(env, overrides)
    site_url = values.url("SITE_URL", FeedSettings.site_url)
    pattern = values.get("POST_URL_PATTERN")
    if pattern:
        try:
            sample = pattern.format(
                date="2026-01-28", year="2026", month="01", day="28", site_url=site_url
            )
        except (KeyError, IndexError, ValueError):
            raise values.error(
                "POST_URL_PATTERN",
                "may use only {site_url}, {date}, {year}, {month} and {day}",
            ) from None
        if not sample.startswith(("http://", "https://")):
            raise values.error("POST_URL_PATTERN", "must give an absolute URL")
    language = values.get("POST_LANG") or FeedSettings.language
    if language not in LANGUAGES:
        raise values.error("POST_LANG", f"is not one of {', '.join(LANGUAGES)}")
    return FeedSettings(
        site_url=site_url,
        language=language,
        max_days=values.integer("FEED_MAX_DAYS", FeedSettings.max_days, 1),
        max_papers=values.integer("FEED_MAX_PAPERS", FeedSettings.max_papers, 1),
        post_url_pattern=pattern,
    )


def _publish_time(values: _Values) -> time:
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
    if daily is not None:
        minute, hour = int(daily.group(1)), int(daily.group(2))
        if minute < 60 and hour < 24:
            return time(hour, minute)
    return PostSettings.publish_time


def _check_permalink(values: _Values, pattern: str) -> None:
    if not _PERMALINK.fullmatch(pattern):
        raise values.error(
            "POST_PERMALINK",
            "must be a path starting with / of letters, digits, -._~/ and {date}, {year}, "
            "{month}, {day}, e.g. /posts/daily-papers-{date}/",
        )
    if "{date}" not in pattern and not all(f"{{{p}}}" in pattern for p in ("year", "month", "day")):
        raise values.error(
            "POST_PERMALINK",
            "gives every post the same URL: put {date} (or {year}, {month} and {day}) in it",
        )


# ------------------------------------------------------------------ machine-written summaries

SUMMARY_PROVIDERS = ("bedrock", "openai")
# A model id as Bedrock and OpenAI-compatible servers spell them (`amazon.nova-micro-v1:0`).
MODEL_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:/@+-]{0,199}")


@dataclass(frozen=True)
class SummarySettings:
    """The optional summarizer (summarize.py); off while `provider` is None."""

    provider: str | None = None  # SUMMARY_PROVIDER: bedrock or openai
    model: str = ""  # SUMMARY_MODEL: a Bedrock model id, or the endpoint's model name
    api_base: str | None = None  # SUMMARY_API_BASE: OpenAI-compatible, e.g. .../v1
    api_key: str | None = None  # SUMMARY_API_KEY (local use)
    api_key_parameter: str | None = None  # SUMMARY_API_KEY_PARAMETER: an SSM SecureString
    max_papers: int = 10  # SUMMARY_MAX_PAPERS: model requests a run may start, at most
    max_tokens: int = 30_000  # SUMMARY_MAX_TOKENS: input + output tokens a run may spend
    max_output_tokens: int = 400  # SUMMARY_MAX_OUTPUT_TOKENS: per summary
    timeout: int = 40  # SUMMARY_TIMEOUT: seconds for all summaries of a run, retries included
    concurrency: int = 4  # SUMMARY_CONCURRENCY: requests in flight at once


def summary_settings(env: Mapping[str, str]) -> SummarySettings:
    values = _Values(env, {})
    provider = values.get("SUMMARY_PROVIDER")
    if provider is None or provider == "off":
        return SummarySettings()
    if provider not in SUMMARY_PROVIDERS:
        raise values.error("SUMMARY_PROVIDER", "is not one of off, bedrock, openai")
    model = values.get("SUMMARY_MODEL") or ""
    if not MODEL_ID.fullmatch(model):
        raise values.error("SUMMARY_MODEL", "is not a model id such as amazon.nova-micro-v1:0")
    api_base = values.url("SUMMARY_API_BASE", "") or None
    key, key_parameter = values.get("SUMMARY_API_KEY"), values.get("SUMMARY_API_KEY_PARAMETER")
    if provider == "openai" and not api_base:
        raise values.error("SUMMARY_API_BASE", "must be set for SUMMARY_PROVIDER=openai")
    if provider == "openai" and not (key or key_parameter):
        raise ConfigError(
            "SUMMARY_PROVIDER=openai needs SUMMARY_API_KEY or SUMMARY_API_KEY_PARAMETER "
            "(an SSM SecureString holding the key)"
        )
    return SummarySettings(
        provider=provider,
        model=model,
        api_base=api_base,
        api_key=key,
        api_key_parameter=key_parameter,
        max_papers=values.integer("SUMMARY_MAX_PAPERS", SummarySettings.max_papers, 0),
        max_tokens=values.integer("SUMMARY_MAX_TOKENS", SummarySettings.max_tokens, 0),
        max_output_tokens=values.integer(
            "SUMMARY_MAX_OUTPUT_TOKENS", SummarySettings.max_output_tokens, 16
        ),
        timeout=values.integer("SUMMARY_TIMEOUT", SummarySettings.timeout, 1),
        concurrency=values.integer("SUMMARY_CONCURRENCY", SummarySettings.concurrency, 1),
    )
