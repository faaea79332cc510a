"""Reading one setting: the environment's values with the command line's flags in their
place, parsed, checked, and named in errors as the user gave them (variable or flag)."""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import urlsplit

from ..errors import ConfigError

# The flag that stands for a variable on the command line, for messages.
FLAGS = {
    "HF_API_BASE": "--api-base",
    "POST_LANG": "--lang",
    "TOP_N": "--top",
    "ROLLUP_TOP_N": "--top",
    "MIN_UPVOTES": "--min-upvotes",
    "REFRESH_DAYS": "--refresh",
    "TEMPLATE_DIR": "--template-dir",
    "SITE_URL": "--site-url",
    "BACKFILL_RATE": "--rate",
    "BACKFILL_CONCURRENCY": "--concurrency",
}


class Values:
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

    def integer(self, name: str, fallback: int, minimum: int, maximum: int) -> int:
        raw = self.get(name)
        if raw is None:
            return fallback
        try:
            value = int(raw)
        except ValueError:
            raise self.error(name, "is not a whole number") from None
        if not minimum <= value <= maximum:
            raise self.error(name, f"must be from {minimum:,} to {maximum:,}")
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
