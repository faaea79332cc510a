"""Hostile paper text, end to end: the post builds under Jekyll's strict front matter, the
feeds parse cleanly, no markup from a paper goes live, and the digest JSON round-trips."""

from __future__ import annotations

import copy
import json
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import feedparser
import pytest
import yaml

from papers_digest import digest_handler, feed_handler
from papers_digest.keys import FEED_KEY, PAGE_KEY, PAPERS_FEED_KEY, digest_key, post_key
from papers_digest.markup import plain_text
from papers_digest.model import Digest, clean_text
from papers_digest.render import digest_json
from tests.conftest import BUCKET, REAL_DAY, FakeLambdaContext, api_items, object_created
from tests.functional.test_jekyll import jekyll_build, visible_text
from tests.htmlcheck import live_markup
from tests.replay_server import ReplayServer

HOSTILE = {
    "YAML metacharacters": "Key: value # not a comment [a, b] {c: d} &anchor *alias !tag | > @at",
    "quotes and backslashes": '"double" \'single\' back\\slash \\" \\n',
    "Liquid tags": "{{ site.title }} {% include evil.html %} {{ 'x' | upcase }} {% raw %}",
    "HTML and script tags": "<script>alert(1)</script><img src=x onerror=alert(2)><b>b</b>",
    "Markdown links and attributes": "[a](javascript:alert(1)) ![i](https://x.test/i.png) "
    '*e*{: onclick="alert(3)"}',
    "CDATA end": "]]> <![CDATA[ <x> ]]>",
    "NUL and control characters": "nul\x00 bell\x07 esc\x1b del\x7f c1\x85 tab\t end",
    "lone surrogates": "lone \ud800 high and \udfff low",
    "very long strings": "Long title " * 5000,
    "emoji": "Emoji 🤗🧪 👩‍🔬 family 👨‍👩‍👧 flags 🇰🇷",
    "right-to-left text": "RTL \u05e9\u05dc\u05d5\u05dd \u0627\u0644\u0639\u0631\u0628\u064a\u0629 "
    "\u202eoverride\u202c",
}


def hostile_day(text: str) -> list[dict[str, Any]]:
    items = copy.deepcopy(api_items(REAL_DAY))
    top = max(items, key=lambda item: item["paper"]["upvotes"])
    top["paper"]["title"] = f"T {text}"
    top["paper"]["summary"] = f"A {text}"
    top["paper"]["authors"] = [{"name": f"N {text}", "hidden": False}]
    top["organization"] = {"name": "org", "fullname": f"O {text}"}
    return items


@pytest.mark.fault("content", "holds")
@pytest.mark.parametrize("text", HOSTILE.values(), ids=HOSTILE.keys())
def test_hostile_text_end_to_end(
    text: str,
    s3: Any,
    replay: ReplayServer,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    ledger_factory: Any,
) -> None:
    monkeypatch.setenv("HF_API_BASE", replay.url)
    monkeypatch.setenv("SITE_URL", "https://papers.example.com")
    replay.days[REAL_DAY.isoformat()] = hostile_day(text)
    digest_handler.lambda_handler({"date": "2026-07-31"}, FakeLambdaContext())
    feed_handler.lambda_handler(object_created(digest_key(REAL_DAY)), FakeLambdaContext())
    read = {key: s3.get_object(Bucket=BUCKET, Key=key)["Body"].read()
            for key in (digest_key(REAL_DAY), post_key(REAL_DAY), FEED_KEY, PAPERS_FEED_KEY,
                        PAGE_KEY)}  # fmt: skip
    title = clean_text(f"T {text}")

    # The digest JSON round-trips through the model byte for byte.
    digest = Digest.from_json(json.loads(read[digest_key(REAL_DAY)]))
    assert digest_json(digest).encode() == read[digest_key(REAL_DAY)]
    assert digest.papers[0].title == title

    # The post: YAML front matter gives the title back; Jekyll builds it strictly.
    post = read[post_key(REAL_DAY)].decode("utf-8")
    front = yaml.safe_load(post.split("---\n", 2)[1])
    assert front["description"] == plain_text(title)
    source = tmp_path / "site"
    (source / "_posts").mkdir(parents=True)
    (source / post_key(REAL_DAY)).write_bytes(read[post_key(REAL_DAY)])
    page = next((jekyll_build(source) / "posts").glob("*/index.html")).read_text("utf-8")
    assert live_markup(page) == []  # the layout prints page.description raw, too
    before_emphasis = title.split("*")[0]  # Markdown may format (not activate) the rest
    assert " ".join(before_emphasis.split()[:6]) in " ".join(visible_text(page).split())

    # The feeds parse without bozo; the text comes back as text, not markup.
    papers = feedparser.parse(read[PAPERS_FEED_KEY])
    assert not papers.bozo, papers.get("bozo_exception")
    assert papers.entries[0].title == plain_text(title)
    assert "<" not in papers.entries[0].title
    assert papers.entries[0].published_parsed
    days = feedparser.parse(read[FEED_KEY])
    assert not days.bozo
    for feed in (read[PAPERS_FEED_KEY], read[FEED_KEY]):  # the HTML as stored, unsanitised
        for description in ET.fromstring(feed).iter("description"):
            assert live_markup(description.text or "") == []
    assert live_markup(read[PAGE_KEY].decode("utf-8")) == []
