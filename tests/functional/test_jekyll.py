"""Several days of posts built into one real Chirpy blog (tests/chirpy.py): each post on
its own page, its title and description shown as plain text, the theme's Atom feed and
sitemap listing each post once."""

from __future__ import annotations

import html
import re
import shutil
import xml.etree.ElementTree as ET
from collections import Counter
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import feedparser
import pytest

from papers_digest.keys import post_key, rollup_post_key
from papers_digest.model import Digest, Paper, clean_text, parse_day_response, rank
from papers_digest.pipeline import run_day
from papers_digest.render import render_post, render_rollup_post
from papers_digest.rollup import TOP_COUNTS, Period, roll_up
from papers_digest.rollups import build_rollup
from papers_digest.settings import PostSettings, post_settings
from papers_digest.store import FolderStore
from tests import hostile
from tests.chirpy import Page, build, stub_site
from tests.conftest import REAL_DAY, SEED_DAY, api_items
from tests.htmlcheck import live_markup
from tests.rollup_month import SETTINGS as ROLLUP_SETTINGS
from tests.rollup_month import publish_month

pytestmark = pytest.mark.jekyll

NOW = datetime(2026, 8, 1, tzinfo=UTC)
# The hostile corpus as one day's paper titles, the tags first: its title is the post's
# description.
HOSTILE = sorted(map(clean_text, hostile.TEXT.values()), key=lambda text: "<script" not in text)
HOSTILE_DAY = date(2026, 7, 30)
KO = PostSettings(author="lim4349")
EN = PostSettings(lang="en")
REAL = rank(parse_day_response(api_items(REAL_DAY), REAL_DAY).papers, 10)
SEED = rank(parse_day_response(api_items(SEED_DAY), SEED_DAY).papers, 10)


@dataclass(frozen=True)
class Expected:
    """A post as the blog must show it."""

    day: date  # of its date (UTC)
    path: str
    description: str  # as the reader sees it
    heading: str | None = None  # a roll-up's title

    @property
    def title(self) -> str:
        return self.heading or f"Hugging Face Daily Papers - {self.day.isoformat()}"


POSTS = [
    Expected(SEED_DAY, "/posts/hf-daily-papers-2026-01-28/", SEED[0].title),
    Expected(REAL_DAY, "/posts/hf-daily-papers-2026-07-31/", REAL[0].title),
    Expected(HOSTILE_DAY, "/posts/hf-daily-papers-2026-07-30/",
             HOSTILE[0].replace("<", "＜").replace(">", "＞")),
    Expected(date(2026, 7, 29), "/posts/hf-daily-papers-2026-07-29/", REAL[0].title),
    Expected(date(2026, 7, 28), "/posts/daily-papers-2026-07-28/", REAL[0].title),
]  # fmt: skip
# The roll-ups of tests/rollup_month.py's July (daily top 3): the month in Korean, its
# last week in English, dated the morning after each closes.
MONTH, WEEK = Period.parse("2026-07"), Period.parse("2026-W31")
ROLLUPS = [
    Expected(date(2026, 8, 1), "/posts/hf-monthly-papers-2026-07/", REAL[0].title, MONTH.title),
    Expected(date(2026, 8, 3), "/posts/hf-weekly-papers-2026-w31/", REAL[0].title, WEEK.title),
]
# The hostile corpus as a week's titles, organizations and AI keywords, in each language.
HOSTILE_WEEKS = {"ko": Period.parse("2026-W30"), "en": Period.parse("2026-W29")}
HOSTILE_ROLLUPS = [
    Expected(period.end + timedelta(days=1), f"/posts/{period.slug}/",
             HOSTILE[0].replace("<", "＜").replace(">", "＞"), period.title)
    for period in HOSTILE_WEEKS.values()
]  # fmt: skip
# A day published on the morning W31's roll-up is dated: the two share their `date`.
NEXT_DAY = Expected(date(2026, 8, 3), "/posts/hf-daily-papers-2026-08-03/", REAL[0].title)
EVERY = POSTS + ROLLUPS + HOSTILE_ROLLUPS + [NEXT_DAY]
SMART_QUOTES = str.maketrans({"\u2018": "'", "\u2019": "'", "\u201c": '"', "\u201d": '"'})


def plain(text: str) -> str:
    """Text as written, with kramdown's typographic quotes made plain again."""
    return " ".join(text.translate(SMART_QUOTES).split())


