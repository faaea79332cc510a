"""`papers-digest` as a user runs it: a subprocess against a local replay server."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import feedparser
import pytest

from tests.conftest import BUCKET
from tests.replay_server import ReplayServer

CLI = [sys.executable, "-m", "papers_digest.cli"]


def run_cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*CLI, *args], cwd=cwd, capture_output=True, text=True, timeout=60, check=False
    )


def test_console_script_is_installed() -> None:
    assert shutil.which("papers-digest", path=str(Path(sys.executable).parent))


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


def test_run_in_english_with_top_n_into_a_chosen_folder(
    replay: ReplayServer, tmp_path: Path
) -> None:
    done = run_cli(
        "--json", "run", "--date", "2026-07-31", "--api-base", replay.url,
        "--out", str(tmp_path / "blog"), "--lang", "en", "--top", "3",
        cwd=tmp_path,
    )  # fmt: skip
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


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["run", "--date", "2026-02-30"], 2, "invalid date '2026-02-30': day is out of range"),
        (["run", "--date", "2999-01-01"], 2, "day 2999-01-01 has not ended yet"),
        (["run", "--date", "2020-01-01"], 2, "before Hugging Face Daily Papers began"),
        (["run", "--top", "0"], 2, "TOP_N='0' must be at least 1"),
        (["run", "--date", "2026-07-31", "--api-base", "http://127.0.0.1:9"], 1,
         "cannot connect"),
    ],
)  # fmt: skip
def test_bad_input_gives_a_one_line_reason(
    tmp_path: Path, args: list[str], code: int, message: str
) -> None:
    done = run_cli(*args, cwd=tmp_path)
    assert done.returncode == code
    assert done.stderr.startswith("papers-digest: error: ")
    assert message in done.stderr
    assert done.stderr.count("\n") == 1
    assert "Traceback" not in done.stderr


def test_a_malformed_response_exits_non_zero(replay: ReplayServer, tmp_path: Path) -> None:
    from tests.replay_server import Canned

    replay.faults.append(Canned(200, b"<html>oops</html>"))
    done = run_cli("run", "--date", "2026-07-31", "--api-base", replay.url, cwd=tmp_path)
    assert done.returncode == 1
    assert "response is not valid JSON" in done.stderr
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

    s3 = s3_server
    keys = {entry["Key"] for entry in s3.list_objects_v2(Bucket=BUCKET)["Contents"]}
    assert keys == {
        "_posts/2026-07-31-hf-daily-papers.md",
        "digests/2026-07-31.json",
        "state/feed-index.json",
        "feed.xml",
        "papers.xml",
        "index.html",
    }
    parsed = feedparser.parse(s3.get_object(Bucket=BUCKET, Key="feed.xml")["Body"].read())
    assert not parsed.bozo
    self_links = [link.href for link in parsed.feed.links if link.rel == "self"]
    assert self_links == ["https://papers.example.com/feed.xml"]


def test_feed_for_a_day_without_a_digest_says_what_to_do(tmp_path: Path) -> None:
    done = run_cli("feed", "--date", "2026-07-31", cwd=tmp_path)
    assert done.returncode == 1
    assert "no digest at site/digests/2026-07-31.json; run `papers-digest run --date" in done.stderr
