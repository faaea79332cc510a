"""Settings from environment variables (and CLI flags), validated once, at the edge."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, time
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from .errors import ConfigError

LANGUAGES = ("ko", "en")
DEFAULT_CATEGORIES = {"ko": ("Daily Papers", "일간"), "en": ("Daily Papers", "Daily")}
DEFAULT_TAGS = ("huggingface", "papers", "daily", "ai")
# A URL path of plain characters and date placeholders (`:` would be Jekyll's own).
_PERMALINK = re.compile(r"/(?:[A-Za-z0-9._~/-]|\{(?:date|year|month|day)\})*")


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
    permalink: str = ""  # a POST_PERMALINK pattern; empty: the blog's permalink and our slug

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


def _permalink(raw: str) -> str:
    if not _PERMALINK.fullmatch(raw):
        raise ConfigError(
            f"POST_PERMALINK={raw!r} must be a path starting with / of letters, digits, "
            "-._~/ and {date}, {year}, {month}, {day}, e.g. /posts/daily-papers-{date}/"
        )
    if "{date}" not in raw and not all(f"{{{part}}}" in raw for part in ("year", "month", "day")):
        raise ConfigError(
            f"POST_PERMALINK={raw!r} gives every post the same URL: put {{date}} "
            "(or {year}, {month} and {day}) in it"
        )
    return raw


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
    return PostSettings(
        lang=lang,
        top_n=_int("TOP_N", values.get("TOP_N", "10"), 1),
        min_upvotes=_int("MIN_UPVOTES", values.get("MIN_UPVOTES", "0"), 0),
        publish_time=publish_time,
        timezone=zone,
        author=values.get("POST_AUTHOR"),
        categories=_list(categories) if categories else None,
        tags=_list(tags) if tags else DEFAULT_TAGS,
        template_dir=values.get("TEMPLATE_DIR"),
        permalink=_permalink(values["POST_PERMALINK"]) if "POST_PERMALINK" in values else "",
    )
