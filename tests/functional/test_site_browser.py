"""The site in Debian's headless Chromium: pages, search, hostile content and axe-core.

One browser for the module; each test opens its own context. The server sends the CSP
CloudFront sends, so an inline script or style, or a fetch elsewhere, is a console error."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from papers_digest.model import Paper, parse_day_response, rank
from tests import hostile
from tests.browser import axe_source, chromium, open_page, publish_site, real_day_digest, serve
from tests.conftest import REAL_DAY, api_items
from tests.digests import REAL_PAPERS, digest_for

OLDER = date(2026, 7, 30)
LAST_MONTH = date(2026, 6, 30)
TITLE = "Hugging Face Daily Papers"
TIMEOUT_MS = 10_000
HEADINGS = {
    "/": TITLE,
    "/daily/2026-07-30.html": "Papers of 2026-07-30",
    "/archive/2026-07.html": "Days of 2026-07",
}


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with chromium() as launched:
        yield launched


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Three days over two months, published one by one; yields the site's URL."""
    folder = tmp_path_factory.mktemp("site")
    with serve(folder) as base:
        digests = [digest_for(LAST_MONTH, top_n=3), digest_for(OLDER, top_n=5), real_day_digest()]
        publish_site(folder, base, digests)
        yield base


def visit(browser: Any, base: str, path: str) -> tuple[Any, list[str], list[str]]:
    """The page at `path`, loaded, with its console errors and its requests elsewhere."""
    page, elsewhere = open_page(browser, base)
    errors: list[str] = []
    page.on(
        "console", lambda message: errors.append(message.text) if message.type == "error" else None
    )
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(base + path, timeout=TIMEOUT_MS)
    return page, errors, elsewhere


def texts_and_links(page: Any, selector: str) -> list[tuple[str, str]]:
    return [
        (link.inner_text(), link.get_attribute("href"))
        for link in page.locator(selector).all()
        if link.is_visible()
    ]


def papers_of(papers: tuple[Paper, ...]) -> list[tuple[str, str]]:
    return [(paper.title, paper.hf_url) for paper in papers]


PAGES = {
    "/": {
        ".paper h2 a": papers_of(REAL_PAPERS[:30]),
        "#earlier ~ ul a": [("2026-07-30", "/daily/2026-07-30.html"),
                            ("2026-06-30", "/daily/2026-06-30.html")],
        "#months ~ ul a": [("2026-07", "/archive/2026-07.html"),
                           ("2026-06", "/archive/2026-06.html")],
    },
    "/daily/2026-07-30.html": {".paper h2 a": papers_of(digest_for(OLDER, top_n=5).papers)},
    "/archive/2026-07.html": {".days a": [("2026-07-31", "/daily/2026-07-31.html"),
                                          ("2026-07-30", "/daily/2026-07-30.html")]},
}  # fmt: skip


@pytest.mark.parametrize("path", list(PAGES))
def test_pages_show_their_titles_and_links(
    browser: Any, site: str, tmp_path: Path, path: str
) -> None:
    page, errors, elsewhere = visit(browser, site, path)
    assert page.locator("h1").inner_text() == HEADINGS[path]
    assert {selector: texts_and_links(page, selector) for selector in PAGES[path]} == PAGES[path]
    assert errors == []
    assert {request.split()[0] for request in elsewhere} <= {"image"}  # thumbnails only
    page.screenshot(path=str(tmp_path / "page.png"))
    assert (tmp_path / "page.png").stat().st_size > 10_000
    page.context.close()


def test_search_finds_a_paper_by_a_word_of_its_title(browser: Any, site: str) -> None:
    """Each day's copy of the top paper has its own id: three papers in the window."""
    page, errors, elsewhere = visit(browser, site, "/")
    page.fill("#search-input", REAL_PAPERS[0].title.split()[0].rstrip(":").lower())
    results = page.locator("#search-results li a")
    results.nth(2).wait_for(timeout=TIMEOUT_MS)
    found = [
        (link.inner_text(), link.get_attribute("href").split("#")[0]) for link in results.all()
    ]
    days = ("2026-07-31", "2026-07-30", "2026-06-30")
    assert found == [(REAL_PAPERS[0].title, f"/daily/{day}.html") for day in days]
    assert page.locator("#search-status").inner_text() == "3 papers found"
    results.first.click()
    page.wait_for_url(f"**/daily/2026-07-31.html#paper-{REAL_PAPERS[0].arxiv_id}")
    assert page.locator(f'[id="paper-{REAL_PAPERS[0].arxiv_id}"] h2 a').is_visible()
    assert errors == []
    assert not [request for request in elsewhere if not request.startswith("image ")]
    page.context.close()


