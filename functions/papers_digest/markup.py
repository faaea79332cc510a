"""Building blocks for the XML and HTML the feeds and the page are made of: element
trees, never strings, so the serializer does the escaping. Pure."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Mapping, Sequence
from typing import Any

from .checks import tagless
from .model import MachineSummary, Paper, hf_paper_url
from .settings import FeedSettings

# What each feed holds, the days or the papers, for its description.
DESCRIPTIONS = {
    "days": {
        "en": "The most upvoted Hugging Face Daily Papers, one post a day.",
        "ko": "Hugging Face Daily Papers에서 좋아요를 가장 많이 받은 논문, 하루 한 편.",
    },
    "papers": {
        "en": "Each paper featured in the Hugging Face Daily Papers digests.",
        "ko": "Hugging Face Daily Papers 다이제스트에 실린 논문 하나하나.",
    },
    "rollups": {
        "en": "The most upvoted Hugging Face Daily Papers of each week and each month.",
        "ko": "Hugging Face Daily Papers에서 주마다, 달마다 좋아요를 가장 많이 받은 논문.",
    },
}  # Characters XML 1.0 cannot carry at all.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def xml_text(value: str) -> str:
    """Text XML can carry: the characters XML 1.0 forbids are dropped, and carriage
    returns become line feeds, as every XML parser would read them."""
    return _NOT_XML.sub("", value.replace("\r\n", "\n").replace("\r", "\n"))


def plain_text(value: str) -> str:
    """Text for a field readers may take as either text or HTML (an RSS `title`,
    `category`, `dc:creator`; RSS does not say): it reads the same both ways."""
    return tagless(xml_text(value))


def day_id(day: str) -> str:
    """A day's entry id in every feed format (RSS guid, Atom id, JSON Feed id)."""
    return f"hf-papers-digest:day:{day}"


def sub(parent: ET.Element, tag: str, text: str | None = None, **attrs: str) -> ET.Element:
    """A child element with XML-safe text and attributes."""
    element = ET.SubElement(parent, tag, {name: xml_text(value) for name, value in attrs.items()})
    if text is not None:
        element.text = xml_text(text)
    return element


def xml_document(root: ET.Element) -> bytes:
    """A whole XML document (a feed), indented, in UTF-8 with its declaration."""
    ET.indent(root)
    body = ET.tostring(root, encoding="unicode")
    return ('<?xml version="1.0" encoding="utf-8"?>\n' + body + "\n").encode("utf-8")


def html(element: ET.Element) -> str:
    return ET.tostring(element, encoding="unicode", method="html")


def joined_links(parent: ET.Element, links: Sequence[tuple[str, str]], separator: str) -> None:
    """(label, href) links inside `parent`, separated by `separator`."""
    for position, (label, href) in enumerate(links):
        link = sub(parent, "a", label, href=href)
        link.tail = separator if position < len(links) - 1 else None


def ranked_list(papers: Sequence[Mapping[str, Any]]) -> ET.Element:
    """A day's papers as an ordered list of links with their upvotes (and their
    machine-written summaries, when the index holds them)."""
    listing = ET.Element("ol")
    for paper in papers:
        line = ET.SubElement(listing, "li")
        link = sub(line, "a", paper["title"], href=hf_paper_url(paper["arxiv_id"]))
        link.tail = f" - 👍 {paper['upvotes']}"
        if summary := paper.get("machine_summary"):
            machine_summary(line, MachineSummary.from_json(summary, "machine_summary"))
    return listing


# How a machine-written summary is introduced, in its language.
SUMMARY_LABELS = {
    "en": "Machine-written summary ({model}): ",
    "ko": "AI 요약 ({model}, 기계 작성): ",
}


def machine_summary(parent: ET.Element, summary: MachineSummary) -> ET.Element:
    """A paragraph with the summary, labelled as machine-written, in its own language."""
    paragraph = sub(parent, "p", lang=summary.lang)
    label = sub(paragraph, "em", SUMMARY_LABELS[summary.lang].format(model=summary.model))
    label.tail = xml_text(summary.text)
    return paragraph


def paper_html(paper: Paper, days: Sequence[str], settings: FeedSettings) -> ET.Element:
    """A paper's details, for a feed entry's HTML content."""
    body = ET.Element("div")

    def para(label: str, text: str | None = None) -> ET.Element:
        element = ET.SubElement(body, "p")
        strong = sub(element, "strong", label)
        strong.tail = xml_text(text) if text is not None else None
        return element

    para("Upvotes: ", str(paper.upvotes))
    if paper.authors:
        para("Authors: ", ", ".join(paper.authors))
    if paper.organization:
        para("Organization: ", paper.organization)
    if paper.ai_summary:
        para("AI summary: ", paper.ai_summary)
    if paper.ai_keywords:
        para("Keywords: ", ", ".join(paper.ai_keywords))
    joined_links(para("Featured: "), [(day, settings.day_url(day)) for day in days], ", ")
    links = [("arXiv", paper.arxiv_url)]
    if paper.github_repo:
        stars = f" ★ {paper.github_stars}" if paper.github_stars is not None else ""
        links.append((f"code{stars}", paper.github_repo))
    if paper.project_page:
        links.append(("project page", paper.project_page))
    joined_links(para("Links: "), links, " · ")
    if paper.machine_summary:
        machine_summary(body, paper.machine_summary)
    sub(body, "p", paper.abstract)
    return body


def categories(paper: Paper) -> list[str]:
    """A paper's categories in every feed: its organization, then its keywords."""
    return [*([paper.organization] if paper.organization else []), *paper.ai_keywords]
