"""A real Chirpy blog for the Jekyll tests: the theme's own site, as `npm pack` gives it,
built with Debian's Jekyll and plugins. Only what those cannot run is stubbed (`stub_site`)."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import pytest

from tests.npm import unpacked

THEME = "jekyll-theme-chirpy@5.3.21"
# What the registry served when the tests were written: a changed tarball fails loudly.
INTEGRITY = (
    "sha512-69UC1k3DZFF/ji5TPaWHaV8M9nSxPE3EBGrKaQj+QULcfGACZfAz3"
    "TBhENdHWR9yEvJ8d7HTErjDauETsTmllA=="
)
# The theme's Gemfile names these gems; Debian packages them as ruby-jekyll-*.
PLUGINS = (
    "jekyll-paginate",
    "jekyll-seo-tag",
    "jekyll-archives",
    "jekyll-sitemap",
    "jekyll-include-cache",
)
STUB_CONFIG = "_config.stubs.yml"
JSON_LD = "application/ld+json"
_ANSI = re.compile(r"\x1b\[[0-9;]*m")


def theme() -> Path:
    """The unpacked theme package (a complete Chirpy site)."""
    return unpacked(THEME, INTEGRITY)


def _replace_once(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert text.count(old) == 1, f"{path.name} no longer holds {old!r}: revisit the stubs"
    path.write_text(text.replace(old, new), encoding="utf-8")


def stub_site(dest: Path) -> Path:
    """A copy of the theme's site at `dest`, with its `_config.yml` and sample posts as
    they are, and only these changes for Debian's Jekyll:
    - no `theme:` (the gem is not installed; its files are all in the site) and the
      plugins it would pull in listed in a second config file;
    - `assets/css/style.scss` imports the theme's own Sass entry in `_sass/` by name
      instead of `{{ site.theme }}`;
    - no `_data/locales/tr-TR.yml` (Ruby's YAML refuses its symbols);
    - no `_plugins/posts-lastmod-hook.rb` (it runs git on every post)."""
    shutil.copytree(theme(), dest)
    _replace_once(dest / "_config.yml", "\ntheme: ", "\n# theme: ")
    (dest / STUB_CONFIG).write_text(json.dumps({"plugins": list(PLUGINS)}), encoding="utf-8")
    assert (dest / "_sass" / "jekyll-theme-chirpy.scss").is_file()
    _replace_once(dest / "assets/css/style.scss", "{{ site.theme }}", "jekyll-theme-chirpy")
    (dest / "_data/locales/tr-TR.yml").unlink()
    (dest / "_plugins/posts-lastmod-hook.rb").unlink()
    return dest


def build(site: Path, out: Path, configs: list[Path] | None = None) -> str:
    """Build `site` into `out` (by default with the theme's config and the stubs'); the
    log, which must hold no warning: Jekyll reports a `Conflict` (two pages on one URL)
    and goes on, exiting 0."""
    jekyll = shutil.which("jekyll")
    if jekyll is None:
        pytest.fail("jekyll is not installed: run `apt-get install jekyll` (tests/run does)")
    configs = configs or [site / "_config.yml", site / STUB_CONFIG]
    done = subprocess.run(
        [jekyll, "build", "--strict_front_matter", "-s", str(site), "-d", str(out),
         "--config", ",".join(map(str, configs))],
        capture_output=True, text=True, timeout=300, check=False,
        # The theme's Gemfile asks for gems Debian does not ship (html-proofer): Jekyll
        # loads the plugins named in the config instead.
        env={**os.environ, "JEKYLL_NO_BUNDLER_REQUIRE": "true"},
    )  # fmt: skip
    log = _ANSI.sub("", done.stdout + done.stderr)
    assert done.returncode == 0, log
    return log


class Page(HTMLParser):
    """What a built page shows: its meta tags, JSON-LD, `<title>`, its headings (text and
    the link they hold: the home page's post cards are headed links) and the HTML of its
    post content (the `post-content` block of Chirpy's post layout)."""

    def __init__(self, document: str) -> None:
        super().__init__(convert_charrefs=True)
        self.meta: dict[str, str] = {}
        self.title = ""
        self.headings: list[tuple[str | None, str]] = []
        self.json_ld: dict[str, object] = {}
        self._in: str | None = None
        self._text = ""
        self._href: str | None = None
        self.feed(document)
        self.close()
        start = document.find('<div class="post-content">')
        end = document.find('<div class="post-tail-wrapper', start)
        self.content = document[start:end] if start != -1 and end != -1 else ""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        named = dict(attrs)
        if tag == "meta" and (key := named.get("name") or named.get("property")):
            self.meta[key] = named.get("content") or ""
        elif tag == "a" and self._in == "h1":
            self._href = named.get("href")
        elif tag in {"title", "h1"} or (tag, named.get("type")) == ("script", JSON_LD):
            self._in, self._text, self._href = tag, "", None

    def handle_endtag(self, tag: str) -> None:
        if tag != self._in:
            return
        if tag == "title":
            self.title = self._text
        elif tag == "h1":
            self.headings.append((self._href, self._text.strip()))
        else:
            self.json_ld = json.loads(self._text)
        self._in = None

    def handle_data(self, data: str) -> None:
        if self._in:
            self._text += data
