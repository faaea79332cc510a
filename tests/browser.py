"""The site in a real browser: the built site served on 127.0.0.1 with the CSP CloudFront
sends, Debian's headless Chromium driven by Playwright, and axe-core from npm.

`python -m tests.browser docs/` writes the README's screenshots (the real 30-paper day,
light and dark)."""

from __future__ import annotations

import os
import sys
import tempfile
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import date
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from papers_digest.model import Digest
from papers_digest.publish import publish_day
from papers_digest.settings import FeedSettings
from papers_digest.store import FolderStore
from tests.conftest import REAL_DAY
from tests.digests import REAL_PAPERS, digest_for, store_digest
from tests.npm import unpacked
from tests.stack.cfn import RESOURCES

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
AXE = "axe-core@4.14.1"
# What the registry served when the tests were written: a changed tarball fails loudly.
AXE_INTEGRITY = (
    "sha512-FHfa+lmNjQZfJz1q8wKqIDwC6DExcHt/pkjNQb09a3NPjCKg2rhu5qb2S4r76ASyFNNtuFooJpZe37OgudVGtQ=="
)  # fmt: skip
_HEADERS = RESOURCES["SecurityHeaders"]["Properties"]["ResponseHeadersPolicyConfig"]
# The Content-Security-Policy CloudFront adds to every response (template.yaml).
CSP = " ".join(
    _HEADERS["SecurityHeadersConfig"]["ContentSecurityPolicy"]["ContentSecurityPolicy"].split()
)
# What the browser gets instead of a thumbnail from elsewhere: the tests reach no network.
PLACEHOLDER = (
    b'<svg xmlns="http://www.w3.org/2000/svg" width="320" height="180" viewBox="0 0 320 180">'
    b'<rect width="320" height="180" fill="#8b949e"/><path d="M40 140l60-60 40 40 50-70 90 90z"'
    b' fill="#d0d7de"/></svg>'
)


def axe_source() -> str:
    """axe.min.js of the pinned axe-core package."""
    return (unpacked(AXE, AXE_INTEGRITY) / "axe.min.js").read_text("utf-8")


class _Handler(SimpleHTTPRequestHandler):
    def end_headers(self) -> None:
        self.send_header("Content-Security-Policy", CSP)
        super().end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        pass


@contextmanager
def serve(folder: Path) -> Iterator[str]:
    """`folder` over HTTP on 127.0.0.1, with CloudFront's CSP; yields the base URL."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(_Handler, directory=str(folder)))
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
    )
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def publish_site(folder: Path, site_url: str, digests: Sequence[Digest], lang: str = "en") -> None:
    """Store `digests` in `folder` and publish them one by one, as the feed function does."""
    store = FolderStore(folder)
    settings = FeedSettings(site_url=site_url, language=lang)
    for digest in digests:
        store_digest(store, digest)
        publish_day(store, digest.day, settings)


@contextmanager
def chromium() -> Iterator[Any]:
    """Debian's headless Chromium under Playwright (which downloads no browser of its own)."""
    if not os.access(CHROMIUM, os.X_OK):
        pytest.fail(f"{CHROMIUM} is missing: run `apt-get install chromium` (tests/run does)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            yield browser
        finally:
            browser.close()


def open_page(browser: Any, base: str, color_scheme: str = "light") -> tuple[Any, list[str]]:
    """A fresh page whose requests elsewhere are answered locally (images with a
    placeholder, anything else refused) and listed. Returns it and that list."""
    context = browser.new_context(
        color_scheme=color_scheme, viewport={"width": 1000, "height": 900}
    )
    elsewhere: list[str] = []

    def local_only(route: Any) -> None:
        elsewhere.append(f"{route.request.resource_type} {route.request.url}")
        if route.request.resource_type == "image":
            route.fulfill(status=200, content_type="image/svg+xml", body=PLACEHOLDER)
        else:
            route.abort()

    context.route(lambda url: not url.startswith(base), local_only)
    return context.new_page(), elsewhere


def real_day_digest(day: date = REAL_DAY) -> Digest:
    """The real 30-paper day, as TOP_N=30 stores it."""
    return digest_for(day, REAL_PAPERS[:30])


def screenshots(out: Path) -> None:
    """The index of the real 30-paper day, light and dark, as the README shows it."""
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp, serve(Path(tmp)) as base, chromium() as browser:
        publish_site(Path(tmp), base, [real_day_digest()])
        for scheme in ("light", "dark"):
            page, _ = open_page(browser, base, scheme)
            page.set_viewport_size({"width": 900, "height": 1400})
            page.goto(f"{base}/")
            page.screenshot(path=str(out / f"site-{scheme}.png"))
            page.context.close()


if __name__ == "__main__":
    screenshots(Path(sys.argv[1] if len(sys.argv) > 1 else "docs"))