def visible_text(page: str) -> str:
    return plain(html.unescape(re.sub(r"<[^>]+>", "", page)))


# A bare site whose layout prints `description` raw, for the reliability suite's hostile
# texts, stricter than a theme that escapes it. Each post at /posts/<its path in _posts>/.
CONFIG = """\
title: Test blog
permalink: /posts/:path/
defaults:
  - scope: {path: ""}
    values: {layout: post}
"""
LAYOUT = """\
<!DOCTYPE html>
<html><head><title>{{ page.title | escape }}</title>
<meta name="description" content="{{ page.description }}"></head>
<body><h1 class="post-title">{{ page.title | escape }}</h1>
<article>{{ content }}</article></body></html>
"""


def jekyll_build(source: Path) -> Path:
    """Build the posts in `source` with the bare layout; the output folder."""
    (source / "_config.yml").write_text(CONFIG, encoding="utf-8")
    (source / "_layouts").mkdir(exist_ok=True)
    (source / "_layouts" / "post.html").write_text(LAYOUT, encoding="utf-8")
    build(source, source / "_site", configs=[source / "_config.yml"])
    return source / "_site"


class FixtureSource:
    """The recorded API responses, as the pipeline's source."""

    def fetch_day(self, day: date) -> list[Any]:
        return api_items(day)


def write_post(site: Path, day: date, papers: tuple[Paper, ...], settings: PostSettings) -> None:
    digest = Digest(day, papers, len(papers), settings.publish_datetime(day), NOW)
    (site / post_key(day)).write_text(render_post(digest, settings), encoding="utf-8")


@dataclass(frozen=True)
class Blog:
    out: Path
    log: str
    posts: int  # in the site's _posts

    def page(self, path: str) -> str:
        return (self.out / path.strip("/") / "index.html").read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def blog(tmp_path_factory: pytest.TempPathFactory) -> Blog:
    """One build for every check: the recorded days through the pipeline (ko and en), a
    hostile day, a day of real papers, and one with a POST_PERMALINK, next to the theme's
    own sample posts."""
    root = tmp_path_factory.mktemp("chirpy")
    site = stub_site(root / "site")
    bucket = FolderStore(root / "bucket")
    for day, settings in [(SEED_DAY, KO), (REAL_DAY, EN)]:
        run_day(day, source=FixtureSource(), store=bucket, settings=settings, now=NOW)
    for day in (SEED_DAY, REAL_DAY):
        shutil.copy(root / "bucket" / post_key(day), site / post_key(day))
    hostile = tuple(
        Paper(arxiv_id=f"2607.{i:05d}", title=title, abstract=f"Abstract: {title}",
              upvotes=len(HOSTILE) - i, organization=title)
        for i, title in enumerate(HOSTILE)
    )  # fmt: skip
    write_post(site, HOSTILE_DAY, hostile, KO)
    write_post(site, date(2026, 7, 29), REAL, KO)
    moved = post_settings({"POST_LANG": "en", "POST_PERMALINK": "/posts/daily-papers-{date}/"})
    write_post(site, date(2026, 7, 28), REAL[:3], moved)
    july = FolderStore(root / "july")
    publish_month(july)
    for period, settings in ((MONTH, ROLLUP_SETTINGS), (WEEK, replace(ROLLUP_SETTINGS, lang="en"))):
        built = build_rollup(july, period, settings, NOW)
        (post,) = [key for key in built.keys_written if key.startswith("_posts/")]
        shutil.copy(root / "july" / post, site / post)
    write_post(site, NEXT_DAY.day, REAL[:3], KO)
    for lang, period in HOSTILE_WEEKS.items():
        tagged = tuple(replace(paper, ai_keywords=(paper.title,)) for paper in hostile)
        day = period.start + timedelta(days=2)
        digest = Digest(day, tagged, len(tagged), KO.publish_datetime(day), NOW)
        published = KO.publish_datetime(period.end + timedelta(days=1))
        rollup = roll_up(period, [digest], top_n=len(hostile), lang=lang, generated_at=NOW,
                         published_at=published)  # fmt: skip
        assert rollup is not None
        post = render_rollup_post(rollup, KO)
        (site / rollup_post_key(period.id, period.end)).write_text(post, encoding="utf-8")
    posts = len(list((site / "_posts").glob("*.md")))
    return Blog(root / "out", build(site, root / "out"), posts)


