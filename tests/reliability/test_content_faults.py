"""Hostile paper text, ids and URLs, end to end: the post builds under Jekyll's strict
front matter, the feeds parse cleanly, no markup from a paper goes live, the digest JSON
round-trips, and a hostile id or URL reaches no output at all."""

from __future__ import annotations

import copy
import html
import json
import xml.etree.ElementTree as ET
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from functools import partial
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import feedparser
import pytest
import yaml

from papers_digest import digest_handler, feed_handler
from papers_digest.keys import FEED_KEY, PAGE_KEY, PAPERS_FEED_KEY, digest_key, post_key
from papers_digest.markup import plain_text, xml_text
from papers_digest.model import Digest, clean_text
from papers_digest.pipeline import run_day
from papers_digest.render import digest_json
from papers_digest.settings import post_settings
from papers_digest.store import FolderStore
from tests import hostile
from tests.conftest import BUCKET, REAL_DAY, FakeLambdaContext, api_items, object_created
from tests.functional.test_jekyll import jekyll_build, visible_text
from tests.htmlcheck import live_markup
from tools.replay_server import ReplayServer

KEYS = (digest_key(REAL_DAY), post_key(REAL_DAY), FEED_KEY, PAPERS_FEED_KEY, PAGE_KEY)


def real_items() -> list[dict[str, Any]]:
    """The real day, highest upvotes first."""
    items = copy.deepcopy(api_items(REAL_DAY))
    return sorted(items, key=lambda item: -item["paper"]["upvotes"])


def text_items(text: str) -> list[dict[str, Any]]:
    """The real day, `text` in every text field of its top paper."""
    items = real_items()
    top = items[0]
    top["paper"]["title"] = f"T {text}"
    top["paper"]["summary"] = f"A {text}"
    top["paper"]["authors"] = [{"name": f"N {text}", "hidden": False}]
    top["organization"] = {"name": "org", "fullname": f"O {text}"}
    return items


def id_items() -> list[dict[str, Any]]:
    """Each hostile id on a copy of the top paper, titled `Hostile <n>`, then the real day."""
    items = real_items()
    bad = []
    for arxiv_id in hostile.IDS.values():
        copied = copy.deepcopy(items[0])
        copied["paper"]["id"] = arxiv_id
        copied["paper"]["title"] = f"Hostile {len(bad)}"
        bad.append(copied)
    return [*bad, *items]


URL_FIELDS = {  # where the API gives a URL, and the Paper attribute it becomes
    "githubRepo": (lambda item, url: item["paper"].update(githubRepo=url), "github_repo"),
    "projectPage": (lambda item, url: item["paper"].update(projectPage=url), "project_page"),
    "thumbnail": (lambda item, url: item.update(thumbnail=url), "thumbnail"),
}


def url_items(field: str) -> list[dict[str, Any]]:
    """One hostile URL per paper of the real day, in `field`."""
    items = real_items()
    for item, url in zip(items, hostile.URLS.values(), strict=False):
        URL_FIELDS[field][0](item, url)
    return items


# Every case whose post Jekyll builds: its items and the settings the run is given.
JEKYLL_CASES: dict[str, tuple[Callable[[], list[dict[str, Any]]], dict[str, str]]] = {
    **{f"text: {name}": (partial(text_items, text), {}) for name, text in hostile.TEXT.items()},
    "ids": (id_items, {}),
    **{f"url: {field}": (partial(url_items, field), {"TOP_N": "30"}) for field in URL_FIELDS},
}


class RecordedItems:
    def __init__(self, items: list[dict[str, Any]]) -> None:
        self.items = items

    def fetch_day(self, day: date) -> list[dict[str, Any]]:
        return self.items


@dataclass(frozen=True)
class Built:
    post: bytes  # the post the run writes
    page: str  # its page as Jekyll builds it


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Built]:
    """Every case's post, built by one Jekyll run (one per case would take a second each):
    each test checks that its run wrote the very post built here."""
    root = tmp_path_factory.mktemp("hostile-posts")
    source, posts = root / "site", {}
    for number, (name, (items, env)) in enumerate(JEKYLL_CASES.items()):
        store = FolderStore(root / "bucket" / str(number))
        run_day(REAL_DAY, source=RecordedItems(items()), store=store,
                settings=post_settings(env), now=datetime.now(UTC))  # fmt: skip
        posts[name] = (root / "bucket" / str(number) / post_key(REAL_DAY)).read_bytes()
        folder = source / "_posts" / f"case{number}"
        folder.mkdir(parents=True)
        (folder / Path(post_key(REAL_DAY)).name).write_bytes(posts[name])
    site = jekyll_build(source)
    return {
        name: Built(post, (site / "posts" / f"case{number}" / PAGE).read_text("utf-8"))
        for number, (name, post) in enumerate(posts.items())
    }


