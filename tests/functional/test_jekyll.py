"""Generated posts built by the real Jekyll with --strict_front_matter."""

from __future__ import annotations

import html
import re
import shutil
import subprocess
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from papers_digest.keys import post_key
from papers_digest.model import Digest, Paper, parse_day_response, rank
from papers_digest.render import render_post
from papers_digest.settings import PostSettings
from tests.conftest import REAL_DAY, SEED_DAY, api_items

pytestmark = pytest.mark.jekyll

CONFIG = """\
title: Test blog
permalink: /posts/:year-:month-:day/
defaults:
  - scope: {path: ""}
    values: {layout: post}
"""
LAYOUT = """\
<!DOCTYPE html>
<html><head><title>{{ page.title | escape }}</title>
<meta name="description" content="{{ page.description }}"></head>
<body><h1 class="post-title">{{ page.title | escape }}</h1>
<p class="meta">{{ page.date | date: "%Y-%m-%d %H:%M %z" }} {{ page.author }}
{{ page.categories | join: "|" }}</p>
<article>{{ content }}</article></body></html>
"""

HOSTILE = [
    'Say "hi": {{ site.title }} {% raw %} #1',
    "<script>alert('x')</script> & <img src=x onerror=alert(1)>",
    "[bracket] @at ]]> \u202eRTL עברית 🤗",
    '[click](javascript:alert(1)) ![x](https://x.test/x.png) *em*{: onclick="alert(1)"}',
]


SMART_QUOTES = str.maketrans({"\u2018": "'", "\u2019": "'", "\u201c": '"', "\u201d": '"'})


def visible_text(page: str) -> str:
    """What a reader sees, with kramdown's typographic quotes made plain again."""
    return html.unescape(re.sub(r"<[^>]+>", "", page)).translate(SMART_QUOTES)


def jekyll_build(source: Path) -> Path:
    jekyll = shutil.which("jekyll")
    if jekyll is None:
        pytest.fail("jekyll is not installed: run `apt-get install jekyll` (tests/run does)")
    (source / "_config.yml").write_text(CONFIG, encoding="utf-8")
    (source / "_layouts").mkdir(exist_ok=True)
    (source / "_layouts" / "post.html").write_text(LAYOUT, encoding="utf-8")
    out = source / "_site"
    done = subprocess.run(
        [jekyll, "build", "--strict_front_matter", "--safe", "-s", str(source), "-d", str(out)],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    return out


def write_post(source: Path, digest: Digest, settings: PostSettings) -> None:
    path = source / post_key(digest.day)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render_post(digest, settings), encoding="utf-8")


def digest_of(
    day_papers: tuple[Paper, ...], settings: PostSettings, day: date = REAL_DAY
) -> Digest:
    generated = datetime(2026, 8, 1, tzinfo=UTC)
    return Digest(day, day_papers, len(day_papers), settings.publish_datetime(day), generated)


def test_real_and_hostile_posts_build_with_the_right_text(tmp_path: Path) -> None:
    settings = PostSettings(author="lim4349")
    real = rank(parse_day_response(api_items(REAL_DAY), REAL_DAY).papers, 10)
    write_post(tmp_path, digest_of(real, settings), settings)
    seed = rank(parse_day_response(api_items(SEED_DAY), SEED_DAY).papers, 10)
    write_post(tmp_path, digest_of(seed, settings, SEED_DAY), settings)
    hostile_day = REAL_DAY.replace(day=30)
    hostile = tuple(
        Paper(arxiv_id=f"2607.0000{i}", title=title, abstract=f"Abstract: {title}", upvotes=9 - i,
              organization=title)
        for i, title in enumerate(HOSTILE)
    )  # fmt: skip
    write_post(tmp_path, digest_of(hostile, settings, hostile_day), settings)

    out = jekyll_build(tmp_path)
    pages = {p.parent.name: p.read_text("utf-8") for p in out.glob("posts/*/index.html")}
    assert set(pages) == {"2026-07-31", "2026-07-30", "2026-01-28"}

    page = pages["2026-07-31"]
    assert "<title>Hugging Face Daily Papers - 2026-07-31</title>" in page
    assert "2026-07-31 00:15 +0000 lim4349" in page  # 09:15 +0900, shown in the site's UTC
    assert "Daily Papers|일간" in page
    assert "총 <strong>10개</strong>의 논문이 수집되었습니다." in page
    for paper in real:
        assert paper.title in visible_text(page)
        assert f'href="{paper.hf_url}"' in page
    assert page.count("<li>") >= 10

    seed_page = pages["2026-01-28"]
    assert "Q&amp;A assessing" in seed_page
    assert r"\textbf{On-Demand Communication (ODC)}" in seed_page
    assert "기관: ByteDance Seed</li>" in seed_page or "기관: ByteDance Seed\n" in seed_page

    hostile_page = pages["2026-07-30"]
    body = hostile_page.split("<article>", 1)[1]
    head = hostile_page.split("<body>", 1)[0]  # the layout prints page.description raw
    assert not re.search(r"<script|<img", head, re.IGNORECASE)
    assert "{{ site.title }}" in body  # not run as Liquid
    assert "{% raw %}" in body
    assert "Test blog" not in body
    live = r"<script|<img|<a href=\"javascript|<[^>]*\bonclick"
    assert not re.search(live, body, re.IGNORECASE)  # no live markup from a paper
    for title in HOSTILE[:3]:
        assert title in visible_text(body)
    assert "[click](javascript:alert(1))" in visible_text(body)
