"""Settings from environment variables (and CLI flags), validated once, at the edge."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, time
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from .errors import ConfigError

LANGUAGES = ("ko", "en")
DEFAULT_CATEGORIES = {"ko": ("Daily Papers", "일간"), "en": ("Daily Papers", "Daily")}
DEFAULT_TAGS = ("huggingface", "papers", "daily", "ai")
HF_DAY_URL = "https://huggingface.co/papers/date/{date}"


@dataclass(frozen=True)
class PostSettings:
    lang: str = "ko"
    top_n: int = 10
    min_upvotes: int = 0
    publish_time: time = time(9, 15)
    timezone: str = "Asia/Seoul"
    author: str | None = None
    categories: tuple[str, ...] | None = None
    tags: tuple[str, ...] = DEFAULT_TAGS
    template_dir: str | None = None

    def publish_datetime(self, day: date) -> datetime:
        """The post's date: the day at the publish time, in the publish timezone."""
        return datetime.combine(day, self.publish_time, tzinfo=ZoneInfo(self.timezone))


def _int(name: str, raw: str, minimum: int) -> int:
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"{name}={raw!r} is not a whole number") from None
    if value < minimum:
        raise ConfigError(f"{name}={raw!r} must be at least {minimum}")
    return value


def _list(raw: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in raw.split(",") if part.strip())


def int_setting(env: Mapping[str, str], name: str, default: int, minimum: int = 0) -> int:
    raw = env.get(name, "").strip()
    return _int(name, raw, minimum) if raw else default


def post_settings(env: Mapping[str, str], **overrides: object) -> PostSettings:
    """PostSettings from POST_* variables; non-None `overrides` (CLI flags) win."""
    values: dict[str, str] = {k: v for k, v in env.items() if v.strip()}
    for name, value in overrides.items():
        if value is not None:
            values[name] = str(value)

    lang = values.get("POST_LANG", "ko")
    if lang not in LANGUAGES:
        raise ConfigError(f"POST_LANG={lang!r} is not one of {', '.join(LANGUAGES)}")
    zone = values.get("PUBLISH_TIMEZONE", "Asia/Seoul")
    try:
        ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(f"PUBLISH_TIMEZONE={zone!r} is not an IANA time zone") from None
    raw_time = values.get("PUBLISH_TIME", "09:15")
    try:
        publish_time = time.fromisoformat(raw_time)
    except ValueError:
        raise ConfigError(f"PUBLISH_TIME={raw_time!r} is not HH:MM") from None
    categories = values.get("POST_CATEGORIES")
    tags = values.get("POST_TAGS")
    template_dir = values.get("TEMPLATE_DIR")
    if template_dir and not os.path.isdir(template_dir):
        raise ConfigError(f"TEMPLATE_DIR={template_dir!r} is not a folder; give an existing one")
    return PostSettings(
        lang=lang,
        top_n=_int("TOP_N", values.get("TOP_N", "10"), 1),
        min_upvotes=_int("MIN_UPVOTES", values.get("MIN_UPVOTES", "0"), 0),
        publish_time=publish_time,
        timezone=zone,
        author=values.get("POST_AUTHOR"),
        categories=_list(categories) if categories else None,
        tags=_list(tags) if tags else DEFAULT_TAGS,
        template_dir=template_dir,
    )


@dataclass(frozen=True)
class FeedSettings:
    site_url: str = "http://localhost:4000"
    language: str = "ko"
    max_days: int = 30
    max_papers: int = 200
    post_url_pattern: str | None = None
    title: str = "Hugging Face Daily Papers"

    def day_url(self, day: str) -> str:
        """The link for a day: the user's blog post if a pattern is set, else HF's day page."""
        year, month, dom = day.split("-")
        pattern = self.post_url_pattern or HF_DAY_URL
        return pattern.format(date=day, year=year, month=month, day=dom, site_url=self.site_url)


def feed_settings(env: Mapping[str, str], **overrides: str | None) -> FeedSettings:
    values = {k: v for k, v in env.items() if v.strip()}
    values.update({k: v for k, v in overrides.items() if v})
    site_url = values.get("SITE_URL", FeedSettings.site_url).rstrip("/")
    if not re.match(r"^https?://[^/\s]+", site_url):
        raise ConfigError(f"SITE_URL={site_url!r} is not an absolute http(s) URL")
    pattern = values.get("POST_URL_PATTERN")
    if pattern:
        try:
            sample = pattern.format(
                date="2026-01-28", year="2026", month="01", day="28", site_url=site_url
            )
        except (KeyError, IndexError, ValueError):
            raise ConfigError(
                f"POST_URL_PATTERN={pattern!r} may use only {{site_url}}, {{date}}, "
                "{year}, {month} and {day}"
            ) from None
        if not sample.startswith(("http://", "https://")):
            raise ConfigError(f"POST_URL_PATTERN={pattern!r} must give an absolute URL")
    return FeedSettings(
        site_url=site_url,
        language=values.get("POST_LANG", "ko"),
        max_days=int_setting(values, "FEED_MAX_DAYS", 30, minimum=1),
        max_papers=int_setting(values, "FEED_MAX_PAPERS", 200, minimum=1),
        post_url_pattern=pattern,
    )