PAGE = f"{Path(post_key(REAL_DAY)).stem}/index.html"


def publish(
    items: list[dict[str, Any]], s3: Any, replay: ReplayServer, monkeypatch: pytest.MonkeyPatch
) -> tuple[dict[str, Any], dict[str, bytes]]:
    """Run the digest and the feed function on `items`; their summary and what they wrote."""
    monkeypatch.setenv("HF_API_BASE", replay.url)
    monkeypatch.setenv("SITE_URL", "https://papers.example.com")
    replay.days[REAL_DAY.isoformat()] = items
    summary = digest_handler.lambda_handler({"date": "2026-07-31"}, FakeLambdaContext())
    feed_handler.lambda_handler(object_created(digest_key(REAL_DAY)), FakeLambdaContext())
    read = {key: s3.get_object(Bucket=BUCKET, Key=key)["Body"].read() for key in KEYS}
    return summary, read


def check_outputs(read: dict[str, bytes], built: Built) -> tuple[Digest, str, Any]:
    """What holds for every day: the digest round-trips through the model byte for byte,
    the front matter gives the top title back, the post is the one Jekyll built strictly,
    the feeds parse without bozo, nothing anywhere is live markup and every link is
    absolute http(s) with a host. Returns the digest, the built page and the parsed
    papers feed."""
    digest = Digest.from_json(json.loads(read[digest_key(REAL_DAY)]))
    assert digest_json(digest).encode() == read[digest_key(REAL_DAY)]

    post = read[post_key(REAL_DAY)].decode("utf-8")
    front = yaml.safe_load(post.split("---\n", 2)[1])
    assert front["description"] == plain_text(digest.papers[0].title)
    assert read[post_key(REAL_DAY)] == built.post
    page = built.page
    assert live_markup(page) == []  # the layout prints page.description raw, too

    papers = feedparser.parse(read[PAPERS_FEED_KEY])
    assert not papers.bozo, papers.get("bozo_exception")
    assert papers.entries[0].published_parsed
    days = feedparser.parse(read[FEED_KEY])
    assert not days.bozo
    html_parts = [page]  # the site's pages (a script, images): tests/browser checks their DOM
    for feed in (read[PAPERS_FEED_KEY], read[FEED_KEY]):  # the HTML as stored, unsanitised
        html_parts += [item.text or "" for item in ET.fromstring(feed).iter("description")]
    for part in html_parts:
        assert live_markup(part) == []
        for link in map(urlsplit, link_targets(part)):
            assert link.scheme in {"http", "https"}, link
            assert link.hostname, link
    return digest, page, papers


def link_targets(page: str) -> list[str]:
    """Every href and src in an HTML page."""
    targets: list[str] = []

    class Links(HTMLParser):
        def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
            targets.extend(value or "" for name, value in attrs if name in {"href", "src"})

    Links().feed(page)
    return targets


def absent(value: str, read: dict[str, bytes]) -> None:
    """`value` appears in no object, in any of the forms the writers could give it."""
    forms = {value, html.escape(value), json.dumps(value)[1:-1], xml_text(value)}
    for key, body in read.items():
        text = body.decode("utf-8")
        assert not [form for form in forms if form in text], key


@pytest.mark.fault("content", "holds")
@pytest.mark.parametrize("text", hostile.TEXT.values(), ids=hostile.TEXT.keys())
def test_hostile_text_end_to_end(
    text: str,
    s3: Any,
    replay: ReplayServer,
    monkeypatch: pytest.MonkeyPatch,
    built: dict[str, Built],
) -> None:
    _, read = publish(text_items(text), s3, replay, monkeypatch)
    name = next(name for name, value in hostile.TEXT.items() if value == text)
    digest, page, papers = check_outputs(read, built[f"text: {name}"])

    title = clean_text(f"T {text}")
    assert digest.papers[0].title == title
    before_emphasis = title.split("*")[0]  # Markdown may format (not activate) the rest
    assert " ".join(before_emphasis.split()[:6]) in " ".join(visible_text(page).split())
    # Readers that take an RSS title as HTML see the same text and no tag.
    assert papers.entries[0].title == plain_text(title)
    assert "<" not in papers.entries[0].title


