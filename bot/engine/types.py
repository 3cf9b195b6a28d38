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
    "languages",
    "menu",
    "article",
    "unsure",
    "handoff",
    "help",
    "confirm",
    "notice",
    "forgotten",
    "urgent",
    "smalltalk",
]

# States that are not dialog nodes start with "@" so they can never clash with a staff node id.
LANG_MENU = "@lang"
ARTICLE = "@article"
SUGGEST = "@suggest"
FORGET = "@forget"
HANDOFF = "@handoff"
URGENT = "@urgent"
"""An urgent article: option 1 is a person, the related articles follow."""
CALLBACK = "@callback"
"""The hotline is closed: 1 asks for a callback."""
CALLBACK_PHONE = "@callback-phone"
"""The channel has no number to call back (Telegram): the person types one."""
LEAVE = "@leave"
"""With an operator: the person asked for the menu; 1 confirms going back to the bot."""


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
    """"operator": a ticket is open and every message goes to it; the bot stays silent."""
    urgent: str | None = None
    """The danger category the person wrote about, until they leave the urgent article."""
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
    handoff: bool = False
    """Set by `Conversations`: operators can answer this person on their channel."""
    reachable: bool = False
    """Set by `Conversations`: the channel's address is a number a callback can use (SMS)."""


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


Queue = Literal["urgent", "normal"]


@dataclass(frozen=True)
class Handoff:
    """A ticket to open: which hotline's operators, which queue, and why."""

    hotline: str
    queue: Queue = "normal"
    topic: str | None = None
    """The article or urgent category the person was reading or wrote about."""
    reason: str = "asked"
    """"asked" (menu, /operator, OPERATOR, free text) or "urgent:<category>"."""
    open_now: bool = True
    text: str = ""
    """What the person wrote when it was free text: the operators see it in the alert."""


@dataclass(frozen=True)
class Callback:
    phone: str | None = None
    """None: the channel's own address (the SMS number)."""


@dataclass(frozen=True)
class Effects:
    """Things the engine asks the outside world to do; the engine itself never does I/O."""

    forget: bool = False
    handoff: Handoff | None = None
    """Open a ticket (when `Inbound.handoff`), or only show the hotline (`Handoff.hotline`)."""
    relay: str | None = None
    """A message for the operator of the open ticket; the bot itself says nothing."""
    close: bool = False
    """The person went back to the bot: close their ticket and tell the operator."""
    callback: Callback | None = None


@dataclass(frozen=True)
class Turn:
    session: Session
    replies: tuple[Reply, ...]
    effects: Effects = Effects()
