"""The checks every value from the API or the bucket passes before it reaches a Paper.

Each check takes the value and the name of its field, and returns the value as it may
be used, or raises a one-line ValueError naming the field. Pure: no I/O."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date, datetime
from typing import Any, TypeVar
from urllib.parse import urlsplit

from .days import parse_day, parse_timestamp
from .errors import ConfigError, InvalidDayError

LANGUAGES = ("ko", "en")  # of the posts; the feeds and pages follow them
MAX_URL_LENGTH = 2048
MAX_TEXT = 5_000  # characters in one text field
MAX_LIST = 200  # authors or keywords of one paper
MAX_COUNT = 10**9  # far above any paper's upvotes; a 400-digit count is not one

_CONTROL_CHARS = re.compile(r"[\x00-\x1f\x7f-\x9f\ufffe\uffff]")
# arXiv's new-style ids, no version: YYMM.NNNN from 0704 to 1412, YYMM.NNNNN from 1501 on.
_ARXIV_ID = re.compile(r"(?P<yymm>[0-9]{2}(?:0[1-9]|1[0-2]))\.(?P<number>[0-9]{4,5})")
# Characters that could end a URL early in HTML, XML, YAML or a Markdown link target.
_URL_UNSAFE = re.compile(r"[\s\"'<>()\[\]{}\\^`|]")
T = TypeVar("T")


def clean_text(value: str) -> str:
    """Collapse hard line breaks and runs of whitespace; drop control characters and
    lone surrogates, which neither YAML, XML nor UTF-8 can carry; and cut what is longer
    than any real field (an abstract is under 2,000 characters) to MAX_TEXT, so no one
    string can swell every output and the feed readers' parsing."""
    repaired = value.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
    cleaned = " ".join(_CONTROL_CHARS.sub(" ", repaired).split())
    return cleaned if len(cleaned) <= MAX_TEXT else cleaned[: MAX_TEXT - 1] + "…"


# Look-alikes for the angle brackets: no parser reads them as a tag, every reader still
# sees the comparison or the literal tag the text spells out.
_NO_TAGS = str.maketrans({"<": "\uff1c", ">": "\uff1e"})


def tagless(text: str) -> str:
    """Text for a field that readers may take as text or as HTML, and themes may print
    raw or escape themselves (a post's `description`, an RSS `title`): `<` and `>`
    become fullwidth look-alikes (U+FF1C, U+FF1E), so it reads the same either way and
    no tag can open. No HTML escaping, which readers would see as `&#x27;`."""
    return text.translate(_NO_TAGS)


def bearer_token(token: str | None, source: str) -> str:
    """A token for an Authorization header, without surrounding whitespace (empty: none).
    One that still holds anything but visible ASCII cannot go in a header, and is refused
    naming `source` (the setting or SSM parameter), never the value."""
    token = (token or "").strip()
    if not all("!" <= char <= "~" for char in token):
        raise ConfigError(
            f"{source} is malformed: a token is visible ASCII characters with no space, "
            "line break or control character inside; set it again (its value is not shown)"
        )
    return token


def refuse(name: str, value: Any, expected: str) -> ValueError:
    """The error for a bad value: its field, and the value escaped and cut short."""
    if value is None:
        return ValueError(f"{name} is missing")
    shown = repr(value)
    shown = shown if len(shown) <= 60 else f"{shown[:57]}..."
    return ValueError(f"{name} is {shown}, not {expected}")


def arxiv_id(value: Any, name: str) -> str:
    match = _ARXIV_ID.fullmatch(value) if isinstance(value, str) else None
    if (
        match is None
        or match["yymm"] < "0704"
        or ((match["yymm"] < "1501") != (len(match["number"]) == 4))
    ):
        raise refuse(name, value, "an arXiv id such as 2607.23193")
    return match.group()


def http_url(value: Any, name: str) -> str:
    """An absolute http(s) URL with a host, safe to put as it is into HTML, XML and
    Markdown link targets: no whitespace, control characters, quotes or brackets."""
    if (
        isinstance(value, str)
        and len(value) <= MAX_URL_LENGTH
        and value.isprintable()
        and value.startswith(("https://", "http://"))
        and not _URL_UNSAFE.search(value)
    ):
        try:
            parts = urlsplit(value)
            if parts.hostname and parts.port != 0 and "@" not in parts.netloc:
                return value
        except ValueError:  # a malformed port
            pass
    raise refuse(name, value, "an http(s) URL")


def timestamp(value: Any, name: str) -> str:
    """An ISO 8601 timestamp, kept as the API wrote it."""
    if isinstance(value, str) and value.isascii() and value.isprintable():
        try:
            parse_timestamp(value)
            return value
        except InvalidDayError:
            pass
    raise refuse(name, value, "an ISO 8601 timestamp")


def aware_datetime(value: Any, name: str) -> datetime:
    try:
        parsed = datetime.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        parsed = None
    if parsed is None or parsed.utcoffset() is None:
        raise refuse(name, value, "an ISO 8601 time with a UTC offset")
    return parsed


def day(value: Any, name: str) -> date:
    try:
        return parse_day(value)
    except InvalidDayError:
        raise refuse(name, value, "a day (YYYY-MM-DD)") from None


def count(value: Any, name: str) -> int:
    """A count as the API gives them (upvotes, comments, stars): whole, not negative, and
    of a size a real one could have."""
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= MAX_COUNT:
        return value
    raise refuse(name, value, "a count")


def language(value: Any, name: str) -> str:
    if value in LANGUAGES:
        return str(value)
    raise refuse(name, value, f"one of {', '.join(LANGUAGES)}")


def text(value: Any, name: str) -> str:
    if isinstance(value, str):
        return clean_text(value)
    raise refuse(name, value, "text")


def title(value: Any, name: str) -> str:
    if cleaned := text(value, name):
        return cleaned
    raise refuse(name, value, "a title")


def texts(value: Any, name: str) -> tuple[str, ...]:
    """A list of text; items left empty by cleaning are left out."""
    if isinstance(value, list) and all(isinstance(item, str) for item in value):
        return tuple(cleaned for item in value if (cleaned := clean_text(item)))[:MAX_LIST]
    raise refuse(name, value, "a list of text")


def optional(check: Callable[[Any, str], T], value: Any, name: str) -> T | None:
    """A stored optional value: None when null, else it must pass `check`."""
    return None if value is None else check(value, name)


def lenient(check: Callable[[Any, str], T], value: Any, name: str, notes: list[str]) -> T | None:
    """An optional API value: None when absent, or, with a note, when it fails `check`."""
    if value is None or value == "":
        return None
    try:
        return check(value, name)
    except ValueError as exc:
        notes.append(f"{exc}: dropped")
        return None
