"""Engine replies as Telegram messages: HTML text cut to Telegram's size, options as buttons.

Pure functions, no I/O, so every rule here (where a long text is cut, how a button is encoded,
which screen a button belongs to) is tested without a bot.

Formatting is HTML (`parse_mode="HTML"`): it needs only `&`, `<` and `>` escaped, where
MarkdownV2 would need eighteen characters escaped in every article.

Phone numbers stay plain text in international form ("+992 918 85 34 34"). Telegram accepts no
`tel:` links (an `<a href>` may only be http(s), tg or ton), the mobile apps make such numbers
tappable themselves, and the hotline is also sent as a contact card with a Call button (see
`channel.py`). A number is never cut in two when a message is split.
"""

from __future__ import annotations

import hashlib
import html
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from telegram import InlineKeyboardButton, InlineKeyboardMarkup
from telegram.constants import MessageLimit

from bot.engine.types import Option, Reply, Session

MAX_TEXT = int(MessageLimit.MAX_TEXT_LENGTH)
"""4096, counted by Telegram on the visible text (after HTML parsing), in UTF-16 code units."""

SHORT_LABEL = 16
"""Buttons with labels this short go two to a row (languages, yes/no); longer ones get a row."""

PHONE = re.compile(r"\+\d{1,3}(?:[ \-]?\d{2,4}){2,6}")
CALLBACK = re.compile(r"^([0-9a-f]{8}):(\d{1,2})$")

Style = Literal["plain", "bold", "italic"]
_TAGS: dict[Style, tuple[str, str]] = {
    "plain": ("", ""),
    "bold": ("<b>", "</b>"),
    "italic": ("<i>", "</i>"),
}


@dataclass(frozen=True)
class Block:
    text: str
    style: Style = "plain"


@dataclass(frozen=True)
class Chunk:
    """One Telegram message: HTML text and, on the last chunk of a reply, its buttons."""

    html: str
    markup: InlineKeyboardMarkup | None = None


@dataclass(frozen=True)
class Press:
    token: str
    key: str


# -- screens and buttons -----------------------------------------------------------------


def screen_token(session: Session) -> str:
    """A short name for the screen a person is on, carried in every button's callback data.

    A button pressed on an old message whose screen is no longer the current one is then
    recognised as stale instead of picking whatever option has the same number now.
    """
    raw = f"{session.node}|{session.article}|{','.join(session.suggestions)}"
    return hashlib.blake2b(raw.encode(), digest_size=4).hexdigest()


def callback_data(token: str, key: str) -> str:
    return f"{token}:{key}"


def parse_callback(data: str | None) -> Press | None:
    """None for anything we did not write (an old format, a forged query): treated as stale."""
    match = CALLBACK.match(data or "")
    return Press(match.group(1), match.group(2)) if match else None


def keyboard(options: Sequence[Option], token: str) -> InlineKeyboardMarkup | None:
    """Options in the engine's order with the SMS digits ("1. …"); "0" (back) always last."""
    if not options:
        return None
    picks = [o for o in options if o.key != "0"]
    backs = [o for o in options if o.key == "0"]
    width = 2 if len(options) > 1 and all(len(o.label) <= SHORT_LABEL for o in options) else 1
    rows: list[list[InlineKeyboardButton]] = []
    for i in range(0, len(picks), width):
        rows.append([_button(o, token) for o in picks[i : i + width]])
    for back in backs:
        if rows and len(rows[-1]) < width:
            rows[-1].append(_button(back, token))
        else:
            rows.append([_button(back, token)])
    return InlineKeyboardMarkup(rows)


def _button(option: Option, token: str) -> InlineKeyboardButton:
    return InlineKeyboardButton(
        f"{option.key}. {option.label}", callback_data=callback_data(token, option.key)
    )


# -- text --------------------------------------------------------------------------------


def reply_blocks(reply: Reply, hint: str | None) -> list[Block]:
    """The title in bold (articles), the text, and the one-line hint in italics."""
    blocks = []
    if reply.kind == "article" and reply.title:
        blocks.append(Block(reply.title, "bold"))
    blocks.append(Block(reply.text))
    if hint:
        blocks.append(Block(hint, "italic"))
    return blocks


def render(reply: Reply, token: str, hint: str | None = None) -> list[Chunk]:
    """A reply as one or more messages; the buttons go on the last one, under the end."""
    texts = split(reply_blocks(reply, hint))
    markup = keyboard(reply.options, token)
    return [Chunk(t, markup if i == len(texts) - 1 else None) for i, t in enumerate(texts)]


def escape(text: str) -> str:
    return html.escape(text, quote=False)


def utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


utf16_len("")  # the codec is found at import, not while the first long reply waits for it


def split(blocks: Sequence[Block], limit: int = MAX_TEXT) -> list[str]:
    """Blocks joined by blank lines, cut into HTML messages of at most `limit` visible units.

    Cuts fall on a paragraph break if one is in the second half of the window, else on a line
    break there, else on the last space; never inside a phone number. Only a single "word"
    longer than a whole message is cut inside. A styled block cut in two is closed and
    reopened, so every message is well-formed HTML on its own.
    """
    visible, spans = _join(blocks)
    protected = [(m.start(), m.end()) for m in PHONE.finditer(visible)]
    messages: list[str] = []
    start, n = 0, len(visible)
    while start < n:
        while start < n and visible[start].isspace():
            start += 1
        if start >= n:
            break
        end = _cut(visible, start, limit, protected)
        stop = end
        while stop > start and visible[stop - 1].isspace():
            stop -= 1
        messages.append(_html(visible, spans, start, stop))
        start = end
    return messages or ["…"]


def _join(blocks: Sequence[Block]) -> tuple[str, list[tuple[int, int, Style]]]:
    parts: list[str] = []
    spans: list[tuple[int, int, Style]] = []
    pos = 0
    for block in blocks:
        text = block.text.strip()
        if not text:
            continue
        if parts:
            parts.append("\n\n")
            spans.append((pos, pos + 2, "plain"))
            pos += 2
        spans.append((pos, pos + len(text), block.style))
        parts.append(text)
        pos += len(text)
    return "".join(parts), spans


def _fit(text: str, start: int, limit: int) -> int:
    """The end index of a longest-or-nearly slice from `start` within `limit` UTF-16 units.

    At most `limit` characters fit; each astral character (emoji) takes two units, so step back
    by the excess until it fits: a few C-speed encodes instead of a Python loop per character.
    """
    end = min(len(text), start + limit)
    over = utf16_len(text[start:end]) - limit
    while over > 0:
        end -= over
        over = utf16_len(text[start:end]) - limit
    return end


def _cut(text: str, start: int, limit: int, protected: list[tuple[int, int]]) -> int:
    end = _fit(text, start, limit)
    if end >= len(text):
        return end

    def free(pos: int) -> bool:
        return not any(a < pos < b for a, b in protected)

    for sep, floor in (("\n\n", (end - start) // 2), ("\n", (end - start) // 2), (" ", 1)):
        i = text.rfind(sep, start, end)
        while i - start >= floor:
            if free(i):
                return i
            i = text.rfind(sep, start, i)
    for a, b in protected:  # no space at all: still keep a number whole if it can be
        if a < end < b and a > start:
            return a
    return end


def _html(text: str, spans: list[tuple[int, int, Style]], start: int, stop: int) -> str:
    out = []
    for a, b, style in spans:
        a, b = max(a, start), min(b, stop)
        if a < b:
            before, after = _TAGS[style]
            out.append(f"{before}{escape(text[a:b])}{after}")
    return "".join(out)
