"""The one SMS segment counter. Every place that asks "how many SMS is this?" calls `count`.

A message is sent in GSM-7 when every character is in the GSM 03.38 default alphabet or its
extension table, else in UCS-2. One message holds 160 GSM-7 septets or 70 UCS-2 units; a longer
one is split into segments of 153 septets or 67 units, because each part carries a 6-byte
header. An extension character (`{ } [ ] ~ \\ | ^ €` and form feed) costs two septets (an escape
and the character), and the pair is never split across segments; in UCS-2 a character outside
the Basic Multilingual Plane (most emoji) is a surrogate pair of two units, never split either.
One Cyrillic letter anywhere turns the whole message into UCS-2.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Encoding = Literal["GSM-7", "UCS-2"]

GSM_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
"""The 127 printable characters of the GSM 03.38 default alphabet (the 128th is the escape)."""

GSM_EXTENSION = frozenset("\f^{}\\[~]|€")
"""Reached through the escape character, so each costs two septets."""

_GSM = GSM_BASIC | GSM_EXTENSION
_BMP_END = "\uffff"

SINGLE = {"GSM-7": 160, "UCS-2": 70}
"""Units in a message that fits in one SMS."""
PART = {"GSM-7": 153, "UCS-2": 67}
"""Units in each part of a longer (concatenated) message."""
TWILIO_MAX_CHARS = 1600
"""Twilio refuses a longer body outright."""


@dataclass(frozen=True)
class Segments:
    encoding: Encoding
    units: int
    """Septets for GSM-7, UTF-16 code units for UCS-2."""
    segments: int
    """SMS parts a carrier bills; 0 for an empty text, which cannot be sent."""


def is_gsm(text: str) -> bool:
    """Whether the whole text can go as GSM-7 (the cheap, 160-character encoding)."""
    return _GSM.issuperset(text)


def _widths(text: str, encoding: Encoding) -> list[int]:
    """The units each character takes; a character's units always share one segment."""
    if encoding == "GSM-7":
        return [2 if ch in GSM_EXTENSION else 1 for ch in text]
    return [2 if ord(ch) > 0xFFFF else 1 for ch in text]


def _pack(widths: list[int], part: int) -> int:
    """Segments needed when each character must sit whole in one segment of `part` units."""
    segments, used = 1, 0
    for width in widths:
        if used + width > part:
            segments += 1
            used = 0
        used += width
    return segments


def count(text: str) -> Segments:
    """Encoding, units and segments of `text` exactly as a carrier counts them."""
    gsm = is_gsm(text)
    encoding: Encoding = "GSM-7" if gsm else "UCS-2"
    # Most texts have no character of width two: then the units are the characters, and the
    # parts simply divide them (this runs for every SMS reply, and in C, not per character)
    if GSM_EXTENSION.isdisjoint(text) if gsm else not text or max(text) <= _BMP_END:
        units = len(text)
        if units <= SINGLE[encoding]:
            return Segments(encoding, units, 1 if units else 0)
        return Segments(encoding, units, -(-units // PART[encoding]))
    widths = _widths(text, encoding)
    units = sum(widths)
    if units == 0:
        return Segments(encoding, 0, 0)
    if units <= SINGLE[encoding]:
        return Segments(encoding, units, 1)
    return Segments(encoding, units, _pack(widths, PART[encoding]))


def fits(text: str, budget: int) -> bool:
    """Whether `text` costs at most `budget` segments and Twilio would accept it."""
    return len(text) <= TWILIO_MAX_CHARS and count(text).segments <= budget


def split(text: str) -> list[str]:
    """The parts a phone receives, for tests and for showing authors where a text breaks."""
    seg = count(text)
    if seg.segments <= 1:
        return [text] if text else []
    part = PART[seg.encoding]
    parts: list[str] = []
    start, used = 0, 0
    for i, width in enumerate(_widths(text, seg.encoding)):
        if used + width > part:
            parts.append(text[start:i])
            start, used = i, 0
        used += width
    parts.append(text[start:])
    return parts
