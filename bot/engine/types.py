"""The engine's vocabulary: what a session holds, what comes in, what goes out.

Everything here is plain data that survives a JSON round trip, so any channel and any store can
carry it, and a later feature (an operator taking over, a callback) is a new field, not a rework.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field, fields, replace
from typing import Any, Literal

Command = Literal[
    "start", "menu", "back", "language", "help", "operator", "forget", "more", "script"
]
COMMANDS: tuple[Command, ...] = (
    "start",
    "menu",
    "back",
    "language",
    "help",
    "operator",
    "forget",
    "more",
    "script",
)

ReplyKind = Literal[
    "languages", "menu", "article", "unsure", "handoff", "help", "confirm", "notice", "forgotten"
]

# States that are not dialog nodes start with "@" so they can never clash with a staff node id.
LANG_MENU = "@lang"
ARTICLE = "@article"
SUGGEST = "@suggest"
FORGET = "@forget"
HANDOFF = "@handoff"


@dataclass
class Session:
    """One person's conversation. Only what the next turn needs; nothing about who they are."""

    lang: str | None = None
    script: Literal["cyr", "lat"] | None = None
    node: str | None = None
    trail: list[str] = field(default_factory=list)
    article: str | None = None
    page: int = 0
    suggestions: list[str] = field(default_factory=list)
    mode: Literal["bot", "operator"] = "bot"
    turns: int = 0
    updated: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Session:
        """Unknown keys are dropped so an older bot can read a newer session and vice versa."""
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})

    def copy(self, **changes: Any) -> Session:
        return replace(self, trail=list(self.trail), suggestions=list(self.suggestions), **changes)

    def touch(self, now: float | None = None) -> Session:
        return self.copy(turns=self.turns + 1, updated=time.time() if now is None else now)


@dataclass(frozen=True)
class Inbound:
    """One thing a person did: typed text, pressed an option, or sent a command."""

    text: str = ""
    choice: str | None = None
    command: Command | None = None
    arg: str | None = None
    """For `language` (ky/ru/tg/en) and `script` (cyr/lat): the value, when already known."""
    lang_hint: str | None = None
    """A guess from the channel (Telegram's language_code), used only on first contact."""


@dataclass(frozen=True)
class Option:
    key: str
    """What the person sends to pick it: "1".."9", "0" for back. Same on every channel."""
    label: str


@dataclass(frozen=True)
class Reply:
    kind: ReplyKind
    text: str
    lang: str
    options: tuple[Option, ...] = ()
    article: str | None = None
    title: str | None = None
    short: str | None = None
    """The shorter text for SMS, where the channel has one (articles)."""
    hint: str | None = None
    """A one-line footer (how to change language) a channel may drop to save space."""
    page: int = 0
    """For articles: 0 = the first view; n = the n-th "more" the person asked for."""


@dataclass(frozen=True)
class Effects:
    """Things the engine asks the outside world to do; the engine itself never does I/O."""

    forget: bool = False
    handoff: bool = False


@dataclass(frozen=True)
class Turn:
    session: Session
    replies: tuple[Reply, ...]
    effects: Effects = Effects()
