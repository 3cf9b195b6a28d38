"""The shapes of staff-edited files. Pydantic checks them; `check.py` turns its errors into
`path:line:` messages that say how to fix the file."""

from __future__ import annotations

import datetime as dt
import re
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

NODE_ID = re.compile(r"^[a-z][a-z0-9_]*$")
ARTICLE_ID = re.compile(r"^[a-z][a-z0-9-]*$")


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


class Localized(Strict):
    """One text in every language; all four are required so no reader gets a gap."""

    ky: str = Field(min_length=1)
    ru: str = Field(min_length=1)
    tg: str = Field(min_length=1)
    en: str = Field(min_length=1)

    def get(self, lang: str) -> str:
        return str(getattr(self, lang))


class Source(Strict):
    name: str = Field(min_length=1)
    url: str = Field(pattern=r"^https?://\S+$")


class ArticleText(Strict):
    title: str = Field(min_length=1, max_length=60)
    text: str = Field(min_length=1)
    sms: str = Field(min_length=1)
    keywords: list[str] = Field(min_length=1)


class Fact(Strict):
    """One claim the article makes, with where it comes from, so staff can trace a number in
    the text to its source without reading the whole source list."""

    claim: str = Field(min_length=1)
    """The fact in one English sentence, with its numbers written out (they back the same
    numbers in every language of the text)."""
    source: str = Field(min_length=1)
    """Who says so: the publication or office, as named in facts.md."""
    url: str | None = Field(default=None, pattern=r"^https?://\S+$")
    date: str = Field(min_length=1)
    """The source's date as facts.md gives it ('26.03.2024', 'c. 2023', 'undated')."""
    ref: str | None = None
    """Where in ../shared/reference/facts.md, e.g. '§13'."""


Lang = Literal["ky", "ru", "tg", "en"]
ReviewState = dt.date | Literal["pending"]


class ArticleFile(Strict):
    reviewed: dt.date
    """The day the facts were last checked against the sources."""
    review: dict[Lang, ReviewState] | None = None
    """Per language: the day a person who reads that language well reviewed the text, or
    'pending'. A language left out counts as pending."""
    sources: list[Source] = Field(min_length=1)
    facts: list[Fact] = []
    verify: list[str] = []
    related: list[str] = []
    ky: ArticleText
    ru: ArticleText
    tg: ArticleText
    en: ArticleText

    def lang(self, lang: str) -> ArticleText:
        text: ArticleText = getattr(self, lang)
        return text


class GlossaryTerm(Strict):
    use: str = Field(min_length=1)
    """The one word articles write for this thing."""
    also: list[str] = []
    """Other forms that are fine (an official name given once in brackets, say)."""
    avoid: list[str] = []
    """Variants articles must not use; 'милиция*' also matches every ending (милицияга)."""


class GlossaryFile(Strict):
    terms: dict[str, dict[Lang, GlossaryTerm]] = Field(min_length=1)


class Hotline(Strict):
    """One line people can call. Times, weekdays, languages and the number itself are checked
    by the loader with `hotlines.hotline_problems`, which knows the line of every item."""

    name: Localized
    phone: str = Field(pattern=r"^\+?[0-9][0-9 ()-]*$")
    country: str | None = Field(default=None, pattern=r"^[A-Z]{2}$")
    """ISO-2 code of the country the line is in: its dialling plan for short numbers."""
    timezone: str
    languages: list[str] = []
    """Languages the operators speak (ky, ru, tg, en); empty when nobody knows."""
    hours: dict[str, list[str]] = {}
    """mon..sun -> ["08:00-12:00", "13:00-17:00"]; a missing day is closed, no days at all
    means the hours are not known (the line is then never reported as open)."""
    holidays: list[dt.date] = []
    """Dates the line is closed all day, in its own time zone."""
    verify: list[str] = []


class Route(Strict):
    """Send people who write in one of `languages` about one of `topics` (article ids) to
    `hotline`. An empty list matches anything; the first matching rule wins."""

    hotline: str
    languages: list[str] = []
    topics: list[str] = []


class EmergencyNumber(Strict):
    number: str = Field(pattern=r"^[0-9][0-9 -]*$")
    service: Literal["emergency", "police", "ambulance", "fire", "gas"]
    label: Localized
    verify: list[str] = []


class EmergencyCountry(Strict):
    name: Localized | None = None
    """The country's name in each language; Babel's name when left out."""
    numbers: list[EmergencyNumber] = Field(min_length=1)


class HotlinesFile(Strict):
    default: str
    routing: list[Route] = []
    hotlines: dict[str, Hotline] = Field(min_length=1)
    emergency: dict[str, EmergencyCountry] = {}


class MenuOption(Strict):
    label: Localized | None = None
    goto: str | None = None
    article: str | None = None
    action: Literal["language", "help", "operator"] | None = None

    @model_validator(mode="after")
    def _one_target(self) -> MenuOption:
        targets = [t for t in (self.goto, self.article, self.action) if t is not None]
        if len(targets) != 1:
            raise ValueError(
                "an option needs exactly one of 'goto: <node>', 'article: <id>' "
                "or 'action: language|help|operator'"
            )
        if self.action is not None and self.label is None:
            raise ValueError("an option with 'action' needs a 'label'")
        return self


class MenuNode(Strict):
    type: Literal["menu"]
    text: Localized
    options: list[MenuOption] = Field(min_length=1, max_length=9)
    back: str | None = None


class AnswerNode(Strict):
    type: Literal["answer"]
    article: str
    text: Localized | None = None


class HandoffNode(Strict):
    type: Literal["handoff"]
    text: Localized | None = None
    hotline: str | None = None


Node = Annotated[MenuNode | AnswerNode | HandoffNode, Field(discriminator="type")]


class DialogFile(Strict):
    start: str | None = None
    nodes: dict[str, Node] = Field(min_length=1)
