"""The digest handler commits its posts into a blog repository: the real event, moto S3
and SSM, and a GitHub stub on 127.0.0.1 that keeps real trees and refs."""

from __future__ import annotations

import copy
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest

from papers_digest import digest_handler
from papers_digest.errors import ConfigError
from papers_digest.github import GitHubError, GitHubRepository, publish_posts
from papers_digest.settings import github_settings
from papers_digest.store import FolderStore
from tests.conftest import BUCKET, SEED_DAY, FakeLambdaContext, api_items, event
from tests.github_stub import REPO, TOKEN, Canned, GitHubStub, github_stub
from tools.replay_server import ReplayServer

POST = f"_posts/{SEED_DAY.isoformat()}-hf-daily-papers.md"
EARLIER = "_posts/2026-01-20-hf-daily-papers.md"
PARAMETER = "/papers-digest/github-token"


@pytest.fixture
def stub(s3: Any, replay: ReplayServer, monkeypatch: pytest.MonkeyPatch) -> Iterator[GitHubStub]:
    boto3.client("ssm", region_name="us-east-1").put_parameter(
        Name=PARAMETER, Value=TOKEN, Type="SecureString"
    )
    with github_stub() as running:
        for name, value in {
            "HF_API_BASE": replay.url,
            "GITHUB_API_BASE": running.url,
            "GITHUB_BLOG_REPOSITORY": REPO,
            "GITHUB_BLOG_TOKEN_PARAMETER": PARAMETER,
        }.items():
            monkeypatch.setenv(name, value)
        yield running


def invoke() -> dict[str, Any]:
    result: dict[str, Any] = digest_handler.lambda_handler(
        event("digest-chosen-day.json"), FakeLambdaContext()
    )
    return result


def stored(s3: Any, key: str) -> bytes:
    body: bytes = s3.get_object(Bucket=BUCKET, Key=key)["Body"].read()
    return body


def writes(stub: GitHubStub) -> list[tuple[str, str]]:
    return [request for request in stub.requests if request[0] != "GET"]


def test_first_run_commits_the_post_and_the_days_the_bucket_has(stub: GitHubStub, s3: Any) -> None:
    s3.put_object(Bucket=BUCKET, Key=EARLIER, Body=b"an earlier day\n")
    summary = invoke()
    assert summary["status"] == "created"
    assert summary["github"] == "committed"
    assert summary["files"] == [EARLIER.removeprefix("_posts/"), POST.removeprefix("_posts/")]
    assert stub.file(POST) == stored(s3, POST)
    assert stub.file(EARLIER) == b"an earlier day\n"
    assert stub.file("README.md") == b"# blog\n"
    assert stub.history() == ["Hugging Face Daily Papers: 2026-01-20 to 2026-01-28", "initial"]
    assert writes(stub) == [("POST", "blobs")] * 2 + [
        ("POST", "trees"),
        ("POST", "commits"),
        ("PATCH", "refs"),
    ]


def test_unchanged_rerun_commits_nothing(stub: GitHubStub) -> None:
    invoke()
    head = stub.refs["heads/main"]
    stub.requests.clear()
    summary = invoke()
    assert (summary["status"], summary["github"], summary["files"]) == (
        "unchanged",
        "unchanged",
        [],
    )
    assert stub.refs["heads/main"] == head
    assert writes(stub) == []


def test_refresh_commits_the_one_changed_file(
    stub: GitHubStub, replay: ReplayServer, s3: Any
) -> None:
    invoke()
    refreshed = copy.deepcopy(api_items(SEED_DAY))
    refreshed[0]["paper"]["upvotes"] = 999
    replay.days[SEED_DAY.isoformat()] = refreshed
    stub.requests.clear()
    summary = invoke()
    assert (summary["status"], summary["github"]) == ("updated", "committed")
    assert summary["files"] == [POST.removeprefix("_posts/")]
    assert b"999" in (stub.file(POST) or b"")
    assert stub.file(POST) == stored(s3, POST)
    assert len(stub.history()) == 3
    assert writes(stub).count(("POST", "blobs")) == 1


def test_a_push_between_read_and_update_is_kept(stub: GitHubStub) -> None:
    stub.before[("PATCH", "refs")] = lambda: stub.push({"about.md": b"about\n"})
    summary = invoke()
    assert (summary["github"], summary["attempts"]) == ("committed", 2)
    assert stub.file("about.md") == b"about\n"
    assert stub.file(POST) is not None
    assert stub.history() == ["Hugging Face Daily Papers: 2026-01-28", "someone else", "initial"]


