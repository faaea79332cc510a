"""Commit the posts of the bucket into the blog's repository with GitHub's git data API.

One commit per run holds every post that differs from the branch (blobs, a tree on the
branch's tree, a commit on its head), and the branch moves to it only as a fast forward
from the head that was read: a push that landed in between is never overwritten, the
run reads the new head and tries again. Nothing differs: no commit."""

from __future__ import annotations

import base64
import hashlib
import json
import random
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any, Protocol

from . import checks
from .errors import ConfigError, DigestError
from .keys import POST_PREFIX
from .outbound import OutboundError, Reply, retry_after, send
from .settings import GitHubSettings
from .store import Store

MAX_ATTEMPTS = 5  # a branch that moved between read and update
MAX_TRIES = 4  # one request: rate limits and server errors
MAX_WAIT = 30.0  # longest Retry-After we wait for
MAX_ANSWER_BYTES = 8 * 1024 * 1024
_SHA = re.compile(r"[0-9a-f]{40}|[0-9a-f]{64}")


class GitHubError(DigestError):
    """GitHub refused or kept failing; the stored day is untouched."""


class BlogRepository(Protocol):
    def head(self) -> str:
        """The commit the branch points at."""

    def files(self, commit: str) -> tuple[str, dict[str, str]]:
        """The commit's root tree, and the blob id of each file in the posts folder."""

    def commit(self, parent: str, tree: str, files: dict[str, bytes], message: str) -> str:
        """A new commit on `parent`: its tree `tree` with `files` (by name) written."""

    def advance(self, parent: str, commit: str) -> bool:
        """Move the branch from `parent` to `commit`; False when it is no longer at `parent`."""


@dataclass(frozen=True)
class GitHubResult:
    status: str  # "committed" or "unchanged"
    commit: str
    files: tuple[str, ...] = ()
    attempts: int = 1

    def summary(self) -> dict[str, Any]:
        return {
            "github": self.status,
            "commit": self.commit,
            "files": list(self.files),
            "attempts": self.attempts,
        }


def blob_id(body: bytes) -> str:
    """Git's id of a file's content, to compare with the branch without downloading it."""
    return hashlib.sha1(b"blob %d\0" % len(body) + body, usedforsecurity=False).hexdigest()


def publish_posts(
    store: Store,
    repository: BlogRepository,
    until: date,
    catch_up_days: int,
    *,
    sleep: Callable[[float], None] = time.sleep,
) -> GitHubResult:
    """Bring the branch in step with the bucket's posts of the `catch_up_days` days up to
    `until`: a day a failed run left out is committed by the next."""
    first = until - timedelta(days=catch_up_days - 1)
    keys = store.list_keys(POST_PREFIX, start_after=f"{POST_PREFIX}{first.isoformat()}")
    posts = {}
    for key in keys:
        if key[len(POST_PREFIX) :][:10] <= until.isoformat() and (found := store.get(key)):
            posts[key[len(POST_PREFIX) :]] = found.body
    for attempt in range(1, MAX_ATTEMPTS + 1):
        head = repository.head()
        tree, existing = repository.files(head)
        changed = {
            name: body for name, body in posts.items() if existing.get(name) != blob_id(body)
        }
        if not changed:
            return GitHubResult("unchanged", head, attempts=attempt)
        names = sorted(changed)
        span = names[0][:10] if len(names) == 1 else f"{names[0][:10]} to {names[-1][:10]}"
        commit = repository.commit(head, tree, changed, f"Hugging Face Daily Papers: {span}")
        if repository.advance(head, commit):
            return GitHubResult("committed", commit, tuple(names), attempt)
        sleep(random.uniform(0.2, 1.0) * attempt)  # noqa: S311 - jitter, not crypto
    raise GitHubError(
        f"the branch kept moving under {MAX_ATTEMPTS} attempts to commit; another push is "
        "busy with it, the next run tries again"
    )