def test_without_javascript_the_papers_read_the_same_and_search_stays_hidden(
    browser: Any, site: str
) -> None:
    context = browser.new_context(java_script_enabled=False)
    context.route(lambda url: not url.startswith(site), lambda route: route.abort())
    page = context.new_page()
    page.goto(site + "/", timeout=TIMEOUT_MS)
    assert texts_and_links(page, ".paper h2 a") == papers_of(REAL_PAPERS[:30])
    assert not page.locator("#search").is_visible()
    context.close()


def hostile_papers() -> tuple[Paper, ...]:
    """The real day with every hostile text in every text field of a paper, every hostile
    URL in its URL fields, and a copy per hostile id, read as the API's answer is."""
    items = copy.deepcopy(api_items(REAL_DAY))
    for item, text in zip(items, hostile.TEXT.values(), strict=False):
        paper = item["paper"]
        paper.update(title=f"Xyzzy {text}", summary=text, ai_summary=text, ai_keywords=[text, "k"])
        paper["authors"] = [{"name": text}]
        item["organization"] = {"fullname": text}
    for item, url in zip(items, hostile.URLS.values(), strict=False):
        item["paper"].update(githubRepo=url, projectPage=url)
        item["thumbnail"] = url
    for arxiv_id in hostile.IDS.values():
        copied = copy.deepcopy(items[0])
        copied["paper"]["id"] = arxiv_id
        items.append(copied)
    return rank(parse_day_response(items, REAL_DAY).papers, top_n=100)


@pytest.fixture(scope="module")
def hostile_site(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[str, tuple[Paper, ...]]]:
    folder = tmp_path_factory.mktemp("hostile")
    papers = hostile_papers()
    with serve(folder) as base:
        publish_site(folder, base, [digest_for(REAL_DAY, papers)])
        yield base, papers


# Live markup in the DOM: scripts (ours is the one), handlers, links that are not http(s).
DOM_CHECK = """() => ({
  scripts: [...document.scripts].map(s => s.getAttribute("src")),
  handlers: [...document.querySelectorAll("*")].flatMap(
    e => [...e.attributes].filter(a => a.name.startsWith("on")).map(a => e.tagName + " " + a.name)),
  links: [...document.querySelectorAll("[href], [src]")].map(e => e.href || e.src),
  frames: document.querySelectorAll("iframe, object, embed, svg, math").length,
})"""


@pytest.mark.parametrize("path", ["/", "/daily/2026-07-31.html", "/archive/2026-07.html"])
def test_hostile_content_renders_as_text(
    browser: Any, hostile_site: tuple[str, tuple[Paper, ...]], path: str
) -> None:
    base, papers = hostile_site
    page, _ = open_page(browser, base)
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    page.goto(base + path, timeout=TIMEOUT_MS)
    if path == "/archive/2026-07.html":
        assert page.locator(".days span").inner_text() == papers[0].title
    else:
        assert [a.text_content() for a in page.locator(".paper h2 a").all()] == [
            p.title for p in papers
        ]
        assert [a.text_content() for a in page.locator(".paper .authors").all()] == [
            ", ".join(p.authors) for p in papers if p.authors
        ]
        assert page.locator(".paper .summary").count() == len(hostile.TEXT)
        page.fill("#search-input", "xyzzy")
        page.locator("#search-results li").nth(len(hostile.TEXT) - 1).wait_for(timeout=TIMEOUT_MS)
        found = [a.text_content() for a in page.locator("#search-results a").all()]
        assert found == [p.title for p in papers if p.title.startswith("Xyzzy ")]
    dom = page.evaluate(DOM_CHECK)
    assert dom["scripts"] == ["/assets/search.js"]
    assert dom["handlers"] == []
    assert dom["frames"] == 0
    assert all(link.startswith(("http://", "https://")) for link in dom["links"]), dom["links"]
    assert not [
        link for link in dom["links"] for bad in hostile.IDS.values() if bad and bad in link
    ]
    assert dialogs == []
    page.context.close()


@pytest.mark.parametrize("path", ["/", "/daily/2026-07-31.html"])
def test_axe_finds_no_serious_or_critical_violation_light_or_dark(
    browser: Any, site: str, path: str
) -> None:
    context = browser.new_context(bypass_csp=True)  # axe is injected
    context.route(lambda url: not url.startswith(site), lambda route: route.abort())
    page = context.new_page()
    page.goto(site + path, timeout=TIMEOUT_MS)
    page.add_script_tag(content=axe_source())
    serious = {}
    for scheme in ("light", "dark"):
        page.emulate_media(color_scheme=scheme)
        violations = page.evaluate(
            "async () => (await axe.run(document)).violations"
            ".map(v => ({id: v.id, impact: v.impact, nodes: v.nodes.length}))"
        )
        serious[scheme] = [v for v in violations if v["impact"] in ("serious", "critical")]
    assert serious == {"light": [], "dark": []}
    context.close()
