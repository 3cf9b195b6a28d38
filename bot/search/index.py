"""A first search: token overlap on lowercased text. To be replaced by the real index."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bot.content.load import Article


@dataclass(frozen=True)
class Match:
    id: str
    score: float


@dataclass(frozen=True)
class SearchResult:
    lang: str
    """The reply language: the one asked for, else the one the text is written in (a best
    guess when unclear)."""
    lang_sure: bool
    """Whether `lang` was given or clearly detected; the engine asks when it is not."""
    answer: str | None
    """The article to give, only when confident; None means: say you are not sure."""
    matches: tuple[Match, ...]
    """Best first, at most 3, scores in [0, 1]."""


WORD = re.compile(r"\w+")


class SearchIndex:
    def __init__(self, docs: dict[str, set[str]]) -> None:
        self._docs = docs

    @classmethod
    def build(cls, articles: Mapping[str, Article]) -> SearchIndex:
        docs = {}
        for aid, art in articles.items():
            words: set[str] = set()
            for t in art.texts.values():
                words |= set(WORD.findall((t.title + " " + " ".join(t.keywords)).lower()))
            docs[aid] = words
        return cls(docs)

    def search(self, text: str, lang: str | None = None) -> SearchResult:
        words = set(WORD.findall(text.lower()))
        scored = sorted(
            ((len(words & d) / (len(words) or 1), aid) for aid, d in self._docs.items()),
            reverse=True,
        )
        matches = tuple(Match(aid, round(s, 3)) for s, aid in scored[:3] if s > 0)
        answer = matches[0].id if matches and matches[0].score >= 0.5 else None
        return SearchResult(
            lang=lang or "ru", lang_sure=lang is not None, answer=answer, matches=matches
        )