def test_the_build_reports_no_conflict_or_warning(blog: Blog) -> None:
    assert not re.search(r"conflict|warn|shared by multiple|deprecat", blog.log, re.I), blog.log
    pages = list(blog.out.glob("posts/*/index.html"))
    assert len(pages) == blog.posts == len(EVERY) + 3  # with the theme's 3 sample posts


@pytest.mark.parametrize("post", EVERY, ids=lambda post: post.path)
def test_each_post_has_its_own_page_with_plain_title_and_description(
    blog: Blog, post: Expected
) -> None:
    page = Page(blog.page(post.path))
    assert page.headings[0] == (None, post.title)
    assert page.title.split(" | ")[0] == post.title
    assert page.meta["og:title"] == post.title
    assert page.json_ld["url"] == page.meta["og:url"]
    assert page.meta["og:url"].endswith(post.path)
    # jekyll-seo-tag renders it as Markdown, strips tags and HTML-escapes it, for the
    # JSON-LD too (where `&` stays `&amp;` for any description).
    json_ld = html.unescape(str(page.json_ld["description"]))
    descriptions = [page.meta["description"], page.meta["og:description"], json_ld]
    assert [plain(text) for text in descriptions] == [plain(post.description)] * 3
    assert live_markup(page.content) == []


def home_pages(blog: Blog) -> list[str]:
    """The home page and the pages its pagination adds (`/page2/`, ...), in order."""
    pages = [blog.out / "index.html"]
    while (blog.out / f"page{len(pages) + 1}" / "index.html").is_file():
        pages.append(blog.out / f"page{len(pages) + 1}" / "index.html")
    return [page.read_text(encoding="utf-8") for page in pages]


def test_the_home_page_lists_each_post_once_by_title(blog: Blog) -> None:
    pages = home_pages(blog)
    cards = Counter(heading for page in pages for heading in Page(page).headings)
    for post in EVERY:
        assert cards[(post.path, post.title)] == 1
    for page in pages:
        listing = page.split('id="post-list"')[1]
        assert live_markup(listing.split('class="pagination')[0]) == []


def test_a_roll_up_sits_between_its_period_s_last_day_and_the_next(blog: Blog) -> None:
    """Newest first: a roll-up is dated the morning after its period, like the next day's
    post; Jekyll orders posts of one date by their file, named by the period's last day."""
    ours = {post.path for post in EVERY}
    shown = [path for page in home_pages(blog) for path, _ in Page(page).headings if path in ours]
    assert shown == [
        "/posts/hf-daily-papers-2026-08-03/",
        "/posts/hf-weekly-papers-2026-w31/",  # 08-03 09:15, as the day above
        "/posts/hf-monthly-papers-2026-07/",
        "/posts/hf-daily-papers-2026-07-31/",
        "/posts/hf-daily-papers-2026-07-30/",
        "/posts/hf-daily-papers-2026-07-29/",
        "/posts/daily-papers-2026-07-28/",
        "/posts/hf-weekly-papers-2026-w30/",
        "/posts/hf-weekly-papers-2026-w29/",
        "/posts/hf-daily-papers-2026-01-28/",
    ]


def test_hostile_text_in_a_roll_up_shows_as_written_and_runs_nothing(blog: Blog) -> None:
    for period in HOSTILE_WEEKS.values():
        body = Page(blog.page(f"/posts/{period.slug}/")).content
        assert "{{ site.title }}" in body  # not run as Liquid
        assert "{% raw %}" in body
        assert "MrTishca" not in body  # the theme's site title
        assert live_markup(body) == []
        shown = visible_text(body)
        # Each title shows as a title and an organization in the ranking, and the first
        # TOP_COUNTS by name (each counts one paper) in the organizations and keywords too.
        counted = sorted(HOSTILE)[:TOP_COUNTS]
        for title in HOSTILE:
            unformatted = plain(re.split("[*`]", title)[0])[:200]
            assert shown.count(unformatted) >= (4 if title in counted else 2), unformatted


