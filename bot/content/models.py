"""The shapes of staff-edited files. Pydantic checks them; `check.py` turns its errors into
`path:line:` messages that say how to fix the file."""

from __future__ import annotations

import datetime as dt
import re
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

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


class ArticleFile(Strict):
    reviewed: dt.date
    sources: list[Source] = Field(min_length=1)
    verify: list[str] = []
    related: list[str] = []
    ky: ArticleText
    ru: ArticleText
    tg: ArticleText
    en: ArticleText

    def lang(self, lang: str) -> ArticleText:
        text: ArticleText = getattr(self, lang)
        return text


class Hotline(Strict):
    name: Localized
    phone: str = Field(pattern=r"^\+?[0-9][0-9 ()-]{5,}$")
    timezone: str
    hours: dict[Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"], list[str]]
    verify: list[str] = []

    @field_validator("hours")
    @classmethod
    def _ranges(cls, value: dict[str, list[str]]) -> dict[str, list[str]]:
        for day, ranges in value.items():
            for r in ranges:
                if not re.fullmatch(r"([01]\d|2[0-3]):[0-5]\d-([01]\d|2[0-4]):[0-5]\d", r):
                    raise ValueError(f"{day}: '{r}' should look like 08:00-12:00")
        return value


class HotlinesFile(Strict):
    default: str
    hotlines: dict[str, Hotline] = Field(min_length=1)


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
