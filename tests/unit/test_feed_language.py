"""The feeds and the page speak the language of the posts, and say so."""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import replace
from datetime import date
from html.parser import HTMLParser
from pathlib import Path

import feedparser
import pytest

from papers_digest.cli import main
from papers_digest.feed_index import empty_index, merge_digest
from papers_digest.model import Digest
from papers_digest.page import render_page
from papers_digest.render import digest_json
from papers_digest.rss import render_day_feed, render_papers_feed
from papers_digest.settings import FeedSettings
from tests.digests import digest_for
from tools.replay_server import ReplayServer

DAY = date(2026, 7, 31)


@pytest.mark.parametrize(
    ("post_lang", "setting", "expected", "feeds_label"),
    [
        ("en", "ko", "en", "Feeds: "),  # the digests say en: the setting does not matter
        ("ko", "en", "ko", "피드: "),
        (None, "en", "en", "Feeds: "),  # digests from before `lang`: the setting decides
    ],
)
def test_feeds_and_page_take_the_language_of_the_newest_post(
    post_lang: str | None, setting: str, expected: str, feeds_label: str
) -> None:
    settings = FeedSettings(site_url="https://papers.example.com", language=setting)
    older = replace(digest_for(date(2026, 7, 30)), lang="ko" if post_lang == "en" else "en")
    index = merge_digest(empty_index(), older, settings)
    index = merge_digest(index, replace(digest_for(DAY), lang=post_lang), settings)

    for render in (render_day_feed, render_papers_feed):
        parsed = feedparser.parse(render(index, settings))
        assert not parsed.bozo
        assert parsed.feed.language == expected
    page = Langs()
    page.feed(render_page(index, settings).decode())
    assert page.langs["html"] == [expected]
    assert feeds_label in page.text
    # Paper titles are English: a Korean page marks its lists so.
    assert set(page.langs["ol"]) == {None if expected == "en" else "en"}


class Langs(HTMLParser):
    """The `lang` of every element, by tag, and the page's text."""

    def __init__(self) -> None:
        super().__init__()
        self.langs: dict[str, list[str | None]] = defaultdict(list)
        self.text = ""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.langs[tag].append(dict(attrs).get("lang"))

    def handle_data(self, data: str) -> None:
        self.text += data


def test_feed_after_run_lang_en_writes_english_feeds(
    replay: ReplayServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("POST_LANG", raising=False)
    out = str(tmp_path / "site")
    run = ["run", "--date", "2026-07-31", "--lang", "en", "--api-base", replay.url, "--out", out]
    assert main(run) == 0
    assert main(["feed", "--out", out]) == 0
    feed = (tmp_path / "site" / "feed.xml").read_bytes()
    assert b"<language>en</language>" in feed
    assert b'<html lang="en">' in (tmp_path / "site" / "index.html").read_bytes()


@pytest.mark.parametrize(("lang", "kept"), [("en", "en"), ("ko", "ko"), (None, None)])
def test_the_digest_records_the_post_language(lang: str | None, kept: str | None) -> None:
    digest = replace(digest_for(DAY), lang=lang)
    data = json.loads(digest_json(digest))
    assert data.get("lang") == kept
    assert Digest.from_json(data).lang == kept


def test_a_stored_digest_in_another_language_is_refused() -> None:
    data = {**json.loads(digest_json(digest_for(DAY))), "lang": "fr"}
    with pytest.raises(ValueError, match=r"^lang is 'fr', not one of ko, en$"):
        Digest.from_json(data)
