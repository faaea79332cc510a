"""`papers-digest publish-github` and `notify`, in-process, on a local folder."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from papers_digest.cli import main
from tests.github_stub import REPO, TOKEN, GitHubStub, github_stub
from tests.webhook_receiver import Receiver, webhook_receiver
from tools.replay_server import ReplayServer

DAY = "2026-01-28"
POST = f"_posts/{DAY}-hf-daily-papers.md"


@pytest.fixture
def site(
    replay: ReplayServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[Path, GitHubStub, Receiver]]:
    monkeypatch.setenv("HF_API_BASE", replay.url)
    assert main(["run", "--date", DAY, "--out", str(tmp_path)]) == 0
    with github_stub() as stub, webhook_receiver() as receiver:
        monkeypatch.setenv("GITHUB_API_BASE", stub.url)
        monkeypatch.setenv("GITHUB_BLOG_REPOSITORY", REPO)
        monkeypatch.setenv("GITHUB_BLOG_TOKEN", TOKEN)
        monkeypatch.setenv("NOTIFY_WEBHOOKS", f"json={receiver.url}/hook")
        yield tmp_path, stub, receiver


def cli(capsys: pytest.CaptureFixture[str], *args: str) -> dict[str, object]:
    assert main([*args, "--date", DAY, "--json"]) == 0
    result: dict[str, object] = json.loads(capsys.readouterr().out)
    return result


def test_publish_github_commits_then_finds_nothing_to_do(
    site: tuple[Path, GitHubStub, Receiver], capsys: pytest.CaptureFixture[str]
) -> None:
    out, stub, _ = site
    first = cli(capsys, "publish-github", "--out", str(out))
    assert (first["github"], first["files"]) == ("committed", [POST.removeprefix("_posts/")])
    assert stub.file(POST) == (out / POST).read_bytes()
    second = cli(capsys, "publish-github", "--out", str(out))
    assert (second["github"], second["commit"]) == ("unchanged", first["commit"])


def test_notify_tells_each_channel_once(
    site: tuple[Path, GitHubStub, Receiver], capsys: pytest.CaptureFixture[str]
) -> None:
    out, _, receiver = site
    assert cli(capsys, "notify", "--out", str(out))["notified"] == ["json webhook 1"]
    assert cli(capsys, "notify", "--out", str(out))["already_notified"] == ["json webhook 1"]
    (payload,) = receiver.payloads("/hook")
    assert [paper["upvotes"] for paper in payload["papers"]] == [5, 4, 1]
    assert payload["link"] == f"https://huggingface.co/papers/date/{DAY}"


@pytest.mark.parametrize(
    ("env", "code", "message"),
    [
        ({"GITHUB_BLOG_TOKEN": "ghp_wrongtoken"}, 1, "GitHub refused the token (401: Bad"),
        ({"GITHUB_BLOG_TOKEN": ""}, 2, "GITHUB_BLOG_REPOSITORY is set but no token"),
        ({"GITHUB_BLOG_TOKEN": "ghp_bad token"}, 2, "GITHUB_BLOG_TOKEN is malformed:"),
        ({"GITHUB_BLOG_REPOSITORY": "not a repo"}, 2, "GITHUB_BLOG_REPOSITORY='not a repo' is"),
        ({"GITHUB_BLOG_BRANCH": "a..b"}, 2, "GITHUB_BLOG_BRANCH='a..b' is not a branch"),
        ({"GITHUB_BLOG_AUTHOR": "bot"}, 2, "GITHUB_BLOG_AUTHOR='bot' is not `Name <email>`"),
    ],
)
def test_publish_github_errors_are_one_line_without_the_token(
    site: tuple[Path, GitHubStub, Receiver],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    env: dict[str, str],
    code: int,
    message: str,
) -> None:
    out, stub, _ = site
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(SystemExit) as exited:
        main(["publish-github", "--date", DAY, "--out", str(out)])
    assert exited.value.code == code
    captured = capsys.readouterr()
    assert captured.err.startswith(f"papers-digest: error: {message}")
    assert captured.err.count("\n") == 1
    assert TOKEN not in captured.out + captured.err
    assert "ghp_wrongtoken" not in captured.out + captured.err
    assert "ghp_bad" not in captured.out + captured.err
    assert stub.history() == ["initial"]


def test_a_webhook_url_is_never_shown(
    site: tuple[Path, GitHubStub, Receiver],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    out, _, _ = site
    monkeypatch.setenv("NOTIFY_WEBHOOKS", "teams=https://hooks.example.com/SECRET")
    with pytest.raises(SystemExit) as exited:
        main(["notify", "--date", DAY, "--out", str(out)])
    assert exited.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("papers-digest: error: NOTIFY_WEBHOOKS: webhook 1 is not kind=URL")
    assert "SECRET" not in err