@pytest.mark.parametrize(
    ("method", "kind", "status", "expected"),
    [
        ("GET", "ref", 401, "GitHub refused the token (401: Bad credentials <token>): set a valid"),
        ("POST", "blobs", 403, "GitHub denied the token (403: Resource not accessible"),
        ("GET", "ref", 404, "GitHub found no octo/blog or branch main (404: Not Found)"),
        ("PATCH", "refs", 422, "GitHub refused the commit to main (422: Protected branch"),
    ],
)
def test_refusals_are_one_line_and_the_day_stays_stored(
    stub: GitHubStub,
    s3: Any,
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
    method: str,
    kind: str,
    status: int,
    expected: str,
) -> None:
    messages = {
        401: f"Bad credentials {TOKEN}",
        403: "Resource not accessible by personal access token",
        404: "Not Found",
        422: "Protected branch update failed for refs/heads/main.",
    }
    stub.canned[(method, kind)] = [Canned(status, {"message": messages[status]})]
    with pytest.raises(GitHubError) as raised:
        invoke()
    message = str(raised.value)
    assert message.startswith(expected)
    assert "\n" not in message
    assert TOKEN not in message + caplog.text + "".join(capsys.readouterr())
    assert stored(s3, POST).startswith(b"---\n")
    assert stub.history() == ["initial"]
    stub.requests.clear()
    assert invoke()["github"] == "committed"  # the next run catches up
    assert stub.file(POST) == stored(s3, POST)


@pytest.mark.parametrize(
    ("headers", "committed"),
    [
        ({"Retry-After": "1"}, True),
        ({"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": "1"}, True),
        ({"Retry-After": "3600"}, False),
    ],
)
def test_rate_limit_waits_for_retry_after(
    stub: GitHubStub, headers: dict[str, str], committed: bool
) -> None:
    limited = Canned(403, {"message": "API rate limit exceeded"}, headers)
    stub.canned[("GET", "ref")] = [limited]
    if committed:
        assert invoke()["github"] == "committed"
        assert stub.requests.count(("GET", "ref")) == 2
    else:
        with pytest.raises(
            GitHubError, match=r"^GitHub GET ref: rate limited \(retry after 3600s\)"
        ):
            invoke()
        assert stub.requests.count(("GET", "ref")) == 1


@pytest.mark.parametrize(
    ("kind", "answer", "message"),
    [
        ("ref", {"object": {}}, "GitHub answered without a valid object.sha; try again later"),
        ("trees", {"tree": "no"}, "GitHub answered a tree without its entries; try again later"),
        (
            "commits",
            {"sha": "../../x"},
            "GitHub answered without a valid tree.sha; try again later",
        ),
    ],
)
def test_github_answers_in_the_wrong_shape_are_one_line_errors(
    stub: GitHubStub, kind: str, answer: dict[str, Any], message: str
) -> None:
    stub.canned[("GET", kind)] = [Canned(200, answer)]
    with pytest.raises(GitHubError) as raised:
        invoke()
    assert str(raised.value) == message


@pytest.mark.parametrize(
    ("answers", "sleeps", "error"),
    [
        ([Canned(503, {}), Canned(502, {})], [2.0, 4.0], None),
        ([Canned(403, {"message": "rate"}, {"Retry-After": "7"})], [7.0], None),
        ([Canned(429, {}, {"Retry-After": "31"})], [], "rate limited (retry after 31s)"),
        ([Canned(500, {})] * 4, [2.0, 4.0, 8.0], "GitHub GET ref: 500; the next run tries again"),
    ],
)
def test_server_errors_and_rate_limits_wait_and_retry(
    stub: GitHubStub,
    tmp_path: Path,
    answers: list[Canned],
    sleeps: list[float],
    error: str | None,
) -> None:
    """Straight on the adapter, its sleep recorded: the waits are the ones asked for."""
    settings = github_settings(
        {"GITHUB_BLOG_REPOSITORY": REPO, "GITHUB_BLOG_TOKEN": TOKEN, "GITHUB_API_BASE": stub.url}
    )
    assert settings is not None
    waited: list[float] = []
    repository = GitHubRepository(settings, TOKEN, "GITHUB_BLOG_TOKEN", sleep=waited.append)
    stub.canned[("GET", "ref")] = list(answers)
    if error is None:
        result = publish_posts(FolderStore(tmp_path), repository, SEED_DAY, 1)
        assert result.status == "unchanged"
    else:
        with pytest.raises(GitHubError, match=re.escape(error)):
            publish_posts(FolderStore(tmp_path), repository, SEED_DAY, 1)
    assert waited == sleeps
    assert stub.requests.count(("GET", "ref")) == len(answers) + (error is None)


def test_github_out_of_reach_is_one_line(stub: GitHubStub, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GITHUB_API_BASE", "http://127.0.0.1:9")
    with pytest.raises(GitHubError) as raised:
        invoke()
    assert str(raised.value) == (
        "GitHub GET ref: cannot connect or read (URLError); the next run tries again"
    )


@pytest.mark.parametrize(
    ("name", "value", "expected"),
    [
        ("GITHUB_BLOG_AUTHOR", "bot", "GITHUB_BLOG_AUTHOR='bot' is not `Name <email>`"),
        ("GITHUB_BLOG_BRANCH", "a..b", "GITHUB_BLOG_BRANCH='a..b' is not a branch name"),
    ],
)
def test_a_bad_blog_setting_never_keeps_the_day_from_being_stored(
    stub: GitHubStub, s3: Any, monkeypatch: pytest.MonkeyPatch, name: str, value: str, expected: str
) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError, match=re.escape(expected)):
        invoke()
    assert stored(s3, POST).startswith(b"---\n")
    assert stored(s3, f"digests/{SEED_DAY.isoformat()}.json").startswith(b"{")
    assert stub.requests == []
