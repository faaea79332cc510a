"""Reader filters: keep or leave out papers by keyword and by organization. Pure.

A keyword matches a whole word (or phrase) of the title, the abstract or an AI keyword,
whatever its case; an organization matches the paper's whole organization name, whatever
its case. Include lists keep only what matches one of their entries; exclude lists then
leave out whatever matches one of theirs. Empty filters keep every paper."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING, Any

from . import checks

if TYPE_CHECKING:
    from .model import Paper

_FIELDS = ("include_keywords", "exclude_keywords", "include_organizations", "exclude_organizations")


@dataclass(frozen=True)
class Filters:
    include_keywords: tuple[str, ...] = ()
    exclude_keywords: tuple[str, ...] = ()
    include_organizations: tuple[str, ...] = ()
    exclude_organizations: tuple[str, ...] = ()

    @property
    def active(self) -> bool:
        return any(getattr(self, name) for name in _FIELDS)

    def to_json(self) -> dict[str, list[str]]:
        return {name: list(getattr(self, name)) for name in _FIELDS}

    @classmethod
    def from_json(cls, data: Any, where: str = "filters") -> Filters:
        """Filters as `to_json` wrote them; a ValueError names the first bad field."""
        if not isinstance(data, Mapping):
            raise checks.refuse(where, data, "an object")
        unknown = sorted(set(data) - set(_FIELDS))
        if unknown:
            raise checks.refuse(f"{where}.{unknown[0]}", data[unknown[0]], "a known filter")
        return cls(*(checks.texts(data.get(name, []), f"{where}.{name}") for name in _FIELDS))

    @cached_property
    def _include(self) -> re.Pattern[str] | None:
        return _pattern(self.include_keywords)

    @cached_property
    def _exclude(self) -> re.Pattern[str] | None:
        return _pattern(self.exclude_keywords)

    def keeps(self, paper: Paper) -> bool:
        text = "\n".join((paper.title, paper.abstract, *paper.ai_keywords))
        organization = (paper.organization or "").casefold()
        if self._include is not None and not self._include.search(text):
            return False
        if self.include_organizations and organization not in _folded(self.include_organizations):
            return False
        if self._exclude is not None and self._exclude.search(text):
            return False
        return organization not in _folded(self.exclude_organizations)


NO_FILTERS = Filters()


def apply(papers: Iterable[Paper], filters: Filters) -> tuple[tuple[Paper, ...], int]:
    """The papers the filters keep, in their order, and how many they left out."""
    papers = tuple(papers)
    kept = tuple(paper for paper in papers if filters.keeps(paper))
    return kept, len(papers) - len(kept)


def _pattern(words: tuple[str, ...]) -> re.Pattern[str] | None:
    if not words:
        return None
    # Whole words: no word character right before or after; spaces inside match any run.
    alternatives = "|".join(r"\s+".join(map(re.escape, word.split())) for word in words)
    return re.compile(rf"(?<!\w)(?:{alternatives})(?!\w)", re.IGNORECASE)


def _folded(names: tuple[str, ...]) -> set[str]:
    return {name.casefold() for name in names if name}