@pytest.mark.fault("content", "holds")
def test_hostile_ids_skip_their_items_end_to_end(
    s3: Any, replay: ReplayServer, monkeypatch: pytest.MonkeyPatch, built: dict[str, Built]
) -> None:
    """Each hostile id on a copy of the top paper: every copy is skipped with a warning
    (fewer than half the items are bad), the real papers publish, no id leaks."""
    items = id_items()
    summary, read = publish(items, s3, replay, monkeypatch)
    digest, _, _ = check_outputs(read, built["ids"])

    assert [reason.split(",")[0].split(" is ")[0] for reason in summary["skipped"]] == [
        f"item {position}: paper.id" for position in range(len(hostile.IDS))
    ]
    assert digest.papers_that_day == len(items) - len(hostile.IDS)
    assert digest.papers[0].arxiv_id == real_items()[0]["paper"]["id"]
    for arxiv_id in filter(None, hostile.IDS.values()):
        absent(arxiv_id, read)
    absent("Hostile", read)


@pytest.mark.fault("content", "holds")
@pytest.mark.parametrize(
    "field", URL_FIELDS, ids=[f"hostile URLs in {field}, dropped" for field in URL_FIELDS]
)
def test_hostile_urls_are_dropped_end_to_end(
    field: str,
    s3: Any,
    replay: ReplayServer,
    monkeypatch: pytest.MonkeyPatch,
    built: dict[str, Built],
) -> None:
    """One hostile URL per paper in one URL field, every paper in the post: each paper
    is kept without it, and no hostile URL reaches an output."""
    monkeypatch.setenv("TOP_N", "30")
    items = url_items(field)
    summary, read = publish(items, s3, replay, monkeypatch)
    digest, _, _ = check_outputs(read, built[f"url: {field}"])

    assert summary["skipped"] == []
    assert len(summary["dropped"]) == len(hostile.URLS)
    assert len(digest.papers) == len(items)
    attribute = URL_FIELDS[field][1]
    assert [getattr(paper, attribute) for paper in digest.papers[: len(hostile.URLS)]] == [
        None
    ] * len(hostile.URLS)
    for url in hostile.URLS.values():
        if url != "http://":  # the start of many a good link; check_outputs checks links
            absent(url, read)


BAD = "\ud800\x07"
BAD_STRINGS = {
    "githubRepo": lambda item: item["paper"].update(githubRepo=f"https://github.com/a/b{BAD}"),
    "projectPage": lambda item: item["paper"].update(projectPage=f"https://a.example/{BAD}"),
    "thumbnail": lambda item: item.update(thumbnail=f"https://a.example/t.png{BAD}"),
    "publishedAt": lambda item: item["paper"].update(publishedAt=f"2026-07-29T00:00:00Z{BAD}"),
    "submittedOnDailyAt": lambda item: item["paper"].update(
        submittedOnDailyAt=f"2026-07-31T00:00:00.000Z{BAD}"
    ),
    "organization": lambda item: item.update(organization={"fullname": f"Org {BAD}"}),
    "authors": lambda item: item["paper"].update(authors=[{"name": f"A {BAD}", "hidden": False}]),
    "ai_keywords": lambda item: item["paper"].update(ai_keywords=[f"kw {BAD}"]),
}


@pytest.mark.fault("content", "holds")
@pytest.mark.parametrize(
    "spoil", BAD_STRINGS.values(), ids=[f"a lone surrogate in {key}" for key in BAD_STRINGS]
)
def test_a_bad_character_in_any_api_string_loses_neither_post_nor_digest(
    spoil: Callable[[dict[str, Any]], None],
    s3: Any,
    replay: ReplayServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A lone surrogate and a control character in any string the API gives: the run
    writes the post and the digest, both valid UTF-8, and the paper is kept."""
    items = real_items()
    spoil(items[0])
    monkeypatch.setenv("HF_API_BASE", replay.url)
    replay.days[REAL_DAY.isoformat()] = items
    summary = digest_handler.lambda_handler({"date": "2026-07-31"}, FakeLambdaContext())

    assert summary["keys_written"] == [post_key(REAL_DAY), digest_key(REAL_DAY)]
    post, stored = (
        s3.get_object(Bucket=BUCKET, Key=key)["Body"].read().decode("utf-8")
        for key in (post_key(REAL_DAY), digest_key(REAL_DAY))
    )
    digest = Digest.from_json(json.loads(stored))
    assert digest.papers[0].arxiv_id == items[0]["paper"]["id"]
    assert "\x07" not in post
    assert "\\u0007" not in stored  # JSON would escape what cleaning left