def test_the_atom_feed_lists_each_post_once(blog: Blog) -> None:
    feed = feedparser.parse((blog.out / "feed.xml").read_bytes(), sanitize_html=False)
    assert not feed.bozo, feed.bozo_exception
    # Chirpy's feed holds the 5 newest posts: the two roll-ups and three days (08-03 and
    # W31's roll-up share their date: the day's file sorts after the roll-up's).
    newest_first = [NEXT_DAY, ROLLUPS[1], ROLLUPS[0], POSTS[1], POSTS[2]]
    assert [entry.title for entry in feed.entries] == [post.title for post in newest_first]
    ids = [entry.id for entry in feed.entries]
    assert len(set(ids)) == 5
    assert all(i.endswith(post.path) for i, post in zip(ids, newest_first, strict=True))
    assert [entry.link for entry in feed.entries] == ids
    week, month, real, hostile_day = feed.entries[1:5]
    for entry, published in ((week, datetime(2026, 8, 3, 0, 15, tzinfo=UTC)),
                             (month, datetime(2026, 8, 1, 0, 15, tzinfo=UTC)),
                             (real, datetime(2026, 7, 31, 0, 15, tzinfo=UTC))):  # fmt: skip
        assert datetime(*entry.published_parsed[:6], tzinfo=UTC) == published
    assert [tag.term for tag in hostile_day.tags] == ["Daily Papers", "일간"]
    assert [tag.term for tag in month.tags] == ["Monthly Papers", "월간"]
    assert [tag.term for tag in week.tags] == ["Weekly Papers", "Weekly"]
    for entry in feed.entries:
        assert live_markup(entry.summary) == []


def test_the_sitemap_lists_each_post_once(blog: Blog) -> None:
    namespace = {"s": "http://www.sitemaps.org/schemas/sitemap/0.9"}
    tree = ET.parse(blog.out / "sitemap.xml")
    urls = Counter(loc.text or "" for loc in tree.findall("s:url/s:loc", namespace))
    assert max(urls.values()) == 1
    for post in EVERY:
        assert sum(url.endswith(post.path) for url in urls) == 1


def test_real_days_show_their_papers(blog: Blog) -> None:
    ko = Page(blog.page("/posts/hf-daily-papers-2026-07-29/")).content
    assert "총 <strong>10개</strong>의 논문이 수집되었습니다." in ko
    for paper in REAL:
        assert plain(paper.title) in visible_text(ko)
        assert f'href="{paper.hf_url}"' in ko
    assert ko.count("<li>") >= 10
    en = Page(blog.page("/posts/hf-daily-papers-2026-07-31/")).content
    assert "<strong>10 papers</strong> collected." in en
    seed = Page(blog.page("/posts/hf-daily-papers-2026-01-28/")).content
    assert "Q&amp;A assessing" in seed
    assert r"\textbf{On-Demand Communication (ODC)}" in seed
    assert "기관: ByteDance Seed" in visible_text(seed)


def test_hostile_text_shows_as_written_and_runs_nothing(blog: Blog) -> None:
    body = Page(blog.page("/posts/hf-daily-papers-2026-07-30/")).content
    assert "{{ site.title }}" in body  # not run as Liquid
    assert "{% raw %}" in body
    assert "MrTishca" not in body  # the theme's site title
    shown = visible_text(body)
    for title in HOSTILE:
        unformatted = re.split("[*`]", title)[0]  # Markdown may format (not activate) the rest
        assert plain(unformatted)[:200] in shown
    assert "[a](javascript:alert(1))" in shown


def test_roll_ups_show_their_ranking_and_statistics(blog: Blog) -> None:
    month = Page(blog.page("/posts/hf-monthly-papers-2026-07/")).content
    shown = visible_text(month)
    assert "2026-07-01 ~ 2026-07-31 한 달 동안 41개의 논문이 소개되었습니다." in shown
    assert "좋아요 합계: 1451, 논문당 평균 35.4" in shown
    assert "수집된 날: 31일 중 5일" in shown
    assert "소개된 날: 2026-07-14, 2026-07-31" in shown  # the paper featured twice, once
    assert "2026-W30: Paper 2607.21001 - 👍 13" in shown
    assert "Kling Team: 4편" in shown
    assert "LLM: 3편" in shown
    assert month.count('href="https://huggingface.co/papers/') == 8 + 5  # ranking, weeks
    week = Page(blog.page("/posts/hf-weekly-papers-2026-w31/")).content
    assert "30 papers featured from 2026-07-27 to 2026-08-02." in visible_text(week)
    assert "Days collected: 1 of 7" in visible_text(week)
    assert "Top paper of each week" not in week
    assert live_markup(month) == live_markup(week) == []
