"""Settings of delivery: filters, the blog repository on GitHub, notifications."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from ..errors import ConfigError
from .values import Values

if TYPE_CHECKING:
    from ..filters import Filters

WEBHOOK_KINDS = ("slack", "discord", "json")
_REPOSITORY = re.compile(r"[A-Za-z0-9-]{1,39}/[A-Za-z0-9._-]{1,100}")
_BRANCH = re.compile(r"[A-Za-z0-9._/-]{1,200}")
_AUTHOR = re.compile(r"([^<>\n]{1,100}) <([^<>\s@]+@[^<>\s@]+)>")


def filter_settings(env: Mapping[str, str]) -> Filters:
    """FILTER_INCLUDE_KEYWORDS, FILTER_EXCLUDE_KEYWORDS, FILTER_INCLUDE_ORGS and
    FILTER_EXCLUDE_ORGS, each a comma-separated list (unset: no filter)."""
    from ..checks import clean_text
    from ..filters import Filters

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
