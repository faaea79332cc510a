"""`papers-digest` as a user runs it: the installed entry point in a subprocess, against a
local replay server."""

from __future__ import annotations

import importlib.metadata
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import feedparser
import pytest

import papers_digest
from papers_digest.cli import main
from tests.conftest import BUCKET
from tools.replay_server import Canned, ReplayServer

CLI = [str(Path(sys.executable).parent / "papers-digest")]


def run_cli(
    *args: str, cwd: Path, env: dict[str, str] | None = None, cli: list[str] = CLI
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*cli, *args],
        cwd=cwd,
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.mark.parametrize(
    "cli", [CLI, [sys.executable, "-m", "papers_digest"]], ids=["entry-point", "python-m"]
)
def test_version_from_the_one_place_it_is_written(tmp_path: Path, cli: list[str]) -> None:
    done = run_cli("--version", cwd=tmp_path, cli=cli)
    assert (done.returncode, done.stderr) == (0, "")
    assert done.stdout == f"papers-digest {papers_digest.__version__}\n"
    assert importlib.metadata.version("hf-papers-digest") == papers_digest.__version__


def test_run_writes_both_files_into_the_default_folder(
    replay: ReplayServer, tmp_path: Path
) -> None:
    done = run_cli("run", "--date", "2026-07-31", "--api-base", replay.url, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "2026-07-31: created (10 of 30 papers listed)" in done.stdout
    post = tmp_path / "site" / "_posts" / "2026-07-31-hf-daily-papers.md"
    digest = json.loads((tmp_path / "site" / "digests" / "2026-07-31.json").read_text("utf-8"))
    assert post.read_text("utf-8").startswith("---\ntitle: ")
    assert len(digest["papers"]) == 10

    again = run_cli("run", "--date", "2026-07-31", "--api-base", replay.url, cwd=tmp_path)
    assert "2026-07-31: unchanged" in again.stdout
    assert "wrote nothing" in again.stdout


@pytest.mark.parametrize("where", ["before", "after"])
def test_run_in_english_with_top_n_into_a_chosen_folder(
    replay: ReplayServer, tmp_path: Path, where: str
) -> None:
    run = ["run", "--date", "2026-07-31", "--api-base", replay.url,
           "--out", str(tmp_path / "blog"), "--lang", "en", "--top", "3"]  # fmt: skip
    done = run_cli(*(["--json", *run] if where == "before" else [*run, "--json"]), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    assert summary["papers"] == 3
    post = (tmp_path / "blog" / "_posts" / "2026-07-31-hf-daily-papers.md").read_text("utf-8")
    assert "**3 papers** collected." in post


def test_an_empty_day_says_so(replay: ReplayServer, tmp_path: Path) -> None:
    done = run_cli("run", "--date", "2026-08-01", "--api-base", replay.url, cwd=tmp_path)
    assert done.returncode == 0
    assert "2026-08-01: empty (0 of 0 papers listed); wrote nothing" in done.stdout
    assert not (tmp_path / "site").exists()


BROKEN_TEMPLATES = {
    "syntax": "---\ntitle: x\n{% if %}\n",
    "undefined": "---\ntitle: x\n---\n{{ papers[0].no_such_field }}\n",
    "crash": "---\n{{ 1 // 0 }}\n",
}
ERRORS = [
    (["run", "--date", "2026-02-30"], 2, "invalid date '2026-02-30': day is out of range"),
    (["run", "--date", "2999-01-01"], 2, "day 2999-01-01 has not ended yet"),
    (["run", "--date", "2020-01-01"], 2, "before Hugging Face Daily Papers began"),
    (["run", "--top", "0"], 2, "--top='0' must be from 1 to 2,000"),
    (["run", "--top", "ten"], 2, "--top='ten' is not a whole number"),
    (["run", "--lang", "fr"], 2, "argument --lang: invalid choice: 'fr'"),
    (["run", "--out", "x", "--bucket", "y"], 2,
     "argument --bucket: not allowed with argument --out; see `papers-digest run --help`"),
    (["publish"], 2, "argument command: invalid choice: 'publish'"),
    (["run", "--bucket", ""], 2, "no bucket named: set DIGEST_BUCKET or pass --bucket"),
    (["run", "--out", ""], 2, "--out is empty; name a folder"),
    (["run", "--api-base", "huggingface.co"], 2,
     "--api-base='huggingface.co' is not an absolute http(s) URL"),
    (["run", "--api-base", "ftp://{host}"], 2, "is not an absolute http(s) URL"),
    (["run", "--api-base", "http://:80"], 2, "is not an absolute http(s) URL"),
    (["run", "--template-dir", "{tmp}/no-such-dir"], 2,
     "--template-dir='{tmp}/no-such-dir' is not a folder"),
    (["run", "--template-dir", "{tmp}/a-file"], 2, "is not a folder"),
    (["run", "--template-dir", "{tmp}/syntax"], 2,
     "template {tmp}/syntax/en/post.md.j2, line 3: Expected an expression"),
    (["run", "--template-dir", "{tmp}/undefined"], 2,
     "template {tmp}/undefined/en/post.md.j2, line 4: 'papers_digest.model.Paper object' has no "
     "attribute 'no_such_field'"),
    (["run", "--template-dir", "{tmp}/crash"], 1,
     "unexpected ZeroDivisionError; run again with --debug to see the traceback"),
    (["run", "--out", "{tmp}/a-file"], 1,
     "cannot read {tmp}/a-file/digests/2026-07-31.json: Not a directory; "
     "check that {tmp}/a-file is a folder you can write"),
    (["run", "--out", "/sys/papers-digest"], 1,
     "cannot write /sys/papers-digest/_posts/2026-07-31-hf-daily-papers.md: Operation not "
     "permitted; check that /sys/papers-digest is a folder you can write"),
    (["feed", "--out", "{tmp}/a-file"], 1, "cannot read {tmp}/a-file/state/feed-index.json"),
    (["run", "--refresh", "8"], 2, "--refresh='8' must be from 0 to 7"),
    (["run", "--refresh", "x"], 2, "--refresh='x' is not a whole number"),
    (["feed", "--from", "2026-07-01"], 2, "--from and --to go together, without --date"),
    (["feed", "--from", "2026-07-02", "--to", "2026-07-01"], 2, "--from 2026-07-02 is after"),
    (["feed", "--from", "0001-01-01", "--to", "2026-07-01"], 2, "before Hugging Face Daily Papers"),
]  # fmt: skip


@pytest.fixture
def user_files(tmp_path: Path) -> Path:
    """A file where a folder belongs, and template folders that break in different ways."""
    (tmp_path / "a-file").write_text("not a folder")
    for name, text in BROKEN_TEMPLATES.items():
        (tmp_path / name / "en").mkdir(parents=True)
        (tmp_path / name / "en" / "post.md.j2").write_text(text)
    return tmp_path


@pytest.mark.parametrize(("args", "code", "message"), ERRORS)
def test_bad_input_gives_a_one_line_reason(
    replay: ReplayServer,
    user_files: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    args: list[str],
    code: int,
    message: str,
) -> None:
    """In-process, for speed: an error that escaped `main` would fail the test here
    as it would print a traceback there (the subprocess tests below show the real stderr)."""
    host = replay.url.removeprefix("http://")
    given = [arg.format(tmp=user_files, host=host) for arg in args]
    defaults = {"--date": "2026-07-31", "--lang": "en", "--api-base": replay.url}
    if given[0] == "run":
        given += [part for flag, value in defaults.items() if flag not in given
                  for part in (flag, value)]  # fmt: skip
    monkeypatch.chdir(user_files)
    monkeypatch.delenv("PAPERS_DIGEST_DEBUG", raising=False)
    with pytest.raises(SystemExit) as exited:
        main(given)
    out, err = capsys.readouterr()
    assert exited.value.code == code
    assert err.startswith("papers-digest: error: ")
    assert message.format(tmp=user_files) in err
    assert err.count("\n") == 1
    assert out == ""


@pytest.mark.parametrize(
    ("args", "env", "traceback"),
    [
        (["--debug", "run"], {}, True),
        (["run", "--debug"], {}, True),
        (["run"], {"PAPERS_DIGEST_DEBUG": "1"}, True),
        (["run"], {"PAPERS_DIGEST_DEBUG": "0"}, False),
        (["run"], {}, False),
    ],
)
def test_debug_shows_the_traceback_before_the_one_line(
    tmp_path: Path, args: list[str], env: dict[str, str], traceback: bool
) -> None:
    done = run_cli(*args, "--api-base", "huggingface.co", cwd=tmp_path, env=env)
    assert done.returncode == 2
    last = "papers-digest: error: --api-base='huggingface.co' is not an absolute http(s) URL"
    assert done.stderr.splitlines()[-1].startswith(last)
    assert done.stderr.startswith("Traceback (most recent call last):\n") is traceback
    assert ("ConfigError" in done.stderr) is traceback


@pytest.mark.parametrize(
    ("fault", "message"),
    [
        (Canned(503, headers={"Retry-After": "0"}), "HTTP 503 after 5 attempts"),
        (Canned(200, b"<html>oops</html>"), "response is not valid JSON"),
    ],
)
def test_a_failing_source_exits_1_and_writes_nothing(
    replay: ReplayServer, tmp_path: Path, fault: Canned, message: str
) -> None:
    """The retries are the source's (its backoff is tested there); Retry-After: 0 keeps
    this run from sleeping through them."""
    replay.faults.extend([fault] * 5)
    done = run_cli("run", "--date", "2026-07-31", "--api-base", replay.url, cwd=tmp_path)
    assert done.returncode == 1
    assert done.stderr.startswith("papers-digest: error: ")
    assert message in done.stderr
    assert done.stderr.count("\n") == 1
    assert len(replay.requests) == (5 if fault.status == 503 else 1)
    assert not (tmp_path / "site").exists()


def test_run_and_feed_against_an_s3_endpoint(
    replay: ReplayServer, s3_server: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SITE_URL", "https://papers.example.com")
    done = run_cli(
        "run", "--date", "2026-07-31", "--bucket", BUCKET, "--api-base", replay.url, cwd=tmp_path
    )
    assert done.returncode == 0, done.stderr
    feed = run_cli("feed", "--date", "2026-07-31", "--bucket", BUCKET, cwd=tmp_path)
    assert feed.returncode == 0, feed.stderr
    assert feed.stdout.startswith("feeds published for 2026-07-31; wrote state/feed-index.json")
    span = ("--from", "2026-07-01", "--to", "2026-07-31")
    again = run_cli("feed", *span, "--bucket", BUCKET, "--json", cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    assert json.loads(again.stdout)["status"] == "unchanged"  # the same index, pages again

    s3 = s3_server
    keys = {entry["Key"] for entry in s3.list_objects_v2(Bucket=BUCKET)["Contents"]}
    assert keys == {
        "_posts/2026-07-31-hf-daily-papers.md",
        "digests/2026-07-31.json",
        "state/feed-index.json",
        *("feed.xml", "papers.xml", "atom.xml", "papers.atom", "feed.json", "papers.json"),
        *("index.html", "daily/2026-07-31.html", "archive/2026-07.html", "search.json"),
        *("assets/style.css", "assets/search.js"),
    }
    parsed = feedparser.parse(s3.get_object(Bucket=BUCKET, Key="feed.xml")["Body"].read())
    assert not parsed.bozo
    self_links = [link.href for link in parsed.feed.links if link.rel == "self"]
    assert self_links == ["https://papers.example.com/feed.xml"]


def test_the_cli_starts_without_fcntl(s3_server: Any, tmp_path: Path) -> None:
    """As on Windows, where there is no fcntl: `--bucket` needs no lock at all."""
    no_fcntl = (
        "import runpy, sys; sys.modules['fcntl'] = None; "
        "runpy.run_module('papers_digest', run_name='__main__')"
    )
    done = run_cli("feed", "--bucket", BUCKET, cwd=tmp_path, cli=[sys.executable, "-c", no_fcntl])
    assert (done.returncode, done.stderr) == (0, "")
    assert done.stdout.startswith("feeds ")


def test_feed_for_a_day_without_a_digest_says_what_to_do(tmp_path: Path) -> None:
    done = run_cli("feed", "--date", "2026-07-31", cwd=tmp_path)
    assert done.returncode == 1
    assert "no digest at site/digests/2026-07-31.json; run `papers-digest run --date" in done.stderr


@pytest.mark.parametrize(
    ("papers", "days", "said"),
    [
        (1, 1, "(1 paper from 1 day)"),
        (2, 1, "(2 papers from 1 day)"),
        (0, 0, "(0 papers from 0 days)"),
    ],
)
def test_a_rollup_summary_counts_in_the_singular_for_one(papers: int, days: int, said: str) -> None:
    from papers_digest.cli import _describe

    result = {"period": "2026-W31", "status": "created", "papers": papers, "days_read": days,
              "keys_written": [], "notes": []}  # fmt: skip
    assert said in _describe("rollup", result)