class GitHubRepository:
    """BlogRepository over GitHub's REST API, bounded by one deadline for the run."""

    def __init__(
        self,
        settings: GitHubSettings,
        token: str,
        token_source: str,
        *,
        budget: float = 45.0,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        token = checks.bearer_token(token, token_source)
        if not token:
            raise ConfigError(f"{token_source} is empty; set it to a token with contents:write")
        self._settings = settings
        self._token, self._token_source = token, token_source
        self._clock, self._sleep = clock, sleep
        self._deadline = clock() + budget
        self._base = f"{settings.api_base}/repos/{settings.repository}/git"

    def head(self) -> str:
        return _sha(self._call("GET", f"ref/heads/{self._settings.branch}"), "object", "sha")

    def files(self, commit: str) -> tuple[str, dict[str, str]]:
        root = _sha(self._call("GET", f"commits/{commit}"), "tree", "sha")
        tree = root
        for part in self._settings.path.split("/"):
            entries = _entries(self._call("GET", f"trees/{tree}"))
            found = [sha for path, kind, sha in entries if path == part and kind == "tree"]
            if not found:
                return root, {}
            tree = found[0]
        listing = self._call("GET", f"trees/{tree}")
        if listing.get("truncated"):
            raise GitHubError(f"GitHub truncated the listing of {self._settings.path}/")
        blobs = {path: sha for path, kind, sha in _entries(listing) if kind == "blob"}
        return root, blobs

    def commit(self, parent: str, tree: str, files: dict[str, bytes], message: str) -> str:
        entries = [
            {
                "path": f"{self._settings.path}/{name}",
                "mode": "100644",
                "type": "blob",
                "sha": _sha(
                    self._call(
                        "POST",
                        "blobs",
                        {"content": base64.b64encode(body).decode("ascii"), "encoding": "base64"},
                    ),
                    "sha",
                ),
            }
            for name, body in sorted(files.items())
        ]
        new_tree = _sha(self._call("POST", "trees", {"base_tree": tree, "tree": entries}), "sha")
        author = {"name": self._settings.author_name, "email": self._settings.author_email}
        body = {"message": message, "tree": new_tree, "parents": [parent], "author": author}
        return _sha(self._call("POST", "commits", body), "sha")

    def advance(self, parent: str, commit: str) -> bool:
        path = f"refs/heads/{self._settings.branch}"
        reply = self._request("PATCH", path, {"sha": commit, "force": False})
        if reply.status == 422 and "fast forward" in self._message(reply).lower():
            return False
        self._json(reply, "PATCH", path)
        return True

    def _call(self, method: str, path: str, body: Any = None) -> Any:
        return self._json(self._request(method, path, body), method, path)

    def _request(self, method: str, path: str, body: Any) -> Reply:
        """The answer, after waiting out rate limits (Retry-After, up to MAX_WAIT and the
        deadline) and retrying server errors."""
        headers = {
            "Accept": "application/vnd.github+json",
            "Authorization": f"Bearer {self._token}",
            "X-GitHub-Api-Version": "2022-11-28",
        }
        where = f"GitHub {method} {path.split('/')[0]}"
        for attempt in range(1, MAX_TRIES + 1):
            try:
                reply = send(
                    method,
                    f"{self._base}/{path}",
                    headers=headers,
                    json_body=body,
                    deadline=self._deadline,
                    cap=MAX_ANSWER_BYTES,
                    clock=self._clock,
                )
            except OutboundError as exc:
                raise GitHubError(f"{where}: {exc}; the next run tries again") from None
            limited = reply.status == 429 or (
                reply.status == 403
                and (
                    "retry-after" in _lower(reply)
                    or _lower(reply).get("x-ratelimit-remaining") == "0"
                )
            )
            if not limited and reply.status < 500:
                return reply
            wait = (
                retry_after(reply.headers, 2.0**attempt, time.time()) if limited else 2.0**attempt
            )
            if attempt == MAX_TRIES or wait > MAX_WAIT or self._clock() + wait >= self._deadline:
                what = f"rate limited (retry after {wait:.0f}s)" if limited else f"{reply.status}"
                raise GitHubError(f"{where}: {what}; the next run tries again")
            self._sleep(wait)
        raise AssertionError("unreachable")  # pragma: no cover

    def _json(self, reply: Reply, method: str, path: str) -> Any:
        repository, branch = self._settings.repository, self._settings.branch
        said = f"({reply.status}: {self._message(reply)})"
        problems = {
            401: f"GitHub refused the token {said}: set a valid one in {self._token_source}",
            403: f"GitHub denied the token {said}: give it contents:write on {repository}",
            404: (
                f"GitHub found no {repository} or branch {branch} {said}: check "
                "GITHUB_BLOG_REPOSITORY, GITHUB_BLOG_BRANCH and the token's access"
            ),
            409: f"GitHub refused {said}: {repository} is empty; push a first commit",
            422: (
                f"GitHub refused the commit to {branch} {said}: the branch may be protected; "
                "let the token bypass the rule or use another branch"
            ),
        }
        if reply.status >= 300:
            default = f"GitHub {method} {path.split('/')[0]} answered {said}"
            raise GitHubError(problems.get(reply.status, default))
        try:
            return json.loads(reply.body)
        except (UnicodeDecodeError, ValueError, RecursionError):
            raise GitHubError(f"GitHub {method} {path.split('/')[0]}: not JSON") from None

    def _message(self, reply: Reply) -> str:
        """GitHub's `message`, one line, cut short, with the token masked."""
        try:
            message = str(json.loads(reply.body).get("message", ""))
        except (UnicodeDecodeError, ValueError, RecursionError, AttributeError):
            message = ""
        message = " ".join(message.replace(self._token, "<token>").split())
        return message[:120] or "no message"


def _lower(reply: Reply) -> dict[str, str]:
    return {name.lower(): value for name, value in reply.headers.items()}


def _sha(answer: Any, *path: str) -> str:
    """The object id at `path` in an answer; anything else is a one-line GitHubError."""
    for key in path:
        answer = answer.get(key) if isinstance(answer, dict) else None
    if isinstance(answer, str) and _SHA.fullmatch(answer):
        return answer
    raise GitHubError(f"GitHub answered without a valid {'.'.join(path)}; try again later")


def _entries(answer: Any) -> list[tuple[str, str, str]]:
    """(path, type, sha) of each entry of a tree answer."""
    entries = answer.get("tree") if isinstance(answer, dict) else None
    if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
        raise GitHubError("GitHub answered a tree without its entries; try again later")
    return [
        (str(e.get("path")), str(e.get("type")), _sha(e, "sha"))
        for e in entries
        if e.get("type") in {"blob", "tree"}
    ]
