"""Render a digest as a Jekyll post (Jinja2) and as canonical JSON. Pure: no I/O but templates."""

from __future__ import annotations

import json
import re
import traceback
from collections.abc import Sequence
from datetime import date
from functools import cache
from typing import Any

import jinja2

from .checks import tagless
from .errors import ConfigError
from .model import Digest
from .rollup import Rollup
from .settings import DEFAULT_CATEGORIES, PostSettings

# Characters YAML (1.1, as Jekyll's Psych reads it) does not allow raw, or reads as line
# breaks or a BOM, inside a double-quoted scalar. JSON leaves these raw: escape them too.
_YAML_UNPRINTABLE = re.compile("[\x7f-\x9f\u2028\u2029\ud800-\udfff\ufeff\ufffe\uffff]")


def yaml_scalar(value: str | Sequence[str]) -> str:
    """A YAML flow scalar or list that parses back to exactly `value`, whatever it holds."""
    text = json.dumps(value if isinstance(value, str) else list(value), ensure_ascii=False)
    return _YAML_UNPRINTABLE.sub(lambda match: f"\\u{ord(match.group()):04x}", text)


_INERT = str.maketrans({"<": "&lt;", ">": "&gt;", "[": "\\[", "]": "\\]", "|": "\\|"})
# A backslash before a character kramdown can escape would vanish from the page.
_ESCAPING_BACKSLASH = re.compile(r"\\(?=[\\.*_+\-`()\[\]{}#!:|\"'$=<>])")


def inert(text: str) -> str:
    """Keep paper text in the post from becoming live content: no HTML (`<`, `>` become
    entities), no links or images (`[`, `]` escaped), no table cells (`|` escaped: a
    title with one would turn its list item into a table) and no kramdown attribute lists
    (`{:` escaped), which could add event handlers. All else goes in as it is, so
    Markdown may still format it (emphasis); `&`, `{}` and backslashes show as written
    (`\\textbf`, `36\\%` stay as the seed has them)."""
    shown = _ESCAPING_BACKSLASH.sub(r"\\\\", text)
    return shown.translate(_INERT).replace("{:", "\\{:")


def post_slug(day: date) -> str:
    """The post's `slug`: what Jekyll's `:title` stands for, so each day gets its own URL
    under the blog's permalink (the file name's `hf-daily-papers` is the same every day)."""
    return f"hf-daily-papers-{day.isoformat()}"


def post_permalink(pattern: str, day: date) -> str:
    """The post's explicit `permalink` from a POST_PERMALINK pattern (validated in
    settings); empty when there is none."""
    return pattern.format(
        date=day.isoformat(), year=f"{day.year:04d}", month=f"{day.month:02d}", day=f"{day.day:02d}"
    )


@cache
def _environment(template_dir: str | None) -> jinja2.Environment:
    loaders: list[jinja2.BaseLoader] = [jinja2.PackageLoader("papers_digest", "templates")]
    if template_dir:
        loaders.insert(0, jinja2.FileSystemLoader(template_dir))
    env = jinja2.Environment(
        loader=jinja2.ChoiceLoader(loaders),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        autoescape=False,  # noqa: S701 - Markdown, not HTML: paper text goes through `inert`
    )
    env.filters["yaml"] = yaml_scalar
    env.filters["inert"] = inert
    env.filters["plain"] = tagless  # `description`: see checks.tagless
    return env


def render_post(digest: Digest, settings: PostSettings) -> str:
    """The post; a template that does not parse or render is a ConfigError naming its
    file and line."""
    return _render(
        f"{settings.lang}/post.md.j2",
        settings,
        title=f"Hugging Face Daily Papers - {digest.day.isoformat()}",
        day=digest.day,
        slug=post_slug(digest.day),
        permalink=post_permalink(settings.permalink, digest.day),
        published_at=digest.published_at,
        categories=settings.categories or DEFAULT_CATEGORIES[settings.lang],
        tags=settings.tags,
        author=settings.author,
        papers=digest.papers,
        papers_that_day=digest.papers_that_day,
        filtered_out=digest.filtered_out,
    )


# A roll-up's categories: its own, whatever POST_CATEGORIES gives the daily posts.
ROLLUP_CATEGORIES = {
    ("week", "ko"): ("Weekly Papers", "주간"),
    ("week", "en"): ("Weekly Papers", "Weekly"),
    ("month", "ko"): ("Monthly Papers", "월간"),
    ("month", "en"): ("Monthly Papers", "Monthly"),
}


def render_rollup_post(rollup: Rollup, settings: PostSettings) -> str:
    """A weekly or monthly roll-up's post (`ko/rollup.md.j2` or `en/...`), under the same
    rules as a day's: front matter JSON-quoted, paper text through `inert`, its own slug.
    No explicit permalink: POST_PERMALINK's placeholders are a day's."""
    return _render(
        f"{rollup.lang}/rollup.md.j2",
        settings,
        title=rollup.period.title,
        kind=rollup.period.kind,
        period=rollup.period,
        slug=rollup.period.slug,
        published_at=rollup.published_at,
        categories=ROLLUP_CATEGORIES[rollup.period.kind, rollup.lang],
        # the daily posts' `daily` tag says `weekly` or `monthly` here
        tags=tuple(f"{rollup.period.kind}ly" if tag == "daily" else tag for tag in settings.tags),
        author=settings.author,
        rollup=rollup,
        papers=rollup.papers,
    )


def _render(name: str, settings: PostSettings, **context: Any) -> str:
    """Render template `name`; one that does not parse or render is a ConfigError naming
    its file and line."""
    try:
        template = _environment(settings.template_dir).get_template(name)
        return template.render(**context)
    except jinja2.TemplateSyntaxError as exc:
        where, line, message = exc.filename or name, exc.lineno, exc.message
    except jinja2.TemplateError as exc:
        # Jinja rewrites the traceback so that template lines show as frames of the file.
        frames = traceback.extract_tb(exc.__traceback__)
        found = [frame for frame in frames if not frame.filename.endswith(".py")] or frames
        where, line, message = found[-1].filename, found[-1].lineno or 0, exc.message
    message = " ".join(str(message).split())
    raise ConfigError(f"template {where}, line {line}: {message}; fix the template") from None


def digest_json(digest: Digest | Rollup) -> str:
    return json.dumps(digest.to_json(), ensure_ascii=False, indent=2) + "\n"


def same_digest(stored: bytes, fresh: dict[str, Any]) -> bool:
    """Whether a stored digest says the same as a fresh one, its generation time aside."""
    try:
        old = json.loads(stored)
    except (UnicodeDecodeError, json.JSONDecodeError):
        return False
    if not isinstance(old, dict):
        return False
    old.pop("generated_at", None)
    return bool(old == {key: value for key, value in fresh.items() if key != "generated_at"})
