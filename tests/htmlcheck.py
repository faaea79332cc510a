"""Find live markup in HTML by parsing it: elements and attributes, not substrings."""

from __future__ import annotations

from html.parser import HTMLParser

ACTIVE_ELEMENTS = {"script", "img", "iframe", "object", "embed", "svg", "style", "form", "b"}


class _Scanner(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ACTIVE_ELEMENTS:
            self.found.append(f"<{tag}>")
        for name, value in attrs:
            if name.startswith("on"):
                self.found.append(f"<{tag} {name}=...>")
            target = (value or "").strip().lower()
            if name in {"href", "src", "action"} and target.startswith(("javascript:", "data:")):
                self.found.append(f"<{tag} {name}={value!r}>")


def live_markup(document: str) -> list[str]:
    """The active elements (scripts, images, frames ...), event-handler attributes and
    script URLs in `document`; our own output uses none of them."""
    scanner = _Scanner()
    scanner.feed(document)
    scanner.close()
    return scanner.found
